"""Forwards over the pooled SSH connection to something on a cluster's node: an app's
``node:port`` (SSH ``direct-tcpip``) or a UNIX socket on the node (OpenSSH's
``direct-streamlocal``). Interactive apps use it now; remote kernels will too.

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
import os
import shutil
import socket
import tempfile
from typing import Any

import asyncssh
from tornado.netutil import Resolver

from ..errors import RemoteFailed, RemoteTimeout
from .channels import ChannelLease
from .pool import SSHPool
from .target import SSHTarget

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


async def close_listeners(listeners: list[asyncssh.SSHListener]) -> None:
    """Close forward listeners without leaving a connection open that was being accepted.

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
        for server in getattr(listener, "_servers", ()):
            for sock in getattr(server, "sockets", None) or ():
                with contextlib.suppress(Exception):
                    loop.remove_reader(sock.fileno())
    await asyncio.sleep(0)
    for listener in listeners:
        with contextlib.suppress(Exception):
            listener.close()


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


class SocketForwards:
    """Several forwards listening in one 0700 folder at ``{prefix}-1``, ``{prefix}-2``, ...

    For a ZMQ client (a kernel's five channels): ZMQ's ``ipc`` transport connects to
    ``{ip}-{port}``, so a kernel client reaches forward *i* with ``transport: "ipc"``,
    ``ip: prefix`` and port *i*; it reconnects by itself, so the same paths can be
    listened on again (:meth:`reopen`) after the connection came back. Each connection to
    a path is one forwarded channel (ZMQ keeps one per socket)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.prefix = os.path.join(folder, "k")
        self._listeners: list[asyncssh.SSHListener] = []
        self._conn: asyncssh.SSHClientConnection | None = None

    @property
    def alive(self) -> bool:
        """Whether the listeners are up on a connection that is open."""
        return bool(self._listeners) and self._conn is not None and not self._conn.is_closed()

    async def reopen(
        self, pool: SSHPool, target: SSHTarget, remotes: list[tuple[str, int]]
    ) -> None:
        """Listen at ``{prefix}-i`` for ``remotes[i-1]`` (host, port as the login node
        reaches it), on the pool's current connection; listeners of an earlier connection
        are closed first. Errors as :func:`open_forward`."""
        await self._stop_listening()
        lease = await ChannelLease.acquire(pool, target)
        try:
            conn = lease.conn
            for i, (host, port) in enumerate(remotes, 1):
                path = f"{self.prefix}-{i}"
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)  # the socket of an earlier connection
                try:
                    listener = await asyncio.wait_for(
                        conn.forward_local_path_to_port(path, host, int(port)),
                        target.connect_timeout,
                    )
                except asyncio.TimeoutError:
                    await self._stop_listening()
                    raise RemoteTimeout(
                        f"{target.name} did not set up a forward within "
                        f"{target.connect_timeout:g} s.",
                        code="cluster.timeout",
                        details={"cluster": target.label},
                    ) from None
                except (asyncssh.Error, OSError) as exc:
                    await self._stop_listening()
                    reason = exc.reason if isinstance(exc, asyncssh.Error) else str(exc)
                    raise RemoteFailed(
                        f"{target.name} refused to forward a connection: "
                        f"{reason or type(exc).__name__}",
                        code="cluster.channel_refused",
                        details={"cluster": target.label},
                    ) from None
                self._listeners.append(listener)
            self._conn = conn
        finally:
            await lease.release()

    async def _stop_listening(self) -> None:
        listeners, self._listeners, self._conn = self._listeners, [], None
        await close_listeners(listeners)

    async def close(self) -> None:
        """Stop listening and remove the folder."""
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
