"""A backend process speaking JSON lines on its stdio, wherever it runs.

:class:`ProcessTransport` holds the lifecycle that a local subprocess and a process on a
login node share: start on first use (one start for concurrent first callers, one
answer for callers that waited on a failed start), the ``api_info`` handshake, a crash
failing the calls in flight with ``backend.crashed`` and the last lines of stderr, and a
background restart with a growing pause. Subclasses say how to spawn and stop the
process (:meth:`_spawn`, :meth:`_stop_process`).
"""

from __future__ import annotations

import abc
import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Mapping
from typing import Any, Generic, Protocol, TypeVar

from .. import protocol
from ..errors import BackendCrashed, RemoteFailed, RemoteUnavailable, RPCError
from ..tasks import TaskOwner
from .base import FAILED, RUNNING, STARTING, STOPPED, ProgressSink, Transport, result_of
from .stream import StreamConnection

log = logging.getLogger(__name__)


#: Longest line of a backend's stderr that is kept (characters); the rest is cut.
STDERR_LINE_LIMIT = 1000
#: How many of the last stderr lines an error shows.
STDERR_TAIL_LINES = 15


class StderrTail:
    """The last lines of a backend's stderr, bounded whatever the backend writes.

    Bytes come in as they are read (:meth:`feed`), never as whole lines: a line longer
    than ``line_limit`` keeps its start and a note of how much was cut, so one 50 MB line
    costs ``line_limit`` characters, not 50 MB. Only the last ``lines`` lines are kept.
    """

    def __init__(self, lines: int = 40, line_limit: int = STDERR_LINE_LIMIT) -> None:
        self.line_limit = line_limit
        self._lines: deque[str] = deque(maxlen=lines)
        self._partial = bytearray()
        self._cut = 0

    def clear(self) -> None:
        """Forget everything (a new process starts)."""
        self._lines.clear()
        self._partial.clear()
        self._cut = 0

    def feed(self, data: bytes) -> list[str]:
        """Take bytes of stderr; returns the lines they completed (for the log)."""
        done = []
        *complete, rest = data.split(b"\n")
        for piece in complete:
            self._take(piece)
            done.append(self._end_line())
        self._take(rest)
        return done

    def end(self) -> list[str]:
        """The stream ended: keep an unfinished last line."""
        return [self._end_line()] if self._partial or self._cut else []

    def _take(self, piece: bytes) -> None:
        room = self.line_limit - len(self._partial)
        if room > 0:
            self._partial += piece[:room]
        self._cut += max(0, len(piece) - max(room, 0))

    def _end_line(self) -> str:
        text = self._partial.decode("utf-8", errors="replace").rstrip()
        if self._cut:
            text += f" \u2026 ({self._cut} bytes cut)"
        self._partial.clear()
        self._cut = 0
        self._lines.append(text)
        return text

    def tail(self, lines: int = STDERR_TAIL_LINES) -> str:
        """The last ``lines`` lines (with an unfinished one), at most about
        ``lines * line_limit`` characters."""
        kept = list(self._lines)[-lines:]
        if self._partial or self._cut:
            part = self._partial.decode("utf-8", errors="replace").rstrip()
            kept = [
                *kept[1 - lines :],
                part + (f" \u2026 ({self._cut} bytes cut)" if self._cut else ""),
            ]
        return "\n".join(kept)


def backend_command(config: Mapping[str, Any], *, python: str) -> list[str]:
    """The argv that starts a backend entry's process: its ``command``, or ``python -m
    jupyter_rpc.backend serve MODULE`` with its ``python`` (default ``python``)."""
    if config.get("command"):
        return [str(arg) for arg in config["command"]]
    return [
        str(config.get("python") or python),
        "-m",
        "jupyter_rpc.backend",
        "serve",
        str(config["module"]),
    ]


class BackendProcess(Protocol):
    """What the lifecycle reads of a running process: its exit code once it ended."""

    @property
    def returncode(self) -> int | None: ...


#: The kind of process a subclass runs (a local subprocess, a process over SSH).
P = TypeVar("P", bound=BackendProcess)


class ProcessTransport(Transport, Generic[P]):
    """Starts the backend on first use, keeps it, and restarts it when it dies, or when it
    is wedged.

    A backend is *wedged* when calls were given up (cancelled, timed out) and have not
    answered their cancel within :attr:`stuck_after` seconds, and then either a ping gets
    no answer within :attr:`wedge_ping_timeout` (its event loop is blocked) or its pong
    says every worker is busy while at least as many given-up calls hold one (our runner
    says ``busy`` and ``workers`` in its pong): nothing it runs is awaited by anyone, and
    nothing new can start. It is then restarted, and the calls still waiting fail with
    ``backend.wedged``.
    """

    #: Shown after the backend's name in messages (" on levante").
    where = ""
    #: Seconds a given-up call has to answer its cancel before it counts as stuck.
    stuck_after = 5.0
    #: Seconds the ping of a backend that may be wedged may take.
    wedge_ping_timeout = 5.0

    #: Whether the backend is asked to send a raster's values as binary buffers
    #: (``protocol.BUFFERS``); off only to measure or test the base64 way.
    ask_buffers = True

    def __init__(self, name: str, *, start_timeout: float, max_message_size: int) -> None:
        super().__init__(name)
        self.start_timeout = start_timeout
        self.max_message_size = max_message_size
        self._proc: P | None = None
        self._conn: StreamConnection | None = None
        self._api_info: dict[str, Any] | None = None
        self._lock = asyncio.Lock()
        #: One stop at a time: a stop that finishes under a shield (a cancelled start)
        #: is waited for by the next, so close() returns once the process is gone.
        self._stop_lock = asyncio.Lock()
        self._stderr = StderrTail()
        self._tasks = TaskOwner(f"{self.kind} backend {name}")
        self._closing = False
        self._started_at = 0.0
        self._backoff = 0.0
        self._start_error: RPCError | None = None
        self._failed_at = 0.0
        self._checking = False

    # -- what subclasses provide ------------------------------------------------------

    @abc.abstractmethod
    async def _spawn(self) -> StreamConnection:
        """Start the process (setting ``self._proc``) and return an unstarted
        connection on its stdio, made with :meth:`_stream`. Raise ``RPCError``
        (usually through :meth:`_fail`) when it cannot start."""

    @abc.abstractmethod
    async def _stop_process(self) -> None:
        """Close the connection and stop the process (bounded waits)."""

    async def _stop(self) -> None:
        """:meth:`_stop_process`, after any stop still under way."""
        async with self._stop_lock:
            await self._stop_process()

    def _exit_code(self, proc: P) -> int | None:
        return proc.returncode

    #: Said when a crashed process left no exit code.
    no_exit_code = ""

    def _details(self) -> dict[str, Any]:
        return {"backend": self.name}

    def _started(self) -> str:
        """Said in the log after "Backend NAME started"."""
        return self.where

    # -- public API -------------------------------------------------------------------

    async def api_info(self) -> dict[str, Any]:
        await self._connection()
        assert self._api_info is not None
        return self._api_info

    async def call(
        self, request: dict[str, Any], *, on_progress: ProgressSink | None = None
    ) -> Any:
        conn = await self._connection()
        reply = await conn.request(
            protocol.REQUEST, protocol.encode_payload(request), on_progress=on_progress
        )
        return result_of(reply)

    async def ping(self, timeout: float = 10.0) -> float:
        """Round-trip time of a DASF ping to the running backend (started if needed), in
        seconds; ``asyncio.TimeoutError`` past ``timeout``."""
        conn = await self._connection()
        t0 = time.perf_counter()
        await asyncio.wait_for(conn.request(protocol.PING), timeout)
        return time.perf_counter() - t0

    async def close(self) -> None:
        self._closing = True
        await self._tasks.cancel_all(timeout=1.0)
        await self._stop()
        self.state = STOPPED

    # -- lifecycle --------------------------------------------------------------------

    def _ready(self) -> StreamConnection | None:
        # RUNNING, not just "has a connection": during a start the connection exists
        # before the backend has described its API.
        conn = self._conn
        if conn is not None and not conn.closed and self.state == RUNNING:
            return conn
        return None

    async def _connection(self) -> StreamConnection:
        conn = self._ready()
        if conn is not None:
            return conn
        asked = time.monotonic()
        async with self._lock:
            conn = self._ready()
            if conn is not None:
                return conn
            if self._closing:
                raise RemoteUnavailable(f"Backend '{self.name}' is shutting down.")
            err = self._start_error
            if err is not None and self._failed_at >= asked:
                # a start failed while we waited: the same answer, not a storm of retries
                raise type(err)(err.message, code=err.code, status=err.status, details=err.details)
            return await self._start()

    async def _start(self) -> StreamConnection:
        if self._proc is not None or self._conn is not None:
            # the last one's connection closed and its restart has not stopped it yet: a
            # new process must not take its place while it still runs (it would be lost)
            await self._stop()
        self.state = STARTING
        self._stderr.clear()
        try:
            conn = await self._spawn()
        except RPCError as exc:
            # Trouble reaching the place it runs (SSH) keeps its own code.
            self._failed(exc)
            raise
        conn.start()
        self._conn = conn
        try:
            reply = await asyncio.wait_for(
                conn.request(protocol.API_INFO, buffers="1" if self.ask_buffers else ""),
                self.start_timeout,
            )
            api_info = json.loads(reply["properties"]["api_info"])
            if not isinstance(api_info, dict):
                raise ValueError("api_info is not an object")
        except asyncio.TimeoutError:
            await self._stop()
            raise self._fail(
                f"did not answer within {self.start_timeout:g} s of starting."
            ) from None
        except (RPCError, KeyError, ValueError) as exc:
            await self._stop()
            reason = (
                exc.message
                if isinstance(exc, RPCError)
                else f"it sent no valid API description ({exc})"
            )
            raise self._fail(f"could not start: {reason}") from None
        except BaseException:
            # Cancelled (the request that started it went away): stop the half-started
            # process, or it would run (and hold its SSH channel) for ever.
            self.state = STOPPED
            await asyncio.shield(self._stop())
            raise
        if self._api_info is not None:
            self.restarts += 1
        self._api_info = api_info
        self.state, self.error = RUNNING, None
        self._started_at = time.monotonic()
        log.info("Backend %s started%s", self.name, self._started())
        return conn

    def _stream(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        proc: P,
        exit_wait: float,
    ) -> StreamConnection:
        """The connection on a process's stdio, reporting its crash and its end."""
        conn = StreamConnection(
            reader,
            writer,
            name=self.name,
            closed_error=lambda: self._crash_error(proc),
            on_eof=lambda: self._wait_exit(proc, exit_wait),
            on_closed=lambda: self._on_closed(conn),
            too_large=self._too_large,
            on_abandoned=lambda: self._check_wedged_soon(conn),
            max_size=self.max_message_size,
        )
        return conn

    def _too_large(self, size: int) -> RPCError:
        return RemoteFailed(
            f"Backend '{self.name}'{self.where} answered with a message of {size} bytes, over "
            f"the limit of {self.max_message_size} bytes (RPCApp.max_message_size); this call "
            "fails, the backend goes on. Return less (e.g. write large data to a file and "
            "return its path), or ask the administrator to raise RPCApp.max_message_size.",
            code="backend.message_too_large",
            details={**self._details(), "size": size, "limit": self.max_message_size},
        )

    # -- wedged backends ----------------------------------------------------------------

    def _check_wedged_soon(self, conn: StreamConnection) -> None:
        if self._checking or self._closing:
            return
        self._checking = True
        self._tasks.create_task(self._watch_stuck(conn), name=f"wedge check {self.name}")

    async def _watch_stuck(self, conn: StreamConnection) -> None:
        """Check for a wedge once given-up calls had time to answer their cancel, and
        again while younger ones wait for theirs."""
        try:
            while conn is self._conn and not conn.closed and conn.abandoned:
                now = time.monotonic()
                youngest = max(conn.abandoned.values())
                await asyncio.sleep(max(0.0, youngest + self.stuck_after - now))
                why = await self._wedged_reason(conn)
                if why is not None:
                    self._restart_wedged(conn, why)
                    return
                if max(conn.abandoned.values(), default=0.0) <= youngest:
                    return  # nothing new was given up meanwhile
        finally:
            self._checking = False

    async def _wedged_reason(self, conn: StreamConnection) -> str | None:
        """Why the backend is wedged, or ``None`` when it is not."""
        now = time.monotonic()
        stuck = sum(1 for t in conn.abandoned.values() if now - t >= self.stuck_after)
        if not stuck or conn is not self._conn or conn.closed:
            return None
        try:
            reply = await asyncio.wait_for(conn.request(protocol.PING), self.wedge_ping_timeout)
        except asyncio.TimeoutError:
            return f"no answer to a ping within {self.wedge_ping_timeout:g} s"
        except RPCError:
            return None  # it ended: the crash is reported by the connection
        props = reply["properties"]
        try:
            busy, workers = int(props["busy"]), int(props["workers"])
        except (KeyError, TypeError, ValueError):
            return None  # not our runner: it answers, that is all we know
        if workers > 0 and busy >= workers and stuck >= workers:
            return (
                f"all {workers} of its workers held by calls that were cancelled or timed out "
                "and ignore cancellation"
            )
        return None

    def _restart_wedged(self, conn: StreamConnection, why: str) -> None:
        log.warning("Backend %s is wedged (%s); restarting it", self.name, why)

        def error() -> RPCError:
            return RemoteUnavailable(
                f"Backend '{self.name}'{self.where} stopped answering ({why}) and was "
                "restarted; this call was lost. Calls that ignore cancellation can wedge a "
                "backend: make long functions take a Progress and report through it.",
                code="backend.wedged",
                details=self._details(),
            )

        self.state = FAILED
        self.error = error().to_json()
        conn.fail_pending(error)
        self._tasks.create_task(self._restart(), name=f"restart {self.name}")

    async def _wait_exit(self, proc: P, timeout: float) -> None:
        """Give a process whose output ended a moment to exit, so its exit code is known."""

    def _failed(self, exc: RPCError) -> None:
        self.state, self.error = FAILED, exc.to_json()
        self._start_error, self._failed_at = exc, time.monotonic()

    def _fail(self, what: str) -> RemoteUnavailable:
        """A failed start, with the last lines the process printed (in the message only:
        one bounded copy, see :class:`StderrTail`)."""
        tail = self._stderr_tail()
        message = f"Backend '{self.name}'{self.where} {what}"
        if tail:
            message += f" Its last output:\n{tail}"
        exc = RemoteUnavailable(message, details=self._details())
        self._failed(exc)
        return exc

    def _crash_error(self, proc: P) -> RPCError:
        if self._closing:
            return RemoteUnavailable(f"Backend '{self.name}' was stopped.")
        code = self._exit_code(proc)
        how = f" (exit code {code})" if code is not None else self.no_exit_code
        tail = self._stderr_tail()
        message = (
            f"Backend '{self.name}'{self.where} stopped unexpectedly{how} while running this call."
        )
        if tail:
            message += f" Its last output:\n{tail}"
        return BackendCrashed(message, details={**self._details(), "exit_code": code})

    def _on_closed(self, conn: StreamConnection) -> None:
        if self._closing or conn is not self._conn or self.state != RUNNING:
            return  # a stop we asked for, or a failed start (which reports itself)
        self._conn = None
        self.state = FAILED
        self.error = BackendCrashed(
            f"Backend '{self.name}' stopped unexpectedly; restarting it."
        ).to_json()
        self._tasks.create_task(self._restart(), name=f"restart {self.name}")

    async def _restart(self) -> None:
        # shielded: a close() that cancels this restart still finds the process stopped
        # and waited for (its own stop waits for this one), never signalled and dropped
        await asyncio.shield(self._stop())
        lived = time.monotonic() - self._started_at
        # A backend that ran for a while gets restarted at once; one that keeps dying
        # waits longer each time (up to 30 s) instead of spinning.
        self._backoff = 0.0 if lived > 30 else min(30.0, max(0.25, self._backoff * 2))
        await asyncio.sleep(self._backoff)
        try:
            await self._connection()
        except RPCError as exc:
            log.warning("Restarting backend %s failed: %s", self.name, exc.message)

    def _note(self, data: bytes) -> None:
        """Bytes of the backend's stderr as read (the tail is kept for error messages,
        complete lines are logged at debug); ``b""`` says the stream ended."""
        lines = self._stderr.feed(data) if data else self._stderr.end()
        for text in lines:
            log.debug("[%s] %s", self.name, text)

    def _stderr_tail(self) -> str:
        return self._stderr.tail()
