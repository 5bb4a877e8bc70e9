"""A backend as a local subprocess speaking DASF messages as JSON lines on its stdio."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from collections import deque
from typing import Any

from .. import protocol
from ..errors import BackendCrashed, RemoteFailed, RemoteUnavailable, RPCError
from ..tasks import TaskOwner
from .base import FAILED, RUNNING, STARTING, STOPPED, ProgressSink, Transport, result_of
from .stream import StreamConnection

log = logging.getLogger(__name__)

#: Variables that carry the Jupyter server's own credentials: a backend never needs them.
SECRET_ENV = ("JUPYTER_TOKEN", "JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN", "JUPYTERHUB_OAUTH_SECRET")


class LocalTransport(Transport):
    """Starts the backend on first use, keeps it, and restarts it when it dies.

    Calls in flight when the process dies fail at once with ``backend.crashed``; the
    process is started again in the background (with a growing pause if it keeps
    dying), so the next call finds it running.
    """

    kind = "local"

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        start_timeout: float = 30.0,
        max_message_size: int = 256 * 1024 * 1024,
    ) -> None:
        super().__init__(name)
        self.argv = argv
        self.cwd = cwd
        self.env = env or {}
        self.start_timeout = start_timeout
        self.max_message_size = max_message_size
        self._proc: asyncio.subprocess.Process | None = None
        self._conn: StreamConnection | None = None
        self._api_info: dict[str, Any] | None = None
        self._lock = asyncio.Lock()
        self._stderr: deque[str] = deque(maxlen=40)
        self._tasks = TaskOwner(f"backend {name}")
        self._closing = False
        self._started_at = 0.0
        self._backoff = 0.0
        self._start_error: RemoteUnavailable | None = None
        self._failed_at = 0.0

    # -- public API -------------------------------------------------------------------

    async def api_info(self) -> dict[str, Any]:
        await self._connection()
        assert self._api_info is not None
        return self._api_info

    async def call(self, request: dict[str, Any], *, on_progress: ProgressSink | None = None) -> Any:
        conn = await self._connection()
        reply = await conn.request(protocol.REQUEST, protocol.encode_payload(request), on_progress=on_progress)
        return result_of(reply)

    async def ping(self, timeout: float = 10.0) -> float:
        """Round-trip time of a ping, in seconds (``asyncio.TimeoutError`` past ``timeout``)."""
        conn = await self._connection()
        t0 = time.perf_counter()
        await asyncio.wait_for(conn.request(protocol.PING), timeout)
        return time.perf_counter() - t0

    async def close(self) -> None:
        self._closing = True
        await self._tasks.cancel_all(timeout=1.0)
        await self._stop_process()
        self.state = STOPPED

    @property
    def pid(self) -> int | None:
        """The backend process id while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.returncode is None else None

    # -- process lifecycle ------------------------------------------------------------

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
            if self._start_error is not None and self._failed_at >= asked:
                # a start failed while we waited: the same answer, not a storm of retries
                raise RemoteUnavailable(self._start_error.message, details=self._start_error.details)
            return await self._start()

    async def _start(self) -> StreamConnection:
        self.state = STARTING
        self._stderr.clear()
        env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
        env.update(self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self.cwd,
                env=env,
                limit=self.max_message_size,
                start_new_session=True,  # a Ctrl-C to the server is not the backend's
            )
        except OSError as exc:
            raise self._fail(f"Backend '{self.name}' could not be started: {exc}.") from None
        self._proc = proc
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        self._tasks.create_task(self._drain_stderr(proc.stderr), name=f"stderr {self.name}")
        conn = StreamConnection(
            proc.stdout,
            proc.stdin,
            name=self.name,
            closed_error=lambda: self._crash_error(proc),
            on_eof=lambda: _wait_exit(proc, 0.5),
            on_closed=lambda: self._on_closed(conn),
        )
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
                f"Backend '{self.name}' did not answer within {self.start_timeout:g} s of starting."
            ) from None
        except (RPCError, KeyError, ValueError) as exc:
            await self._stop_process()
            reason = exc.message if isinstance(exc, RPCError) else f"it sent no valid API description ({exc})"
            raise self._fail(f"Backend '{self.name}' could not start: {reason}") from None
        if self._api_info is not None:
            self.restarts += 1
        self._api_info = api_info
        self.state = RUNNING
        self.error = None
        self._started_at = time.monotonic()
        log.info("Backend %s started (pid %s)", self.name, proc.pid)
        return conn

    def _fail(self, message: str) -> RemoteUnavailable:
        tail = self._stderr_tail()
        details = {"backend": self.name}
        if tail:
            message = f"{message} Its last output:\n{tail}"
            details["stderr"] = tail
        exc = RemoteUnavailable(message, details=details)
        self.state = FAILED
        self.error = exc.to_json()
        self._start_error = exc
        self._failed_at = time.monotonic()
        return exc

    def _crash_error(self, proc: asyncio.subprocess.Process) -> RPCError:
        if self._closing:
            return RemoteUnavailable(f"Backend '{self.name}' was stopped.")
        code = proc.returncode
        how = f" (exit code {code})" if code is not None else ""
        tail = self._stderr_tail()
        message = f"Backend '{self.name}' stopped unexpectedly{how} while running this call."
        if tail:
            message += f" Its last output:\n{tail}"
        return BackendCrashed(message, details={"backend": self.name, "exit_code": code})

    def _on_closed(self, conn: StreamConnection) -> None:
        if self._closing or conn is not self._conn or self.state != RUNNING:
            return  # a stop we asked for, or a failed start (which reports itself)
        self._conn = None
        self.state = FAILED
        self.error = BackendCrashed(f"Backend '{self.name}' stopped unexpectedly; restarting it.").to_json()
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

    async def _stop_process(self) -> None:
        proc, conn = self._proc, self._conn
        self._proc = None
        if conn is not None:
            self._conn = None
            await conn.aclose()
        if proc is None:
            return
        if proc.returncode is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 3.0)
            except asyncio.TimeoutError:
                _signal_group(proc.pid, signal.SIGKILL)
                await proc.wait()
        else:
            await proc.wait()

    async def _drain_stderr(self, stream: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await stream.readline()
            except ValueError:  # an endless line: keep its start
                line = (await stream.read(4096)) + b"\n"
            if not line:
                return
            text = line.decode("utf-8", errors="replace").rstrip()
            self._stderr.append(text)
            log.debug("[%s] %s", self.name, text)

    def _stderr_tail(self, lines: int = 15) -> str:
        return "\n".join(list(self._stderr)[-lines:])


async def _wait_exit(proc: asyncio.subprocess.Process, timeout: float) -> None:
    """Give a process whose output ended a moment to exit, so its exit code is known."""
    try:
        await asyncio.wait_for(proc.wait(), timeout)
    except asyncio.TimeoutError:
        pass


def _signal_group(pid: int, sig: int) -> None:
    """Signal the backend and the processes it started (it leads its own session)."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


__all__ = ["LocalTransport", "RemoteFailed"]
