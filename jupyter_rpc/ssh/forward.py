"""Forwards over the pooled SSH connection to something on a cluster's node: an app's
``node:port`` (SSH ``direct-tcpip``) or a UNIX socket on the node (OpenSSH's
``direct-streamlocal``): an interactive app's one forward (:func:`open_forward`) and a
kernel's five (:class:`SocketForwards`).

Nothing listens on a TCP port of this machine (any local user could reach one; a
JupyterHub host is shared): a forward listens on a UNIX socket in its own 0700 folder,
so only the server's user can connect, and each connection to it is one forwarded
channel on the cluster's one connection. tornado's HTTP and websocket clients reach it
through :class:`UnixResolver`, whatever host their URL names.

Forwarded channels do not count against sshd's ``MaxSessions`` (notes/ssh-channels.md),
so a forward holds a :class:`~jupyter_rpc.ssh.channels.ChannelLease` only while it is set
up (the lease opens the connection, with its errors), not for its life. A forward ends
with its connection (:attr:`Forward.alive` turns false; make a new one) or on
:meth:`Forward.close` (a coroutine: see :func:`close_listeners`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import stat
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import asyncssh
from tornado.netutil import Resolver

from ..errors import RemoteFailed, RemoteTimeout
from .channels import ChannelLease
from .pool import SSHPool
from .target import SSHTarget

log = logging.getLogger(__name__)

#: Bytes a UNIX socket's path may hold (``sun_path`` is 108 with the terminating NUL).
SUN_PATH_MAX = 107


def socket_folder(prefix: str, longest_name: str) -> str:
    """A new 0700 folder whose socket ``longest_name`` fits in ``sun_path``.

    The temporary folder comes first (``TMPDIR``, as the server's user set it); when its
    path is too long for a socket (a deep TMPDIR, as CI's or a site's per-job one), the
    user's ``XDG_RUNTIME_DIR``, else ``/tmp``. The folder's random name and its mode keep
    other users out."""
    # mkdtemp's random part is 8 characters
    room = len(os.sep) + len(prefix) + 8 + len(os.sep) + len(longest_name.encode())
    for parent in (tempfile.gettempdir(), os.environ.get("XDG_RUNTIME_DIR") or ""):
        if parent and len(os.fsencode(parent)) + room <= SUN_PATH_MAX and os.path.isdir(parent):
            return tempfile.mkdtemp(prefix=prefix, dir=parent)
    return tempfile.mkdtemp(prefix=prefix, dir="/tmp")


class Forward:
    """A local UNIX socket whose every connection is forwarded to the node."""

    def __init__(
        self, listener: asyncssh.SSHListener, conn: asyncssh.SSHClientConnection, folder: str
    ) -> None:
        self._listener = listener
        self._conn = conn
        self._folder = folder
        self.path = os.path.join(folder, "s")
        self._closed = False

    @property
    def alive(self) -> bool:
        """Whether connections to :attr:`path` still reach the node (the SSH connection
        is up and the forward was not closed)."""
        return not self._closed and not self._conn.is_closed()

    def resolver(self) -> UnixResolver:
        resolver: UnixResolver = UnixResolver(self.path)
        return resolver

    async def close(self) -> None:
        """Stop listening and remove the socket's folder. A connection being accepted
        as it closes gets its channel, which then ends (:func:`close_listeners`), so none
        is left open; channels already open end with their connections. Closing again
        does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            await close_listeners([self._listener])
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)


async def open_forward(
    pool: SSHPool,
    target: SSHTarget,
    *,
    host: str | None = None,
    port: int | None = None,
    remote_socket: str | None = None,
) -> Forward:
    """A forward to ``host:port`` as the login node reaches it, or to the UNIX socket
    ``remote_socket`` on the login node (a path the node shares with it, or the node
    itself where the site lets SSH reach nodes that run the user's jobs).

    Raises ``cluster.channel_refused`` (502) when sshd refuses forwarding
    (``AllowTcpForwarding no``, ``DisableForwarding``), ``cluster.timeout``, and the
    pool's connection errors."""
    if (remote_socket is None) == (host is None or port is None):
        raise ValueError("a forward goes to host and port, or to a remote socket")
    lease = await ChannelLease.acquire(pool, target)
    folder = socket_folder("jrpc-fwd-", "s")
    path = os.path.join(folder, "s")
    try:
        conn = lease.conn
        if remote_socket is not None:
            opening = conn.forward_local_path(path, remote_socket)
        else:
            assert host is not None and port is not None
            opening = conn.forward_local_path_to_port(path, host, int(port))
        listener = await asyncio.wait_for(opening, target.connect_timeout)
    except asyncio.TimeoutError:
        shutil.rmtree(folder, ignore_errors=True)
        raise RemoteTimeout(
            f"{target.name} did not set up a forward within {target.connect_timeout:g} s.",
            code="cluster.timeout",
            details={"cluster": target.label},
        ) from None
    except (asyncssh.Error, OSError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        reason = exc.reason if isinstance(exc, asyncssh.Error) else str(exc)
        raise RemoteFailed(
            f"{target.name} refused to forward a connection: {reason or type(exc).__name__}",
            code="cluster.channel_refused",
            details={"cluster": target.label},
        ) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        await lease.release()
    return Forward(listener, conn, folder)


async def close_listeners(
    listeners: Sequence[asyncssh.SSHListener | asyncio.AbstractServer],
) -> None:
    """Close forward listeners (asyncssh's, or asyncio servers) without leaving a connection open that was being accepted.

    asyncio accepts a connection in the listener's read callback but makes its transport
    in a task of its own; a listener closed in between makes that task fail (its
    ``Server`` is closed) and drop the transport without closing it, so the accepted
    socket stays open until the garbage collector finds it ("ResourceWarning: unclosed
    transport"). A ZMQ client reconnects every 100 ms, so a kernel's shutdown hit this now
    and then. The listening sockets stop being read first, then the tasks already made
    run (one loop turn: they were queued before this coroutine resumes), and only then
    do the listeners close: every accepted connection has its forwarder, which ends it."""
    if not listeners:
        return
    loop = asyncio.get_running_loop()
    for listener in listeners:
        # asyncssh's local forward listeners keep their asyncio servers here (2.x)
        for server in getattr(listener, "_servers", None) or (listener,):
            for sock in getattr(server, "sockets", None) or ():
                with contextlib.suppress(Exception):
                    loop.remove_reader(sock.fileno())
    await asyncio.sleep(0)
    for listener in listeners:
        with contextlib.suppress(Exception):
            listener.close()


def _own_folder(folder: str, target: SSHTarget) -> None:
    """Make ``folder`` again if it went (:func:`sweep_socket_folders` of another server
    of this user, during a long outage) and check it is still this user's own 0700
    folder: its name is visible in /tmp, and a folder someone else made in its place
    would let them replace the sockets."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, 0o700)
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise RemoteFailed(
            f"The forwards' folder {folder} is not this user's own private folder any more; "
            "restart the kernel.",
            code="cluster.channel_refused",
            details={"cluster": target.label},
        )


#: The name prefixes of the socket folders (:func:`socket_folder`).
SOCKET_FOLDER_PREFIXES = ("jrpc-k-", "jrpc-fwd-")
#: A socket folder younger than this is never swept: its server may be starting to listen.
SWEEP_MIN_AGE = 120.0


def _listening_paths() -> set[bytes] | None:
    """The paths of the UNIX sockets listening on this machine (/proc/net/unix: flag
    ``__SO_ACCEPTCON``), or None where that cannot be read."""
    try:
        with open("/proc/net/unix", "rb") as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return None
    paths = set()
    for line in lines:
        fields = line.split(None, 7)  # Num RefCount Protocol Flags Type St Inode Path
        if len(fields) == 8 and int(fields[3], 16) & 0x10000:
            paths.add(fields[7])
    return paths


def sweep_socket_folders(parents: Sequence[str] | None = None) -> list[str]:
    """Remove the socket folders an earlier server of this user left behind (killed
    before it could remove them, e.g. with SIGKILL): this user's own folders whose
    sockets nothing listens on, at least :data:`SWEEP_MIN_AGE` old, in the places
    :func:`socket_folder` makes them (or ``parents``). Symbolic links and other users'
    folders are left alone; so is everything where /proc/net/unix cannot be read. The
    paths removed."""
    listening = _listening_paths()
    if listening is None:
        return []
    if parents is None:
        parents = [tempfile.gettempdir(), os.environ.get("XDG_RUNTIME_DIR") or "", "/tmp"]
    uid, now, removed = os.getuid(), time.time(), []
    for parent in sorted({p for p in parents if p}):
        try:
            entries = list(os.scandir(parent))
        except OSError:
            continue
        for entry in entries:
            if not entry.name.startswith(SOCKET_FOLDER_PREFIXES):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
                names = os.listdir(entry.path) if stat.S_ISDIR(info.st_mode) else None
            except OSError:
                continue
            if names is None or info.st_uid != uid or now - info.st_mtime < SWEEP_MIN_AGE:
                continue
            if any(os.fsencode(os.path.join(entry.path, n)) in listening for n in names):
                continue
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
    return removed


class UnixResolver(Resolver):
    """Every host name resolves to one UNIX socket (tornado's clients then connect to
    it: ``SimpleAsyncHTTPClient(resolver=...)``, ``websocket_connect(resolver=...)``)."""

    def initialize(self, path: str) -> None:
        self.path = path

    async def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        return [(socket.AF_UNIX, self.path)]

    def close(self) -> None:
        return None


#: How long listening again after an outage waits for the connections the outage ended
#: to come back before it opens the held forward anyway (seconds; a ZMQ socket retries
#: every 100 ms, but a client that went away meanwhile never comes back).
REJOIN_TIMEOUT = 5.0

#: How long a connection that came back must be quiet before its handshake counts as
#: over (seconds; :meth:`SocketForwards._rejoined`).
QUIET = 0.1

#: Bytes read at a time from either side of a forwarded connection.
CHUNK = 256 * 1024


class _Link:
    """One forwarded connection: its forward, and whether and when data last went by."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.answered = False  # the cluster's side sent something
        self.last = 0.0  # the loop's time of the last data either way


class SocketForwards:
    """Several forwards listening in one 0700 folder at ``{prefix}-1``, ``{prefix}-2``, ...

    For a ZMQ client (a kernel's five channels): ZMQ's ``ipc`` transport connects to
    ``{ip}-{port}``, so a kernel client reaches forward *i* with ``transport: "ipc"``,
    ``ip: prefix`` and port *i*; it reconnects by itself, so the same paths can be
    listened on again (:meth:`reopen`) after the connection came back. Each connection to
    a path is one forwarded channel (ZMQ keeps one per socket).

    The forwards accept and copy themselves (asyncssh's own listeners cannot say when a
    connection came in), so :meth:`reopen` can hold one forward back (the kernel's shell)
    until the connections the outage ended on the others (its IOPub subscribers) are back:
    a cell re-run after an outage otherwise ran before its output had a subscriber, and the
    output was lost."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.prefix = os.path.join(folder, "k")
        self._servers: list[asyncio.AbstractServer] = []
        self._conn: asyncssh.SSHClientConnection | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._lost: dict[int, int] = {}  # forward → its connections ended from the cluster's side
        self._links: set[_Link] = set()  # the connections open now
        self._watch: asyncio.Future[None] | None = None

    @property
    def alive(self) -> bool:
        """Whether the forwards listen on a connection that is open."""
        return bool(self._servers) and self._conn is not None and not self._conn.is_closed()

    async def reopen(
        self,
        pool: SSHPool,
        target: SSHTarget,
        remotes: list[tuple[str, int]],
        hold: int | None = None,
    ) -> None:
        """Listen at ``{prefix}-i`` for ``remotes[i-1]`` (host, port as the login node
        reaches it), on the pool's current connection; listeners of an earlier connection
        and their connections are closed first.

        Forward ``hold`` (1-based) listens last: only when the connections that the
        others lost (to an outage, or closed here) are back and the cluster answered on
        them, or after :data:`REJOIN_TIMEOUT`. Errors as :func:`open_forward`."""
        await self._stop_listening()
        want = {i: n for i, n in self._lost.items() if n and i != hold}
        self._lost = {}
        lease = await ChannelLease.acquire(pool, target)
        try:
            conn = lease.conn
            self._conn = conn
            _own_folder(self.folder, target)
            self._watch = asyncio.ensure_future(self._close_with(conn))
            order = [i for i in range(1, len(remotes) + 1) if i != hold]
            for i in order:
                await self._listen(target, conn, i, remotes[i - 1])
            if hold is not None and 1 <= hold <= len(remotes):
                await self._rejoined(want)
                await self._listen(target, conn, hold, remotes[hold - 1])
        except BaseException:
            await self._stop_listening()
            raise
        finally:
            await lease.release()

    async def _rejoined(self, want: dict[int, int]) -> None:
        """Until each forward ``i`` has ``want[i]`` connections back whose handshake is over:
        the cluster answered on it, then neither side sent anything for :data:`QUIET`. (A
        ZMQ subscriber's subscription is the last thing its handshake sends; what the
        held forward then carries comes after it on the same SSH connection.)"""
        loop = asyncio.get_running_loop()
        end = loop.time() + REJOIN_TIMEOUT
        while True:
            now = loop.time()
            settled: dict[int, int] = {}
            for link in self._links:
                if link.answered and now - link.last >= QUIET:
                    settled[link.index] = settled.get(link.index, 0) + 1
            if all(settled.get(i, 0) >= n for i, n in want.items()):
                return
            if now >= end:
                log.debug("forwards in %s: not every connection came back", self.folder)
                return
            await asyncio.sleep(min(QUIET / 2, end - now))

    async def _listen(
        self,
        target: SSHTarget,
        conn: asyncssh.SSHClientConnection,
        index: int,
        remote: tuple[str, int],
    ) -> None:
        path = f"{self.prefix}-{index}"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # the socket of an earlier connection

        listening: list[asyncio.AbstractServer] = []

        async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if not listening or listening[0] not in self._servers:
                writer.close()  # accepted as the forward stopped listening
                return
            task = asyncio.current_task()
            assert task is not None
            self._pipes.add(task)
            try:
                await self._pipe(target, conn, index, remote, reader, writer)
            finally:
                self._pipes.discard(task)

        try:
            server = await asyncio.start_unix_server(accepted, path, limit=CHUNK)
        except OSError as exc:
            raise RemoteFailed(
                f"{target.name}: could not listen for a forward: {exc.strerror or exc}",
                code="cluster.channel_refused",
                details={"cluster": target.label},
            ) from None
        listening.append(server)
        self._servers.append(server)

    async def _pipe(
        self,
        target: SSHTarget,
        conn: asyncssh.SSHClientConnection,
        index: int,
        remote: tuple[str, int],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """One accepted connection, copied both ways over one ``direct-tcpip`` channel."""
        lost = True  # unless the local client ends it: it is expected back
        loop = asyncio.get_running_loop()
        try:
            try:
                far_reader, far_writer = await asyncio.wait_for(
                    conn.open_connection(remote[0], int(remote[1])), target.connect_timeout
                )
            except (asyncssh.Error, OSError, asyncio.TimeoutError) as exc:
                log.debug("forward %s-%d refused: %s", self.prefix, index, exc)
                return
            link = _Link(index)
            self._links.add(link)

            async def down() -> None:  # the cluster → the local client
                while data := await far_reader.read(CHUNK):
                    link.answered = True
                    link.last = loop.time()
                    writer.write(data)
                    await writer.drain()

            async def up() -> None:  # the local client → the cluster
                nonlocal lost
                while data := await reader.read(CHUNK):
                    link.last = loop.time()
                    far_writer.write(data)
                    await far_writer.drain()
                lost = False
                far_writer.write_eof()

            tasks = [asyncio.ensure_future(down()), asyncio.ensure_future(up())]
            try:
                # either side's end (or error) ends the connection
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                first = [t for t in tasks if t.done()]
                if tasks[1] in first and not tasks[1].cancelled() and tasks[1].exception() is None:
                    # the client sent its EOF: let the cluster's side finish
                    await asyncio.wait([tasks[0]], timeout=target.connect_timeout)
            finally:
                self._links.discard(link)
                for t in tasks:
                    t.cancel()
                for t in tasks:
                    with contextlib.suppress(BaseException):
                        await t
                far_writer.close()
        except asyncio.CancelledError:
            lost = True  # closed here (listening again): the client will come back
            raise
        finally:
            writer.close()
            if lost:
                self._lost[index] = self._lost.get(index, 0) + 1

    async def _close_with(self, conn: asyncssh.SSHClientConnection) -> None:
        """Stop listening when ``conn`` closes (a client then hears "refused" until
        :meth:`reopen`, rather than a connection that ends at once, ten times a second)."""
        await conn.wait_closed()
        if self._conn is conn:
            servers, self._servers = self._servers, []
            await close_listeners(servers)

    async def _stop_listening(self) -> None:
        servers, self._servers, self._conn = self._servers, [], None
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(BaseException):
                await watch
        await close_listeners(servers)
        pipes = list(self._pipes)
        for task in pipes:
            task.cancel()
        for task in pipes:
            with contextlib.suppress(BaseException):
                await task

    async def close(self) -> None:
        """Stop listening, end every forwarded connection and remove the folder."""
        await self._stop_listening()
        shutil.rmtree(self.folder, ignore_errors=True)


async def open_socket_forwards(
    pool: SSHPool, target: SSHTarget, remotes: list[tuple[str, int]]
) -> SocketForwards:
    """:class:`SocketForwards` to ``remotes`` in a new 0700 folder (short: ``sun_path``
    holds 107 bytes)."""
    forwards = SocketForwards(socket_folder("jrpc-k-", "k-99"))
    try:
        await forwards.reopen(pool, target, remotes)
    except BaseException:
        await forwards.close()
        raise
    return forwards
