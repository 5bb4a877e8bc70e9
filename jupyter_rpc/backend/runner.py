"""Serve a backend module over stdio: one DASF envelope per line, in and out.

Threads and ordering:

* a *reader* thread reads lines from the protocol input and parses them (request
  payloads are decoded there too), then hands each message to the event loop;
* the *event loop* answers ``ping``/``api_info``/``info``, starts calls and cancels them:
  ``async def`` functions run as tasks on the loop, plain functions in a thread pool
  (validation, the call and the encoding of the result all happen in the worker);
* a *writer* thread owns the protocol output: every message is queued as one finished
  line and written with ``os.write`` (one syscall for all but huge messages), so
  messages never interleave and the loop never blocks on a slow reader.

Progress frames of a call are queued before its response, so they always arrive first.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .. import protocol
from ..protocol import (
    ProtocolError,
    decode_payload,
    dumps_line,
    encode_payload,
    encode_text,
    message,
)
from .introspect import BackendAPI, RequestError
from .progress import Cancelled, Progress
from .raster import is_raster_value, raster_buffers
from .streams import ProgressChannel, Writer, execution_error_text, log, user_traceback

__all__ = ["PROGRESS_INTERVAL", "SHUTDOWN_GRACE", "Runner", "default_workers"]

#: Seconds between two progress frames of one call (the last state is always sent).
PROGRESS_INTERVAL = 0.05
#: Seconds running calls get to finish after a cancel at shutdown.
SHUTDOWN_GRACE = 0.5


def default_workers() -> int:
    """DASF's default size of the thread pool: ``min(32, cpus * 5)``."""
    return min(32, (os.cpu_count() or 1) * 5)


class _Call:
    __slots__ = ("context", "progress", "channel", "future", "replied")

    def __init__(self, context: str) -> None:
        self.context = context
        self.replied = False
        self.channel: ProgressChannel | None = None
        self.progress: Progress | None = None
        self.future: asyncio.Future[Any] | None = None  # a Task for async functions


class Runner:
    """Serve one :class:`BackendAPI` on a pair of file descriptors.

    Parameters
    ----------
    api
        What to serve (from :func:`jupyter_rpc.backend.build_api`).
    input_fd, output_fd
        The protocol input and output (the process's original stdin and stdout; see
        :func:`jupyter_rpc.backend.cli.serve` for how they are kept away from user code).
    workers
        Size of the thread pool for plain (not ``async``) functions.
    interval
        Minimum seconds between two progress frames of one call.
    """

    #: Whether a server may ask for binary buffers (on stdio, one server: yes).
    takes_buffers = True

    def __init__(
        self,
        api: BackendAPI,
        input_fd: int | None = None,
        output_fd: int | None = None,
        *,
        workers: int | None = None,
        interval: float = PROGRESS_INTERVAL,
    ) -> None:
        self.api = api
        self.topic = api.name
        self.interval = interval
        self._input_fd = input_fd
        self._output_fd = output_fd
        self._workers = workers or default_workers()
        self._api_info = json.dumps(api.runner_api_info, separators=(",", ":"))
        self._info = json.dumps(api.module_schema)
        self._calls: dict[str, _Call] = {}
        self._busy = 0
        self._busy_lock = threading.Lock()
        #: Whether the server takes binary buffers after a line (its api_info said so).
        self._buffers = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._stop: asyncio.Event | None = None
        #: What :meth:`run` returns (a transport sets it to 1 on a fatal error).
        self.exit_status = 0

    # -- entry points ------------------------------------------------------------------

    def run(self) -> int:
        """Serve until the input ends; returns the exit status (:attr:`exit_status`).

        If a call ignores cancellation, the process ends with :func:`os._exit` after a
        short grace period instead of waiting for it.
        """
        clean = asyncio.run(self._main())
        if not clean:
            sys.stderr.flush()
            os._exit(self.exit_status)
        return self.exit_status

    def _setup_loop(self) -> None:
        """Bind the runner to the running loop and start its thread pool."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._stop = asyncio.Event()
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="jupyter-rpc-call")

    async def _main(self) -> bool:
        """Serve; True when every thread has ended, so that the process may exit normally."""
        self._setup_loop()
        assert self._output_fd is not None
        self._writer = Writer(self._output_fd, self._output_failed)
        reader = threading.Thread(target=self._read, name="jupyter-rpc-reader", daemon=True)
        reader.start()
        assert self._stop is not None
        await self._stop.wait()
        return await self._shutdown(reader)

    async def _end_calls(self) -> bool:
        """Cancel the running calls and give them a grace period; True if all ended."""
        pending = [c.future for c in self._calls.values() if c.future is not None]
        for call in list(self._calls.values()):
            self._cancel_call(call)
        if pending:
            await asyncio.wait(pending, timeout=SHUTDOWN_GRACE)
        with self._busy_lock:
            busy = self._busy
        if busy:
            log(f"{busy} call(s) ignored the cancellation and are abandoned")
        self._pool.shutdown(wait=False)
        return not busy

    async def _shutdown(self, reader: threading.Thread) -> bool:
        ended = await self._end_calls()
        flushed = self._writer.close(timeout=2.0)
        reader.join(0.2)
        return ended and flushed and not reader.is_alive()

    # -- plumbing (any thread) -----------------------------------------------------------

    def send(self, msg: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        """Queue one message for the protocol output (thread-safe), with the binary
        buffers that follow it (``protocol.BUFFERS``) written right after it."""
        line = dumps_line(msg)
        self._writer.send((line, *buffers) if buffers else line)

    def call_later(self, delay: float, callback: Any) -> None:
        """Run ``callback`` on the loop after ``delay`` seconds (thread-safe)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            loop.call_later(delay, callback)
            return
        try:
            loop.call_soon_threadsafe(loop.call_later, delay, callback)
        except RuntimeError:  # the loop closed meanwhile
            pass

    def _to_loop(self, callback: Any, *args: Any) -> None:
        try:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop closed meanwhile
            pass

    def _output_failed(self, exc: OSError) -> None:
        log(f"cannot write to the protocol output ({exc}); stopping")
        self._to_loop(self._request_stop)

    def _request_stop(self) -> None:
        assert self._stop is not None
        self._stop.set()

    def _read(self) -> None:
        """The reader thread: parse lines, decode request payloads, hand them to the loop."""
        assert self._input_fd is not None
        with open(self._input_fd, "rb", buffering=1 << 16, closefd=False) as stream:
            for line in stream:
                if not line.strip():
                    continue
                try:
                    msg = protocol.loads_line(line)
                except ProtocolError as exc:
                    log(f"ignoring a malformed line ({exc}): {line[:200]!r}")
                    continue
                payload: Any = None
                if msg["properties"]["messageType"] == protocol.REQUEST:
                    try:
                        payload = decode_payload(msg["payload"])
                    except ProtocolError as exc:
                        payload = exc
                self._to_loop(self._dispatch, msg, payload)
        self._to_loop(self._request_stop)

    # -- the loop ----------------------------------------------------------------------

    def _dispatch(self, msg: dict[str, Any], payload: Any) -> None:
        """Handle one incoming message on the loop (every transport ends up here).

        ``payload`` is the decoded request payload for ``request`` messages (or the
        :class:`ProtocolError` that decoding raised), else ``None``. Replies go through
        :meth:`send` with the same ``requestContext``.
        """
        props = msg["properties"]
        kind = props["messageType"]
        context = props.get("requestContext", str(msg.get("context", "")))
        if kind == protocol.REQUEST:
            self._start(context, payload)
        elif kind == protocol.PING:
            # how many workers run a plain function: a server tells a wedged pool by it
            with self._busy_lock:
                busy = self._busy
            self.send(
                message(
                    protocol.PONG,
                    context,
                    source_topic=self.topic,
                    busy=str(busy),
                    workers=str(self._workers),
                )
            )
        elif kind == protocol.CANCEL:
            call = self._calls.get(context)
            if call is None:
                log(f"cancel: no running call with requestContext {context!r}")
            else:
                self._cancel_call(call)
        elif kind in (protocol.API_INFO, protocol.INFO):
            if (
                kind == protocol.API_INFO
                and self.takes_buffers
                and props.get(protocol.BUFFERS) == "1"
            ):
                self._buffers = True  # a server of ours on stdio: rasters as bytes
            # the answer carries the description in a property named like the question
            described = self._api_info if kind == protocol.API_INFO else self._info
            self.send(
                message(
                    protocol.RESPONSE,
                    context,
                    status=protocol.SUCCESS,
                    source_topic=self.topic,
                    **{kind: described},
                )
            )
        else:
            log(f"ignoring a message of type {kind!r}")

    def _cancel_call(self, call: _Call) -> None:
        if call.progress is not None:
            call.progress.cancel()
        if isinstance(call.future, asyncio.Task):
            call.future.cancel()

    def _start(self, context: str, request: Any) -> None:
        call = _Call(context)
        if context in self._calls:
            log(f"a second request with requestContext {context!r} while the first still runs")
        self._calls[context] = call
        call.channel = ProgressChannel(self, context)
        call.progress = Progress(on_change=call.channel.changed)
        if isinstance(request, ProtocolError):
            self._reply_invalid(
                call, RequestError(f"the request payload is unreadable: {request}", [])
            )
            self._finished(call)
            return
        loop = self._loop
        assert loop is not None
        if self.api.is_async(request):
            call.future = loop.create_task(self._run_async(call, request))
        else:
            call.future = loop.run_in_executor(self._pool, self._run_sync, call, request)
        call.future.add_done_callback(lambda _: self._finished(call))

    def _finished(self, call: _Call) -> None:
        if self._calls.get(call.context) is call:
            del self._calls[call.context]
        if call.replied or call.future is None:
            return
        # Every request gets exactly one response, even when the task was cancelled
        # before it started or the runner itself failed.
        if call.future.cancelled():
            self._reply_failed(call, Cancelled())
        else:
            exc = call.future.exception()
            self._reply_failed(call, exc or RuntimeError("the call ended without an answer"))

    # -- running calls -----------------------------------------------------------------

    def _run_sync(self, call: _Call, request: Any) -> None:
        """Validate, run and answer one call in a worker thread."""
        with self._busy_lock:
            self._busy += 1
        try:
            assert call.progress is not None
            if call.progress.cancelled:
                self._reply_failed(call, Cancelled())
                return
            try:
                prepared = self.api.prepare(request, call.progress)
            except RequestError as exc:
                self._reply_invalid(call, exc)
                return
            try:
                result = prepared.run()
                call.progress.check()
                payload, buffers = self._encode(prepared, result)
            except BaseException as exc:  # noqa: BLE001 - every failure is the caller's answer
                self._reply_failed(call, exc)
                return
            self._reply(call, payload, buffers)
        finally:
            with self._busy_lock:
                self._busy -= 1

    async def _run_async(self, call: _Call, request: Any) -> None:
        assert call.progress is not None
        try:
            prepared = self.api.prepare(request, call.progress)
        except RequestError as exc:
            self._reply_invalid(call, exc)
            return
        try:
            result = await prepared.run()
            call.progress.check()
            payload, buffers = self._encode(prepared, result)
        except asyncio.CancelledError:
            self._reply_failed(call, Cancelled())
        except BaseException as exc:  # noqa: BLE001
            self._reply_failed(call, exc)
        else:
            self._reply(call, payload, buffers)

    def _encode(self, prepared: Any, result: Any) -> tuple[str, list[bytes]]:
        """The response's payload and its buffers: a raster result's values go as bytes
        after the line when the server takes buffers (``protocol.BUFFERS``) and the
        function is declared to return a raster (what the server turns back; a
        ``Raster | None`` result goes as base64)."""
        if not self._buffers or not prepared.returns_raster or not is_raster_value(result):
            return encode_payload(prepared.serialize(result)), []
        with raster_buffers() as buffers:
            value = prepared.serialize(result)
        return encode_payload(value), buffers

    def _reply(self, call: _Call, payload: str, buffers: list[bytes] | None = None) -> None:
        assert call.channel is not None
        call.replied = True
        call.channel.close(failed=False)
        extra = {protocol.BUFFERS: ",".join(str(len(b)) for b in buffers)} if buffers else {}
        self.send(
            message(
                protocol.RESPONSE,
                call.context,
                payload=payload,
                status=protocol.SUCCESS,
                source_topic=self.topic,
                **extra,
            ),
            buffers,
        )

    def _reply_invalid(self, call: _Call, exc: RequestError) -> None:
        call.replied = True
        self.send(
            message(
                protocol.RESPONSE,
                call.context,
                payload=encode_text(f"error validating request: {exc}"),
                status=protocol.ERROR,
                source_topic=self.topic,
                error_type="ValidationError",
                errors=json.dumps(exc.errors, default=str),
            )
        )

    def _reply_failed(self, call: _Call, exc: BaseException) -> None:
        assert call.channel is not None
        call.replied = True
        call.channel.close(failed=True)
        extra: dict[str, str] = {}
        if not isinstance(exc, Cancelled):
            trace = user_traceback(exc)
            if trace:
                extra["traceback"] = trace
                log(f"call {call.context!r} failed:\n{trace.rstrip()}")
        self.send(
            message(
                protocol.RESPONSE,
                call.context,
                payload=encode_text(f"error executing request: {execution_error_text(exc)}"),
                status=protocol.ERROR,
                source_topic=self.topic,
                error_type=type(exc).__name__,
                **extra,
            )
        )
