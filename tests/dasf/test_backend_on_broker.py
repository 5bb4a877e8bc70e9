"""jupyter_rpc's runner as a real DASF backend on a real dasf-broker-django.

Clients: demessaging's own ``send-request`` command, and a raw websocket client
(:mod:`dasf.rawclient`) where the wire itself is the point (api_info, progress, fragments).
"""

from __future__ import annotations

import json
import math
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from jupyter_rpc.protocol.broker import authorization, fragment_message, topic_url
from tests.fixtures import FAULTY

from .rawclient import dasf_exchange
from .testbed import MODULES, REPO, send_request

DEMO = REPO / "jupyter_rpc" / "examples" / "demo.py"
DEMO_API = MODULES / "demo_api.py"  # demessaging's view of DEMO, for its client
DASF_DEMO = MODULES / "dasf_demo.py"


# -- pure helpers ----------------------------------------------------------------------------


def test_topic_urls_for_both_broker_layouts():
    assert topic_url("ws://h:8000/ws", "t", "producer") == "ws://h:8000/ws/t"
    assert topic_url("wss://h/prefix/ws/", "t", "consumer", "s-1") == "wss://h/prefix/ws/t/s-1"
    assert (
        topic_url("ws://p:8080", "t", "consumer", "sub", pulsar=True)
        == "ws://p:8080/ws/v2/consumer/non-persistent/public/default/t/sub?subscriptionType=Exclusive"
    )
    assert (
        topic_url("ws://p:8080/ws/v2/", "t", "producer")
        == "ws://p:8080/ws/v2/producer/non-persistent/public/default/t"
    )
    given = "wss://p/ws/v2/consumer/persistent/tenant-a/ns-b"
    assert topic_url(given, "t", "producer") == "wss://p/ws/v2/producer/persistent/tenant-a/ns-b/t"
    assert (
        topic_url(given, "t", "consumer", "s")
        == "wss://p/ws/v2/consumer/persistent/tenant-a/ns-b/t/s?subscriptionType=Exclusive"
    )
    # http(s) is taken for ws(s), as the server's transport takes it (one URL module)
    assert topic_url("http://h/ws", "t", "producer") == "ws://h/ws/t"
    for bad in ("ftp://h/ws", "ws://h/ws?x=1", "ws:///ws"):
        with pytest.raises(ValueError):
            topic_url(bad, "t", "producer")
    with pytest.raises(ValueError, match="persistent"):
        topic_url("ws://p/ws/v2/producer/durable/a/b", "t", "producer")
    with pytest.raises(ValueError):
        topic_url("ws://h/ws", "a/b", "producer")


def test_token_header_and_fragments():
    assert authorization("abc") == "Token abc"
    assert authorization("Bearer xyz") == "Bearer xyz"
    small = {"properties": {"messageType": "response"}, "context": "1", "payload": "QUJD"}
    assert fragment_message(small, 3) == [small]
    big = dict(small, payload="QUJDRA==")  # 4 bytes > 3
    frames = fragment_message(big, 3)
    assert [f["payload"] for f in frames] == ["QUJ", "DRA", "=="]
    assert [(f["properties"]["fragment"], f["properties"]["num_fragments"]) for f in frames] == [
        (0, 3),
        (1, 3),
        (2, 3),
    ]


# -- on a broker ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_topic(dasf_module_broker):
    """Our runner serving jupyter_rpc's demo module on a module-wide broker."""
    from .testbed import start_runner

    topic = dasf_module_broker.create_topic("rpc-demo")
    runner = start_runner(DEMO, topic, dasf_module_broker)
    yield topic
    runner.stop()


def test_demessaging_client_calls_our_runner(dasf_env, dasf_module_broker, demo_topic):
    url = dasf_module_broker.ws_url

    def call(request):
        return send_request(dasf_env, DEMO_API, demo_topic, url, request, timeout=30)

    added = call({"func_name": "add", "a": 2, "b": 40})
    assert added.ok and added.value == "42", added.stderr
    method = call(
        {
            "class_name": "Accumulator",
            "start": 10,
            "function": {"func_name": "add_all", "values": [1, 2.5]},
        }
    )
    assert method.ok and method.value == "13.5", method.stderr
    failed = call({"func_name": "divide", "a": 1, "b": 0})
    assert failed.returncode == 1
    assert failed.error.startswith("ValueError: error executing request: ")
    assert "cannot divide by zero" in failed.error


def test_api_info_has_the_shape_demessaging_gives(dasf_module_broker, demo_topic, dasf_backend):
    url = dasf_module_broker.ws_url
    ours = dasf_exchange(url, demo_topic, "api_info")
    assert ours.kind == "response" and ours.payload == ""
    assert ours.properties["source_topic"] == demo_topic
    info = json.loads(ours.properties["api_info"])
    assert set(info) == {"functions", "classes", "rpc_schema"}
    # demessaging's own backend for the same signatures, on the same broker
    reference_topic = dasf_module_broker.create_topic("rpc-demo-reference")
    dasf_backend(DEMO_API, reference_topic, broker=dasf_module_broker)
    theirs = json.loads(dasf_exchange(url, reference_topic, "api_info").properties["api_info"])

    def shape(api, kind, name):
        entry = next(e for e in api[kind] if e["name"] == name)
        schema = entry["rpc_schema"]
        return set(entry), schema["title"], set(schema["properties"]), set(schema["required"])

    assert shape(info, "functions", "add") == shape(theirs, "functions", "add")
    assert shape(info, "functions", "divide") == shape(theirs, "functions", "divide")
    assert shape(info, "classes", "Accumulator") == shape(theirs, "classes", "Accumulator")
    ours_methods = {m["name"]: m["rpc_schema"]["title"] for m in info["classes"][0]["methods"]}
    theirs_methods = {m["name"]: m["rpc_schema"]["title"] for m in theirs["classes"][0]["methods"]}
    assert ours_methods == theirs_methods
    assert dasf_exchange(url, demo_topic, "ping").kind == "pong"


def test_progress_and_a_fragmented_result(dasf_env, dasf_module_broker, dasf_runner):
    """A module written for demessaging, unchanged, under our runner (in the DASF venv)."""
    topic = dasf_module_broker.create_topic("rpc-dasf-demo")
    dasf_runner(DASF_DEMO, topic, broker=dasf_module_broker, python=dasf_env.python)
    url = dasf_module_broker.ws_url

    big = dasf_exchange(
        url, topic, "request", {"func_name": "big_text", "size": 5_500_000}, timeout=40
    )
    assert big.status == "success"
    encoded = math.ceil((5_500_000 + 2) / 3) * 4  # base64 of the JSON string (with quotes)
    assert big.fragments == math.ceil(encoded / 512_000) == 15  # demessaging's cut
    value = big.value
    assert len(value) == 5_500_000 and value.startswith("abcdefghij")

    slow = dasf_exchange(
        url, topic, "request", {"func_name": "count_slowly", "steps": 3, "pause": 0.1}
    )
    assert slow.value == 3
    trees = slow.progress
    assert trees and trees[-1]["status"] == "success"
    assert trees[-1]["step_message"] == "Counting" and trees[-1]["steps"] == 3
    assert [c["step_message"] for c in trees[-1]["children"]] == ["step 1", "step 2", "step 3"]
    assert trees[-1]["report_type"] == "tree"  # deprogressapi's own JSON
    assert all(f["properties"]["messageType"] == "progress" for f in slow.frames[:-1])

    def call(request):
        return send_request(dasf_env, DASF_DEMO, topic, url, request, timeout=30)

    assert call({"func_name": "greet", "name": "Ada", "tone": "loud"}).value == '"HELLO, ADA."'
    centroid = call({"func_name": "centroid", "stations": [{"lon": 1, "lat": 2}, {"lon": 3}]})
    assert json.loads(centroid.value) == {"lon": 2.0, "lat": 1.0}, centroid.stderr
    # @configure(field_params={"stations": {"min_length": 1}}) is honoured
    empty = dasf_exchange(url, topic, "request", {"func_name": "centroid", "stations": []})
    assert empty.status == "error"
    assert empty.value.startswith("error validating request:") and "stations" in empty.value
    api = json.loads(dasf_exchange(url, topic, "api_info").properties["api_info"])
    centroid_schema = next(f for f in api["functions"] if f["name"] == "centroid")["rpc_schema"]
    assert centroid_schema["properties"]["stations"]["minItems"] == 1
    method = call(
        {"class_name": "Counter", "start": 5, "function": {"func_name": "times", "factor": 3}}
    )
    assert method.value == "15"
    failed = call({"func_name": "fail", "reason": "no data"})
    assert failed.error == "ValueError: error executing request: ValueError: no data"


def test_runner_reconnects_after_a_broker_restart(dasf_broker, dasf_runner):
    topic = dasf_broker.create_topic("rpc-restart")
    runner = dasf_runner(FAULTY, topic)
    assert (
        dasf_exchange(
            dasf_broker.ws_url, topic, "request", {"func_name": "echo", "value": "a"}
        ).value
        == "a"
    )
    dasf_broker.restart()
    start = time.monotonic()
    reply = dasf_exchange(
        dasf_broker.ws_url, topic, "request", {"func_name": "echo", "value": "b"}, timeout=20
    )
    assert reply.value == "b"
    assert time.monotonic() - start < 10
    assert runner.alive()
    assert "reconnected to" in runner.log_text()
    # the broker's own liveness check (its HTTP ping view pings the topic's backend,
    # which answers on status-ping)
    assert (
        _broker_status(f"{dasf_broker.http_url}/dasf-broker/{topic}/ping/") == "Consumer connected"
    )
    runner.stop()
    assert runner.returncode == 0  # SIGTERM: a clean exit


def _broker_status(ping_url: str, timeout: float = 10.0) -> str:
    """Ask the broker to ping a topic, then poll its status view until it is online."""
    try:
        urllib.request.urlopen(ping_url, timeout=timeout).close()
    except urllib.error.HTTPError as exc:  # the redirect to the status page may come first
        exc.close()
    status_url = ping_url.replace("/ping/", "/status/")
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(status_url, timeout=timeout) as page:
                return page.read().decode()
        except urllib.error.HTTPError as exc:
            text = exc.read().decode()
            exc.close()
        time.sleep(0.1)
    return text


def test_protected_topic_with_and_without_the_right_token(
    dasf_env, dasf_broker, dasf_process, dasf_runner, tmp_path
):
    topic = dasf_broker.protected_topic
    token_file = tmp_path / "token"
    token_file.write_text(dasf_broker.token + "\n")
    # `python -m jupyter_rpc.backend MODULE --broker ...` (serve is the default verb)
    good = dasf_process(
        [sys.executable, "-m", "jupyter_rpc.backend", DEMO, "--broker", dasf_broker.ws_url]
        + ["--topic", topic, "--token-file", token_file],
        topic,
        cwd=REPO,
    )
    result = send_request(
        dasf_env,
        DEMO_API,
        topic,
        dasf_broker.ws_url,
        {"func_name": "add", "a": 1},
        token=dasf_broker.token,
    )
    assert result.value == "2", result.stderr
    good.stop()
    assert dasf_broker.token not in good.log_text()

    wrong = "0" * 40
    refused = dasf_runner(DEMO, topic, token=wrong, wait=False)
    deadline = time.monotonic() + 20
    while refused.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert refused.returncode == 1
    log = refused.log_text()
    assert f"refused to let this backend serve topic {topic!r}" in log
    assert "User is not allowed to publish to this topic" in log
    assert wrong not in log

    missing = dasf_runner(DEMO, "no-such-topic", wait=False)
    deadline = time.monotonic() + 20
    while missing.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert missing.returncode == 1
    assert "the topic must exist" in missing.log_text()


def test_cli_checks_broker_options(tmp_path: Path):
    import subprocess

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "jupyter_rpc.backend", "serve", str(DEMO), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )

    assert "--broker needs --topic" in run("--broker", "ws://127.0.0.1:9/ws").stderr
    assert "need --broker" in run("--topic", "t").stderr
    missing = run("--broker", "ws://127.0.0.1:9/ws", "--topic", "t", "--token-env", "NO_SUCH_VAR_X")
    assert "NO_SUCH_VAR_X is not set" in missing.stderr
    empty = tmp_path / "token"
    empty.write_text("\n")
    assert (
        "is empty"
        in run("--broker", "ws://h/ws", "--topic", "t", "--token-file", str(empty)).stderr
    )
    # http(s):// is taken for ws(s):// (as the server takes it); other schemes are refused
    assert "ws:// or wss://" in run("--broker", "ftp://h/ws", "--topic", "t").stderr


def test_sigterm_answers_the_running_call_before_exiting(dasf_module_broker, dasf_runner):
    import threading

    topic = dasf_module_broker.create_topic("rpc-sigterm")
    runner = dasf_runner(FAULTY, topic, broker=dasf_module_broker)
    replies = []
    caller = threading.Thread(
        target=lambda: replies.append(
            dasf_exchange(
                dasf_module_broker.ws_url,
                topic,
                "request",
                {"func_name": "sleep", "seconds": 30},
                timeout=15,
            )
        )
    )
    caller.start()
    time.sleep(1.5)  # the call is running by now (a round trip takes ~50 ms)
    assert not replies
    runner.stop()
    caller.join(20)
    assert runner.returncode == 0
    assert replies and replies[0].status == "error"
    assert replies[0].properties["error_type"] == "Cancelled"
    assert [tree["status"] for tree in replies[0].progress][-1] == "error"


def test_wss_with_a_ca_bundle(dasf_env, dasf_runner):
    from .testbed import start_broker

    broker = start_broker(dasf_env, tls=True)
    try:
        assert broker.ws_url.startswith("wss://")
        topic = broker.create_topic("rpc-tls")
        dasf_runner(FAULTY, topic, broker=broker, extra_args=["--ca-bundle", str(broker.ca_bundle)])
        reply = dasf_exchange(
            broker.ws_url,
            topic,
            "request",
            {"func_name": "echo", "value": "tls"},
            ca_bundle=broker.ca_bundle,
        )
        assert reply.value == "tls"
        # without the bundle the system's CA store does not trust the self-signed certificate
        untrusted = dasf_runner(FAULTY, topic, broker=broker, wait=False)
        deadline = time.monotonic() + 20
        while untrusted.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert untrusted.returncode == 1
        assert "certificate is not trusted" in untrusted.log_text()
        assert "--ca-bundle" in untrusted.log_text()
    finally:
        broker.close()


def test_demessaging_generated_client_calls_our_runner(
    dasf_env, dasf_module_broker, demo_topic, tmp_path
):
    import subprocess

    url = dasf_module_broker.ws_url
    generated = subprocess.run(  # noqa: S603 - fixed argv
        [str(dasf_env.python), str(DEMO_API), "-t", demo_topic, "--websocket-url", url, "generate"],
        capture_output=True, text=True, timeout=60, cwd=DEMO_API.parent,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr[-2000:]
    (tmp_path / "demo_client.py").write_text(generated.stdout)
    script = (
        "import demo_client\n"
        "print(demo_client.add(a=2, b=40))\n"
        "print(demo_client.Accumulator(start=10.0).add_all(values=[1.0, 2.5]))\n"
    )
    ran = subprocess.run(  # noqa: S603 - fixed argv
        [str(dasf_env.python), "-c", script],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={"DASF_REPORT_SHOW_METHOD": "NONE", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-2000:]
    # demessaging logs its connections on stdout too; keep the printed results
    printed = [line for line in ran.stdout.splitlines() if line and " - INFO - " not in line]
    assert printed == ["42", "13.5"], ran.stdout[-2000:]
