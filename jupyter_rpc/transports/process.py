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
from ..errors import BackendCrashed, RemoteUnavailable, RPCError
from ..tasks import TaskOwner
from .base import FAILED, RUNNING, STARTING, STOPPED, ProgressSink, Transport, result_of
from .stream import StreamConnection

log = logging.getLogger(__name__)


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
    """Starts the backend on first use, keeps it, and restarts it when it dies."""

    #: Shown after the backend's name in messages (" on levante").
    where = ""

    def __init__(self, name: str, *, start_timeout: float, max_message_size: int) -> None:
        super().__init__(name)
        self.start_timeout = start_timeout
        self.max_message_size = max_message_size
        self._proc: P | None = None
        self._conn: StreamConnection | None = None
        self._api_info: dict[str, Any] | None = None
        self._lock = asyncio.Lock()
        self._stderr: deque[str] = deque(maxlen=40)
        self._tasks = TaskOwner(f"{self.kind} backend {name}")
        self._closing = False
        self._started_at = 0.0
        self._backoff = 0.0
        self._start_error: RPCError | None = None
        self._failed_at = 0.0

    # -- what subclasses provide ------------------------------------------------------

    @abc.abstractmethod
    async def _spawn(self) -> StreamConnection:
        """Start the process (setting ``self._proc``) and return an unstarted
        connection on its stdio, made with :meth:`_stream`. Raise ``RPCError``
        (usually through :meth:`_fail`) when it cannot start."""

    @abc.abstractmethod
    async def _stop_process(self) -> None:
        """Close the connection and stop the process (bounded waits)."""

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
        await self._stop_process()
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
            reply = await asyncio.wait_for(conn.request(protocol.API_INFO), self.start_timeout)
            api_info = json.loads(reply["properties"]["api_info"])
            if not isinstance(api_info, dict):
                raise ValueError("api_info is not an object")
        except asyncio.TimeoutError:
            await self._stop_process()
            raise self._fail(
                f"did not answer within {self.start_timeout:g} s of starting."
            ) from None
        except (RPCError, KeyError, ValueError) as exc:
            await self._stop_process()
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
            await asyncio.shield(self._stop_process())
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
        )
        return conn

    async def _wait_exit(self, proc: P, timeout: float) -> None:
        """Give a process whose output ended a moment to exit, so its exit code is known."""

    def _failed(self, exc: RPCError) -> None:
        self.state, self.error = FAILED, exc.to_json()
        self._start_error, self._failed_at = exc, time.monotonic()

    def _fail(self, what: str) -> RemoteUnavailable:
        """A failed start, with the last lines the process printed."""
        tail = self._stderr_tail()
        message = f"Backend '{self.name}'{self.where} {what}"
        details = self._details()
        if tail:
            message += f" Its last output:\n{tail}"
            details["stderr"] = tail
        exc = RemoteUnavailable(message, details=details)
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
        return BackendCrashed(
            message, details={**self._details(), "exit_code": code, "stderr": tail}
        )

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
        await self._stop_process()
        lived = time.monotonic() - self._started_at
        # A backend that ran for a while gets restarted at once; one that keeps dying
        # waits longer each time (up to 30 s) instead of spinning.
        self._backoff = 0.0 if lived > 30 else min(30.0, max(0.25, self._backoff * 2))
        await asyncio.sleep(self._backoff)
        try:
            await self._connection()
        except RPCError as exc:
            log.warning("Restarting backend %s failed: %s", self.name, exc.message)

    def _note(self, line: bytes) -> None:
        """One line of the backend's stderr (kept for error messages, logged at debug)."""
        text = line.decode("utf-8", errors="replace").rstrip()
        self._stderr.append(text)
        log.debug("[%s] %s", self.name, text)

    def _stderr_tail(self, lines: int = 15) -> str:
        return "\n".join(list(self._stderr)[-lines:])
