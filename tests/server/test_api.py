"""The REST API against a real Jupyter server and real backend processes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest


def _call(function: str, arguments: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"function": function, "arguments": arguments or {}, **extra}


async def test_root_and_backends(rpc):
    status, body = await rpc("GET", "")
    assert status == 200 and body["features"] == ["functions", "clusters", "jobs", "files"]
    status, body = await rpc("GET", "backends")
    assert status == 200
    names = {b["name"]: b for b in body["backends"]}
    assert set(names) == {"examples", "geo", "faulty", "strict", "broken"}
    assert names["examples"]["transport"] == "local"
    assert names["examples"]["state"] == "stopped"  # started on first use only


async def test_functions_are_listed_with_argument_schemas(rpc):
    status, body = await rpc("GET", "backends", "examples", "functions")
    assert status == 200
    specs = {f["name"]: f for f in body["functions"]}
    add = specs["add"]
    assert add["kind"] == "function"
    assert set(add["schema"]["properties"]) == {"a", "b"}  # func_name is not an argument
    assert add["schema"]["required"] == ["a"]
    assert add["summary"]
    method = specs["Accumulator.add_all"]
    assert method["kind"] == "method" and method["class_name"] == "Accumulator"
    assert "values" in method["schema"]["properties"]["function"]["properties"]
    assert "class_name" not in method["schema"]["properties"]
    _, backend = await rpc("GET", "backends", "examples")
    assert backend["state"] == "running"


async def test_call_returns_result_and_display(rpc):
    status, call = await rpc(
        "POST", "backends", "examples", "calls", body=_call("add", {"a": 2, "b": 40}, wait=10)
    )
    assert status == 201
    assert call["state"] == "succeeded", call
    assert call["result"] == 42
    assert call["display"] == {"text/plain": "42"}
    assert call["duration"] > 0 and call["error"] is None


async def test_call_followed_by_long_poll(rpc):
    status, call = await rpc(
        "POST", "backends", "faulty", "calls", body=_call("sleep", {"seconds": 0.3})
    )
    assert status == 201 and call["state"] in ("pending", "running")
    deadline = time.monotonic() + 10
    while call["state"] not in ("succeeded", "failed", "cancelled") and time.monotonic() < deadline:
        _, call = await rpc(
            "GET", "calls", call["id"], params={"wait": 5, "version": call["version"]}
        )
    assert call["state"] == "succeeded" and call["result"] == 0.3
    status, listing = await rpc("GET", "calls")
    assert status == 200 and listing["calls"][0]["id"] == call["id"]
    assert "result" not in listing["calls"][0]  # listings stay small


async def test_class_method_call(rpc):
    body = _call("Accumulator.add_all", {"start": 10, "function": {"values": [1, 2.5]}}, wait=10)
    status, call = await rpc("POST", "backends", "examples", "calls", body=body)
    assert status == 201 and call["state"] == "succeeded", call
    assert call["result"] == 13.5


@pytest.mark.parametrize(
    "arguments, path, words",
    [
        ({"a": "x"}, ["a"], "not of type 'integer'"),
        ({"b": 3}, ["a"], "is required"),
        ({"a": 1, "c": 2}, ["c"], "is not an argument"),
    ],
)
async def test_arguments_failing_the_schema_name_the_field(rpc, arguments, path, words):
    status, err = await rpc("POST", "backends", "examples", "calls", body=_call("add", arguments))
    assert status == 400
    assert err["code"] == "request.schema"
    assert err["details"]["errors"][0]["path"] == path
    assert words in err["message"] and "add" in err["message"]
    _, listing = await rpc("GET", "calls")
    assert listing["calls"] == []  # nothing was sent


async def test_unknown_backend_and_function(rpc):
    status, err = await rpc("POST", "backends", "nope", "calls", body=_call("add"))
    assert (status, err["code"]) == (404, "backend.not_found")
    assert "examples" in err["message"]  # says what there is
    status, err = await rpc("POST", "backends", "examples", "calls", body=_call("nope"))
    assert (status, err["code"]) == (404, "function.not_found")
    status, err = await rpc("GET", "calls", "0123")
    assert (status, err["code"]) == (404, "call.not_found")
    status, err = await rpc("GET", "no", "such", "route")
    assert (status, err["code"]) == (404, "route.not_found")


async def test_bodies_that_are_not_json_too_large_or_wrong(rpc):
    status, err = await rpc("POST", "backends", "examples", "calls", raw=b"{not json")
    assert (status, err["code"]) == (400, "request.invalid_json")
    status, err = await rpc("POST", "backends", "examples", "calls", raw=b"[1, 2]")
    assert (status, err["code"]) == (400, "request.invalid")
    status, err = await rpc("POST", "backends", "examples", "calls", body={"arguments": {}})
    assert (status, err["code"]) == (400, "request.invalid") and "function" in err["message"]
    big = _call("echo", {"value": "x" * 300_000})
    status, err = await rpc("POST", "backends", "faulty", "calls", body=big)
    assert (status, err["code"]) == (413, "request.too_large")
    assert "limit" in err["message"]


async def test_requests_without_auth_are_refused(rpc):
    routes = [
        ("GET", ("",)),
        ("GET", ("backends",)),
        ("GET", ("backends", "examples")),
        ("GET", ("backends", "examples", "functions")),
        ("POST", ("backends", "examples", "calls")),
        ("GET", ("calls",)),
        ("GET", ("calls", "abc")),
        ("DELETE", ("calls", "abc")),
    ]
    for method, parts in routes:
        body = _call("add", {"a": 1}) if method == "POST" else None
        status, err = await rpc(method, *parts, body=body, headers={"Authorization": ""})
        assert status == 403, (method, parts)
        assert err["code"] == "auth.forbidden" and err["message"]


async def test_function_that_raises_fails_the_call_not_the_request(rpc):
    status, call = await rpc(
        "POST",
        "backends",
        "faulty",
        "calls",
        body=_call("boom", {"message": "sensor offline"}, wait=10),
    )
    assert status == 201
    assert call["state"] == "failed"
    assert call["error"]["code"] == "call.remote_error"
    assert "sensor offline" in call["error"]["message"]
    assert "Traceback" not in call["error"]["message"]
    # and the backend keeps serving
    _, call = await rpc(
        "POST", "backends", "faulty", "calls", body=_call("echo", {"value": "still here"}, wait=10)
    )
    assert call["result"] == "still here"


async def test_crash_mid_call_fails_fast_and_backend_restarts(rpc):
    _, call = await rpc("POST", "backends", "faulty", "calls", body=_call("noop", wait=10))
    assert call["state"] == "succeeded"
    t0 = time.monotonic()
    _, call = await rpc(
        "POST", "backends", "faulty", "calls", body=_call("crash", {"after": 0.2}, wait=10)
    )
    elapsed = time.monotonic() - t0
    assert call["state"] == "failed"
    assert call["error"]["code"] == "backend.crashed"
    assert "exit code 3" in call["error"]["message"]
    assert elapsed < 0.2 + 1.0  # fails within a second of the crash
    _, call = await rpc(
        "POST", "backends", "faulty", "calls", body=_call("echo", {"value": "back"}, wait=20)
    )
    assert call["state"] == "succeeded" and call["result"] == "back"
    _, backend = await rpc("GET", "backends", "faulty")
    assert backend["state"] == "running" and backend["restarts"] == 1


async def test_call_past_its_timeout_fails_and_is_cancelled(rpc):
    t0 = time.monotonic()
    _, call = await rpc(
        "POST", "backends", "strict", "calls", body=_call("sleep", {"seconds": 30}, wait=20)
    )
    assert call["state"] == "failed"
    assert call["error"]["code"] == "call.timeout"
    assert "1 s" in call["error"]["message"]
    assert time.monotonic() - t0 < 5
    # the backend stopped the work: its next call answers at once
    _, call = await rpc(
        "POST", "backends", "strict", "calls", body=_call("echo", {"value": "ok"}, wait=5)
    )
    assert call["state"] == "succeeded"


async def test_caller_may_ask_for_a_shorter_timeout(rpc):
    body = _call("sleep", {"seconds": 30}, timeout=0.5, wait=20)
    _, call = await rpc("POST", "backends", "faulty", "calls", body=body)
    assert call["state"] == "failed" and call["error"]["code"] == "call.timeout"


async def test_cancel_a_running_call(rpc):
    _, call = await rpc("POST", "backends", "faulty", "calls", body=_call("sleep", {"seconds": 30}))
    # wait until it runs and reports progress
    for _ in range(50):
        _, call = await rpc(
            "GET", "calls", call["id"], params={"wait": 2, "version": call["version"]}
        )
        if call["progress"]:
            break
    assert call["state"] == "running" and call["progress"]["status"] == "running"
    status, cancelled = await rpc("DELETE", "calls", call["id"])
    assert status == 200 and cancelled["state"] == "cancelled"
    assert cancelled["error"]["code"] == "call.cancelled"
    status, err = await rpc("DELETE", "calls", call["id"])
    assert (status, err["code"]) == (409, "call.finished")


async def test_progress_is_visible_while_running(rpc):
    _, call = await rpc(
        "POST", "backends", "faulty", "calls", body=_call("sleep", {"seconds": 1.0})
    )
    seen = []
    while call["state"] not in ("succeeded", "failed"):
        _, call = await rpc(
            "GET", "calls", call["id"], params={"wait": 5, "version": call["version"]}
        )
        if call["progress"]:
            seen.append(call["progress"])
    assert seen, "no progress was reported"
    assert {"report_id", "status", "step_message", "steps", "children"} <= set(seen[0])


async def test_backend_that_cannot_start(rpc):
    status, err = await rpc("GET", "backends", "broken", "functions")
    assert status == 503
    assert err["code"] == "backend.unavailable"
    assert "no_such_module_for_jupyter_rpc" in err["message"]
    _, backend = await rpc("GET", "backends", "broken")
    assert backend["state"] == "failed" and backend["error"]["code"] == "backend.unavailable"


async def test_concurrent_calls_share_one_backend(rpc):
    start = time.monotonic()
    posts = [
        rpc(
            "POST",
            "backends",
            "faulty",
            "calls",
            body=_call("async_sleep", {"seconds": 0.5}, wait=20),
        )
        for _ in range(16)
    ]
    results = await asyncio.gather(*posts)
    outcomes = [
        (s, c.get("state"), (c.get("error") or {}).get("message", c.get("message")))
        for s, c in results
    ]
    failures = [o for o in outcomes if o[1] != "succeeded"]
    assert not failures, failures
    assert time.monotonic() - start < 5  # 16 × 0.5 s run side by side, not one after another


async def test_client_chosen_id_makes_the_post_idempotent(rpc):
    body = _call("add", {"a": 1, "b": 2}, id="0123456789abcdef0123456789abcdef", wait=10)
    status, first = await rpc("POST", "backends", "examples", "calls", body=body)
    assert status == 201 and first["id"] == body["id"] and first["result"] == 3
    status, again = await rpc("POST", "backends", "examples", "calls", body=body)
    assert status == 200 and again["id"] == first["id"]
    _, listing = await rpc("GET", "calls")
    assert len(listing["calls"]) == 1  # the retry started nothing
    status, err = await rpc("POST", "backends", "examples", "calls", body={**body, "id": "not-hex"})
    assert (status, err["code"]) == (400, "request.invalid")
