"""A backend process on a cluster's login node, reached over a pooled SSH connection.

The backend speaks the same JSON lines as a local one (``python -m jupyter_rpc.backend
serve MODULE``), on the stdio of an SSH channel: no port is opened on the login node.
It starts on first use, is restarted when it dies, and a crash fails the calls in flight
with ``backend.crashed`` and the last lines of its stderr.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shlex
import time
from collections import deque
from typing import Any, cast

import asyncssh

from .. import protocol
from ..errors import BackendCrashed, RemoteUnavailable, RPCError
from ..ssh.pool import PooledProcess, SSHPool
from ..ssh.runner import shell_join
from ..ssh.target import SSHTarget
from ..tasks import TaskOwner
from .base import FAILED, RUNNING, STARTING, STOPPED, ProgressSink, Transport, result_of
from .stream import StreamConnection

log = logging.getLogger(__name__)


class _ChannelWriter:
    """What :class:`StreamConnection` needs of a writer (``write``, ``close``), on an SSH stdin."""

    def __init__(self, stdin: asyncssh.SSHWriter[bytes]) -> None:
        self._stdin = stdin

    def write(self, data: bytes) -> None:
        self._stdin.write(data)

    def close(self) -> None:
        try:
            self._stdin.write_eof()
        except (OSError, asyncssh.Error, BrokenPipeError):
            pass


async def _pump(source: asyncssh.SSHReader[bytes], sink: asyncio.StreamReader) -> None:
    """Copy an SSH stream into an asyncio StreamReader (whose ``limit`` bounds one line)."""
    try:
        while True:
            chunk = await source.read(65536)
            if not chunk:
                break
            sink.feed_data(chunk)
    except (OSError, asyncssh.Error) as exc:
        sink.set_exception(ConnectionResetError(f"the SSH channel closed: {exc}"))
        return
    sink.feed_eof()


def remote_command(argv: list[str], cwd: str | None, env: dict[str, str] | None) -> str:
    """The login-shell command line: ``cd CWD && exec env K=V ARGV`` (quoted by shell_join)."""
    command = "exec " + shell_join(argv, env)
    if cwd:
        if cwd == "~" or cwd.startswith("~/"):
            where = '"$HOME"' + (shlex.quote(cwd[1:]) if len(cwd) > 1 else "")
        else:
            where = shlex.quote(cwd)
        command = f"cd {where} && {command}"
    return command


class SSHTransport(Transport):
    """Runs ``command`` on ``target`` through ``pool`` and talks to it over the channel."""

    kind = "ssh"

    def __init__(
        self,
        name: str,
        pool: SSHPool,
        target: SSHTarget,
        command: list[str],
        *,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        start_timeout: float = 60.0,
        max_message_size: int = 256 * 1024 * 1024,
    ) -> None:
        super().__init__(name)
        self.pool = pool
        self.target = target
        self.command = command
        self.cwd = cwd
        self.env = {"PYTHONUNBUFFERED": "1", **(env or {})}
        self.start_timeout = start_timeout
        self.max_message_size = max_message_size
        self._proc: PooledProcess | None = None
        self._conn: StreamConnection | None = None
        self._api_info: dict[str, Any] | None = None
        self._lock = asyncio.Lock()
        self._stderr: deque[str] = deque(maxlen=40)
        self._tasks = TaskOwner(f"ssh backend {name}")
        self._closing = False
        self._started_at = 0.0
        self._backoff = 0.0
        self._start_error: RPCError | None = None
        self._failed_at = 0.0

    async def api_info(self) -> dict[str, Any]:
        await self._connection()
        assert self._api_info is not None
        return self._api_info

    async def call(self, request: dict[str, Any], *, on_progress: ProgressSink | None = None) -> Any:
        conn = await self._connection()
        reply = await conn.request(protocol.REQUEST, protocol.encode_payload(request), on_progress=on_progress)
        return result_of(reply)

    async def close(self) -> None:
        self._closing = True
        await self._tasks.cancel_all(timeout=1.0)
        await self._stop_process()
        self.state = STOPPED

    # -- lifecycle (as LocalTransport) ------------------------------------------------

    def _ready(self) -> StreamConnection | None:
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
                err = self._start_error
                raise RPCError(err.message, code=err.code, status=err.status, details=err.details)
            return await self._start()

    async def _start(self) -> StreamConnection:
        self.state = STARTING
        self._stderr.clear()
        try:
            proc = await self.pool.create_process(self.target, remote_command(self.command, self.cwd, self.env))
        except RPCError as exc:
            # SSH trouble (unreachable, host key, login prompt) keeps its own code.
            self.state, self.error = FAILED, exc.to_json()
            self._start_error, self._failed_at = exc, time.monotonic()
            raise
        self._proc = proc
        reader = asyncio.StreamReader(limit=self.max_message_size)
        self._tasks.create_task(_pump(proc.stdout, reader), name=f"stdout {self.name}")
        self._tasks.create_task(self._drain_stderr(proc.stderr), name=f"stderr {self.name}")
        conn = StreamConnection(
            reader,
            cast(asyncio.StreamWriter, _ChannelWriter(proc.stdin)),
            name=self.name,
            closed_error=lambda: self._crash_error(proc),
            on_eof=lambda: _wait_exit(proc, 1.0),
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
            raise self._fail(f"did not answer within {self.start_timeout:g} s of starting.") from None
        except (RPCError, KeyError, ValueError) as exc:
            await self._stop_process()
            reason = exc.message if isinstance(exc, RPCError) else f"it sent no valid API description ({exc})"
            raise self._fail(f"could not start: {reason}") from None
        except BaseException:
            # Cancelled (the request that started it went away): stop the half-started
            # process, or it would hold a channel slot for ever.
            self.state = STOPPED
            await asyncio.shield(self._stop_process())
            raise
        if self._api_info is not None:
            self.restarts += 1
        self._api_info = api_info
        self.state, self.error = RUNNING, None
        self._started_at = time.monotonic()
        log.info("Backend %s started on %s", self.name, self.target.name)
        return conn

    def _fail(self, what: str) -> RemoteUnavailable:
        tail = self._stderr_tail()
        message = f"Backend '{self.name}' on {self.target.name} {what}"
        details: dict[str, Any] = {"backend": self.name, "cluster": self.target.label}
        if tail:
            message += f" Its last output:\n{tail}"
            details["stderr"] = tail
        exc = RemoteUnavailable(message, details=details)
        self.state, self.error = FAILED, exc.to_json()
        self._start_error, self._failed_at = exc, time.monotonic()
        return exc

    def _crash_error(self, proc: PooledProcess) -> RPCError:
        if self._closing:
            return RemoteUnavailable(f"Backend '{self.name}' was stopped.")
        code = proc.returncode
        how = f" (exit code {code})" if code is not None else " (the SSH channel closed)"
        tail = self._stderr_tail()
        message = f"Backend '{self.name}' on {self.target.name} stopped unexpectedly{how} while running this call."
        if tail:
            message += f" Its last output:\n{tail}"
        return BackendCrashed(message, details={"backend": self.name, "exit_code": code, "stderr": tail})

    def _on_closed(self, conn: StreamConnection) -> None:
        if self._closing or conn is not self._conn or self.state != RUNNING:
            return
        self._conn = None
        self.state = FAILED
        self.error = BackendCrashed(f"Backend '{self.name}' stopped unexpectedly; restarting it.").to_json()
        self._tasks.create_task(self._restart(), name=f"restart {self.name}")

    async def _restart(self) -> None:
        await self._stop_process()
        lived = time.monotonic() - self._started_at
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
            await conn.aclose()  # EOF on the backend's stdin: it exits
        if proc is None:
            return
        if proc.returncode is None:
            try:
                await asyncio.wait_for(proc.wait_closed(), 3.0)
            except asyncio.TimeoutError:
                try:
                    proc.process.send_signal("KILL")
                except (OSError, asyncssh.Error):
                    pass
        proc.close()
        try:
            await asyncio.wait_for(proc.wait_closed(), 3.0)
        except (asyncio.TimeoutError, OSError, asyncssh.Error):
            pass

    async def _drain_stderr(self, stream: asyncssh.SSHReader[bytes]) -> None:
        buffer = b""
        try:
            while True:
                chunk = await stream.read(65536)
                if not chunk:
                    break
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    self._note(line)
                if len(buffer) > 4096:
                    self._note(buffer[:4096])
                    buffer = b""
        except (OSError, asyncssh.Error):
            pass
        if buffer:
            self._note(buffer)

    def _note(self, line: bytes) -> None:
        text = line.decode("utf-8", errors="replace").rstrip()
        self._stderr.append(text)
        log.debug("[%s] %s", self.name, text)

    def _stderr_tail(self, lines: int = 15) -> str:
        return "\n".join(list(self._stderr)[-lines:])


async def _wait_exit(proc: PooledProcess, timeout: float) -> None:
    """Give a process whose output ended a moment to report its exit status."""
    try:
        await asyncio.wait_for(proc.process.wait_closed(), timeout)
    except (asyncio.TimeoutError, OSError, asyncssh.Error):
        pass


__all__ = ["SSHTransport", "remote_command"]
