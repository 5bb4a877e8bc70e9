"""The server's broker transport and the runner speak one broker protocol
(jupyter_rpc.protocol.broker): given the same settings they meet on the same topics, with
the same headers. Before, each had its own copy, and the copies disagreed (a base URL
without ``/ws``: the server published to ``/ws/<topic>``, the runner listened at
``/<topic>``; ``https://`` taken by one side only; ``ApiKey x y`` tokens; Pulsar's
``subscriptionType``)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest

from jupyter_rpc.backend.broker import BrokerConfig
from jupyter_rpc.transports.broker import BrokerTransport

from .testbed import REPO, start_runner

DEMO = REPO / "jupyter_rpc" / "examples" / "demo.py"

# (base URL, Pulsar layout asked for explicitly)
SETTINGS = [
    ("ws://h:8000/ws", False),
    ("ws://h:8000/ws/", False),
    ("ws://h:8000", False),
    ("wss://h/prefix/ws", False),
    ("http://h:8000/ws", False),
    ("https://h/ws", False),
    ("ws://p:8080/ws/v2", False),
    ("ws://p:8080/ws/v2/", False),
    ("wss://p/ws/v2/producer/persistent/acme/hpc", False),
    ("wss://p/prefix/ws/v2/consumer/persistent/acme", False),
    ("ws://p:8080", True),
    ("ws://p:8080/ws", True),
]
TOKENS = [None, "abc123", "ApiKey x y", "Bearer eyJhbGciOi"]


def _location(url: str, role: str) -> tuple[str, str, str]:
    """Where a topic URL points, whoever connects: the role segment (Pulsar) and the
    consumer's subscription (and query) taken out."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    if role == "consumer":
        segments = segments[:-1]
    if "v2" in segments:
        at = segments.index("v2") + 1
        assert segments[at] == role, url
        del segments[at]
    return parts.scheme, parts.netloc, "/".join(segments)


@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize("base, pulsar", SETTINGS)
def test_server_and_runner_meet_on_the_same_topics_with_the_same_headers(
    base: str, pulsar: bool, token: str | None
) -> None:
    server = BrokerTransport("b", base, "tools", token=token, pulsar={} if pulsar else None)
    runner = BrokerConfig(base, "tools", token=token, pulsar=True if pulsar else None)
    # the server's requests reach the runner's consumer ...
    assert _location(server.producer_url, "producer") == _location(runner.consumer_url, "consumer")
    # ... and the runner's replies, published to the response topic the server names,
    # reach the server's consumer
    reply_to = runner.producer_url(server.response_topic)
    assert _location(reply_to, "producer") == _location(server.consumer_url, "consumer")
    assert dict(runner.request(runner.consumer_url).headers) == server.connect_headers()
    # Pulsar consumers ask for the same subscription type on both sides
    assert urlsplit(server.consumer_url).query == urlsplit(runner.consumer_url).query


@pytest.mark.asyncio
async def test_a_runner_and_a_server_given_the_same_base_url_meet_at_a_real_broker(
    dasf_module_broker,
):
    """The base URL as a person may write it, without dasf-broker-django's ``/ws``: the
    runner serves there and the server's transport calls it (before: HTTP 500 for the
    runner, which listened at ``/<topic>``)."""
    assert dasf_module_broker.ws_url.endswith("/ws")
    base = dasf_module_broker.ws_url[: -len("/ws")]
    topic = dasf_module_broker.create_topic("rpc-one-protocol")
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(milliseconds=50)
    runner = start_runner(DEMO, topic, base, wait=False)
    transport = BrokerTransport("demo", base, topic, start_timeout=30)
    try:
        runner.wait_online(dasf_module_broker, since)
        assert await transport.call({"func_name": "add", "a": 2, "b": 40}) == 42
    finally:
        await transport.close()
        runner.stop()
