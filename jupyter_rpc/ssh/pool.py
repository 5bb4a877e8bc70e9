"""The one SSH connection pool: every SSH user of jupyter_rpc goes through :class:`SSHPool`.

One asyncssh connection per target (host, port, user, jump chain), opened on first use
(concurrent first users share one attempt), kept alive with keepalives, closed after
``idle_timeout`` seconds without use, and replaced when it drops. A semaphore per
connection bounds the parallel channels (commands, processes, the SFTP session) below the
server's ``MaxSessions``. Nothing else in jupyter_rpc calls ``asyncssh.connect``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncssh

from ..errors import (
    Conflict,
    InvalidRequest,
    RemoteFailed,
    RemoteTimeout,
    RemoteUnavailable,
    RPCError,
)
from .hostkeys import HostKeyCheck, append_trusted, fingerprint
from .prompts import PoolClient, Prompt
from .runner import Completed
from .target import SSHTarget

log = logging.getLogger(__name__)

IDLE, CONNECTING, CONNECTED, AUTH_REQUIRED, ERROR = (
    "idle",
    "connecting",
    "connected",
    "auth_required",
    "error",
)


#: AES-GCM first: with AES-NI, asyncssh moves data about 1.4x faster with it than with
#: ChaCha20-Poly1305, its default first choice (measured: 200 MB SFTP put 187 vs 135 MB/s,
#: get 301 vs 255 MB/s on loopback). The others stay for servers without GCM.
CIPHERS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
)


class _Entry:
    """The connection to one target and everything that hangs on it."""

    def __init__(self, target: SSHTarget) -> None:
        self.target = target
        self.state = IDLE
        self.error: RPCError | None = None
        self.prompt: Prompt | None = None
        self.conn: asyncssh.SSHClientConnection | None = None
        self.client: PoolClient | None = None
        self.check: HostKeyCheck | None = None
        self.task: asyncio.Task[None] | None = None
        self.changed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.deadline = 0.0
        self.slots = asyncio.Semaphore(target.max_channels)
        self.active = 0
        self.in_use_peak = 0
        self.last_used = time.monotonic()
        self.sftp: asyncssh.SFTPClient | None = None
        self.sftp_lock = asyncio.Lock()
        self.via: _Entry | None = None  # the jump entry this connection tunnels through
        self.dependents = 0

    def notify(self) -> None:
        """Wake everyone waiting for this entry to change."""
        if not self.changed.done():
            self.changed.set_result(None)
        self.changed = asyncio.get_running_loop().create_future()


class PooledProcess:
    """A long-lived remote process that holds one channel slot until it ends or is closed."""

    def __init__(self, process: asyncssh.SSHClientProcess[Any], release: Any) -> None:
        self.process = process
        self.stdin = process.stdin
        self.stdout = process.stdout
        self.stderr = process.stderr
        self._release = release

    @property
    def returncode(self) -> int | None:
        """Exit status, or minus the signal number, once it ended."""
        return self.process.returncode

    def close(self) -> None:
        """Close the channel (the remote process sees EOF and a hang-up)."""
        self.process.close()

    async def wait_closed(self) -> None:
        """Wait until the channel is closed."""
        await self.process.wait_closed()
        self._release()


class SSHPool:
    """Shares one SSH connection per target among all users.

    ``trusted_hosts`` is our own known_hosts file (e.g. ``<data dir>/jupyter_rpc/known_hosts``)
    that :meth:`trust_host` appends to; it is read alongside every target's known_hosts.
    """

    def __init__(
        self,
        *,
        trusted_hosts: str | None = None,
        idle_timeout: float = 600.0,
        prompt_timeout: float = 300.0,
    ) -> None:
        self.trusted_hosts = trusted_hosts
        self.idle_timeout = idle_timeout
        self.prompt_timeout = prompt_timeout
        self.counters = {"connects": 0, "commands": 0}
        self._entries: dict[tuple[Any, ...], _Entry] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._closed = False

    # -- public API -------------------------------------------------------------------

    def state(self, target: SSHTarget) -> dict[str, Any]:
        """``{"state": idle|connecting|connected|auth_required|error, "error", "prompt"}``."""
        e = self._entries.get(target.key)
        if e is None:
            return {"state": IDLE, "error": None, "prompt": None}
        return {
            "state": e.state,
            "error": e.error.to_json() if e.error is not None and e.state == ERROR else None,
            "prompt": e.prompt.to_json() if e.prompt is not None else None,
            # Who we are logged in as (ssh_config may have chosen it).
            "user": e.conn.get_extra_info("username") if e.conn is not None else None,
        }

    async def connect(self, target: SSHTarget) -> dict[str, Any]:
        """Open the connection now (if it is not open) and return :meth:`state`."""
        await self._connected(self._entry(target))
        return self.state(target)

    async def run(
        self,
        target: SSHTarget,
        command: str,
        *,
        input: str | None = None,
        timeout: float | None = None,
    ) -> Completed:
        """Run one command line through the remote login shell and wait for it.

        ``command`` is given to the shell as it is: build it with ``shell_join``.
        Raises ``cluster.timeout`` (504) after ``timeout`` (default: the target's
        ``command_timeout``) and ``cluster.unreachable`` (503) when the connection fails.
        """
        limit = timeout if timeout is not None else target.command_timeout
        async with self.channel(target) as conn:
            self.counters["commands"] += 1
            proc = await self._open_process(target, conn, command, "utf-8", stdin_data=bool(input))
            try:
                out, err = await asyncio.wait_for(proc.communicate(input or None), limit)
            except asyncio.TimeoutError:
                proc.close()
                raise RemoteTimeout(
                    f"A command on {target.name} did not finish within {limit:g} s.",
                    code="cluster.timeout",
                    details={"cluster": target.label, "timeout": limit},
                ) from None
            except asyncio.CancelledError:
                proc.close()
                raise
            except (asyncssh.Error, OSError) as exc:
                raise self._lost(target, exc) from None
            if proc.returncode is None:  # the channel closed without an exit status
                raise self._lost(target, None)
            return Completed([command], proc.returncode, str(out or ""), str(err or ""))

    @contextlib.asynccontextmanager
    async def channel(self, target: SSHTarget) -> AsyncIterator[asyncssh.SSHClientConnection]:
        """The connection, with one channel slot held for the block."""
        e = self._entry(target)
        conn = await self._connected(e)
        slots = e.slots  # the semaphore of this connection (a reconnect makes a new one)
        await self._acquire(e, slots)
        self._use(e, +1)
        try:
            yield conn
        finally:
            self._use(e, -1)
            slots.release()

    async def create_process(
        self, target: SSHTarget, command: str, *, encoding: str | None = None
    ) -> PooledProcess:
        """Start a long-lived remote process (bytes streams by default); it holds a slot
        until it ends or is closed."""
        e = self._entry(target)
        conn = await self._connected(e)
        slots = e.slots  # the semaphore of this connection (a reconnect makes a new one)
        await self._acquire(e, slots)
        self._use(e, +1)
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._use(e, -1)
                slots.release()

        try:
            proc = await self._open_process(target, conn, command, encoding, stdin_data=True)
        except BaseException:
            release()
            raise
        pooled = PooledProcess(proc, release)
        self._spawn(pooled.wait_closed(), f"ssh process on {target.name}")
        return pooled

    async def sftp(self, target: SSHTarget) -> asyncssh.SFTPClient:
        """The connection's SFTP client (one per connection, kept; it holds one slot)."""
        e = self._entry(target)
        conn = await self._connected(e)
        async with e.sftp_lock:
            if e.sftp is None or e.conn is not conn:
                slots = e.slots
                await self._acquire(e, slots)
                try:
                    sftp = await asyncio.wait_for(conn.start_sftp_client(), target.connect_timeout)
                except asyncio.TimeoutError:
                    slots.release()
                    raise RemoteTimeout(
                        f"SFTP on {target.name} did not start within {target.connect_timeout:g} s.",
                        code="cluster.timeout",
                    ) from None
                except (asyncssh.Error, OSError) as exc:
                    slots.release()
                    raise RemoteUnavailable(
                        f"SFTP is not available on {target.name}: {_reason(exc)}",
                        code="files.unavailable",
                    ) from None
                except BaseException:  # cancelled (the request went away): the slot goes back
                    slots.release()
                    raise
                e.sftp = sftp
                self._spawn(self._watch_sftp(e, sftp, slots), f"sftp watch {target.name}")
            e.last_used = time.monotonic()
            return e.sftp

    async def _acquire(self, e: _Entry, slots: asyncio.Semaphore) -> None:
        """One channel slot of ``slots``, waiting at most the target's ``command_timeout``:
        when long-lived channels (backends, SFTP) hold them all, callers get an error
        instead of waiting for ever."""
        t = e.target
        try:
            await asyncio.wait_for(slots.acquire(), t.command_timeout)
        except asyncio.TimeoutError:
            raise RemoteTimeout(
                f"All {t.max_channels} SSH channels to {t.name} stayed busy for {t.command_timeout:g} s "
                "(running backends, transfers or commands); try again later, or ask for a higher "
                "max_channels.",
                code="cluster.timeout",
                details={"cluster": t.label, "max_channels": t.max_channels},
            ) from None

    async def _watch_sftp(
        self, e: _Entry, sftp: asyncssh.SFTPClient, slots: asyncio.Semaphore
    ) -> None:
        """Forget an SFTP client whose channel closed while its connection lives on (the
        next caller starts a new one) and give its slot back."""
        await sftp.wait_closed()
        if e.sftp is sftp:
            e.sftp = None
            if e.slots is slots:  # not when the whole connection went (new slots then)
                slots.release()

    async def answer(
        self, target: SSHTarget, prompt_id: str, responses: list[str]
    ) -> dict[str, Any]:
        """Answer a login prompt of ``target`` (or of one of its jump hosts).

        Returns :meth:`state` once connected; raises the next ``ssh.auth_required`` or
        ``ssh.auth_failed``. The responses are handed to the server and not kept.
        """
        if not isinstance(responses, list) or not all(isinstance(r, str) for r in responses):
            raise InvalidRequest("responses must be a list of strings.", code="request.schema")
        chain = [self._entries.get(target.hop(i).key) for i in range(len(target.jump))]
        chain.append(self._entries.get(target.key))
        e = next(
            (
                c
                for c in chain
                if c is not None and c.prompt is not None and c.prompt.id == prompt_id
            ),
            None,
        )
        if e is None or e.prompt is None:
            raise Conflict(
                f"This login prompt for {target.name} is no longer open; connect again.",
                code="ssh.prompt_expired",
            )
        prompt, e.prompt = e.prompt, None
        e.state = CONNECTING
        e.deadline = time.monotonic() + e.target.connect_timeout
        prompt.answer(responses)
        e.notify()
        await self._connected(e)
        if e.target.key != target.key:
            await self._connected(self._entry(target))
        return self.state(target)

    async def trust_host(self, target: SSHTarget, fingerprint_: str) -> dict[str, Any]:
        """Trust the *unknown* host key of ``target`` (or of the jump host that presented
        it) if it has ``fingerprint_``, then connect.

        What is written is the key the last connection attempt was offered, and only if its
        own fingerprint is ``fingerprint_`` (the one the person was shown and confirmed); if
        the server then presents another key, the connection fails as unknown again. A
        changed key is never trusted here (``ssh.host_key_changed``).
        """
        e = self._entry(target)
        try:
            await self._connected(e)
            return self.state(target)
        except RPCError as exc:
            if exc.code != "ssh.host_unknown":
                raise
        if self.trusted_hosts is None:
            raise Conflict(
                "This server has no file to record trusted host keys in.",
                code="ssh.trust_unavailable",
            )
        # The connection that met the unknown key: the first of the chain (jump hosts, then
        # the target) whose last attempt ended so.
        chain = [self._entries.get(target.hop(i).key) for i in range(len(target.jump))] + [e]
        unknown = next(
            (
                c
                for c in chain
                if c is not None
                and c.error is not None
                and c.error.code == "ssh.host_unknown"
                and c.check is not None
                and c.check.seen is not None
                and not c.check.known
            ),
            None,
        )
        if unknown is None or unknown.check is None or unknown.check.seen is None:
            raise Conflict(
                f"No unknown host key of {target.name} is waiting to be trusted; connect again.",
                code="ssh.trust_expired",
            )
        check, hop = unknown.check, unknown.target
        key = check.seen
        assert key is not None
        # The key this connection attempt was offered, which the error showed the person.
        # No second connection is made to fetch it again: that one could take another path
        # than the real connection (a ProxyCommand of ssh_config) and see another key.
        if fingerprint(key) != fingerprint_:
            raise Conflict(
                f"{hop.name} presented a host key with fingerprint {fingerprint(key)}, "
                f"not {fingerprint_}; nothing was trusted.",
                code="ssh.fingerprint_mismatch",
            )
        append_trusted(self.trusted_hosts, check.host, check.port, key)
        log.info("Trusted the %s host key %s of %s", key.get_algorithm(), fingerprint_, hop.name)
        unknown.error, unknown.state = None, IDLE
        await self._connected(e)
        return self.state(target)

    async def close(self) -> None:
        """Close every connection and stop background work."""
        self._closed = True
        closing = []
        for e in self._entries.values():
            if e.task is not None:
                e.task.cancel()
            if e.conn is not None:
                closing.append(asyncio.ensure_future(e.conn.wait_closed()))
            self._disconnect(e)
        tasks = [t for t in self._tasks if not t.done()]
        for t in tasks:
            t.cancel()
        # Wait (briefly) until the connections are closed: a ProxyCommand's process is
        # then reaped too, rather than left to the event loop after it stopped.
        if tasks or closing:
            await asyncio.wait([*tasks, *closing], timeout=5.0)
        for t in closing:
            t.cancel()

    # -- connections ------------------------------------------------------------------

    def _entry(self, target: SSHTarget) -> _Entry:
        if self._closed:
            raise RemoteUnavailable(
                "The SSH connections are shutting down.", code="cluster.unreachable"
            )
        e = self._entries.get(target.key)
        if e is None:
            e = self._entries[target.key] = _Entry(target)
            if self._reaper is None:
                self._reaper = self._spawn(self._reap(), "ssh idle reaper")
        return e

    async def _connected(self, e: _Entry) -> asyncssh.SSHClientConnection:
        """The entry's open connection; starts (or joins) a connection attempt."""
        task: asyncio.Task[None] | None = None
        while True:
            if e.conn is not None:
                return e.conn
            if e.prompt is not None:
                raise _auth_required(e)
            if task is None:
                if e.task is None:
                    e.task = self._spawn(self._connect(e), f"ssh connect {e.target.name}")
                task = e.task
            if task.done():
                if task.cancelled():
                    raise RemoteUnavailable(
                        f"Connecting to {e.target.name} was stopped.", code="cluster.unreachable"
                    )
                exc = task.exception()
                if exc is not None:
                    raise exc
                task = None
                continue
            await asyncio.wait({task, e.changed}, return_when=asyncio.FIRST_COMPLETED)

    async def _connect(self, e: _Entry) -> None:
        e.state, e.error = CONNECTING, None
        e.notify()
        try:
            via = self._entry(e.target.hop(len(e.target.jump) - 1)) if e.target.jump else None
            tunnel = await self._connected(via) if via is not None else None
            conn = await self._open(e, tunnel)
        except RPCError as exc:
            e.state, e.error = ERROR, exc
            raise
        except asyncio.CancelledError:
            e.state = IDLE
            raise
        finally:
            e.task = None
            e.prompt = None
            e.notify()
        e.conn, e.state, e.via = conn, CONNECTED, via
        e.last_used = time.monotonic()
        if via is not None:
            via.dependents += 1
        self.counters["connects"] += 1
        e.notify()
        log.info("SSH connection to %s open", e.target.name)

    async def _open(
        self, e: _Entry, tunnel: asyncssh.SSHClientConnection | None
    ) -> asyncssh.SSHClientConnection:
        t = e.target
        for path in t.identity_files:
            if not _readable(path):
                raise InvalidRequest(
                    f"The identity file {path} of {t.name} cannot be read.",
                    code="cluster.config_invalid",
                    details={"key": "identity_file"},
                )
        files = [*t.known_hosts, *_config_known_hosts(t)]
        _check_known_hosts(t, [*files, *([self.trusted_hosts] if self.trusted_hosts else [])])
        check = e.check = HostKeyCheck(
            [*files, *([self.trusted_hosts] if self.trusted_hosts else [])]
        )
        who = t.address

        def factory() -> PoolClient:
            e.client = PoolClient(check, lambda *a: self._ask(e, *a), self._on_lost, who)
            return e.client

        options: dict[str, Any] = {
            "config": list(t.config_files),
            "known_hosts": check,
            "client_factory": factory,
            "keepalive_interval": t.keepalive_interval,
            "keepalive_count_max": 3,
            "login_timeout": self.prompt_timeout + 2 * t.connect_timeout,
            "encryption_algs": list(CIPHERS),
        }
        for name, value in (("port", t.port), ("username", t.user), ("tunnel", tunnel)):
            if value is not None:
                options[name] = value
        if t.identity_files:
            options["client_keys"] = list(t.identity_files)
        if not t.agent:
            options["agent_path"] = None
        e.deadline = time.monotonic() + t.connect_timeout
        attempt = asyncio.ensure_future(asyncssh.connect(t.host, **options))
        try:
            # The deadline moves while a person is being asked for a password (see _ask).
            while not attempt.done():
                left = e.deadline - time.monotonic()
                if left <= 0:
                    attempt.cancel()
                    raise asyncio.TimeoutError
                await asyncio.wait({attempt}, timeout=left)
            return attempt.result()
        except asyncio.CancelledError:
            attempt.cancel()
            raise
        except asyncssh.HostKeyNotVerifiable as exc:
            if check.seen is not None:
                raise check.error(t.name, check.port or 22) from None
            raise RemoteFailed(
                f"The host key of {t.name} could not be verified: {exc.reason}",
                code="ssh.host_key_changed",
            ) from None
        except asyncssh.PermissionDenied as exc:
            prompted = e.client is not None and e.client.prompted
            hint = "" if prompted else " Check the user name and the key (identity_file, agent)."
            raise RemoteFailed(
                f"{t.name} ({who}) refused the login: {exc.reason}.{hint}",
                code="ssh.auth_failed",
                details={"host": t.host},
            ) from None
        except (asyncio.TimeoutError, OSError, asyncssh.Error, ValueError) as exc:
            raise self._unreachable(t, exc) from None

    async def _ask(
        self, e: _Entry, title: str, instructions: str, prompts: list[tuple[str, bool]]
    ) -> list[str] | None:
        prompt = e.prompt = Prompt(title, instructions, prompts)
        e.state = AUTH_REQUIRED
        e.deadline = time.monotonic() + self.prompt_timeout + e.target.connect_timeout
        e.notify()
        answers = await prompt.wait(self.prompt_timeout)
        if e.prompt is prompt:  # nobody answered
            e.prompt, e.state = None, CONNECTING
            e.notify()
        return answers

    def _on_lost(self, client: PoolClient, exc: Exception | None) -> None:
        for e in self._entries.values():
            if e.client is client and e.conn is not None:
                log.warning(
                    "SSH connection to %s lost: %s",
                    e.target.name,
                    _reason(exc) if exc else "closed",
                )
                self._disconnect(e, self._lost(e.target, exc) if exc else None)

    def _disconnect(self, e: _Entry, error: RPCError | None = None) -> None:
        conn, e.conn, e.sftp = e.conn, None, None
        if conn is None:
            return
        if e.state == CONNECTED or error is not None:
            e.state, e.error = (ERROR, error) if error is not None else (IDLE, None)
        e.slots = asyncio.Semaphore(
            e.target.max_channels
        )  # slots of the old connection die with it
        e.active = 0
        if e.via is not None:
            e.via.dependents -= 1
            e.via.last_used = time.monotonic()
            e.via = None
        conn.close()
        e.notify()

    def _use(self, e: _Entry, delta: int) -> None:
        e.active = max(0, e.active + delta)
        e.in_use_peak = max(e.in_use_peak, e.active)
        e.last_used = time.monotonic()

    async def _reap(self) -> None:
        """Close connections nobody used for ``idle_timeout`` seconds."""
        interval = max(0.05, min(self.idle_timeout / 4, 30.0))
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for e in list(self._entries.values()):
                if (
                    e.conn is not None
                    and e.active == 0
                    and e.dependents == 0
                    and now - e.last_used > self.idle_timeout
                ):
                    log.info("Closing the idle SSH connection to %s", e.target.name)
                    self._disconnect(e)

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(_forget(self._tasks))
        return task

    async def _open_process(
        self,
        target: SSHTarget,
        conn: asyncssh.SSHClientConnection,
        command: str,
        encoding: str | None,
        *,
        stdin_data: bool,
    ) -> asyncssh.SSHClientProcess[Any]:
        stdin: Any = asyncssh.PIPE if stdin_data else asyncssh.DEVNULL
        try:
            return await asyncio.wait_for(
                conn.create_process(command, encoding=encoding, errors="replace", stdin=stdin),
                target.connect_timeout,
            )
        except asyncio.TimeoutError:
            raise RemoteTimeout(
                f"{target.name} did not open a channel within {target.connect_timeout:g} s.",
                code="cluster.timeout",
            ) from None
        except asyncssh.ChannelOpenError as exc:
            if not conn.is_closed():
                raise RemoteFailed(
                    f"{target.name} refused a new channel: {exc.reason}",
                    code="cluster.channel_refused",
                ) from None
            raise self._lost(target, exc) from None
        except (asyncssh.Error, OSError) as exc:
            raise self._lost(target, exc) from None

    def _lost(self, target: SSHTarget, exc: BaseException | None) -> RemoteUnavailable:
        why = f": {_reason(exc)}" if exc is not None else ""
        return RemoteUnavailable(
            f"The SSH connection to {target.name} ({target.address}) was lost{why}. "
            "The next request reconnects.",
            code="cluster.unreachable",
            details={"cluster": target.label, "host": target.host, "port": target.port or 22},
        )

    def _unreachable(self, target: SSHTarget, exc: BaseException) -> RemoteUnavailable:
        if isinstance(exc, asyncio.TimeoutError):
            why = f"no answer within {target.connect_timeout:g} s"
        else:
            why = _reason(exc)
        port = target.port or 22
        return RemoteUnavailable(
            f"Cannot connect to {target.name} ({target.host}:{port}): {why}.",
            code="cluster.unreachable",
            details={"cluster": target.label, "host": target.host, "port": port},
        )


def _auth_required(e: _Entry) -> RPCError:
    assert e.prompt is not None
    return RPCError(
        f"{e.target.name} asks for a login: {e.prompt.title}.",
        code="ssh.auth_required",
        status=428,
        details={"prompt": e.prompt.to_json()},
    )


def _reason(exc: BaseException | None) -> str:
    if isinstance(exc, asyncssh.Error):
        return exc.reason or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _config_known_hosts(t: SSHTarget) -> list[str]:
    """The ``UserKnownHostsFile`` entries the ssh_config files give for ``t`` (as OpenSSH reads them)."""
    if not t.config_files:
        return []
    try:
        options = asyncssh.SSHClientConnectionOptions(config=list(t.config_files), host=t.host)
    except (OSError, ValueError, asyncssh.Error) as exc:
        # asyncssh's reason quotes the line ("Extra data at end: ..."): only where it is.
        where = re.match(r"(.*? line \d+):", _reason(exc))
        why = where[1] if where else type(exc).__name__
        raise InvalidRequest(
            f"The ssh_config of {t.name} cannot be read: {why}",
            code="cluster.config_invalid",
            details={"key": "ssh_config"},
        ) from None
    found = options.known_hosts
    if isinstance(found, (list, tuple)) and all(isinstance(f, str) for f in found):
        return [os.path.expanduser(f) for f in found]
    return []


def _check_known_hosts(t: SSHTarget, files: list[str]) -> None:
    """Each known_hosts file that exists must be one; the error names the file, never
    its content (asyncssh's quotes the line it could not read)."""
    for path in files:
        if not os.path.isfile(path):
            continue
        try:
            asyncssh.read_known_hosts(path)
        except (OSError, ValueError, asyncssh.Error):
            raise InvalidRequest(
                f"The known_hosts file {path} of {t.name} cannot be read as a known_hosts file.",
                code="cluster.config_invalid",
                details={"key": "known_hosts"},
            ) from None


def _readable(path: str) -> bool:
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False


def _forget(tasks: set[asyncio.Task[Any]]) -> Any:
    def done(task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: connect failures reach their callers instead

    return done
