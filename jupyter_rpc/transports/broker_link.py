"""The websocket side of the broker transport: where a backend listens, the token, the two
sockets of one connection, and what a failed connection or a refused publish means, in
words that name the backend and its topic.

:class:`~jupyter_rpc.transports.broker.BrokerTransport` speaks DASF over a
:class:`BrokerLink` (one producer socket to the backend's topic, one consumer socket on
the server's own response topic), opened by :func:`open_link`. The URLs and headers come
from :mod:`jupyter_rpc.protocol.broker`, the one copy the runner uses too.

The token is sent as the ``Authorization`` header only; it never appears in a URL, a
log line, an error message or a REST answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, WebSocketClosedError, websocket_connect

from ..errors import RemoteUnavailable, RPCError
from ..protocol.broker import CONSUMER, PRODUCER, public_url, topic_url

# -- credentials ---------------------------------------------------------------------------


def read_token(
    *, token: str | None = None, token_env: str | None = None, token_file: str | None = None
) -> str | None:
    """The broker token from the config, an environment variable or a file (read each time,
    so a rotated token is picked up on the next connection). Messages never contain it."""
    if token:
        return token
    if token_env:
        value = os.environ.get(token_env, "").strip()
        if not value:
            raise RemoteUnavailable(
                f"The environment variable {token_env} (token_env) is not set or empty.",
                code="broker.config",
            )
        return value
    if token_file:
        try:
            with open(os.path.expanduser(token_file), encoding="utf-8") as fh:
                value = fh.read().strip()
        except OSError as exc:
            raise RemoteUnavailable(
                f"The token file {token_file} cannot be read: {exc.strerror or exc}.",
                code="broker.config",
            ) from None
        if not value:
            raise RemoteUnavailable(f"The token file {token_file} is empty.", code="broker.config")
        return value
    return None


# -- where a backend listens ---------------------------------------------------------------


class BrokerAddress:
    """A backend's topic at a broker, the server's own response topic there, and the
    errors of reaching them, worded for that backend.

    The URLs are built at once, so a wrong broker URL fails at start-up, not at the first
    call (``ValueError``).
    """

    def __init__(
        self, backend: str, url: str, topic: str, pulsar: Mapping[str, Any] | None
    ) -> None:
        self.backend = backend
        self.topic = topic
        self.response_topic = f"{topic}_{secrets.token_hex(6)}"
        self.subscription = f"jupyter-rpc-{secrets.token_hex(4)}"
        self.producer_url = topic_url(url, topic, PRODUCER, pulsar=pulsar)
        self.consumer_url = topic_url(
            url, self.response_topic, CONSUMER, self.subscription, pulsar=pulsar
        )
        #: "topic 'demo' at the DASF broker ws://host:8000/ws/demo", for messages.
        self.where = f"topic '{topic}' at the DASF broker {public_url(self.producer_url)}"

    def details(self) -> dict[str, Any]:
        """The ``details`` of this backend's broker errors (no credentials)."""
        return {
            "backend": self.backend,
            "topic": self.topic,
            "broker": public_url(self.producer_url),
        }

    def unreachable(self, shown: str, reason: str) -> RPCError:
        """The broker at ``shown`` cannot be reached."""
        return RemoteUnavailable(
            f"Cannot reach the DASF broker at {shown} for backend '{self.backend}' (topic '{self.topic}'): {reason}.",
            code="broker.unavailable",
            details=self.details(),
        )

    def refused_socket(self, status: int, shown: str, what: str) -> RPCError:
        """The broker answered the websocket upgrade of ``what`` (``topic`` or ``response
        topic``) with HTTP ``status``."""
        if status in (401, 403):
            topic = self.response_topic if what == "response topic" else self.topic
            return RemoteUnavailable(
                f"The DASF broker refused the websocket for {what} '{topic}' "
                f"({shown}): HTTP {status}. The token configured for backend '{self.backend}' is "
                "missing, wrong, or not allowed here.",
                code="broker.forbidden",
                details=self.details(),
            )
        return RemoteUnavailable(
            f"The DASF broker has no websocket at {shown} (HTTP 404): check the url of backend "
            f"'{self.backend}' (dasf-broker-django: ws://host:port/ws; Pulsar: ws://host:port/ws/v2) "
            f"and the topic '{self.topic}'.",
            code="broker.topic_not_found",
            details=self.details(),
        )

    def refusal(self, result: str) -> RPCError:
        """The broker refused to publish a message (its acknowledgement's ``result``)."""
        lowered = result.lower()
        details = {**self.details(), "broker_result": result}
        if (
            "not allowed to publish" in lowered
            or "permission" in lowered
            or "not authori" in lowered
        ):
            return RemoteUnavailable(
                f"The DASF broker refused to deliver to {self.where}: {result}. The token configured "
                f"for backend '{self.backend}' is missing, wrong, or may not publish to topic '{self.topic}'.",
                code="broker.forbidden",
                details=details,
            )
        if "does not exist" in lowered or "not allowed to create topics" in lowered:
            return RemoteUnavailable(
                f"The DASF broker has no topic '{self.topic}' ({result}): check the topic of backend "
                f"'{self.backend}' ({self.where}).",
                code="broker.topic_not_found",
                details=details,
            )
        return RemoteUnavailable(
            f"The DASF broker refused the message to {self.where}: {result}",
            code="broker.refused",
            details=details,
        )

    def lost(self, reason: str) -> RPCError:
        """The connection broke while a call waited."""
        return RemoteUnavailable(
            f"The connection to the DASF broker was lost ({reason or 'closed'}) while waiting "
            f"for {self.where}.",
            code="broker.unavailable",
            details=self.details(),
        )


# -- one connection ------------------------------------------------------------------------


#: Handles one frame a socket received.
FrameHandler = Callable[["BrokerLink", "str | bytes"], None]


class BrokerLink:
    """One producer socket (to the backend's topic) and one consumer socket (our responses)."""

    def __init__(
        self, producer: WebSocketClientConnection, consumer: WebSocketClientConnection
    ) -> None:
        self.producer = producer
        self.consumer = consumer
        self.closed = False
        self.reason = ""
        self.last_ack = 0.0  # when the broker last acknowledged a publish (monotonic)

    def send(self, msg: dict[str, Any]) -> None:
        """Queue one frame on the producer socket (raises ``WebSocketClosedError``)."""
        _quiet(self.producer.write_message(json.dumps(msg, separators=(",", ":"))))

    def ack(self, message_id: str) -> None:
        """Acknowledge a delivered message (Pulsar and dasf-broker-django expect it)."""
        try:
            _quiet(self.consumer.write_message(json.dumps({"messageId": message_id})))
        except WebSocketClosedError:
            pass

    def close(self) -> None:
        self.closed = True
        for conn in (self.producer, self.consumer):
            try:
                conn.close()
            except Exception:  # closing a broken socket must not hide why it broke
                pass

    async def read(self, conn: WebSocketClientConnection, handle: FrameHandler) -> str:
        """Hand every frame of ``conn`` (one of this link's sockets) to ``handle`` until it
        ends; returns why it ended."""
        while True:
            raw = await conn.read_message()
            if raw is None:
                break
            handle(self, raw)
        if conn.close_code is not None:
            return f"the broker closed the connection (code {conn.close_code})"
        if self.closed:
            return self.reason or "closed"
        return "the connection dropped or a keepalive ping went unanswered"


def _quiet(future: asyncio.Future[Any]) -> None:
    """Fire and forget a write: a failure shows up as a closed socket in the reader."""
    future.add_done_callback(lambda f: f.cancelled() or f.exception())


@dataclass(frozen=True)
class SocketOptions:
    """How the sockets of a link are opened (read from the transport at each connection)."""

    connect_timeout: float
    ping_interval: float
    ping_timeout: float
    max_message_size: int
    ca_bundle: str | None


async def open_link(
    address: BrokerAddress, headers: dict[str, str], options: SocketOptions
) -> BrokerLink:
    """Open the consumer socket, then the producer socket (so no answer is published before
    we listen). Raises :class:`~jupyter_rpc.errors.RPCError` in the backend's words."""
    consumer = await _open(address, address.consumer_url, headers, "response topic", options)
    try:
        producer = await _open(address, address.producer_url, headers, "topic", options)
    except BaseException:
        consumer.close()
        raise
    return BrokerLink(producer, consumer)


async def _open(
    address: BrokerAddress,
    url: str,
    headers: dict[str, str],
    what: str,
    options: SocketOptions,
) -> WebSocketClientConnection:
    request = HTTPRequest(
        url,
        headers=headers,
        connect_timeout=options.connect_timeout,
        request_timeout=options.connect_timeout,
        ca_certs=options.ca_bundle,
    )
    shown = public_url(url)
    too_slow = f"no answer within {options.connect_timeout:g} s"
    try:
        conn = await asyncio.wait_for(
            websocket_connect(
                request,
                ping_interval=options.ping_interval,
                ping_timeout=options.ping_timeout,
                max_message_size=options.max_message_size,
            ),
            options.connect_timeout + 1.0,
        )
        if conn.protocol is not None:  # small frames, each awaited: no Nagle delay
            conn.protocol.set_nodelay(True)
        return conn
    except HTTPClientError as exc:
        if exc.code == 599:  # tornado's own timeout
            raise address.unreachable(shown, too_slow) from None
        if exc.code in (401, 403, 404):
            raise address.refused_socket(exc.code, shown, what) from None
        raise address.unreachable(shown, f"HTTP {exc.code} {exc.message}") from None
    except asyncio.TimeoutError:
        raise address.unreachable(shown, too_slow) from None
    except (OSError, WebSocketClosedError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise address.unreachable(shown, reason) from None


__all__ = ["BrokerAddress", "BrokerLink", "SocketOptions", "open_link", "read_token"]
