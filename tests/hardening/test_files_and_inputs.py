"""Hostile inputs to the REST API and to a cluster's files: NaN and Infinity, JSON nested
too deep or with numbers too long, FIFOs and other files that are not regular files, a
folder renamed into itself, an output tail far past a file's end. Each is refused at once
with a 4xx a person understands, and nothing else waits on it."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import time
from typing import Any

import pytest

from jupyter_rpc.notebook.client import Session


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], home: pathlib.Path, with_local_cluster: Any
) -> dict[str, Any]:
    """The server with the local cluster over ``home`` (the shared fixture)."""
    return with_local_cluster(jp_server_config, home)


def strict_json(text: str | bytes) -> Any:
    """What the front end's JSON.parse accepts: no NaN, Infinity or -Infinity."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


async def raw_post(jp_fetch: Any, body: bytes, *parts: str) -> tuple[int, Any]:
    from tornado.httpclient import HTTPClientError

    try:
        response = await jp_fetch("jupyter-rpc", *parts, method="POST", body=body)
    except HTTPClientError as exc:
        assert exc.response is not None
        return exc.code, strict_json(exc.response.body)
    return response.code, strict_json(response.body)


CALLS = ("backends", "examples", "calls")


# -- NaN and Infinity (item 6) ---------------------------------------------------------


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400"])
async def test_nan_and_infinity_in_a_body_are_refused(jp_fetch, rpc, number) -> None:
    body = f'{{"function": "divide", "arguments": {{"a": {number}, "b": 1}}}}'.encode()
    status, err = await raw_post(jp_fetch, body, *CALLS)
    assert (status, err["code"]) == (400, "request.invalid_json"), err
    assert "NaN" in err["message"] and "Infinity" in err["message"]
    # the call list stays JSON that a browser can read, and holds no call
    response = await jp_fetch("jupyter-rpc", "calls")
    assert strict_json(response.body)["calls"] == []


async def test_the_notebook_client_refuses_nan_before_sending(server_url, rpc) -> None:
    url, token = server_url
    session = Session(url, token)
    with pytest.raises(ValueError) as info:
        await asyncio.to_thread(
            session.request,
            "POST",
            "backends/examples/calls",
            {"function": "divide", "arguments": {"a": float("nan"), "b": 1}},
        )
    assert "NaN" in str(info.value) and "arguments.a" in str(info.value)
    status, listing = await rpc("GET", "calls")
    assert status == 200 and listing["calls"] == []


# -- JSON too deep or numbers too long (item 10) ---------------------------------------


@pytest.mark.parametrize(
    "body, words",
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
        (b'{"function": "add", "arguments": {"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}", "nested"),
        (b'{"function": "add", "arguments": {"a": ' + b"9" * 5000 + b', "b": 1}}', "digits"),
        (b'{"function": "add", "arguments": {"a": 1.' + b"5" * 5000 + b', "b": 1}}', "digits"),
    ],
    ids=["deep-array", "deep-argument", "long-integer", "long-float"],
)
async def test_deep_json_and_long_numbers_are_refused(jp_fetch, rpc, body, words) -> None:
    started = time.monotonic()
    status, err = await raw_post(jp_fetch, body, *CALLS)
    assert (status, err["code"]) == (400, "request.invalid_json"), err
    assert words in err["message"]
    assert time.monotonic() - started < 5
    status, listing = await rpc("GET", "calls")
    assert status == 200 and listing["calls"] == []


async def test_ordinary_nesting_and_numbers_still_pass(rpc) -> None:
    status, call = await rpc(
        "POST", *CALLS, body={"function": "add", "arguments": {"a": 10**30, "b": 1}, "wait": 10}
    )
    assert status == 201 and call["state"] == "succeeded", call
    assert call["result"] == 10**30 + 1
