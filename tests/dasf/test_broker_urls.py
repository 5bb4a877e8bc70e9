"""The broker transport's pure parts: URLs of both layouts, the token, the config schema."""

from __future__ import annotations

import pytest

from jupyter_rpc.errors import RemoteUnavailable
from jupyter_rpc.protocol.broker import authorization, public_url, topic_url
from jupyter_rpc.services.backends import BACKEND_CONFIG_VALIDATOR, BackendRegistry
from jupyter_rpc.transports import BrokerTransport, LocalTransport
from jupyter_rpc.transports.broker import read_token


@pytest.mark.parametrize(
    "url, role, topic, sub, expected",
    [
        ("ws://h:8000/ws", "producer", "demo", None, "ws://h:8000/ws/demo"),
        ("ws://h:8000/ws/", "consumer", "demo_ab12", "s1", "ws://h:8000/ws/demo_ab12/s1"),
        (
            "wss://broker.example.org/dasf/ws",
            "producer",
            "demo",
            None,
            "wss://broker.example.org/dasf/ws/demo",
        ),
        ("ws://h:8000", "producer", "demo", None, "ws://h:8000/ws/demo"),  # bare host: /ws
        ("http://h:8000/ws", "producer", "demo", None, "ws://h:8000/ws/demo"),
        ("https://h/ws", "consumer", "t_x", "sub", "wss://h/ws/t_x/sub"),
        # Pulsar, detected from /ws/v2
        (
            "ws://p:8080/ws/v2",
            "producer",
            "demo",
            None,
            "ws://p:8080/ws/v2/producer/non-persistent/public/default/demo",
        ),
        (
            "ws://p:8080/ws/v2/",
            "consumer",
            "demo_1",
            "sub",
            "ws://p:8080/ws/v2/consumer/non-persistent/public/default/demo_1/sub?subscriptionType=Exclusive",
        ),
        (
            "wss://p/ws/v2/producer/persistent/acme/hpc",
            "consumer",
            "demo_1",
            "s",
            "wss://p/ws/v2/consumer/persistent/acme/hpc/demo_1/s?subscriptionType=Exclusive",
        ),
        (
            "ws://p/prefix/ws/v2/consumer/persistent/acme",
            "producer",
            "t",
            None,
            "ws://p/prefix/ws/v2/producer/persistent/acme/default/t",
        ),
    ],
)
def test_broker_url_layouts(url, role, topic, sub, expected):
    assert topic_url(url, topic, role=role, subscription=sub) == expected


def test_pulsar_settings_override_the_url():
    pulsar = {"tenant": "acme", "namespace": "hpc", "persistent": True}
    assert (
        topic_url("ws://p:8080", "demo", role="producer", pulsar=pulsar)
        == "ws://p:8080/ws/v2/producer/persistent/acme/hpc/demo"
    )
    assert (
        topic_url(
            "ws://p:8080/ws/v2/producer/non-persistent/x/y",
            "demo",
            role="producer",
            pulsar={"tenant": "t"},
        )
        == "ws://p:8080/ws/v2/producer/non-persistent/t/y/demo"
    )
    assert topic_url("ws://p:8080", "d", role="consumer", pulsar={}).endswith(
        "/ws/v2/consumer/non-persistent/public/default/d/jupyter-rpc?subscriptionType=Exclusive"
    )


@pytest.mark.parametrize("url", ["ftp://h/ws", "h:8000/ws", "ws:///ws", ""])
def test_broker_url_rejects_non_websocket_urls(url):
    with pytest.raises(ValueError):
        topic_url(url, "demo", role="producer")
    with pytest.raises(ValueError):
        topic_url("ws://h/ws", "demo", role="reader")


def test_public_url_drops_credentials_and_query():
    assert public_url("wss://user:secret@h:8443/ws/demo?token=secret") == "wss://h:8443/ws/demo"


def test_authorization_header():
    assert authorization("abc123") == "Token abc123"
    assert authorization(" abc123\n") == "Token abc123"
    assert authorization("Bearer eyJhbGciOi") == "Bearer eyJhbGciOi"


def test_token_sources(tmp_path, monkeypatch):
    assert read_token() is None
    assert read_token(token="t1") == "t1"
    monkeypatch.setenv("DASF_TEST_TOKEN", " t2\n")
    assert read_token(token_env="DASF_TEST_TOKEN") == "t2"
    path = tmp_path / "token"
    path.write_text("t3\n")
    assert read_token(token_file=str(path)) == "t3"
    with pytest.raises(RemoteUnavailable, match="DASF_UNSET_TOKEN"):
        read_token(token_env="DASF_UNSET_TOKEN")
    with pytest.raises(RemoteUnavailable, match="cannot be read") as info:
        read_token(token_file=str(tmp_path / "missing"))
    assert info.value.code == "broker.config"
    path.write_text("\n")
    with pytest.raises(RemoteUnavailable, match="empty"):
        read_token(token_file=str(path))


def _errors(config):
    return [e.message for e in BACKEND_CONFIG_VALIDATOR.iter_errors(config)]


def test_config_schema_takes_broker_entries_and_keeps_local_ones():
    assert not _errors({"module": "x"})
    assert not _errors({"transport": "local", "command": ["serve"], "timeout": 3})
    assert _errors({"module": "x", "command": ["a"]})
    broker = {"transport": "broker", "url": "wss://b.example.org/ws", "topic": "demo"}
    assert not _errors(broker)
    assert not _errors(
        {**broker, "token_file": "/run/secrets/dasf", "ca_bundle": "/etc/ca.pem", "timeout": 60}
    )
    assert not _errors({**broker, "pulsar": {"tenant": "a", "namespace": "b", "persistent": True}})
    assert _errors({**broker, "module": "x"})  # local keys are not broker keys
    assert _errors({"module": "x", "topic": "demo"})  # and the other way round
    assert _errors({"transport": "broker", "topic": "demo"})  # url required
    assert _errors({**broker, "url": "tcp://b/ws"})
    assert _errors({**broker, "topic": "two words"})
    assert _errors({"transport": "ssh", "module": "x"})


def test_config_errors_never_quote_the_token():
    secret = "s3cr3t-token-value"
    config = {"transport": "broker", "url": "ws://b/ws", "topic": "demo", "token": secret}
    for extra in (
        {"token_env": "X"},
        {"token_file": "/f"},
        {"module": "m"},
        {"url": "bad"},
        {"pulsar": 1},
    ):
        messages = _errors({**config, **extra})
        assert messages, extra
        assert not any(secret in m for m in messages), messages
    assert "only one of token" in " ".join(_errors({**config, "token_env": "X"}))


async def test_registry_builds_broker_transports_without_connecting():
    secret = "s3cr3t-token-value"
    registry = BackendRegistry(
        {
            "dasf": {
                "transport": "broker",
                "url": "ws://127.0.0.1:9/ws",
                "topic": "demo",
                "token": secret,
            },
            "local": {"module": "jupyter_rpc.examples.demo"},
        },
        timeout=30,
        start_timeout=10,
        max_message_size=1024,
    )
    dasf = registry.get("dasf")
    assert isinstance(dasf.transport, BrokerTransport)
    assert isinstance(registry.get("local").transport, LocalTransport)
    assert dasf.transport.response_topic.startswith("demo_")
    assert dasf.transport.consumer_url.startswith(
        f"ws://127.0.0.1:9/ws/{dasf.transport.response_topic}/"
    )
    assert secret not in repr(dasf.transport) and secret not in repr(dasf.config)
    model = dasf.to_json()
    assert model["transport"] == "broker" and secret not in str(model)
    await registry.close()
    assert dasf.transport.state == "stopped"


@pytest.mark.parametrize(
    "result, code",
    [
        ("User is not allowed to publish to this topic", "broker.forbidden"),
        ("Topic demo does not exist.", "broker.topic_not_found"),
        ("User is not allowed to create topics.", "broker.topic_not_found"),
        ("send-error:3: Producer is not connected", "broker.refused"),
    ],
)
def test_refused_publish_names_the_topic(result, code):
    transport = BrokerTransport("b", "ws://h:1/ws", "demo", token="s3cr3t-token-value")
    exc = transport._refusal(result)
    assert exc.code == code
    assert "topic 'demo'" in exc.message or "topic 'demo' at" in exc.message
    assert result in exc.message and "s3cr3t" not in exc.message
    assert exc.details == {
        "backend": "b",
        "topic": "demo",
        "broker": "ws://h:1/ws/demo",
        "broker_result": result,
    }
