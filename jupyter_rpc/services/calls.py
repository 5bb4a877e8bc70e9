"""Remote calls: start, follow, cancel. Tornado-free; the handlers are a thin layer over it."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from ..errors import (
    CallCancelled,
    Conflict,
    NotFound,
    RemoteFailed,
    RemoteTimeout,
    RPCError,
    TooLarge,
)
from ..tasks import TaskOwner
from .backends import Backend, BackendRegistry
from .functions import FunctionSpec
from .rasters import Download, RasterStore, is_raster, result_download
from .rendering import mime_bundle

log = logging.getLogger(__name__)

PENDING = "pending"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
FINISHED = (SUCCEEDED, FAILED, CANCELLED)

#: Longest text of a call's error (its message, each string of its details), characters;
#: a longer one keeps its start and its end around a note of what was cut.
MAX_ERROR_TEXT = 16 * 1024
#: Most items of a list in a call error's details (e.g. validation errors).
MAX_ERROR_ITEMS = 100
#: Largest progress tree kept as it was sent (bytes of JSON, about).
MAX_PROGRESS_SIZE = 256 * 1024
#: Seconds a result too large to keep waits to be read (once) before it is dropped.
LARGE_RESULT_FRESH = 300.0
#: Most calls one batch request may start, and most ids one wait may name.
MAX_BATCH = 1000
#: Seconds a batch's ended call is kept beyond the history's size until it is read.
UNREAD_FRESH = 60.0


def _now() -> datetime:
    return datetime.now(timezone.utc)


def cut_text(text: str, limit: int = MAX_ERROR_TEXT) -> str:
    """``text``, or its start and end around "… (N bytes cut) …" when longer than ``limit``."""
    if len(text) <= limit:
        return text
    half = limit // 2
    cut = len(text) - 2 * half
    return f"{text[:half]}\n\u2026 ({cut} bytes cut) \u2026\n{text[-half:]}"


def _bounded(value: Any, depth: int = 0) -> Any:
    """An error's details with every text cut to a bound and lists shortened."""
    if isinstance(value, str):
        return cut_text(value)
    if depth > 8:
        return None
    if isinstance(value, dict):
        return {str(k)[:200]: _bounded(v, depth + 1) for k, v in list(value.items())[:200]}
    if isinstance(value, list):
        return [_bounded(v, depth + 1) for v in value[:MAX_ERROR_ITEMS]]
    return value


def json_size_over(value: Any, limit: int) -> int | None:
    """The approximate size of ``value`` as JSON when it is over ``limit``, else ``None``.

    Stops as soon as the count passes the limit, so a huge result costs no more than
    ``limit`` worth of walking (a single huge string costs nothing).
    """
    size = 0
    todo: list[Iterator[Any]] = [iter((value,))]
    while todo:
        item = next(todo[-1], _END)
        if item is _END:
            todo.pop()
            continue
        if isinstance(item, str):
            size += len(item) + 3
        elif isinstance(item, dict):
            size += 2 + 2 * len(item) + sum(len(str(k)) + 2 for k in item)
            todo.append(iter(item.values()))
        elif isinstance(item, list | tuple):
            size += 2 + len(item)
            todo.append(iter(item))
        else:
            size += 8
        if size > limit:
            return size  # the rest is not walked: only "over the limit" matters
    return None


_END = object()


def bounded_progress(tree: dict[str, Any]) -> dict[str, Any]:
    """A progress tree as kept in the history: as sent when it is at most
    ``MAX_PROGRESS_SIZE``, else its root alone with a note (a backend decides how big a
    tree is, not how much memory the history takes)."""
    size = json_size_over(tree, MAX_PROGRESS_SIZE)
    if size is None:
        return tree
    message = cut_text(str(tree.get("step_message", "")), 1000)
    return {
        "report_id": str(tree.get("report_id", "root"))[:100],
        "status": str(tree.get("status", "running"))[:20],
        "step_message": f"{message} (progress of about {size // 1000} kB not shown)",
        "steps": 0,
        "children": [],
    }


class Call:
    """One call of a remote function and everything known about it."""

    def __init__(
        self, backend: str, function: str, arguments: dict[str, Any], call_id: str | None = None
    ) -> None:
        self.id = call_id or uuid.uuid4().hex
        self.backend = backend
        self.function = function
        self.arguments = arguments
        self.state = PENDING
        self.progress: dict[str, Any] | None = None
        self.result: Any = None
        self.display: dict[str, Any] | None = None
        #: Why the result of a succeeded call is no longer kept (too large), else None.
        self.result_dropped: str | None = None
        #: A result too large to keep is dropped once it was read (or when it is stale).
        self.drop_when_read = False
        self.error: dict[str, Any] | None = None
        self.created = _now()
        self.started: datetime | None = None
        self.finished: datetime | None = None
        self.version = 0
        self.task: asyncio.Task[None] | None = None
        self._t0 = time.perf_counter()
        self._duration: float | None = None
        self._waiters: list[asyncio.Future[None]] = []
        #: Woken when the call ends only (calls/wait: progress does not wake them).
        self._end_waiters: list[asyncio.Future[None]] = []
        #: Started in a batch and its end not yet read by its client (calls/wait).
        self.unread = False
        self.ended_at = 0.0  # time.monotonic() of the end

    @property
    def done(self) -> bool:
        return self.state in FINISHED

    def changed(self) -> None:
        """Record a change and wake whoever waits for one."""
        self.version += 1
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def finish(self, state: str, *, error: RPCError | None = None) -> None:
        """End the call (once)."""
        if self.done:
            return
        self.state = state
        self.finished = _now()
        self.ended_at = time.monotonic()
        self._duration = time.perf_counter() - self._t0
        if error is not None:
            body = error.to_json()
            body["message"] = cut_text(str(body.get("message", "")))
            if isinstance(body.get("details"), dict):
                body["details"] = _bounded(body["details"])
            self.error = body
        self.changed()
        waiters, self._end_waiters = self._end_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def drop_result(self, why: str) -> None:
        """Forget the result (too large to keep); who reads the call later is told ``why``."""
        if self.state != SUCCEEDED or self.result_dropped is not None:
            return
        self.result = None
        self.display = None
        self.result_dropped = why
        self.drop_when_read = False

    async def wait_changed(self, version: int, timeout: float) -> None:
        """Return once ``self.version > version`` or the call ended, or after ``timeout``."""
        if self.version > version or self.done or timeout <= 0:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    async def wait_done(self, timeout: float) -> None:
        """Return once the call ended, or after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not self.done:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            await self.wait_changed(self.version, remaining)

    def to_json(self, *, full: bool = True) -> dict[str, Any]:
        """The REST model; ``full=False`` leaves out result and display (for listings)."""
        model: dict[str, Any] = {
            "id": self.id,
            "backend": self.backend,
            "function": self.function,
            "arguments": self.arguments,
            "state": self.state,
            "progress": self.progress,
            "error": self.error,
            "created": self.created.isoformat(),
            "started": self.started.isoformat() if self.started else None,
            "finished": self.finished.isoformat() if self.finished else None,
            "duration": self._duration,
            "version": self.version,
        }
        if full and self.state == SUCCEEDED:
            if self.result_dropped is not None:
                model["result_dropped"] = self.result_dropped
            else:
                model["result"] = self.result
                model["display"] = self.display
                if self.drop_when_read:
                    # delivered once, in full: that was the one reader it was kept for
                    self.drop_result(
                        "The result was too large to keep after it was read once "
                        "(RPCApp.max_kept_result_size); run the call again to get it."
                    )
        return model


class CallManager:
    """Runs calls as owned tasks and keeps the recent ones for their callers."""

    def __init__(
        self,
        backends: BackendRegistry,
        *,
        history_size: int = 500,
        max_kept_result_size: int = 8 * 1024 * 1024,
        large_result_fresh: float = LARGE_RESULT_FRESH,
        rasters: RasterStore | None = None,
    ) -> None:
        self.backends = backends
        #: Raster results kept whole for their download (issue 21; services/rasters.py).
        self.rasters = rasters if rasters is not None else RasterStore()
        self.history_size = history_size
        #: Results larger than this (bytes of JSON, about) are kept only until read once.
        self.max_kept_result_size = max_kept_result_size
        self.large_result_fresh = large_result_fresh
        self._calls: OrderedDict[str, Call] = OrderedDict()
        self._tasks = TaskOwner("calls")

    async def start(
        self,
        backend_name: str,
        function: str,
        arguments: dict[str, Any],
        *,
        timeout: float | None = None,
        call_id: str | None = None,
        wait: float = 0.0,
    ) -> tuple[Call, bool]:
        """Validate and start a call; raises before anything is sent if it cannot be made.

        ``call_id`` (chosen by the client) makes the request idempotent: a retry, or a
        second POST with the same id, gets the existing call and starts nothing. With
        ``wait`` (seconds), return once the call ended or that time passed, so a quick call
        is answered in one request. Returns the call and whether it was created now.
        """
        call, created = await self._start(
            backend_name, function, arguments, timeout=timeout, call_id=call_id
        )
        if wait > 0:
            await call.wait_done(wait)
        return call, created

    async def _start(
        self,
        backend_name: str,
        function: str,
        arguments: dict[str, Any],
        *,
        timeout: float | None,
        call_id: str | None,
    ) -> tuple[Call, bool]:
        if call_id is not None and call_id in self._calls:
            return self._calls[call_id], False
        backend = self.backends.get(backend_name)
        spec = await backend.spec(function)
        spec.validate(arguments)
        limit = min(timeout, backend.timeout) if timeout else backend.timeout
        if call_id is not None and call_id in self._calls:  # raced with a retry while validating
            return self._calls[call_id], False
        call = Call(backend.name, function, arguments, call_id)
        self._remember(call)
        call.task = self._tasks.create_task(
            self._run(call, backend, spec, limit), name=f"call {call.id}"
        )
        return call, True

    async def start_batch(
        self, backend_name: str, items: list[dict[str, Any]], *, wait: float = 0.0
    ) -> list[tuple[Call, bool]]:
        """Start many calls of one backend (``items``: ``function``, ``arguments``,
        optional ``id`` and ``timeout`` each), in order; (call, created) for each.

        An unknown backend fails the whole batch before anything starts. An item that
        cannot start (an unknown function, arguments that do not fit) does not stop the
        others: it is answered as a call that failed with that error, kept like any call,
        so a client accounts for every id the same way. With ``wait`` (seconds), return
        once every call ended or that time passed.
        """
        if len(items) > MAX_BATCH:
            raise TooLarge(
                f"A batch holds at most {MAX_BATCH:,} calls; this one has {len(items):,}. "
                "Send them in several batches.",
                details={"size": len(items), "limit": MAX_BATCH},
            )
        backend = self.backends.get(backend_name)
        started: list[tuple[Call, bool]] = []
        for item in items:
            call_id = item.get("id")
            try:
                call, created = await self._start(
                    backend.name,
                    item["function"],
                    item.get("arguments", {}),
                    timeout=item.get("timeout"),
                    call_id=call_id,
                )
                call.unread = created
                started.append((call, created))
            except RPCError as exc:
                if call_id is not None and call_id in self._calls:
                    started.append((self._calls[call_id], False))
                    continue
                call = Call(backend.name, item["function"], item.get("arguments", {}), call_id)
                call.finish(FAILED, error=exc)
                self._remember(call)
                started.append((call, True))
        if wait > 0:
            deadline = time.monotonic() + wait
            for call, _ in started:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                await call.wait_done(left)
        for call, _ in started:
            if call.done:  # answered now
                call.unread = False
        return started

    async def wait_any(
        self, call_ids: list[str], timeout: float
    ) -> tuple[list[Call], list[str], list[str]]:
        """Wait until at least one of ``call_ids`` has ended, or ``timeout`` seconds;
        (the ended calls, the ids still running, the ids not known)."""
        if len(call_ids) > MAX_BATCH:
            raise TooLarge(
                f"A wait names at most {MAX_BATCH:,} calls; this one names {len(call_ids):,}.",
                details={"size": len(call_ids), "limit": MAX_BATCH},
            )
        deadline = time.monotonic() + timeout
        while True:
            known = [self._calls.get(i) for i in call_ids]
            ended = [c for c in known if c is not None and c.done]
            running = [c for c in known if c is not None and not c.done]
            left = deadline - time.monotonic()
            if ended or not running or left <= 0:
                break
            waiter = asyncio.get_running_loop().create_future()
            for call in running:
                call._end_waiters.append(waiter)
            try:
                await asyncio.wait_for(asyncio.shield(waiter), left)
            except asyncio.TimeoutError:
                pass
            finally:
                for call in running:
                    if waiter in call._end_waiters:
                        call._end_waiters.remove(waiter)
        missing = [i for i, c in zip(call_ids, known, strict=True) if c is None]
        for call in ended:
            call.unread = False
        return ended, [c.id for c in running], missing

    def cancel_many(self, call_ids: list[str]) -> tuple[list[Call], list[str], list[str]]:
        """Cancel every running call of ``call_ids`` (an Executor's shutdown or a stopped
        map: one request, not one per call); (the calls cancelled now, the ids that had
        already ended, the ids not known)."""
        if len(call_ids) > MAX_BATCH:
            raise TooLarge(
                f"A cancel names at most {MAX_BATCH:,} calls; this one names {len(call_ids):,}.",
                details={"size": len(call_ids), "limit": MAX_BATCH},
            )
        cancelled: list[Call] = []
        ended: list[str] = []
        missing: list[str] = []
        for call_id in dict.fromkeys(call_ids):  # each once, in order
            call = self._calls.get(call_id)
            if call is None:
                missing.append(call_id)
            elif call.done:
                ended.append(call_id)
            else:
                cancelled.append(self.cancel(call_id))
        return cancelled, ended, missing

    def get(self, call_id: str) -> Call:
        """A call by id."""
        try:
            return self._calls[call_id]
        except KeyError:
            raise NotFound(
                f"There is no call '{call_id}' (finished calls are kept for the last {self.history_size}).",
                code="call.not_found",
            ) from None

    def list(self) -> list[Call]:
        """Recent calls, newest first."""
        return list(reversed(self._calls.values()))

    def cancel(self, call_id: str) -> Call:
        """Cancel a running call; the backend is told to stop it."""
        call = self.get(call_id)
        if call.done:
            raise Conflict(f"The call has already ended ({call.state}).", code="call.finished")
        call.finish(CANCELLED, error=CallCancelled("The call was cancelled."))
        if call.task is not None:
            call.task.cancel()
        return call

    def download(self, call_id: str) -> Download:
        """A map result whole, as a file: a raster as GeoTIFF, GeoJSON as ``.geojson``."""
        return result_download(self.get(call_id), self.rasters)

    async def close(self) -> None:
        """Cancel every running call (shutdown does not wait for remote work)."""
        for call in self._calls.values():
            if not call.done:
                call.finish(
                    CANCELLED,
                    error=CallCancelled("The call was cancelled: the server is stopping."),
                )
        await self._tasks.cancel_all(timeout=3.0)

    async def _run(self, call: Call, backend: Backend, spec: FunctionSpec, timeout: float) -> None:
        call.state = RUNNING
        call.started = _now()
        call.changed()

        def on_progress(tree: dict[str, Any]) -> None:
            if not call.done:
                call.progress = bounded_progress(tree)
                call.changed()

        try:
            result = await asyncio.wait_for(
                backend.transport.call(spec.request(call.arguments), on_progress=on_progress),
                timeout,
            )
        except asyncio.TimeoutError:
            call.finish(
                FAILED,
                error=RemoteTimeout(
                    f"'{call.function}' did not finish within {timeout:g} s and was cancelled.",
                    code="call.timeout",
                    details={"timeout": timeout},
                ),
            )
        except asyncio.CancelledError:
            call.finish(CANCELLED, error=CallCancelled("The call was cancelled."))
        except RPCError as exc:
            call.finish(FAILED, error=exc)
        except Exception:
            log.exception("Call %s of %s.%s failed", call.id, call.backend, call.function)
            call.finish(
                FAILED,
                error=RPCError("The call failed because of an internal error; see the server log."),
            )
        else:
            if call.done:  # cancelled while the answer was on its way
                return
            if is_raster(result, spec.return_schema):  # the map's copy; the whole kept
                try:
                    result = await asyncio.to_thread(
                        self.rasters.accept,
                        call.id,
                        result,
                        f"jupyter-rpc/calls/{call.id}/download",
                    )
                except ValueError as exc:
                    call.finish(FAILED, error=RemoteFailed(f"'{call.function}': {exc}"))
                    return
                if call.state in FINISHED:  # cancelled meanwhile
                    self.rasters.forget(call.id)
                    return
            elif isinstance(result, dict) and isinstance(result.get("values"), bytes):
                # a raster's bytes (a buffer) where no raster was declared: base64, as JSON
                result = {**result, "values": base64.b64encode(result["values"]).decode("ascii")}
            call.result = result
            size = json_size_over(result, self.max_kept_result_size)
            if size is not None:
                self._keep_while_fresh(call, size)
            else:
                try:
                    call.display = mime_bundle(result, spec.return_schema)
                except Exception:  # a rendering bug must not lose the result
                    log.exception("Cannot render the result of %s.%s", call.backend, call.function)
                    call.display = {"text/plain": repr(result)[:10_000]}
            call.finish(SUCCEEDED)

    def _keep_while_fresh(self, call: Call, size: int) -> None:
        """A result over ``max_kept_result_size``: kept for its first reader only (the
        caller who waits for it), at most ``large_result_fresh`` seconds, then dropped
        from the history with a note saying so."""
        call.display = {
            "text/plain": f"<a result of about {size / 1e6:.1f} MB, too large to show here>"
        }
        call.drop_when_read = True
        why = (
            f"The result (about {size / 1e6:.1f} MB) was larger than "
            f"{self.max_kept_result_size / 1e6:.1f} MB (RPCApp.max_kept_result_size), "
            f"and was not read within {self.large_result_fresh:g} s; run the call again to get it."
        )
        asyncio.get_running_loop().call_later(self.large_result_fresh, call.drop_result, why)

    def _remember(self, call: Call) -> None:
        self._calls[call.id] = call
        excess = len(self._calls) - self.history_size
        if excess <= 0:
            return
        # Oldest first; stop as soon as enough finished calls are found (running ones stay).
        drop = []
        now = time.monotonic()
        for old in self._calls.values():
            # a batch's ended call is kept until its client has read it (calls/wait), for
            # UNREAD_FRESH seconds at most: an Executor with more calls running than the
            # history holds loses none of its results
            if old.done and not (old.unread and now - old.ended_at < UNREAD_FRESH):
                drop.append(old.id)
                if len(drop) == excess:
                    break
        for old_id in drop:
            self._calls.pop(old_id).drop_result("The call left the history.")
            self.rasters.forget(old_id)
