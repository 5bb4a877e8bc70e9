"""Terminals on clusters: a login shell on a PTY, on the pooled SSH connection of an SSH
cluster or on this machine for a local one, kept by the server so a reload reattaches.

A :class:`Terminal` reads its PTY for as long as it lives, whether or not a browser is
attached: what it printed goes to every attached client and into a bounded scrollback
(``RPCApp.terminal_scrollback`` bytes) that a client attaching later gets first. It ends
when its shell exits, on ``DELETE``, when the server stops (:meth:`TerminalService.close`),
when the SSH connection drops, or after ``RPCApp.terminal_idle_timeout`` seconds with no
browser attached and without input or output; ending it hangs up the PTY (the shell and its process group get SIGHUP,
and a local shell's process group SIGKILL after a grace period).

The wire messages are JupyterLab's (``["stdin", text]``, ``["set_size", rows, cols]``
in; ``["stdout", text]``, ``["disconnect", 1]`` out); the websocket handler only moves
them.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import fcntl
import logging
import os
import secrets
import shlex
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import Conflict, InvalidRequest, NotFound, RPCError
from ..private import child_environment
from ..schedulers.local import session_processes
from ..ssh.channels import LOGIN_SHELL, TERM_TYPE, open_pty
from .clusters import Cluster, ClusterRegistry

log = logging.getLogger(__name__)

#: Slots of a cluster's SSH connection (``max_channels``) a terminal never takes: jobs,
#: files and calls keep working however many terminals are open.
RESERVED_CHANNELS = 2

#: Seconds a local shell's process group has after SIGHUP before it is killed.
KILL_GRACE = 2.0

#: Largest window a client may ask for (xterm.js goes far below this).
MAX_SIZE = 1000


def job_shell(job: str) -> str:
    """The line a shell inside running Slurm job ``job`` is started with: the login
    shell's line with ``srun --jobid=ID --overlap --pty`` before the shell (the restricted
    keys' gate reads this form: jupyter_rpc/backend/gate.py)."""
    return LOGIN_SHELL.replace(
        'exec "${SHELL:-/bin/sh}" -l',
        f'exec srun --jobid={shlex.quote(job)} --overlap --pty "${{SHELL:-/bin/sh}}" -l',
    )


class PTY(Protocol):
    """What a terminal needs of its PTY (an SSH channel or a local one)."""

    async def read(self, size: int = 65536) -> bytes: ...

    def write(self, data: bytes) -> None: ...

    def resize(self, cols: int, rows: int) -> None: ...

    def close(self) -> None: ...

    async def wait_closed(self, timeout: float = 5.0) -> None: ...


#: A client's sink: one message (a list) at a time; what it returns, if anything, is
#: awaited before the PTY is read again (a websocket's write: the shell's output goes
#: no faster than the slowest attached browser takes it, as on a real terminal).
Sink = Callable[[list[Any]], "Awaitable[None] | None"]

#: Output chunks of a local PTY read ahead of what the clients took.
LOCAL_READ_AHEAD = 8


@dataclass
class TerminalSettings:
    """The site's terminal settings (``RPCApp.terminal_*``)."""

    #: Bytes of output kept per terminal and replayed to a client that attaches.
    scrollback: int = 1024 * 1024
    #: Seconds without input or output after which a terminal ends (``None``: never).
    idle_timeout: float | None = None
    #: Open terminals of the server's user (all clusters together).
    max_per_user: int = 20
    #: Whether terminals may be opened on the clusters users add themselves.
    allow_user_clusters: bool = True
    #: Seconds between the server's pings of a terminal's websocket.
    ping_interval: float = 30.0


class Terminal:
    """One shell on a PTY, its scrollback and the clients attached to it."""

    def __init__(
        self, name: str, cluster: Cluster, owner: str, cwd: str, pty: PTY, scrollback: int
    ) -> None:
        self.name = name
        self.cluster = cluster
        self.owner = owner
        self.cwd = cwd
        #: The Slurm job whose node the shell runs on ("" for a login shell).
        self.job = ""
        self.created = time.time()
        self.last_activity = time.monotonic()
        self._pty = pty
        self._limit = scrollback
        #: Bytes the shell printed so far.
        self.output_bytes = 0
        self._buffer = bytearray()
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._sinks: list[Sink] = []
        self._ended = asyncio.get_running_loop().create_future()
        self._pump = asyncio.get_running_loop().create_task(
            self._read_all(), name=f"terminal {cluster.name}/{name}"
        )

    # -- output --------------------------------------------------------------------

    async def _read_all(self) -> None:
        try:
            while True:
                data = await self._pty.read(65536)
                if not data:
                    break
                self.last_activity = time.monotonic()
                self.output_bytes += len(data)
                self._keep(data)
                text = self._decoder.decode(data)
                if text:
                    writes = [sink(["stdout", text]) for sink in list(self._sinks)]
                    waits = [w for w in writes if w is not None]
                    if waits:
                        await asyncio.gather(*waits, return_exceptions=True)
        except Exception:  # noqa: BLE001 - a terminal's end is logged, never raised
            log.exception("terminal %s/%s: reading failed", self.cluster.name, self.name)
        finally:
            if not self._ended.done():
                self._ended.set_result(None)
            for sink in list(self._sinks):
                sink(["disconnect", 1])
            self._sinks.clear()

    def _keep(self, data: bytes) -> None:
        self._buffer += data
        extra = len(self._buffer) - self._limit
        if extra > 0:
            del self._buffer[:extra]

    def scrollback(self) -> str:
        """The kept output as text: from the first whole UTF-8 character, up to what the
        clients were sent (a character still incomplete is not)."""
        start = 0
        while start < len(self._buffer) and start < 4 and 0x80 <= self._buffer[start] < 0xC0:
            start += 1
        pending = len(self._decoder.getstate()[0])
        end = len(self._buffer) - pending
        return bytes(self._buffer[start:end]).decode("utf-8", "replace")

    # -- clients -------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self._ended.done()

    def attach(self, sink: Sink) -> None:
        """Send ``sink`` ``["setup", {}]`` (JupyterLab's terminal connection counts
        itself connected at that message), the scrollback, then everything the shell
        prints until it detaches; ``["disconnect", 1]`` if the shell has ended."""
        sink(["setup", {}])
        text = self.scrollback()
        if text:
            sink(["stdout", text])
        if self.ended:
            sink(["disconnect", 1])
            return
        self._sinks.append(sink)

    def detach(self, sink: Sink) -> None:
        with contextlib.suppress(ValueError):
            self._sinks.remove(sink)
            if not self._sinks:  # the idle time counts from the last browser's leaving
                self.last_activity = time.monotonic()

    @property
    def clients(self) -> int:
        return len(self._sinks)

    def receive(self, message: Any) -> None:
        """One message of a client: ``["stdin", text]`` or ``["set_size", rows, cols,
        ...]``; anything else is ignored, as is input to a shell that ended."""
        if not isinstance(message, list) or not message or self.ended:
            return
        kind = message[0]
        if kind == "stdin" and len(message) >= 2 and isinstance(message[1], str):
            self.last_activity = time.monotonic()
            self._pty.write(message[1].encode("utf-8", "replace"))
        elif kind == "set_size" and len(message) >= 3:
            rows, cols = message[1], message[2]
            if _size_ok(rows) and _size_ok(cols):
                self._pty.resize(int(cols), int(rows))

    # -- end -------------------------------------------------------------------------

    async def close(self) -> None:
        """Hang up and wait (bounded) until the PTY is gone."""
        self._pty.close()
        await self._pty.wait_closed()
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._pump), 5.0)
        if not self._pump.done():
            self._pump.cancel()

    async def wait_ended(self) -> None:
        await asyncio.shield(self._ended)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "cluster": self.cluster.name,
            "cwd": self.cwd,
            "job": self.job,
            "user": self.cluster.user_name(),
            "created": self.created,
            "clients": self.clients,
            "idle": round(max(0.0, time.monotonic() - self.last_activity), 1),
        }


def _size_ok(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_SIZE


class TerminalService:
    """The open terminals of every cluster.

    A Jupyter server is one user's (JupyterHub starts one per user and lets only those
    its scopes allow reach it), so every terminal of this server is that user's; who
    opened one (``owner``, the authenticated name) is kept for the log and the count."""

    def __init__(self, clusters: ClusterRegistry, settings: TerminalSettings | None = None):
        self.clusters = clusters
        self.settings = settings or TerminalSettings()
        self._terminals: dict[tuple[str, str], Terminal] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._closing = False

    # -- policy ------------------------------------------------------------------------

    def _allowed(self, cluster: Cluster) -> None:
        allowed = cluster.config.get("allow_terminals")
        if cluster.source == "user" and not self.settings.allow_user_clusters:
            allowed = False
        if allowed is False:
            why = (
                "the server's administrator turned off terminals on clusters you add"
                if cluster.source == "user" and not self.settings.allow_user_clusters
                else "its configuration says allow_terminals: false"
            )
            raise RPCError(
                f"Terminals are turned off for cluster '{cluster.name}': {why}.",
                code="terminal.refused",
                status=403,
                details={"cluster": cluster.name},
            )

    def _count(self, owner: str, cluster: Cluster) -> None:
        mine = list(self._terminals.values())  # one server is one user's
        limit = self.settings.max_per_user
        if len(mine) >= limit:
            raise Conflict(
                f"You have {len(mine)} terminals open, the most this server allows "
                f"(RPCApp.max_terminals = {limit}); close one first.",
                code="terminal.too_many",
                details={"limit": limit, "open": len(mine)},
            )
        if cluster.target is not None:
            here = sum(1 for t in self._terminals.values() if t.cluster is cluster)
            room = cluster.target.max_channels - RESERVED_CHANNELS
            if here >= room:
                raise Conflict(
                    f"Cluster '{cluster.name}' has {here} terminals open, all its SSH "
                    f"connection can carry beside jobs and files (max_channels = "
                    f"{cluster.target.max_channels}, {RESERVED_CHANNELS} kept for them); "
                    "close one, or ask for a higher max_channels.",
                    code="terminal.too_many",
                    details={"cluster": cluster.name, "limit": max(room, 0), "open": here},
                )

    # -- operations ----------------------------------------------------------------------

    async def open(
        self,
        cluster_name: str,
        owner: str,
        *,
        cwd: str | None = None,
        cols: int = 80,
        rows: int = 24,
        job: str | None = None,
    ) -> Terminal:
        """A new terminal on ``cluster_name`` for ``owner``, in the drive folder ``cwd``
        (a path of the cluster's files, ``home/data``; default: where a login starts).
        With ``job`` (a running Slurm job's id) the shell runs on the job's node, inside
        the job (``srun --jobid=ID --overlap --pty``: its CPUs and memory)."""
        if self._closing:
            raise RPCError("The server is stopping.", code="terminal.refused", status=403)
        cluster = self.clusters.get(cluster_name)
        self._allowed(cluster)
        self._count(owner, cluster)
        shell = await self._job_shell(cluster, job) if job else LOGIN_SHELL
        real = await self._folder(cluster, cwd) if cwd else ""
        pty: PTY
        if cluster.target is not None:
            assert cluster.pool is not None
            command = shell if not real else f"cd -- {shlex.quote(real)} && {shell}"
            pty = await open_pty(cluster.pool, cluster.target, command, cols=cols, rows=rows)
        else:
            start = real or cluster.default_workdir() or _home()
            pty = await LocalPTY.start(start, cols=cols, rows=rows)
        try:  # others may have opened some while this one started
            self._count(owner, cluster)
        except RPCError:
            pty.close()
            await pty.wait_closed()
            raise
        name = secrets.token_hex(6)
        terminal = Terminal(name, cluster, owner, cwd or "", pty, self.settings.scrollback)
        terminal.job = job or ""
        self._terminals[(cluster.name, name)] = terminal
        self._spawn(self._forget_when_ended(terminal), f"terminal end {name}")
        if self.settings.idle_timeout and self._reaper is None:
            self._reaper = self._spawn(self._reap_idle(), "terminal idle reaper")
        log.info("terminal %s opened on %s for %s", name, cluster.name, owner)
        return terminal

    async def _job_shell(self, cluster: Cluster, job: str) -> str:
        """The command of a shell inside running Slurm job ``job`` (``--overlap``: a job
        whose CPUs a step holds would make srun wait silently without it)."""
        scheduler = cluster.need_scheduler()
        if cluster.target is None or scheduler.kind != "slurm":
            raise InvalidRequest(
                f"A shell on a job's node needs a Slurm cluster over SSH; '{cluster.name}' "
                f"has the scheduler '{scheduler.kind}'.",
                code="request.schema",
                details={"cluster": cluster.name},
            )
        info = await scheduler.get_job(job)
        if info.state != "running":
            raise Conflict(
                f"Job {job} is {info.state}: only a running job has a node to open a shell on.",
                code="job.not_running",
                details={"job_id": job, "state": info.state},
            )
        return job_shell(job)

    async def _folder(self, cluster: Cluster, cwd: str) -> str:
        """The real path of the drive folder ``cwd`` (a folder within the roots)."""
        path = cwd.strip("/")
        entry = await cluster.files.stat(path)
        if entry.type != "directory":
            raise InvalidRequest(
                f"'{cwd}' is not a folder: a terminal starts in a folder.",
                code="request.schema",
                details={"cwd": cwd},
            )
        return await cluster.files.real_path(path, must_exist=True)

    def list(self, cluster_name: str) -> list[Terminal]:
        """The open terminals of ``cluster_name``, oldest first."""
        cluster = self.clusters.get(cluster_name)
        return [t for (c, _), t in self._terminals.items() if c == cluster.name and not t.ended]

    def get(self, cluster_name: str, name: str) -> Terminal:
        """The open terminal ``name`` (``terminal.not_found``, 404, if there is none)."""
        cluster = self.clusters.get(cluster_name)
        terminal = self._terminals.get((cluster.name, name))
        if terminal is None or terminal.ended:
            raise NotFound(
                f"There is no open terminal '{name}' on cluster '{cluster.name}' (it ended, "
                "or the server restarted).",
                code="terminal.not_found",
                details={"cluster": cluster.name, "terminal": name},
            )
        return terminal

    async def end(self, cluster_name: str, name: str) -> None:
        """End a terminal: hang up its shell and wait (bounded) for the PTY to go."""
        terminal = self.get(cluster_name, name)
        self._terminals.pop((terminal.cluster.name, name), None)
        await terminal.close()
        log.info("terminal %s on %s ended", name, terminal.cluster.name)

    async def close(self) -> None:
        """End every terminal (the server is stopping)."""
        self._closing = True
        terminals = list(self._terminals.values())
        self._terminals.clear()
        if terminals:
            await asyncio.gather(*(t.close() for t in terminals), return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)

    # -- background ------------------------------------------------------------------------

    async def _forget_when_ended(self, terminal: Terminal) -> None:
        await terminal.wait_ended()
        key = (terminal.cluster.name, terminal.name)
        if self._terminals.get(key) is terminal:
            del self._terminals[key]
            await terminal.close()  # frees the channel slot (or reaps the local shell)
            log.info("terminal %s on %s: its shell ended", terminal.name, terminal.cluster.name)

    async def _reap_idle(self) -> None:
        limit = self.settings.idle_timeout
        assert limit
        while True:
            await asyncio.sleep(max(0.05, min(limit / 4, 30.0)))
            now = time.monotonic()
            for key, terminal in list(self._terminals.items()):
                # a browser shows it: not forgotten, however quiet (the websocket's
                # pings close a socket whose browser went away, which detaches it)
                if terminal.clients:
                    continue
                if now - terminal.last_activity > limit:
                    log.info("terminal %s idle for %g s: ending it", key[1], limit)
                    self._terminals.pop(key, None)
                    self._spawn(terminal.close(), f"terminal idle close {key[1]}")

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


class LocalPTY:
    """A login shell of this machine on a PTY of its own (a session leader with the PTY as
    its controlling terminal), with the environment policy of :mod:`jupyter_rpc.private`:
    none of the server's secrets."""

    def __init__(self, process: asyncio.subprocess.Process, master: int, slave: int) -> None:
        self._process = process
        self._master = master
        # Held while the shell lives: the PTY then never reads as hung up before the
        # shell has opened it; the end is the shell's exit (_watch).
        self._slave = slave
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._out = bytearray()
        self._closed = False
        self._reading = True
        loop = asyncio.get_running_loop()
        os.set_blocking(master, False)
        loop.add_reader(master, self._readable)
        self._watcher = loop.create_task(self._watch(), name="local terminal exit")

    @classmethod
    async def start(cls, cwd: str, *, cols: int = 80, rows: int = 24) -> LocalPTY:
        shell = os.environ.get("SHELL") or "/bin/sh"
        env = child_environment()
        env["TERM"] = TERM_TYPE
        env.setdefault("LANG", "C.UTF-8")
        env["PWD"] = cwd
        for name in ("JPY_SESSION_NAME", "JPY_PARENT_PID"):
            env.pop(name, None)
        master, slave = os.openpty()
        _set_size(master, cols, rows)
        try:
            # The shell is a session leader (start_new_session) that opens the PTY by its
            # name, which makes it its controlling terminal (Linux, POSIX): Ctrl-C and the
            # hang-up reach its foreground jobs. No preexec_fn (a fork of a threaded
            # process), and exec keeps the PID.
            process = await asyncio.create_subprocess_exec(
                "/bin/sh",
                "-c",
                'exec "$0" -l <>"$1" >&0 2>&0',
                shell,
                os.ttyname(slave),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=cwd,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            os.close(master)
            os.close(slave)
            raise RPCError(
                f"The shell {shell} could not start in {cwd}: {exc.strerror or exc}.",
                code="terminal.refused",
                status=403,
            ) from None
        return cls(process, master, slave)

    async def _watch(self) -> None:
        """When the shell exits: what it printed last, then the end."""
        await self._process.wait()
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._master)
        self._reading = False
        with contextlib.suppress(OSError):  # BlockingIOError: all read
            while data := os.read(self._master, 65536):
                self._queue.put_nowait(data)
        self._queue.put_nowait(b"")

    def _readable(self) -> None:
        try:
            data = os.read(self._master, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: every holder of the other end closed it
            data = b""
        if not data or self._queue.qsize() + 1 >= LOCAL_READ_AHEAD:
            # the end, or the clients are behind: the shell waits (its writes block)
            asyncio.get_running_loop().remove_reader(self._master)
            self._reading = False
        self._queue.put_nowait(data)

    async def read(self, size: int = 65536) -> bytes:
        if self._closed and self._queue.empty():
            return b""
        data = await self._queue.get()
        if data and not self._reading and not self._closed and self._process.returncode is None:
            self._reading = True
            asyncio.get_running_loop().add_reader(self._master, self._readable)
        return data

    def write(self, data: bytes) -> None:
        if self._closed:
            return
        self._out += data
        self._flush()

    def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._out:
                sent = os.write(self._master, self._out)
                del self._out[:sent]
        except BlockingIOError:
            loop.add_writer(self._master, self._flush)
            return
        except OSError:
            self._out.clear()
        loop.remove_writer(self._master)

    def resize(self, cols: int, rows: int) -> None:
        if not self._closed:
            with contextlib.suppress(OSError):
                _set_size(self._master, cols, rows)

    def close(self) -> None:
        """Hang up: SIGHUP to the shell's session (its process group, and its jobs in groups
        of their own, which a shell such as dash does not pass the hang-up on to), then the
        PTY closed."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGHUP)
        self._signal_session(signal.SIGHUP)
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._master)
        loop.remove_writer(self._master)
        os.close(self._master)
        os.close(self._slave)
        self._queue.put_nowait(b"")

    def _signal_session(self, signum: int) -> None:
        # the shell leads its session (start_new_session); the session keeps its number
        _signal_in(session_processes(self._process.pid), signum)

    async def wait_closed(self, timeout: float = 5.0) -> None:
        """Wait for the shell; its group is killed if it outlives ``KILL_GRACE``."""
        try:
            await asyncio.wait_for(self._process.wait(), min(timeout, KILL_GRACE))
        except asyncio.TimeoutError:
            pass
        # What the shell left in its session (a job that ignored the hang-up) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)
        self._signal_session(signal.SIGKILL)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._process.wait(), timeout)


def _signal_in(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def _home() -> str:
    return os.path.expanduser("~")


def _set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
