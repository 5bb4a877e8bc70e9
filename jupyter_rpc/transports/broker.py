"""A backend reached through a DASF message broker (dasf-broker-django or Apache Pulsar).

DASF backend modules connect *out* to a broker and listen on a topic; clients publish
requests to that topic and read the answers on a response topic of their own. This
transport is such a client, shared by every call of the Jupyter server:

- one producer socket to ``<topic>`` and one consumer socket on the server's own
  response topic ``<topic>_<random>`` (opened before anything is sent), both kept
  open, with websocket pings (a broker that stops answering is noticed);
- every message the broker delivers is acknowledged (``{"messageId": ...}``);
- every publish acknowledgement is read: a refused publish (no permission, no such
  topic) fails that call at once with an error naming the topic;
- answers are matched to calls by ``requestContext`` (compared as strings); progress
  frames go to the call's progress sink; fragmented answers are put back together in
  ``fragment`` order and decoded once;
- a lost connection fails the calls that were waiting on it at once and is re-opened
  in the background (growing pause, at most :data:`MAX_BACKOFF` seconds) and on demand;
- DASF has no cancellation: a cancelled call is forgotten (late answers are dropped)
  and our ``cancel`` message is sent, which demessaging backends ignore.

The token is sent as the ``Authorization`` header only; it never appears in a URL, a
log line, an error message or a REST answer.

This module is the DASF client (calls, answers, liveness, the API description); the
sockets, the token and the wording of broker errors are in :mod:`.broker_link`, the
matching of answers to calls in :mod:`jupyter_rpc.protocol.replies`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from tornado.websocket import WebSocketClientConnection, WebSocketClosedError

from .. import protocol
from ..errors import RemoteFailed, RemoteUnavailable, RPCError
from ..protocol.broker import connect_headers
from ..protocol.replies import Pending, Replies
from ..tasks import TaskOwner
from .base import FAILED, RUNNING, STARTING, STOPPED, ProgressSink, Transport, result_of
from .broker_link import (
    BrokerAddress,
    BrokerLink,
    FrameHandler,
    SocketOptions,
    open_link,
    read_token,
)
from .registry import TransportContext

log = logging.getLogger(__name__)

#: Longest pause between two reconnection attempts, seconds.
MAX_BACKOFF = 10.0


class BrokerTransport(Transport):
    """A DASF backend module listening on ``topic`` at a broker.

    ``state`` is ``running`` while the broker connection is open and the backend answered
    recently (a message or a ping), ``failed`` (with ``error``) when the broker cannot be
    reached or no backend answered a ping, ``stopped`` before first use.
    """

    kind = "broker"

    def __init__(
        self,
        name: str,
        url: str,
        topic: str,
        *,
        token: str | None = None,
        token_env: str | None = None,
        token_file: str | None = None,
        ca_bundle: str | None = None,
        pulsar: Mapping[str, Any] | None = None,
        connect_timeout: float = 10.0,
        start_timeout: float = 30.0,
        ack_timeout: float = 15.0,
        ping_interval: float = 20.0,
        ping_timeout: float = 10.0,
        status_interval: float = 10.0,
        status_timeout: float = 5.0,
        max_message_size: int = 512 * 1024 * 1024,
    ) -> None:
        super().__init__(name)
        self.url = url
        self.topic = topic
        self.pulsar = dict(pulsar) if pulsar is not None else None
        self._token_source = {"token": token, "token_env": token_env, "token_file": token_file}
        self.ca_bundle = ca_bundle
        self.connect_timeout = connect_timeout
        self.start_timeout = start_timeout
        self.ack_timeout = ack_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.status_interval = status_interval
        self.status_timeout = status_timeout
        self.max_message_size = max_message_size
        # Built now so a wrong URL fails at start-up, not at the first call.
        self.address = BrokerAddress(name, url, topic, self.pulsar)
        self.response_topic = self.address.response_topic
        self.subscription = self.address.subscription
        self.producer_url = self.address.producer_url
        self.consumer_url = self.address.consumer_url
        self.where = self.address.where
        self._link_: BrokerLink | None = None
        self._lock = asyncio.Lock()
        self._pending = Replies(
            name,
            protocol_fault=self._protocol_fault,
            max_size=max_message_size,
            too_large=self._too_large,
        )
        self._api_info: dict[str, Any] | None = None
        self._api_info_stale = False
        self._api_info_task: asyncio.Task[dict[str, Any]] | None = None
        self._tasks = TaskOwner(f"broker backend {name}")
        self._closing = False
        self._connected_once = False
        self._last_failure: RPCError | None = None
        self._failed_at = 0.0
        self._reconnect_task: asyncio.Task[None] | None = None
        self._check_task: asyncio.Task[None] | None = None
        self._last_seen = 0.0  # the backend sent something (monotonic)
        self._last_check = 0.0

    def __repr__(self) -> str:
        return f"<BrokerTransport {self.name!r} {self.where}>"

    # -- public API -------------------------------------------------------------------

    async def api_info(self) -> dict[str, Any]:
        if self._api_info is not None:
            if self._api_info_stale:
                self._start_api_info()  # reconnected: refresh it, keep serving the last copy
            return self._api_info
        # Shielded: one caller giving up does not cancel the fetch for the others.
        return await asyncio.shield(self._start_api_info())

    def _start_api_info(self) -> asyncio.Task[dict[str, Any]]:
        task = self._api_info_task
        if task is None or task.done():
            task = asyncio.get_running_loop().create_task(
                self._fetch_api_info(), name=f"api_info {self.name}"
            )
            # Its failure reaches the callers waiting for it, and the backend's error.
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            self._api_info_task = task
        return task

    async def call(
        self, request: dict[str, Any], *, on_progress: ProgressSink | None = None
    ) -> Any:
        reply = await self._request(
            protocol.REQUEST, protocol.encode_payload(request), on_progress=on_progress
        )
        return result_of(reply)

    async def ping(self, timeout: float = 10.0) -> float:
        """Round-trip time of a DASF ping to the backend, in seconds.

        Raises ``asyncio.TimeoutError`` when no pong came within ``timeout``, and
        :class:`~jupyter_rpc.errors.RPCError` when the broker refused or is unreachable.
        """
        t0 = time.perf_counter()
        await self._request(protocol.PING, timeout=timeout)
        return time.perf_counter() - t0

    def check_soon(self) -> None:
        """Ask for a liveness check (a ping) if the last sign of life is older than
        ``status_interval``; returns at once. Called when the backend list is read."""
        if self._closing or (self._check_task is not None and not self._check_task.done()):
            return
        now = time.monotonic()
        if now - max(self._last_seen, self._last_check) < self.status_interval:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        self._last_check = now
        if self.state == STOPPED:
            self.state = STARTING
        self._check_task = self._tasks.create_task(self._check(), name=f"check {self.name}")

    async def close(self) -> None:
        self._closing = True
        if self._api_info_task is not None:
            self._api_info_task.cancel()
        await self._tasks.cancel_all(timeout=1.0)
        link, self._link_ = self._link_, None
        if link is not None:
            self._drop(
                link,
                RemoteUnavailable(f"Backend '{self.name}' was stopped.", code="broker.stopped"),
            )
        self.state = STOPPED

    # -- requests ---------------------------------------------------------------------

    async def _request(
        self,
        message_type: str,
        payload: str = "",
        *,
        on_progress: ProgressSink | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Publish one message and wait for its answer (``response`` or ``pong``)."""
        link = await self._link()
        pending = self._pending.add(message_type, on_progress=on_progress, owner=link)
        context = pending.context
        msg = protocol.message(
            message_type, context, payload=payload, response_topic=self.response_topic
        )
        try:
            try:
                link.send(msg)
            except WebSocketClosedError:
                self._pending.forget(context)
                self._lost(link, "the connection was closed")
                raise self._lost_error(link) from None
            asyncio.get_running_loop().call_later(self.ack_timeout, self._check_ack, pending, link)
            if timeout is None:
                return await pending.future
            return await asyncio.wait_for(pending.future, timeout)
        except asyncio.CancelledError:
            if self._pending.forget(context) is not None and message_type == protocol.REQUEST:
                self._send_cancel(link, context)
            raise
        finally:
            self._pending.forget(context)

    def _send_cancel(self, link: BrokerLink, context: str) -> None:
        if link.closed:
            return
        msg = protocol.message(protocol.CANCEL, context, response_topic=self.response_topic)
        msg["context"] = self._pending.next_context()  # its publish ack matches nothing
        try:
            link.send(msg)
        except WebSocketClosedError:
            pass

    def _check_ack(self, pending: Pending, link: BrokerLink) -> None:
        context = pending.context
        if pending.acked or pending.future.done() or self._pending.get(context) is not pending:
            return
        idle = time.monotonic() - link.last_ack
        if idle < self.ack_timeout:
            # The broker is working through a queue of our messages (it answers them in
            # order): slow, not stuck. Look again once it has been silent long enough.
            asyncio.get_running_loop().call_later(
                self.ack_timeout - idle, self._check_ack, pending, link
            )
            return
        self._pending.fail(
            context,
            RemoteUnavailable(
                f"The broker did not acknowledge the message to {self.where}: nothing acknowledged "
                f"for {self.ack_timeout:g} s.",
                code="broker.unavailable",
                details=self._details(),
            ),
        )

    # -- the answers ------------------------------------------------------------------

    def _on_ack(self, link: BrokerLink, raw: str | bytes) -> None:
        try:
            ack = json.loads(raw)
        except (TypeError, ValueError):
            log.warning(
                "Broker sent a frame that is not JSON on the producer socket of %s", self.where
            )
            return
        if not isinstance(ack, dict):
            return
        link.last_ack = time.monotonic()
        context = str(ack.get("context", ""))
        pending = self._pending.get(context)
        if pending is None:
            return
        result = ack.get("result", "ok")
        if result == "ok":
            pending.acked = True
            return
        text = str(result)
        if ack.get("errorMsg"):  # Pulsar: {"result": "send-error:3", "errorMsg": "..."}
            text = f"{text}: {ack['errorMsg']}"
        exc = self._refusal(text)
        if pending.kind != protocol.PING:  # a refused ping is routine for the status check
            log.warning("Broker refused a message for backend %s: %s", self.name, text)
        self._pending.fail(context, exc)

    def _refusal(self, result: str) -> RPCError:
        return self.address.refusal(result)

    def _on_delivery(self, link: BrokerLink, raw: str | bytes) -> None:
        try:
            msg = json.loads(raw)
        except (TypeError, ValueError):
            log.warning(
                "Broker sent a frame that is not JSON on the response topic of %s", self.where
            )
            return
        if not isinstance(msg, dict):
            return
        if msg.get("messageId"):
            link.ack(str(msg["messageId"]))
        props = msg.get("properties")
        if not isinstance(props, dict) or "requestContext" not in props:
            return
        if props.get("source_topic") in (None, self.topic):
            self._last_seen = time.monotonic()
            if self.state != RUNNING and not link.closed and self._link_ is link:
                self._set_running()
        self._pending.deliver(props, msg.get("payload") or "")

    def _protocol_fault(self, what: str) -> RPCError:
        return RemoteFailed(f"The backend on {self.where} sent {what}.", code="broker.protocol")

    def _too_large(self) -> RPCError:
        return RemoteFailed(
            f"The answer from {self.where} is larger than the limit of {self.max_message_size} bytes "
            "(RPCApp.max_message_size).",
            code="broker.too_large",
            details=self._details(),
        )

    # -- the connection ---------------------------------------------------------------

    async def _link(self) -> BrokerLink:
        link = self._link_
        if link is not None and not link.closed:
            return link
        asked = time.monotonic()
        async with self._lock:
            link = self._link_
            if link is not None and not link.closed:
                return link
            if self._closing:
                raise RemoteUnavailable(
                    f"Backend '{self.name}' is shutting down.", code="broker.stopped"
                )
            if self._last_failure is not None and self._failed_at >= asked:
                # An attempt failed while we waited for it: one attempt per wave of callers,
                # so a broker that does not answer costs each caller one connect timeout at most.
                raise self._last_failure
            return await self._connect()

    def connect_headers(self) -> dict[str, str]:
        """The headers of this backend's broker connections (the token is read each time,
        so a rotated one is picked up on the next connection)."""
        return connect_headers(read_token(**self._token_source))

    async def _connect(self) -> BrokerLink:
        """Open the consumer and the producer socket (the lock is held)."""
        if self.state in (STOPPED, FAILED):
            self.state = STARTING
        options = SocketOptions(
            connect_timeout=self.connect_timeout,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            max_message_size=self.max_message_size,
            ca_bundle=self.ca_bundle,
        )
        try:
            link = await open_link(self.address, self.connect_headers(), options)
        except RPCError as exc:
            self._last_failure = exc
            self._failed_at = time.monotonic()
            self.state = FAILED
            self.error = exc.to_json()
            raise
        if self._closing:  # closed while connecting
            link.close()
            raise RemoteUnavailable(
                f"Backend '{self.name}' is shutting down.", code="broker.stopped"
            )
        self._link_ = link
        self._last_failure = None
        if self._connected_once:
            self.restarts += 1
            self._api_info_stale = True
            log.info("Backend %s: reconnected to %s", self.name, self.where)
        else:
            log.info("Backend %s: connected to %s", self.name, self.where)
        self._connected_once = True
        self._tasks.create_task(
            self._read(link, link.consumer, self._on_delivery), name=f"consumer {self.name}"
        )
        self._tasks.create_task(
            self._read(link, link.producer, self._on_ack), name=f"producer {self.name}"
        )
        return link  # ``running`` once the backend answers something

    async def _read(
        self, link: BrokerLink, conn: WebSocketClientConnection, handle: FrameHandler
    ) -> None:
        reason = "the broker closed the connection"
        try:
            reason = await link.read(conn, handle)
        finally:
            self._lost(link, reason)

    def _lost(self, link: BrokerLink, reason: str) -> None:
        """The link broke: fail its calls at once, and re-open it in the background."""
        if link.closed:
            return
        link.reason = reason
        if self._link_ is link:
            self._link_ = None
        if self._closing:
            self._drop(
                link,
                RemoteUnavailable(f"Backend '{self.name}' was stopped.", code="broker.stopped"),
            )
            return
        log.warning("Backend %s: connection to %s lost: %s", self.name, self.where, reason)
        exc = self._lost_error(link)
        self._drop(link, exc)
        self.state = FAILED
        self.error = exc.to_json()
        if self._reconnect_task is None or self._reconnect_task.done():
            self._reconnect_task = self._tasks.create_task(
                self._reconnect(), name=f"reconnect {self.name}"
            )

    def _lost_error(self, link: BrokerLink) -> RPCError:
        return self.address.lost(link.reason)

    def _drop(self, link: BrokerLink, exc: RPCError) -> None:
        link.close()
        self._pending.fail_all(exc, owner=link)

    async def _reconnect(self) -> None:
        """Re-open the sockets after a loss, pausing longer after each failure (bounded)."""
        delay = 0.25
        while not self._closing:
            await asyncio.sleep(delay)
            if self._link_ is not None and not self._link_.closed:
                return  # a call re-opened it
            try:
                async with self._lock:
                    if self._link_ is None or self._link_.closed:
                        await self._connect()
            except RPCError as exc:
                log.debug("Backend %s: reconnecting failed: %s", self.name, exc.message)
                delay = min(MAX_BACKOFF, delay * 2)
                continue
            await self._check()
            return

    # -- liveness and schema ----------------------------------------------------------

    async def _check(self) -> None:
        """Ping the backend (bounded) and set ``state``/``error`` from the outcome."""
        self._last_check = time.monotonic()
        try:
            await self.ping(timeout=self.status_timeout)
        except asyncio.TimeoutError:
            self.state = FAILED
            self.error = RemoteUnavailable(
                f"No DASF backend answered a ping on {self.where} within {self.status_timeout:g} s: "
                "is the backend module running?",
                code="broker.no_backend",
                details=self._details(),
            ).to_json()
        except RPCError as exc:
            self.state = FAILED
            self.error = exc.to_json()
        else:
            self._set_running()
            if self._api_info_stale and self._api_info is not None:
                self._start_api_info()

    def _set_running(self) -> None:
        self.state = RUNNING
        self.error = None

    async def _fetch_api_info(self) -> dict[str, Any]:
        try:
            reply = await self._request(protocol.API_INFO, timeout=self.start_timeout)
        except asyncio.TimeoutError:
            exc: RPCError = RemoteUnavailable(
                f"No DASF backend answered on {self.where} within {self.start_timeout:g} s: "
                "is the backend module running?",
                code="broker.no_backend",
                details=self._details(),
            )
            if self._api_info is None:
                self.state = FAILED
                self.error = exc.to_json()
            raise exc from None
        except RPCError as exc:
            if self._api_info is None:
                self.state = FAILED
                self.error = exc.to_json()
            raise
        props = reply["properties"]
        try:
            api_info = json.loads(props["api_info"])
            if not isinstance(api_info, dict):
                raise ValueError("it is not a JSON object")
        except KeyError:
            text = props.get("info") or "no api_info in the answer"
            raise RemoteFailed(
                f"The backend on {self.where} does not describe its API ({text}).",
                code="broker.protocol",
                details=self._details(),
            ) from None
        except (TypeError, ValueError) as exc:
            raise RemoteFailed(
                f"The backend on {self.where} sent an API description that cannot be read ({exc}).",
                code="broker.protocol",
                details=self._details(),
            ) from None
        if api_info != self._api_info:
            self._api_info = api_info  # a new object: Backend.specs() rebuilds its specs
        self._api_info_stale = False
        self._set_running()
        return self._api_info

    def _details(self) -> dict[str, Any]:
        return self.address.details()


def from_context(ctx: TransportContext) -> BrokerTransport:
    """The transport of a backend entry with ``transport: broker``: the DASF backend
    module listening on ``topic`` at the broker ``url``."""
    config = ctx.config
    return BrokerTransport(
        ctx.backend,
        config["url"],
        config["topic"],
        token=config.get("token"),
        token_env=config.get("token_env"),
        token_file=config.get("token_file"),
        ca_bundle=config.get("ca_bundle"),
        pulsar=config.get("pulsar"),
        connect_timeout=config.get("connect_timeout") or 10.0,
        start_timeout=ctx.timeout_to_start,
        max_message_size=ctx.max_message_size,
    )


__all__ = ["BrokerTransport", "from_context", "read_token"]
