"""A backend as a local subprocess speaking DASF messages as JSON lines on its stdio."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from ..private import child_environment
from .process import ProcessTransport, backend_command
from .registry import TransportContext
from .stream import READ_LIMIT, StreamConnection


class LocalTransport(ProcessTransport[asyncio.subprocess.Process]):
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
        super().__init__(name, start_timeout=start_timeout, max_message_size=max_message_size)
        self.argv = argv
        self.cwd = cwd
        self.env = env or {}

    @property
    def pid(self) -> int | None:
        """The backend process id while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.returncode is None else None

    def _started(self) -> str:
        return f" (pid {self._proc.pid})" if self._proc is not None else ""

    async def _spawn(self) -> StreamConnection:
        # The server's environment minus its secrets (RPCApp.child_env_drop/keep), as a
        # local job's; the entry's own env is the site's choice and passes.
        env = child_environment()
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
                limit=READ_LIMIT,  # a line is gathered in pieces; max_message_size bounds it
                start_new_session=True,  # a Ctrl-C to the server is not the backend's
            )
        except OSError as exc:
            raise self._fail(f"could not be started: {exc}.") from None
        self._proc = proc
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        self._tasks.create_task(self._drain_stderr(proc.stderr), name=f"stderr {self.name}")
        return self._stream(proc.stdout, proc.stdin, proc, 0.5)

    async def _wait_exit(self, proc: asyncio.subprocess.Process, timeout: float) -> None:
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except asyncio.TimeoutError:
            pass

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
        # Chunks, not lines: a line is only as long as the backend wants it to be.
        while chunk := await stream.read(65536):
            self._note(chunk)
        self._note(b"")


def from_context(ctx: TransportContext) -> LocalTransport:
    """The transport of a backend entry with ``transport: local`` (or none): ``module``
    served by ``python`` (default: the server's own), or ``command``."""
    config = ctx.config
    return LocalTransport(
        ctx.backend,
        backend_command(config, python=sys.executable),
        cwd=config.get("cwd"),
        env=dict(config.get("env") or {}),
        start_timeout=ctx.timeout_to_start,
        max_message_size=ctx.max_message_size,
    )


def _signal_group(pid: int, sig: int) -> None:
    """Signal the backend and the processes it started (it leads its own session)."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


__all__ = ["LocalTransport", "from_context"]
