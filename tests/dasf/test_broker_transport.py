"""DASF backends through a real dasf-broker-django, seen through jupyter_rpc's REST API.

One broker and two real demessaging backend modules (a public and a token-protected
topic) serve the whole module; the Jupyter server of each test reaches them with the
broker transport. Faults that hurt the broker itself are in test_broker_faults.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.calls import FINISHED, call, rpc_app

from .testbed import MODULES, Broker, free_port, start_backend

DEMO = MODULES / "dasf_demo.py"
WRONG_TOKEN = "not-the-right-token-0123456789"


@pytest.fixture(scope="module")
def bed(dasf_env, dasf_module_broker: Broker) -> Iterator[Broker]:
    """The module's broker with a backend on its public and on its protected topic."""
    broker = dasf_module_broker
    broker.create_topic("nobody-listens")
    backends = [
        start_backend(dasf_env, DEMO, broker.public_topic, broker),
        start_backend(dasf_env, DEMO, broker.protected_topic, broker, token=broker.token),
    ]
    try:
        yield broker
    finally:
        for backend in backends:
            backend.stop()


@pytest.fixture
def jp_server_config(bed: Broker, tmp_path, monkeypatch) -> dict[str, Any]:
    token_file = tmp_path / "dasf-token"
    token_file.write_text(bed.token + "\n")
    monkeypatch.setenv("JRPC_TEST_DASF_TOKEN", bed.token)
    url = bed.ws_url
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_rpc": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        },
        "RPCApp": {
            "backends": {
                "dasf": {
                    "transport": "broker",
                    "url": url,
                    "topic": bed.public_topic,
                    "timeout": 60,
                },
                "guarded": {
                    "transport": "broker",
                    "url": url,
                    "topic": bed.protected_topic,
                    "token_file": str(token_file),
                },
                "guarded_env": {
                    "transport": "broker",
                    "url": url,
                    "topic": bed.protected_topic,
                    "token_env": "JRPC_TEST_DASF_TOKEN",
                },
                "wrong_token": {
                    "transport": "broker",
                    "url": url,
                    "topic": bed.protected_topic,
                    "token": WRONG_TOKEN,
                },
                "no_token": {"transport": "broker", "url": url, "topic": bed.protected_topic},
                "nobody": {
                    "transport": "broker",
                    "url": url,
                    "topic": "nobody-listens",
                    "start_timeout": 2,
                },
                "no_topic": {"transport": "broker", "url": url, "topic": "no-such-topic"},
                "no_broker": {
                    "transport": "broker",
                    "url": f"ws://127.0.0.1:{free_port()}/ws",
                    "topic": "demo",
                    "connect_timeout": 2,
                },
            },
        },
    }


async def test_broker_backends_are_listed(rpc):
    status, body = await rpc("GET", "backends")
    assert status == 200
    backends = {b["name"]: b for b in body["backends"]}
    assert backends["dasf"]["transport"] == "broker"
    assert backends["dasf"]["state"] in ("stopped", "starting", "running")


async def test_functions_and_classes_of_a_demessaging_module(rpc):
    status, body = await rpc("GET", "backends", "dasf", "functions")
    assert status == 200, body
    specs = {f["name"]: f for f in body["functions"]}
    assert set(specs) == {
        "add", "greet", "centroid", "count_slowly", "fail", "big_text", "noop", "Counter.plus", "Counter.times",
    }  # fmt: skip
    assert specs["add"]["schema"]["required"] == ["a"]
    assert specs["add"]["summary"] == "Add two integers."
    assert set(specs["count_slowly"]["schema"]["properties"]) == {
        "steps",
        "pause",
    }  # the reporter is hidden
    assert specs["greet"]["schema"]["properties"]["tone"]["enum"] == ["polite", "loud"]
    plus = specs["Counter.plus"]
    assert plus["kind"] == "method" and plus["class_name"] == "Counter" and plus["method"] == "plus"
    assert "values" in plus["schema"]["properties"]["function"]["properties"]
    _, backend = await rpc("GET", "backends", "dasf")
    assert backend["state"] == "running" and backend["error"] is None


async def test_calls_through_the_broker(rpc):
    status, model = await call(rpc, "dasf", "add", {"a": 2, "b": 40})
    assert status == 201 and model["state"] == "succeeded", model
    assert model["result"] == 42
    _, model = await call(rpc, "dasf", "greet", {"name": "Ada", "tone": "loud"})
    assert model["result"] == "HELLO, ADA."
    _, model = await call(
        rpc, "dasf", "centroid", {"stations": [{"lon": 2, "lat": 4}, {"lon": 4}], "weight": 2}
    )
    assert model["result"] == {"lon": 6.0, "lat": 4.0}
    _, model = await call(rpc, "dasf", "noop")
    assert model["state"] == "succeeded" and model["result"] is None


async def test_class_method_calls(rpc):
    _, model = await call(
        rpc, "dasf", "Counter.plus", {"start": 10, "function": {"values": [1, 2]}}
    )
    assert model["state"] == "succeeded", model
    assert model["result"] == 13
    _, model = await call(rpc, "dasf", "Counter.times", {"start": 7, "function": {"factor": 3}})
    assert model["result"] == 21


async def test_the_backends_error_message_reaches_the_caller(rpc):
    _, model = await call(rpc, "dasf", "fail", {"reason": "the sensor is offline"})
    assert model["state"] == "failed"
    assert model["error"]["code"] == "call.remote_error"
    assert model["error"]["message"] == "the sensor is offline"  # without demessaging's prefix


async def test_progress_is_visible_in_the_call(rpc):
    status, model = await call(rpc, "dasf", "count_slowly", {"steps": 4, "pause": 0.3}, wait=0)
    assert status == 201
    seen = []
    deadline = time.monotonic() + 30
    while model["state"] not in FINISHED and time.monotonic() < deadline:
        _, model = await rpc(
            "GET", "calls", model["id"], params={"wait": 5, "version": model["version"]}
        )
        if model["progress"] is not None:
            seen.append(model["progress"])
    assert model["state"] == "succeeded" and model["result"] == 4, model
    running = [p for p in seen if p["status"] == "running"]
    assert running, seen  # seen while the call ran, not only at the end
    assert running[0]["step_message"] == "Counting" and running[0]["steps"] == 4
    final = model["progress"]
    assert final["status"] == "success"
    assert [c["step_message"] for c in final["children"]] == [
        "step 1",
        "step 2",
        "step 3",
        "step 4",
    ]
    assert all(c["status"] == "success" for c in final["children"])


async def test_a_result_over_5_mb_arrives_intact(rpc):
    size = 5_500_000  # 14+ fragments of 500 KiB base64 on the wire
    pattern = "abcdefghijklmnopqrstuvwxyz0123456789"
    expected = hashlib.sha256((pattern * (size // len(pattern) + 1))[:size].encode()).hexdigest()
    t0 = time.perf_counter()
    _, model = await call(rpc, "dasf", "big_text", {"size": size}, wait=60)
    assert model["state"] == "succeeded", model["error"]
    assert len(model["result"]) == size
    assert hashlib.sha256(model["result"].encode()).hexdigest() == expected
    assert time.perf_counter() - t0 < 30


async def test_concurrent_calls_share_the_sockets_and_get_their_own_answers(rpc, jp_serverapp):
    transport = rpc_app(jp_serverapp).services.backends.get("dasf").transport
    # The broker acknowledges publishes one after the other (~20-80 ms each), so the last of
    # 48 pipelined calls waits seconds for its ack: slow is not stuck, nothing may fail.
    transport.ack_timeout = 1.0
    results = await asyncio.gather(
        *(call(rpc, "dasf", "add", {"a": i, "b": 1000}) for i in range(48))
    )
    assert [m["error"] for _, m in results] == [None] * 48
    assert [m["result"] for _, m in results] == [i + 1000 for i in range(48)]
    assert transport.restarts == 0 and not transport._pending


async def test_cancelled_call_is_forgotten_and_the_next_call_works(rpc, jp_serverapp):
    _, model = await call(rpc, "dasf", "count_slowly", {"steps": 6, "pause": 0.25}, wait=0.5)
    assert model["state"] == "running"
    status, model = await rpc("DELETE", "calls", model["id"])
    assert status == 200 and model["state"] == "cancelled"
    _, added = await call(rpc, "dasf", "add", {"a": 1})
    assert added["result"] == 2
    await asyncio.sleep(2.0)  # the backend finishes the cancelled call; its answer is dropped
    _, model = await rpc("GET", "calls", model["id"])
    assert model["state"] == "cancelled" and "result" not in model
    assert not rpc_app(jp_serverapp).services.backends.get("dasf").transport._pending


async def test_token_from_a_file_or_an_environment_variable(rpc):
    for name in ("guarded", "guarded_env"):
        _, model = await call(rpc, name, "add", {"a": 20, "b": 22})
        assert model["state"] == "succeeded" and model["result"] == 42, (name, model)


async def test_wrong_or_missing_token_is_a_clear_error_naming_the_topic(rpc, bed, caplog):
    caplog.set_level(logging.DEBUG)
    bodies = []
    for name in ("wrong_token", "no_token"):
        t0 = time.monotonic()
        status, body = await rpc("GET", "backends", name, "functions")
        bodies.append(body)
        assert time.monotonic() - t0 < 5  # refused at once, not a timeout
        assert status == 503, body
        assert body["code"] == "broker.forbidden"
        assert f"topic '{bed.protected_topic}'" in body["message"]
        assert "not allowed to publish" in body["message"]
        assert body["details"]["topic"] == bed.protected_topic
        # and the backend list says so (its check is a ping, refused the same way)
        deadline = time.monotonic() + 10
        while True:
            _, listing = await rpc("GET", "backends", name)
            bodies.append(listing)
            if listing["state"] == "failed" or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert listing["state"] == "failed" and listing["error"]["code"] == "broker.forbidden"
    # Tokens appear in no answer and no log line, neither the wrong one nor the right one.
    _, model = await call(rpc, "guarded", "add", {"a": 1})
    assert model["result"] == 2
    _, everything = await rpc("GET", "backends")
    _, calls = await rpc("GET", "calls")
    text = repr([bodies, model, everything, calls]) + caplog.text
    assert WRONG_TOKEN not in text and bed.token not in text
    assert (
        "broker.forbidden" in caplog.text or "refused" in caplog.text
    )  # the log did say something


async def test_topic_without_a_backend_fails_within_its_start_timeout(rpc):
    t0 = time.monotonic()
    status, body = await rpc("GET", "backends", "nobody", "functions")
    elapsed = time.monotonic() - t0
    assert status == 503 and body["code"] == "broker.no_backend", body
    assert "nobody-listens" in body["message"] and "2 s" in body["message"]
    assert 1.5 < elapsed < 6
    _, backend = await rpc("GET", "backends", "nobody")
    assert backend["state"] == "failed" and backend["error"]["code"] == "broker.no_backend"


async def test_topic_that_does_not_exist(rpc):
    t0 = time.monotonic()
    status, body = await rpc("GET", "backends", "no_topic", "functions")
    assert time.monotonic() - t0 < 5
    assert status == 503 and body["code"] == "broker.topic_not_found", body
    assert "no-such-topic" in body["message"]


async def test_broker_that_is_not_there(rpc):
    t0 = time.monotonic()
    status, body = await rpc("GET", "backends", "no_broker", "functions")
    assert time.monotonic() - t0 < 5
    assert status == 503 and body["code"] == "broker.unavailable", body
    assert "Cannot reach the DASF broker at ws://127.0.0.1:" in body["message"]
    status, body = await call(rpc, "no_broker", "add", {"a": 1})
    assert status == 503 and body["code"] == "broker.unavailable"
    _, backend = await rpc("GET", "backends", "no_broker")
    assert backend["state"] == "failed" and backend["error"]["code"] == "broker.unavailable"
