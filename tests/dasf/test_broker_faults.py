"""Faults of a real broker and a real demessaging backend, seen through the REST API.

Every test has its own broker (the ``dasf_broker`` fixture) and backend, since each one
restarts, kills or freezes them. Every wait is bounded; the point of each test is that
jupyter_rpc answers clearly within a call's timeout where demessaging's client would hang.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import pytest

from tests.fixtures.calls import FINISHED, call, rpc_app, wait_done

from .testbed import MODULES, Broker

DEMO = MODULES / "dasf_demo.py"

pytestmark = pytest.mark.slow


@pytest.fixture
def jp_server_config(dasf_broker: Broker) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_rpc": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        },
        "RPCApp": {
            "backends": {
                "dasf": {
                    "transport": "broker",
                    "url": dasf_broker.ws_url,
                    "topic": dasf_broker.public_topic,
                    "timeout": 60,
                    "connect_timeout": 3,
                },
            },
        },
    }


def transport_of(jp_serverapp: Any) -> Any:
    return rpc_app(jp_serverapp).services.backends.get("dasf").transport


async def backend_state(rpc: Any, wanted: str, timeout: float) -> dict[str, Any]:
    """Poll the backend list (which pings when its news is old) until ``wanted``."""
    deadline = time.monotonic() + timeout
    while True:
        _, model = await rpc("GET", "backends", "dasf")
        if model["state"] == wanted or time.monotonic() > deadline:
            return model
        await asyncio.sleep(0.25)


async def test_broker_restarted_while_idle_next_call_works(
    rpc, jp_serverapp, dasf_broker, dasf_backend
):
    dasf_backend(DEMO, dasf_broker.public_topic)
    _, model = await call(rpc, "dasf", "add", {"a": 1})
    assert model["result"] == 2
    await asyncio.to_thread(dasf_broker.restart, 1.0)
    await asyncio.sleep(1.0)  # idle
    # The broker keeps the request until the demessaging backend is back (10-20 s).
    _, model = await call(rpc, "dasf", "add", {"a": 2}, wait=55)
    assert model["state"] == "succeeded", model
    assert model["result"] == 3
    transport = transport_of(jp_serverapp)
    assert transport.restarts == 1  # both sockets re-opened once
    _, model = await call(rpc, "dasf", "Counter.plus", {"start": 1, "function": {"values": [1]}})
    assert model["result"] == 2
    assert (await backend_state(rpc, "running", 10))["state"] == "running"


async def test_broker_restarted_between_calls_while_the_backend_is_away(
    rpc, jp_serverapp, dasf_broker, dasf_backend
):
    backend = dasf_backend(DEMO, dasf_broker.public_topic)
    _, model = await call(rpc, "dasf", "add", {"a": 1})
    assert model["result"] == 2
    backend.stop()
    await asyncio.to_thread(dasf_broker.restart)
    dasf_backend(DEMO, dasf_broker.public_topic)  # a fresh backend on the restarted broker
    _, model = await call(rpc, "dasf", "add", {"a": 5}, wait=30)
    assert model["state"] == "succeeded" and model["result"] == 6, model


async def test_broker_killed_during_a_call_fails_it_at_once(
    rpc, jp_serverapp, dasf_broker, dasf_backend
):
    dasf_backend(DEMO, dasf_broker.public_topic)
    _, model = await call(rpc, "dasf", "count_slowly", {"steps": 40, "pause": 0.5}, wait=0)
    deadline = time.monotonic() + 20
    while model["progress"] is None and time.monotonic() < deadline:
        _, model = await rpc(
            "GET", "calls", model["id"], params={"wait": 2, "version": model["version"]}
        )
    assert model["state"] == "running" and model["progress"] is not None, model
    dasf_broker.kill()
    t0 = time.monotonic()
    model = await wait_done(rpc, model, timeout=20)
    assert time.monotonic() - t0 < 5, "the loss of the broker must fail the call at once"
    assert model["state"] == "failed"
    assert model["error"]["code"] == "broker.unavailable"
    assert "connection to the DASF broker was lost" in model["error"]["message"]
    listing = await backend_state(rpc, "failed", 5)
    assert listing["state"] == "failed" and listing["error"]["code"] == "broker.unavailable"
    # While the broker is down a new call fails at once, with the reason.
    t0 = time.monotonic()
    status, body = await call(rpc, "dasf", "add", {"a": 1})
    assert time.monotonic() - t0 < 5
    if status == 201:  # the spec is cached: the call is made and fails
        assert body["state"] == "failed" and body["error"]["code"] == "broker.unavailable", body
    else:
        assert status == 503 and body["code"] == "broker.unavailable", body


async def test_backend_killed_shows_failed_and_calls_time_out_cleanly(
    rpc, jp_serverapp, dasf_broker, dasf_backend
):
    backend = dasf_backend(DEMO, dasf_broker.public_topic)
    transport = transport_of(jp_serverapp)
    transport.status_interval, transport.status_timeout = 0.5, 1.0  # the list pings sooner
    _, model = await call(rpc, "dasf", "add", {"a": 1})
    assert model["result"] == 2
    assert (await backend_state(rpc, "running", 5))["state"] == "running"
    backend.kill()
    listing = await backend_state(rpc, "failed", 15)
    assert listing["state"] == "failed", listing
    assert listing["error"]["code"] == "broker.no_backend"
    assert "topic 'demo'" in listing["error"]["message"]
    t0 = time.monotonic()
    _, model = await call(rpc, "dasf", "add", {"a": 1}, timeout=2, wait=10)
    assert model["state"] == "failed" and model["error"]["code"] == "call.timeout", model
    assert 1.8 < time.monotonic() - t0 < 4
    assert not transport._pending  # the timed-out call is forgotten


async def test_frozen_broker_is_noticed_by_the_keepalive(
    rpc, jp_serverapp, dasf_broker, dasf_backend
):
    dasf_backend(DEMO, dasf_broker.public_topic)
    transport = transport_of(jp_serverapp)
    transport.ping_interval, transport.ping_timeout = 0.5, 1.5  # read when the sockets open
    _, model = await call(rpc, "dasf", "count_slowly", {"steps": 40, "pause": 0.5}, wait=1)
    assert model["state"] == "running", model
    pid = dasf_broker.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # the broker stops answering, its sockets stay open
    try:
        t0 = time.monotonic()
        model = await wait_done(rpc, model, timeout=15)
        assert model["state"] == "failed", model
        assert model["error"]["code"] == "broker.unavailable"
        assert "keepalive" in model["error"]["message"]
        assert time.monotonic() - t0 < 6
        # A new call cannot connect to the frozen broker either: bounded by connect_timeout.
        t0 = time.monotonic()
        status, body = await call(rpc, "dasf", "add", {"a": 1})
        assert time.monotonic() - t0 < 10
        error = body["error"] if status == 201 else body
        assert error["code"] == "broker.unavailable", body
        assert model["state"] in FINISHED
    finally:
        os.kill(pid, signal.SIGCONT)
