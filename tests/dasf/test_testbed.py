"""The DASF test bed itself: a broker, a demessaging backend, demessaging's client."""

from __future__ import annotations

from .testbed import MODULES, send_request

DEMO = MODULES / "dasf_demo.py"


def test_demessaging_backend_answers_through_the_broker(dasf_env, dasf_broker, dasf_backend):
    dasf_backend(DEMO, "demo")
    result = send_request(
        dasf_env,
        DEMO,
        "demo",
        dasf_broker.ws_url,
        {"func_name": "add", "a": 2, "b": 40},
        timeout=30,
    )
    assert result.ok, result.stderr
    assert result.value == "42"

    method = send_request(
        dasf_env,
        DEMO,
        "demo",
        dasf_broker.ws_url,
        {"class_name": "Counter", "start": 10, "function": {"func_name": "plus", "values": [1, 2]}},
        timeout=30,
    )
    assert method.value == "13"

    failed = send_request(
        dasf_env, DEMO, "demo", dasf_broker.ws_url, {"func_name": "fail"}, timeout=30
    )
    assert failed.returncode == 1
    assert failed.error == "ValueError: error executing request: it went wrong"


def test_protected_topic_needs_the_token(dasf_env, dasf_broker, dasf_backend):
    topic = dasf_broker.protected_topic
    dasf_backend(DEMO, topic, token=dasf_broker.token)
    ok = send_request(
        dasf_env,
        DEMO,
        topic,
        dasf_broker.ws_url,
        {"func_name": "add", "a": 1},
        token=dasf_broker.token,
    )
    assert ok.value == "2", ok.stderr
    # demessaging's client waits forever when the broker refuses the message
    refused = send_request(
        dasf_env, DEMO, topic, dasf_broker.ws_url, {"func_name": "add", "a": 1}, timeout=3
    )
    assert refused.timed_out


def test_broker_restart_keeps_port_topics_and_tokens(dasf_env, dasf_broker, dasf_backend):
    topic = dasf_broker.create_topic("made-before-restart", public=False)
    port, pid = dasf_broker.port, dasf_broker.pid
    dasf_broker.restart()
    assert dasf_broker.port == port and dasf_broker.pid != pid
    # (a demessaging backend that was connected reconnects by itself, but only after
    # 10-20 s; a fresh one shows the restarted broker works with the same database)
    dasf_backend(DEMO, topic, token=dasf_broker.token)
    result = send_request(
        dasf_env,
        DEMO,
        topic,
        dasf_broker.ws_url,
        {"func_name": "greet", "name": "Ada", "tone": "loud"},
        token=dasf_broker.token,
        timeout=30,
    )
    assert result.value == '"HELLO, ADA."', result.stderr
