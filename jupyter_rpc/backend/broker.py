"""Serve a backend module on a DASF message broker, as a DASF backend module does.

::

    jupyter-rpc serve MODULE --broker ws://broker.example.org/ws --topic T --token-env VAR

The runner connects *out* to the broker over websockets (nothing connects to it), so it
can run on an HPC login node. It speaks what demessaging 0.6.4 speaks, to
dasf-broker-django (``ws(s)://host/ws/<topic>``) and to Apache Pulsar's websocket API
(``/ws/v2/{producer,consumer}/{persistent,non-persistent}/{tenant}/{namespace}/<topic>``):

* one *consumer* socket ``<topic>/<subscription>`` receives the requests; every frame is
  acknowledged at once with ``{"messageId": ...}``; frames without ``response_topic``,
  ``requestContext`` or ``messageType`` are dropped (as demessaging does);
* replies go to ``<response_topic>`` on *producer* sockets, one per response topic, kept
  open while in use and closed after :attr:`BrokerConfig.producer_keep_alive` idle
  seconds (``status-ping`` is the broker's own response topic for its pings);
* ping -> pong, info, api_info, request -> progress frames -> response: the very same
  handling as on stdio (:class:`jupyter_rpc.backend.runner.Runner`);
* payloads over :attr:`BrokerConfig.max_payload_size` bytes (500 KiB) are sent as
  demessaging does: the base64 text is cut into chunks of that many characters, each
  frame carrying ``fragment`` (0-based) and ``num_fragments``;
* the token goes in the ``Authorization`` header (never into a log line); on
  dasf-broker-django the runner checks its right to serve the topic after connecting (by
  publishing its api_info to ``status-ping``) and stops with the broker's refusal;
* after a lost connection it reconnects with a capped exponential backoff; every
  connect and every wait for the broker has a time limit.

The websocket client is the ``websockets`` package: this module runs on login nodes, where
neither tornado nor jupyter_server is installed. It connects directly (no proxy from the
environment) and without compression, as the runner always has.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import itertools
import json
import os
import signal
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .. import protocol
from ..protocol import ProtocolError, decode_payload
from ..protocol.broker import (
    CONSUMER,
    PRODUCER,
    PULSAR_ROOT,
    TOPIC_SEP,
    connect_headers,
    fragment_message,
    public_url,
    topic_url,
)
from .introspect import BackendAPI
from .runner import PROGRESS_INTERVAL, Runner
from .streams import log

__all__ = [
    "DEFAULT_MAX_PAYLOAD_SIZE",
    "BrokerConfig",
    "ConnectRequest",
    "BrokerError",
    "BrokerRunner",
    "serve_on_broker",
]

#: demessaging's default: payloads above this many bytes are fragmented.
DEFAULT_MAX_PAYLOAD_SIZE = 512_000
#: The broker's response topic for its own pings and api_info requests (dasf-broker-django).
STATUS_PING = "status-ping"
#: Seconds a websocket's closing handshake may take (at shutdown, when a socket idles out).
CLOSE_TIMEOUT = 2.0
#: HTTP statuses of a refused websocket upgrade that retrying cannot change.
REFUSALS = (401, 403, 404)


class BrokerError(Exception):
    """A problem with the broker that retrying cannot fix (bad URL, refused token ...)."""


@dataclass(frozen=True)
class ConnectRequest:
    """What one websocket connect to the broker sends (see :meth:`BrokerConfig.request`)."""

    url: str
    #: The handshake's headers (:func:`~jupyter_rpc.protocol.broker.connect_headers`).
    headers: dict[str, str]
    #: The TLS context of a ``wss://`` URL (None for ``ws://``).
    ssl: ssl.SSLContext | None


# -- configuration -------------------------------------------------------------------------


@dataclass
class BrokerConfig:
    """Where and how to connect. Only ``url`` and ``topic`` are required."""

    url: str
    topic: str
    #: The token (see :func:`~jupyter_rpc.protocol.broker.authorization`); None: without one.
    token: str | None = None
    #: A PEM file of CA certificates for ``wss://`` (default: the system's CA store).
    ca_bundle: str | None = None
    #: Pulsar's URL layout (None: when the URL contains ``/ws/v2``).
    pulsar: bool | None = None
    #: The consumer's subscription name (default: ``jupyter-rpc-<pid>-<time>``).
    subscription: str | None = None
    max_payload_size: int = DEFAULT_MAX_PAYLOAD_SIZE
    #: Seconds one websocket connect may take.
    connect_timeout: float = 10.0
    #: Seconds to wait for the broker's acknowledgement of the rights check.
    ack_timeout: float = 10.0
    #: Seconds a reply may wait for its producer socket before it is dropped.
    producer_connection_timeout: float = 30.0
    #: Idle seconds after which a producer socket is closed.
    producer_keep_alive: float = 120.0
    #: First and largest pause between reconnection attempts (doubling in between).
    min_backoff: float = 0.25
    max_backoff: float = 10.0
    #: Websocket ping interval and timeout (detects dead connections).
    ping_interval: float = 20.0
    ping_timeout: float = 20.0
    #: Largest incoming frame (bytes).
    max_message_size: int = 256 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.subscription is None:
            stamp = dt.datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
            self.subscription = f"jupyter-rpc-{os.getpid()}-{stamp}"
        if self.max_payload_size < 4:
            raise ValueError("max_payload_size must be at least 4")
        self.consumer_url = topic_url(
            self.url, self.topic, CONSUMER, self.subscription, pulsar=self.pulsar
        )
        self.is_pulsar = PULSAR_ROOT in self.consumer_url
        #: The consumer URL as logs and messages show it (no credentials, no query).
        self.shown_url = public_url(self.consumer_url)

    def producer_url(self, topic: str) -> str:
        return topic_url(self.url, topic, PRODUCER, pulsar=self.is_pulsar)

    def request(self, url: str) -> ConnectRequest:
        """The URL, headers and TLS context of a connect to ``url``."""
        tls = None
        if url.startswith("wss://"):
            tls = ssl.create_default_context(cafile=self.ca_bundle or None)
        return ConnectRequest(url, connect_headers(self.token), tls)

    async def connect(self, url: str) -> ClientConnection:
        """Open a websocket to ``url`` within :attr:`connect_timeout`.

        Raises what ``websockets`` raises: :class:`~websockets.exceptions.InvalidStatus`
        when the broker refuses the upgrade, :class:`OSError` (and
        :class:`ssl.SSLCertVerificationError`) when it cannot be reached, and
        :class:`TimeoutError`.
        """
        request = self.request(url)
        headers = dict(request.headers)
        agent = headers.pop("User-Agent", None)
        if urlsplit(url).username is not None:
            # credentials in the URL are sent as Basic auth and win over a token (as they
            # did before websockets, which would send both)
            headers.pop("Authorization", None)
        options: dict[str, Any] = {"ssl": request.ssl} if request.ssl is not None else {}
        return await asyncio.wait_for(
            connect(
                url,
                additional_headers=headers,
                user_agent_header=agent,
                compression=None,
                proxy=None,
                open_timeout=self.connect_timeout,
                ping_interval=self.ping_interval,
                ping_timeout=self.ping_timeout,
                close_timeout=CLOSE_TIMEOUT,
                max_size=self.max_message_size,
                **options,
            ),
            self.connect_timeout + 1.0,
        )


def _status(exc: BaseException) -> int | None:
    """The HTTP status of a refused websocket upgrade, else None."""
    return exc.response.status_code if isinstance(exc, InvalidStatus) else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, InvalidStatus):
        response = exc.response
        return f"HTTP {response.status_code} {response.reason_phrase}".strip()
    if isinstance(exc, asyncio.TimeoutError):
        return str(exc) or "timeout"
    return str(exc) or type(exc).__name__


async def _close(ws: ClientConnection) -> None:
    """Close a websocket (its closing handshake is bounded by :data:`CLOSE_TIMEOUT`)."""
    try:
        await ws.close()
    except Exception:  # noqa: BLE001 - closing a broken socket may fail in any way
        pass


# -- the runner ----------------------------------------------------------------------------


class BrokerRunner(Runner):
    """Serve one :class:`BackendAPI` on a broker topic (see the module docstring).

    The request handling is :class:`Runner`'s; this class only replaces its transport:
    incoming frames are handed to ``Runner._dispatch``, whose replies come back
    through :meth:`send`.
    """

    def __init__(
        self,
        api: BackendAPI,
        config: BrokerConfig,
        *,
        workers: int | None = None,
        interval: float = PROGRESS_INTERVAL,
    ) -> None:
        super().__init__(api, workers=workers, interval=interval)
        # DASF's api_info exactly (the broker keeps it; DASF clients read it): without
        # the parameter kinds the runner's own protocol adds
        self._api_info = json.dumps(api.api_info, separators=(",", ":"))
        self.config = config
        self.topic = config.topic  # source_topic of every reply
        self._producers: dict[str, _Producer] = {}
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._consumer: ClientConnection | None = None
        self._announce_count = 0
        self._contexts = itertools.count(1)
        #: Set once the consumer socket is open and the broker accepted us (for tests).
        self.connected: asyncio.Event | None = None

    # -- the loop ------------------------------------------------------------------------

    async def _main(self) -> bool:
        self._setup_loop()
        assert self._loop is not None and self._stop is not None
        self.connected = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self._loop.add_signal_handler(sig, self._request_stop)
            except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
                pass
        consumer = self._loop.create_task(self._consume())
        await self._stop.wait()
        consumer.cancel()
        ended = await self._end_calls()
        await self._flush_producers(timeout=2.0)
        closing = [producer.close() for producer in list(self._producers.values())]
        if self._consumer is not None:
            closing.append(asyncio.ensure_future(_close(self._consumer)))
        await asyncio.gather(consumer, return_exceptions=True)
        if closing:
            await asyncio.wait(closing, timeout=CLOSE_TIMEOUT + 0.5)
        return ended

    async def _sleep(self, seconds: float) -> bool:
        """Sleep, or less when the runner stops; True when it is stopping."""
        assert self._stop is not None
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except asyncio.TimeoutError:
            return False
        return True

    async def _consume(self) -> None:
        """Keep the consumer socket open and hand every frame to the dispatcher."""
        cfg = self.config
        assert self.connected is not None
        backoff = cfg.min_backoff
        ever_connected = False
        while True:
            try:
                ws = await cfg.connect(cfg.consumer_url)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - every failure is retried or fatal
                status = _status(exc)
                if status in REFUSALS:
                    if not ever_connected:
                        self._fatal(
                            f"the broker refused the connection to topic {cfg.topic!r} at "
                            f"{cfg.shown_url}: {_describe(exc)}"
                            + (
                                " (is the token right?)"
                                if status != 404
                                else " (is the URL right?)"
                            )
                        )
                        return
                if isinstance(exc, ssl.SSLCertVerificationError) and not ever_connected:
                    self._fatal(
                        f"cannot connect to the broker at {cfg.shown_url}: its TLS "
                        f"certificate is not trusted ({exc.verify_message or exc}); give the "
                        "CA certificate with --ca-bundle"
                    )
                    return
                log(
                    f"cannot connect to the broker at {cfg.shown_url} ({_describe(exc)}); "
                    f"retrying in {backoff:.2g} s"
                )
                if await self._sleep(backoff):
                    return
                backoff = min(backoff * 2, cfg.max_backoff)
                continue
            self._consumer = ws
            log(
                f"{'reconnected' if ever_connected else 'connected'} to {cfg.shown_url}: "
                f"serving {self.api.name!r} on topic {cfg.topic!r}"
            )
            if not cfg.is_pulsar:
                refusal = await self._check_rights()
                if refusal:
                    self._fatal(
                        f"the broker refused to let this backend serve topic {cfg.topic!r}: "
                        f"{refusal} (the topic must exist, and one that is not public needs "
                        "a token with the right to consume it: is the token right?)"
                    )
                    await _close(ws)
                    return
            ever_connected = True
            backoff = cfg.min_backoff
            self.connected.set()
            while True:
                try:
                    text = await ws.recv()
                except ConnectionClosed:
                    break
                if isinstance(text, bytes):
                    text = text.decode("utf-8", errors="replace")
                await self._on_frame(ws, text)
            self.connected.clear()
            self._consumer = None
            log(f"lost the connection to the broker ({ws.close_code or 'closed'}); reconnecting")
            if await self._sleep(cfg.min_backoff):
                return

    def _fatal(self, text: str) -> None:
        log(text)
        self.exit_status = 1
        self._request_stop()

    async def _check_rights(self) -> str | None:
        """Publish our api_info to ``status-ping``; the broker's refusal text, else None.

        dasf-broker-django accepts consumer sockets it will never feed, so this is the way
        to learn at start that the token does not allow serving the topic. It also
        refreshes the api_info the broker keeps for the topic.
        """
        self._announce_count += 1
        context = str(900_000_000 + self._announce_count)
        msg = protocol.message(
            protocol.RESPONSE,
            context,
            status=protocol.SUCCESS,
            api_info=self._api_info,
            source_topic=self.topic,
        )
        producer = self._producer(STATUS_PING)
        waiter = producer.expect_ack(context)
        producer.put([msg])
        try:
            result = await asyncio.wait_for(waiter, self.config.ack_timeout)
        except (asyncio.TimeoutError, ConnectionError) as exc:
            why = "in time" if isinstance(exc, asyncio.TimeoutError) else f"({exc})"
            log(f"the broker did not acknowledge the rights check {why}; serving anyway")
            return None
        finally:
            producer.forget_ack(context)
        return None if result == "ok" else str(result)

    async def _on_frame(self, ws: ClientConnection, text: str) -> None:
        try:
            msg = json.loads(text)
        except json.JSONDecodeError:
            log(f"ignoring a frame that is not JSON: {text[:200]!r}")
            return
        if not isinstance(msg, dict):
            return
        message_id = msg.get("messageId")
        if message_id is not None:
            await self._ack(ws, message_id)
            if self._duplicate(str(message_id)):
                return
        props = msg.get("properties")
        if not isinstance(props, dict):
            return
        response_topic = props.get("response_topic")
        context = props.get("requestContext")
        kind = props.get("messageType")
        if not response_topic or context in (None, "") or not kind or not isinstance(kind, str):
            return  # demessaging ignores these too
        if (
            not isinstance(response_topic, str)
            or "/" in response_topic
            or TOPIC_SEP in response_topic
        ):
            log(f"ignoring a {kind!r} message with an invalid response_topic {response_topic!r}")
            return
        key = f"{response_topic}{TOPIC_SEP}{context}"
        payload = msg.get("payload") or ""
        if not isinstance(payload, str):
            payload = ""
        decoded: Any = None
        if kind == protocol.REQUEST:
            try:
                decoded = decode_payload(payload)
            except ProtocolError as exc:
                decoded = exc
        props = dict(props, requestContext=key)
        self._dispatch({"properties": props, "context": key, "payload": payload}, decoded)

    async def _ack(self, ws: ClientConnection, message_id: Any) -> None:
        try:
            await ws.send(json.dumps({"messageId": message_id}))
        except ConnectionClosed:
            pass  # the broker re-sends un-acked messages after the reconnect

    def _duplicate(self, message_id: str) -> bool:
        if message_id in self._seen:
            return True
        self._seen[message_id] = None
        if len(self._seen) > 2000:
            self._seen.popitem(last=False)
        return False

    # -- replies (any thread) ----------------------------------------------------------

    #: A broker's clients get base64, never buffers (they are a stdio extension).
    takes_buffers = False

    def send(self, msg: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        """Publish a reply on its response topic (thread-safe; order is kept per topic).
        ``buffers`` are never asked for here (:attr:`takes_buffers`)."""
        props = msg["properties"]
        response_topic, _, context = str(props["requestContext"]).partition(TOPIC_SEP)
        props["requestContext"] = context
        # ``context`` only pairs a publish with its ack. dasf-broker-django stores it in an
        # integer column (a non-numeric one makes it drop the socket), so it stays numeric.
        msg["context"] = context if context.isdigit() else str(next(self._contexts))
        frames = fragment_message(msg, self.config.max_payload_size)
        texts = [json.dumps(frame, separators=(",", ":"), ensure_ascii=False) for frame in frames]
        self._to_loop(self._publish, response_topic, texts)

    def _publish(self, topic: str, texts: list[str]) -> None:
        self._producer(topic).put(texts)

    def _producer(self, topic: str) -> _Producer:
        producer = self._producers.get(topic)
        if producer is None or producer.closed:
            producer = self._producers[topic] = _Producer(self, topic)
        return producer

    def _producer_done(self, producer: _Producer) -> None:
        if self._producers.get(producer.topic) is producer:
            del self._producers[producer.topic]

    async def _flush_producers(self, timeout: float) -> None:
        waits = [
            asyncio.ensure_future(p.idle.wait()) for p in self._producers.values() if not p.closed
        ]
        if waits:
            await asyncio.wait(waits, timeout=timeout)
            for waiter in waits:
                waiter.cancel()


class _Producer:
    """One producer socket for one response topic: a queue of frames, sent in order."""

    def __init__(self, runner: BrokerRunner, topic: str) -> None:
        self.runner = runner
        self.topic = topic
        self.url = runner.config.producer_url(topic)
        self.queue: collections.deque[Any] = collections.deque()
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.closed = False
        self.ws: ClientConnection | None = None
        self._acks: dict[str, asyncio.Future[str]] = {}
        self._task = asyncio.get_running_loop().create_task(self._run())

    def put(self, frames: list[Any]) -> None:
        self.queue.extend(frames)
        self.idle.clear()
        self.wake.set()

    def expect_ack(self, context: str) -> asyncio.Future[str]:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._acks[context] = future
        return future

    def forget_ack(self, context: str) -> None:
        self._acks.pop(context, None)

    def close(self) -> asyncio.Task[None]:
        """Stop sending; the task that ends once the socket is closed."""
        self.closed = True
        self._task.cancel()
        return self._task

    async def _run(self) -> None:
        cfg = self.runner.config
        try:
            while True:
                if not self.queue:
                    self.idle.set()
                    self.wake.clear()
                    try:
                        await asyncio.wait_for(self.wake.wait(), cfg.producer_keep_alive)
                    except asyncio.TimeoutError:
                        return  # idle: close
                    continue
                if self.ws is None and not await self._open():
                    return
                item = self.queue[0]
                text = item if isinstance(item, str) else json.dumps(item, separators=(",", ":"))
                try:
                    assert self.ws is not None
                    await self.ws.send(text)
                except ConnectionClosed:
                    self.ws = None  # reconnect and send it again
                    continue
                self.queue.popleft()
        finally:
            self.closed = True
            self.idle.set()
            ws, self.ws = self.ws, None
            self.runner._producer_done(self)
            if ws is not None:
                await _close(ws)

    async def _open(self) -> bool:
        """Connect within ``producer_connection_timeout``; on failure drop the queue."""
        cfg = self.runner.config
        loop = asyncio.get_running_loop()
        deadline = loop.time() + cfg.producer_connection_timeout
        backoff = cfg.min_backoff
        error = ""
        while loop.time() < deadline:
            try:
                self.ws = await cfg.connect(self.url)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                error = _describe(exc)
                if _status(exc) in REFUSALS:
                    break
                await asyncio.sleep(min(backoff, max(0.0, deadline - loop.time())))
                backoff = min(backoff * 2, cfg.max_backoff)
                continue
            loop.create_task(self._read_acks(self.ws))
            return True
        log(
            f"dropping {len(self.queue)} message(s) for topic {self.topic!r}: cannot open "
            f"{self.url} ({error or 'timeout'})"
        )
        self.queue.clear()
        for future in self._acks.values():
            if not future.done():
                future.set_exception(
                    ConnectionError(f"cannot open {self.url}: {error or 'timeout'}")
                )
        return False

    async def _read_acks(self, ws: ClientConnection) -> None:
        while True:
            try:
                text = await ws.recv()
            except ConnectionClosed:
                if self.ws is ws:
                    self.ws = None
                return
            try:
                ack = json.loads(text)
            except (json.JSONDecodeError, TypeError):
                continue
            if not isinstance(ack, dict):
                continue
            result = ack.get("result", "ok")
            future = self._acks.get(str(ack.get("context")))
            if future is not None and not future.done():
                future.set_result(str(result))
            elif result != "ok":
                log(f"the broker refused a reply on topic {self.topic!r}: {result}")


def serve_on_broker(api: BackendAPI, config: BrokerConfig, *, workers: int | None = None) -> int:
    """Serve ``api`` on the broker until SIGTERM/SIGINT or a fatal error; the exit status."""
    return BrokerRunner(api, config, workers=workers).run()
