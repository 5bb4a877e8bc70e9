"""Long-lived channels on the pooled SSH connection: terminals now, kernels and forwarded
apps later.

A :class:`ChannelLease` holds one of the connection's channel slots (``max_channels``,
kept below sshd's ``MaxSessions``) for as long as a channel lives, not for one block:
every session channel counts against ``MaxSessions``, a terminal as much as a command.
:func:`open_pty` starts a login shell on a PTY (``xterm-256color``, UTF-8, a window size)
and gives a :class:`PTYChannel` whose bytes the caller decodes itself: asyncssh's strict
decoder closes the *whole* connection on one invalid byte (notes/ssh-channels.md,
gotcha 1), so the channel is opened with ``encoding=None``.

Closing a PTY channel is a hang-up: sshd closes the PTY, the shell and its foreground
process group get SIGHUP, and the shell passes it on to its jobs, as with any ssh client.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncssh

from ..errors import RemoteFailed, RemoteTimeout, RPCError
from .pool import SSHPool
from .target import SSHTarget

#: The terminal type every PTY asks for (xterm.js understands it, 256 colours).
TERM_TYPE = "xterm-256color"

#: How a terminal's shell starts: a login shell of the user's own $SHELL, in UTF-8 (the
#: remote default locale is often POSIX, and sshd drops a LANG it was not told to accept).
LOGIN_SHELL = 'LANG="${LANG:-C.UTF-8}"; export LANG; exec "${SHELL:-/bin/sh}" -l'


class ChannelLease:
    """One channel slot of a target's pooled connection, held until :meth:`release`.

    Obtain one with :meth:`acquire`; it waits for a free slot at most the target's
    ``command_timeout`` (``cluster.timeout``) and opens the connection if needed (with its
    errors: ``cluster.unreachable``, ``ssh.auth_required``, ...).
    """

    def __init__(self, conn: asyncssh.SSHClientConnection, stack: contextlib.AsyncExitStack):
        self.conn = conn
        self._stack = stack
        self._released = False

    @classmethod
    async def acquire(cls, pool: SSHPool, target: SSHTarget) -> ChannelLease:
        """A slot of ``target``'s connection (opened if it is not)."""
        stack = contextlib.AsyncExitStack()
        conn = await stack.enter_async_context(pool.channel(target))
        return cls(conn, stack)

    async def release(self) -> None:
        """Give the slot back (once; later calls do nothing)."""
        if not self._released:
            self._released = True
            await self._stack.aclose()


class PTYChannel:
    """A remote command on a PTY: bytes in, bytes out, a window size, a hang-up."""

    def __init__(self, process: asyncssh.SSHClientProcess[bytes], lease: ChannelLease) -> None:
        self._process = process
        self._lease = lease
        self._closed = False

    async def read(self, size: int = 65536) -> bytes:
        """Up to ``size`` bytes of output; ``b""`` once the channel ended."""
        try:
            data = await self._process.stdout.read(size)
        except (asyncssh.Error, OSError, asyncio.IncompleteReadError):
            return b""
        return data if isinstance(data, bytes) else b""

    def write(self, data: bytes) -> None:
        """Keystrokes (``b"\\x03"`` is Ctrl-C: the PTY makes it SIGINT)."""
        if not self._closed and not self._process.stdin.is_closing():
            self._process.stdin.write(data)

    def resize(self, cols: int, rows: int) -> None:
        """A new window size (the remote foreground process gets SIGWINCH)."""
        if not self._closed:
            with contextlib.suppress(asyncssh.Error, OSError):
                self._process.change_terminal_size(cols, rows)

    @property
    def exit_status(self) -> int | None:
        """The remote command's exit status once it ended (``None`` before, or after a
        hang-up without one)."""
        return self._process.exit_status

    def close(self) -> None:
        """Hang up: close the channel (sshd closes the PTY; the shell and its foreground
        jobs get SIGHUP)."""
        self._closed = True
        self._process.close()

    async def wait_closed(self, timeout: float = 5.0) -> None:
        """Wait until the channel is closed (at most ``timeout`` s), then free its slot."""
        try:
            with contextlib.suppress(asyncio.TimeoutError, asyncssh.Error, OSError):
                await asyncio.wait_for(self._process.wait_closed(), timeout)
        finally:
            await self._lease.release()


async def open_pty(
    pool: SSHPool,
    target: SSHTarget,
    command: str = LOGIN_SHELL,
    *,
    cols: int = 80,
    rows: int = 24,
    term_type: str = TERM_TYPE,
) -> PTYChannel:
    """Start ``command`` (given to the login shell as it is) on a PTY of ``target``.

    Raises ``terminal.refused`` (403) when sshd refuses the PTY (a key restricted to no
    PTY, ``PermitTTY no``), ``cluster.channel_refused`` (502) when it refuses the session
    (its ``MaxSessions``), ``cluster.timeout`` when it
    does not answer within the target's ``connect_timeout``, and the pool's connection
    errors.
    """
    lease = await ChannelLease.acquire(pool, target)
    try:
        process: asyncssh.SSHClientProcess[Any] = await asyncio.wait_for(
            lease.conn.create_process(
                command,
                term_type=term_type,
                term_size=(cols, rows),
                encoding=None,
            ),
            target.connect_timeout,
        )
    except asyncio.TimeoutError:
        await lease.release()
        raise RemoteTimeout(
            f"{target.name} did not open a terminal within {target.connect_timeout:g} s.",
            code="cluster.timeout",
            details={"cluster": target.label},
        ) from None
    except asyncssh.ChannelOpenError as exc:
        await lease.release()
        if exc.code == asyncssh.OPEN_REQUEST_PTY_FAILED:
            raise RPCError(
                f"{target.name} gives this SSH key no terminal: the server refused a PTY "
                "(a restricted key: authorized_keys 'restrict' without 'pty', or 'no-pty'; "
                "or the server's 'PermitTTY no'). Ask the cluster's administrators to allow "
                "terminals for this key.",
                code="terminal.refused",
                status=403,
                details={"cluster": target.label},
            ) from None
        raise RemoteFailed(
            f"{target.name} refused a terminal: {exc.reason or 'open failed'}",
            code="cluster.channel_refused",
            details={"cluster": target.label},
        ) from None
    except (asyncssh.Error, OSError) as exc:
        await lease.release()
        reason = exc.reason if isinstance(exc, asyncssh.Error) else str(exc)
        raise RemoteFailed(
            f"{target.name} refused a terminal: {reason or type(exc).__name__}",
            code="cluster.channel_refused",
            details={"cluster": target.label},
        ) from None
    except BaseException:
        await lease.release()
        raise
    return PTYChannel(process, lease)
