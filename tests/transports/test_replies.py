"""Request/reply matching (jupyter_rpc.protocol.replies), the one copy every DASF transport
uses: contexts, pongs, fragments, size limits, failing, and a progress sink that raises
(it must cost neither the call its answer nor the connection its other calls)."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from typing import Any

import pytest

from jupyter_rpc import protocol
from jupyter_rpc.protocol.broker import fragment_message
from jupyter_rpc.protocol.replies import Replies
from jupyter_rpc.transports import LocalTransport
from tests.fixtures import FAULTY


class Broken(Exception):
    pass


class TooBig(Exception):
    pass


def _replies(max_size: int | None = None) -> Replies:
    return Replies(
        "b",
        protocol_fault=lambda what: Broken(what),
        max_size=max_size,
        too_large=TooBig if max_size is not None else None,
    )


def _answer(context: str, value: Any, kind: str = protocol.RESPONSE) -> dict[str, Any]:
    return protocol.message(
        kind, context, payload=protocol.encode_payload(value), status=protocol.SUCCESS
    )


@pytest.mark.asyncio
async def test_an_answer_finds_its_request_by_context() -> None:
    replies = _replies()
    first, second = replies.add(protocol.REQUEST), replies.add(protocol.REQUEST)
    assert first.context != second.context and len(replies) == 2
    msg = _answer(second.context, "two")
    assert replies.deliver(msg["properties"], msg["payload"]) is second
    reply = await second.future
    assert protocol.decode_payload(reply["payload"]) == "two"
    assert not first.future.done() and len(replies) == 1
    # an integer context (as a broker may echo it) is the same context
    msg = _answer(first.context, "one")
    msg["properties"]["requestContext"] = int(first.context)
    replies.deliver(msg["properties"], msg["payload"])
    assert protocol.decode_payload((await first.future)["payload"]) == "one"
    # a late answer to either is dropped
    assert replies.deliver(msg["properties"], msg["payload"]) is None and not replies


@pytest.mark.asyncio
async def test_a_pong_answers_a_ping_only() -> None:
    replies = _replies()
    call, ping = replies.add(protocol.REQUEST), replies.add(protocol.PING)
    for pending in (call, ping):
        pong = protocol.message(protocol.PONG, pending.context)
        replies.deliver(pong["properties"], pong["payload"])
    assert ping.future.done() and not call.future.done()
    replies.forget(call.context)
    assert not replies


@pytest.mark.asyncio
async def test_fragments_in_any_order_make_one_answer() -> None:
    value = {"numbers": list(range(2000))}
    replies = _replies(max_size=1_000_000)
    pending = replies.add(protocol.REQUEST)
    frames = fragment_message(_answer(pending.context, value), 1000)
    assert len(frames) > 3
    for frame in [*reversed(frames), frames[0]]:  # backwards, and one twice
        replies.deliver(frame["properties"], frame["payload"])
    reply = await pending.future
    assert protocol.decode_payload(reply["payload"]) == value
    assert "fragment" not in reply["properties"] and "num_fragments" not in reply["properties"]


@pytest.mark.asyncio
async def test_an_answer_over_the_limit_or_broken_fails_its_request_only() -> None:
    replies = _replies(max_size=100)
    big, fragmented, broken, fine = (replies.add(protocol.REQUEST) for _ in range(4))
    msg = _answer(big.context, "x" * 200)
    replies.deliver(msg["properties"], msg["payload"])
    with pytest.raises(TooBig):
        await big.future
    for frame in fragment_message(_answer(fragmented.context, "y" * 200), 40):
        replies.deliver(frame["properties"], frame["payload"])
    with pytest.raises(TooBig):
        await fragmented.future
    msg = _answer(broken.context, 1)
    msg["properties"].update(fragment=5, num_fragments=2)
    replies.deliver(msg["properties"], msg["payload"])
    with pytest.raises(Broken, match="a broken fragment"):
        await broken.future
    replies.deliver({"messageType": "response", "requestContext": fine.context}, {"not": "text"})
    with pytest.raises(Broken, match="a payload that is not text"):
        await fine.future
    assert not replies


@pytest.mark.asyncio
async def test_failing_all_requests_of_one_connection() -> None:
    replies = _replies()
    old, new = object(), object()
    a, b = replies.add(protocol.REQUEST, owner=old), replies.add(protocol.REQUEST, owner=new)
    replies.fail_all(lambda: Broken("lost"), owner=old)
    with pytest.raises(Broken):
        await a.future
    assert not b.future.done() and len(replies) == 1
    replies.fail_all(Broken("closed"))
    with pytest.raises(Broken):
        await b.future


@pytest.mark.asyncio
async def test_a_progress_sink_that_raises_is_logged_and_the_call_goes_on(caplog) -> None:
    seen: list[dict[str, Any]] = []

    def sink(tree: dict[str, Any]) -> None:
        seen.append(tree)
        raise RuntimeError("the sink is broken")

    replies = _replies()
    pending = replies.add(protocol.REQUEST, on_progress=sink)
    progress = protocol.message(
        protocol.PROGRESS, pending.context, payload=protocol.encode_payload({"step": 1})
    )
    with caplog.at_level(logging.ERROR, logger="jupyter_rpc.protocol.replies"):
        replies.deliver(progress["properties"], progress["payload"])
    assert seen == [{"step": 1}] and "could not be recorded" in caplog.text
    msg = _answer(pending.context, 42)
    replies.deliver(msg["properties"], msg["payload"])
    assert protocol.decode_payload((await pending.future)["payload"]) == 42


async def test_a_raising_progress_sink_breaks_neither_a_local_call_nor_its_process(caplog):
    """Before, the stdio transport let the sink's exception end its reader: the call and
    every other call in flight failed as if the backend had crashed, and it was restarted."""
    transport = LocalTransport("t", [sys.executable, "-m", "jupyter_rpc.backend", "serve", FAULTY])
    calls = 0

    def sink(tree: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("the sink is broken")

    try:
        other = asyncio.ensure_future(transport.call({"func_name": "sleep", "seconds": 0.6}))
        result = await transport.call({"func_name": "sleep", "seconds": 0.5}, on_progress=sink)
        assert result == 0.5 and calls > 0
        assert await other == 0.6  # the call beside it kept its connection
        pid = transport.pid
        assert await transport.call({"func_name": "echo", "value": "still here"}) == "still here"
        assert transport.pid == pid and transport.restarts == 0
        assert transport.state == "running"
    finally:
        await transport.close()
    assert "could not be recorded" in caplog.text


def test_the_matching_ships_to_login_nodes_without_the_server() -> None:
    """protocol/ goes into the runner's distribution: no tornado, no jupyter_server."""
    code = (
        "import sys\n"
        "for name in ('tornado', 'jupyter_server', 'asyncssh', 'jsonschema'):\n"
        "    sys.modules[name] = None\n"
        "import jupyter_rpc.protocol.replies\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
