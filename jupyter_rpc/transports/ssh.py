"""A backend process on a cluster's login node, reached over a pooled SSH connection.

The backend speaks the same JSON lines as a local one (``python -m jupyter_rpc.backend
serve MODULE``), on the stdio of an SSH channel: no port is opened on the login node.
It starts on first use, is restarted when it dies, and a crash fails the calls in flight
with ``backend.crashed`` and the last lines of its stderr.
"""

from __future__ import annotations

import asyncio
import shlex
from typing import Any, cast

import asyncssh

from ..ssh.pool import PooledProcess, SSHPool
from ..ssh.runner import shell_join
from ..ssh.target import SSHTarget
from .process import ProcessTransport, backend_command
from .registry import TransportContext, Unavailable
from .stream import READ_LIMIT, StreamConnection


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


class _Valve(asyncio.ReadTransport):
    """What an asyncio StreamReader pauses and resumes (as it does a pipe) when its buffer
    passes twice its limit and falls back under it: here, the copying of an SSH channel."""

    def __init__(self) -> None:
        super().__init__()
        self.open = asyncio.Event()
        self.open.set()

    def pause_reading(self) -> None:
        self.open.clear()

    def resume_reading(self) -> None:
        self.open.set()

    def is_reading(self) -> bool:
        return self.open.is_set()


async def _pump(source: asyncssh.SSHReader[bytes], sink: asyncio.StreamReader) -> None:
    """Copy an SSH stream into an asyncio StreamReader (whose ``limit`` bounds its buffer).

    With back-pressure: while the reader's buffer is full, the channel is not read, so
    asyncssh stops opening its window and the remote backend waits to write.
    """
    valve = _Valve()
    sink.set_transport(valve)
    try:
        while True:
            await valve.open.wait()
            chunk = await source.read(65536)
            if not chunk:
                break
            sink.feed_data(chunk)
    except (OSError, asyncssh.Error) as exc:
        sink.set_exception(ConnectionResetError(f"the SSH channel closed: {exc}"))
        return
    sink.feed_eof()


def remote_command(argv: list[str], cwd: str | None, env: dict[str, str] | None) -> str:
    """The login-shell command line ``exec env [--chdir=CWD] K=V ARGV`` (quoted by shell_join).

    Argv only, no ``cd X &&``: a restricted key's forced command (``jupyter-rpc-gate``) can
    check it word by word. sshd starts the shell in the home folder, so ``~/x`` is ``x``.
    """
    command = shell_join(argv, env)  # "env K=V ... ARGV" when env has variables
    if cwd and cwd != "~":
        where = cwd[2:] if cwd.startswith("~/") else cwd
        chdir = shlex.quote(f"--chdir={where or '.'}")
        rest = command[len("env ") :] if env else command
        command = f"env {chdir} {rest}"
    return "exec " + command


class SSHTransport(ProcessTransport[PooledProcess]):
    """Runs ``command`` on ``target`` through ``pool`` and talks to it over the channel."""

    kind = "ssh"
    no_exit_code = " (the SSH channel closed)"

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
        super().__init__(name, start_timeout=start_timeout, max_message_size=max_message_size)
        self.pool = pool
        self.target = target
        self.command = command
        self.cwd = cwd
        self.env = {"PYTHONUNBUFFERED": "1", **(env or {})}
        self.where = f" on {target.name}"

    def _details(self) -> dict[str, Any]:
        return {"backend": self.name, "cluster": self.target.label}

    async def _spawn(self) -> StreamConnection:
        proc = await self.pool.create_process(
            self.target, remote_command(self.command, self.cwd, self.env)
        )
        self._proc = proc
        reader = asyncio.StreamReader(limit=READ_LIMIT)  # max_message_size bounds a line
        self._tasks.create_task(_pump(proc.stdout, reader), name=f"stdout {self.name}")
        self._tasks.create_task(self._drain_stderr(proc.stderr), name=f"stderr {self.name}")
        return self._stream(
            reader, cast(asyncio.StreamWriter, _ChannelWriter(proc.stdin)), proc, 1.0
        )

    async def _wait_exit(self, proc: PooledProcess, timeout: float) -> None:
        try:
            await asyncio.wait_for(proc.process.wait_closed(), timeout)
        except (asyncio.TimeoutError, OSError, asyncssh.Error):
            pass

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
        try:
            while chunk := await stream.read(65536):
                self._note(chunk)
        except (OSError, asyncssh.Error):
            pass
        self._note(b"")


def from_context(ctx: TransportContext) -> SSHTransport:
    """The transport of a backend entry with ``transport: ssh``: ``module`` served by
    ``python`` (default ``python3``) on the login node of ``cluster``, or ``command``."""
    config = ctx.config
    cluster = str(config["cluster"])
    if ctx.login_node is None:
        raise Unavailable(f"there is no cluster named '{cluster}' in RPCApp.clusters")
    node = ctx.login_node(cluster)
    return SSHTransport(
        ctx.backend,
        node.pool,
        node.target,
        # the server's interpreter means nothing on the cluster
        backend_command(config, python="python3"),
        cwd=config.get("cwd"),
        env=dict(config.get("env") or {}),
        start_timeout=ctx.timeout_to_start,
        max_message_size=ctx.max_message_size,
    )


__all__ = ["SSHTransport", "from_context", "remote_command"]
