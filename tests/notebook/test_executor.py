"""Many calls at once: the batch routes (POST backends/{b}/calls/batch, POST calls/wait)
and the notebook client's Executor over them, from a real kernel against a real server."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest

SCHEMA_ID = "https://events.jupyter.org/jupyter_rpc/action/v1"


class Events(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def ours(self) -> list[dict[str, Any]]:
        return [e for e in map(json.loads, self.lines) if e["__schema__"] == SCHEMA_ID]


@pytest.fixture
def events(jp_serverapp: Any) -> Any:
    handler = Events()
    jp_serverapp.event_logger.register_handler(handler)
    yield handler
    jp_serverapp.event_logger.remove_handler(handler)


async def test_a_batch_starts_many_calls_and_one_wait_collects_them(rpc, events):
    ids = [uuid.uuid4().hex for _ in range(50)]
    items = [{"function": "add", "arguments": {"a": i, "b": 1}, "id": ids[i]} for i in range(50)]
    items[7] = {"function": "add", "arguments": {"a": "seven"}, "id": ids[7]}  # does not fit
    items[8] = {"function": "no_such_function", "id": ids[8]}
    status, body = await rpc(
        "POST", "backends", "examples", "calls", "batch", body={"calls": items, "wait": 5}
    )
    assert status == 201
    calls = body["calls"]
    assert [c["id"] for c in calls] == ids  # in order, each id as sent
    assert calls[7]["state"] == "failed" and calls[7]["error"]["code"] == "request.schema"
    assert "a" in calls[7]["error"]["message"]
    assert calls[8]["state"] == "failed" and "no_such_function" in calls[8]["error"]["message"]
    done = {c["id"]: c for c in calls if c["state"] == "succeeded"}
    # whatever had not ended within the batch's wait, one long poll at a time
    pending = [c["id"] for c in calls if c["state"] not in ("succeeded", "failed")]
    while pending:
        status, answer = await rpc("POST", "calls", "wait", body={"ids": pending, "wait": 5})
        assert status == 200 and answer["missing"] == []
        done.update({c["id"]: c for c in answer["calls"]})
        pending = answer["running"]
    assert [done[i]["result"] for i in ids if i not in (ids[7], ids[8])] == [
        i + 1 for i in range(50) if i not in (7, 8)
    ]
    # the same batch again starts nothing new: each id answers its call
    status, again = await rpc(
        "POST", "backends", "examples", "calls", "batch", body={"calls": items}
    )
    assert status == 201 and [c["id"] for c in again["calls"]] == ids
    assert [c["created"] for c in again["calls"]] == [c["created"] for c in calls]
    # one accountability event per batch, naming every call id
    batch = [e for e in events.ours() if e["action"] == "call.batch"]
    assert len(batch) == 2 and batch[0]["call_id"].split() == ids
    assert batch[0]["backend"] == "examples" and batch[0]["permission"] == "execute"
    assert batch[0]["function"] == "add, no_such_function"
    # an unknown id is said to be unknown, at once
    status, answer = await rpc("POST", "calls", "wait", body={"ids": ["0" * 32], "wait": 5})
    assert answer == {"calls": [], "running": [], "missing": ["0" * 32]}


async def test_a_batch_is_bounded(rpc):
    items = [{"function": "add", "arguments": {"a": 1}}] * 1001
    status, body = await rpc(
        "POST", "backends", "examples", "calls", "batch", body={"calls": items}
    )
    # the body limit of the test server (256 KiB) is not reached: the batch's own bound is
    assert status == 413 and body["code"] == "request.too_large"
    assert "at most 1,000 calls" in body["message"] and "1,001" in body["message"]
    status, body = await rpc(
        "POST", "backends", "nope", "calls", "batch", body={"calls": items[:2]}
    )
    assert status == 404
    status, body = await rpc("POST", "calls", "wait", body={"ids": ["x"] * 1001})
    assert status == 413 and "at most 1,000" in body["message"]
    status, calls = await rpc("GET", "calls")
    assert calls["calls"] == []  # nothing started
