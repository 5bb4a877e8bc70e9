"""A cluster's files over SFTP (asyncssh), with the roots policy of :mod:`.paths`.

Every operation asks ``get_sftp()`` for the client (the SSH pool caches it and reconnects
after a drop) and bounds every request with ``timeout``. Transfers keep several requests
in flight (``in_flight`` blocks of the server's maximum request size), so a file streams
at close to the link's speed while memory stays at a few megabytes.

FIFOs, devices and sockets are listed but refused as files (``files.not_regular``) before
they are opened: OpenSSH's sftp-server answers one request at a time, and opening a FIFO
waits for a writer, so it would stop every request on that connection.
"""

from __future__ import annotations

import asyncio
import posixpath
import secrets
import stat as stat_mod
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import asyncssh
from asyncssh import SFTPAttrs, SFTPClient, SFTPClientFile

from ..errors import RemoteTimeout, RPCError
from . import paths as P
from .base import CHUNK_SIZE, FileEntry, RemoteFiles
from .registry import FilesContext

T = TypeVar("T")

#: A temporary file's attributes when it is created: the user's only while in flight.
_PRIVATE = SFTPAttrs(permissions=0o600)

_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    asyncssh.SFTPConnectionLost,
    asyncssh.SFTPNoConnection,
    asyncssh.ConnectionLost,
    asyncssh.DisconnectError,
    asyncssh.ChannelOpenError,
    ConnectionError,
    EOFError,
)


class SFTPFiles(RemoteFiles):
    """One cluster's files over SFTP.

    ``roots`` maps names to folders on the cluster: ``~`` is the SFTP server's starting
    folder, ``$USER`` the SSH user, ``$HOME`` the same as ``~``. ``label`` names the
    cluster in messages. ``timeout`` bounds each SFTP request (seconds). Abandoned chunked
    uploads are removed after ``upload_ttl`` seconds (checked when an upload call arrives,
    and at :meth:`close`).
    """

    kind = "sftp"

    def __init__(
        self,
        get_sftp: Callable[[], Awaitable[SFTPClient]],
        *,
        user: str,
        roots: dict[str, str],
        label: str,
        timeout: float = 60.0,
        upload_ttl: float = 600.0,
        in_flight: int = 32,
    ) -> None:
        self._get_sftp = get_sftp
        self.user = user
        self.label = label
        self.timeout = timeout
        self.upload_ttl = upload_ttl
        self.in_flight = max(1, in_flight)
        self.policy = P.RootsPolicy(roots)
        self.roots = self.policy.roots
        self._home = ""
        self._uid: int | None = None
        self._gid: int | None = None
        self._unresolved = {root.name for root in self.roots}
        self._uploads: dict[str, P.Upload] = {}
        self._debris: set[str] = set()  # temporary files a dropped connection left behind
        self._cleanups: set[asyncio.Future[None]] = set()
        self._new_mode: int | None = None  # what a file the user creates gets (_new_file_mode)

    # --- plumbing -------------------------------------------------------------------

    def _map(self, exc: BaseException, drive: str, action: str) -> RPCError:
        """The ``files.*`` error for an asyncssh / OS error."""
        if isinstance(exc, RPCError):
            return exc
        if isinstance(exc, asyncio.TimeoutError):
            return RemoteTimeout(
                f"The files on {self.label} did not answer within {self.timeout:g} s "
                f"({action} '{drive}').",
                code="files.timeout",
                details={"cluster": self.label, "path": drive},
            )
        if isinstance(exc, _CONNECTION_ERRORS):
            return P.unavailable(self.label, f"the connection was lost ({exc})")
        if isinstance(exc, asyncssh.SFTPNoSuchFile | asyncssh.SFTPNoSuchPath):
            return P.not_found(drive)
        if isinstance(exc, asyncssh.SFTPPermissionDenied | asyncssh.SFTPWriteProtect):
            return P.permission(drive, action)
        if isinstance(exc, asyncssh.SFTPFileAlreadyExists | asyncssh.SFTPDirNotEmpty):
            return P.exists(drive)
        if isinstance(exc, asyncssh.SFTPNoSpaceOnFilesystem | asyncssh.SFTPQuotaExceeded):
            return P.no_space(drive)
        if isinstance(exc, asyncssh.SFTPNotADirectory):
            return P.not_directory(drive)
        if isinstance(exc, asyncssh.SFTPFileIsADirectory):
            return P.is_directory(drive)
        if isinstance(exc, asyncssh.SFTPInvalidFilename):
            return P.invalid_name(drive, "the server refused the name")
        if isinstance(exc, asyncssh.SFTPError):
            reason = exc.reason or "failure"
            lowered = reason.lower()
            if "no space" in lowered or "quota" in lowered:
                return P.no_space(drive)
            return P.io_error(drive, f"{action} failed on {self.label}: {reason}")
        if isinstance(exc, OSError):
            return P.from_errno(exc.errno, drive, action, str(exc))
        return P.io_error(drive, f"{action} failed on {self.label}: {exc}")

    async def _call(self, drive: str, action: str, aw: Awaitable[T]) -> T:
        """One SFTP request, bounded by ``timeout``, its errors made ``files.*``."""
        try:
            return await asyncio.wait_for(aw, self.timeout)
        except (asyncssh.Error, OSError, EOFError, asyncio.TimeoutError) as exc:
            raise self._map(exc, drive, action) from None

    async def _sftp(self) -> SFTPClient:
        try:
            sftp = await asyncio.wait_for(self._get_sftp(), self.timeout)
        except RPCError:
            raise
        except (asyncssh.Error, OSError, EOFError, asyncio.TimeoutError) as exc:
            raise P.unavailable(self.label, str(exc) or type(exc).__name__) from None
        if not self._home:
            self._home = await self._call("~", "open", sftp.realpath("."))
            attrs = await self._call("~", "open", sftp.stat(self._home))
            self._uid, self._gid = attrs.uid, attrs.gid
        if self._unresolved:
            await self._resolve_roots(sftp)
        if self._debris:
            await self._remove_debris(sftp)
        return sftp

    async def _resolve_roots(self, sftp: SFTPClient) -> None:
        for root in self.roots:
            if root.name not in self._unresolved:
                continue
            try:
                expanded = P.expand_root(root.path, home=self._home, user=self.user)
            except ValueError as exc:
                raise RPCError(str(exc), code="files.config", status=500) from None
            try:
                root.real = await self._call(root.name, "open", sftp.realpath(expanded))
                self._unresolved.discard(root.name)
            except RPCError as exc:
                if exc.code == "files.unavailable":
                    raise
                root.real = expanded  # missing for now: listed, and looked up again later

    async def _remove_debris(self, sftp: SFTPClient) -> None:
        for temp in list(self._debris):
            try:
                await asyncio.wait_for(sftp.remove(temp), self.timeout)
            except asyncssh.SFTPNoSuchFile:
                pass
            except (asyncssh.Error, OSError, asyncio.TimeoutError):
                continue
            self._debris.discard(temp)

    async def _remove_temp(self, sftp: SFTPClient, temp: str) -> None:
        """Remove a temporary file, also after the connection dropped (through a fresh
        client from the pool); what cannot be removed now is retried later."""
        self._debris.add(temp)
        task = asyncio.ensure_future(self._remove_temp_now(sftp, temp))
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)
        try:
            await asyncio.shield(task)
        except (asyncio.CancelledError, Exception):
            pass  # the caller re-raises its own error; the removal goes on meanwhile

    async def _remove_temp_now(self, sftp: SFTPClient, temp: str) -> None:
        for attempt in range(4):
            try:
                if attempt:  # the pool reconnects once it has seen the old connection go
                    await asyncio.sleep(0.1 * attempt)
                    sftp = await asyncio.wait_for(self._get_sftp(), self.timeout)
                await asyncio.wait_for(sftp.remove(temp), self.timeout)
            except asyncssh.SFTPNoSuchFile:
                pass
            except _CONNECTION_ERRORS + (asyncio.TimeoutError, ValueError, RPCError):
                continue
            except (asyncssh.Error, OSError):
                return
            self._debris.discard(temp)
            return

    async def _realpath(self, sftp: SFTPClient, drive: str, path: str) -> str:
        """``realpath`` of the longest existing prefix (symlinks resolved), plus the rest."""
        rest: list[str] = []
        current = path
        for _ in range(256):
            try:
                resolved = await self._call(drive, "open", sftp.realpath(current))
            except RPCError as exc:
                if exc.code != "files.not_found" or current in ("/", ""):
                    raise
                current, name = posixpath.split(current)
                rest.insert(0, name)
                continue
            return posixpath.join(resolved, *rest) if rest else resolved
        raise P.invalid_name(drive, "too deep")

    async def _resolve(
        self, sftp: SFTPClient, drive: str, *, follow: bool = True
    ) -> tuple[P.Parsed, str]:
        parsed = self.policy.parse(drive)
        if parsed.root is None:
            raise P.invalid_name(drive, "the top level is not a folder on the cluster")
        if parsed.root.name in self._unresolved:
            await self._resolve_roots(sftp)
        joined = posixpath.join(parsed.root.real, *parsed.parts)
        if follow or parsed.is_root:
            real = await self._realpath(sftp, parsed.drive, joined)
        else:
            parent = await self._realpath(sftp, parsed.drive, posixpath.dirname(joined))
            self.policy.check_inside(parsed.drive, parent)
            real = posixpath.join(parent, parsed.name)
        self.policy.check_inside(parsed.drive, real)
        return parsed, real

    def _writable(self, attrs: SFTPAttrs) -> bool:
        mode = attrs.permissions or 0
        if self._uid == 0:
            return True
        if attrs.uid is not None and attrs.uid == self._uid:
            return bool(mode & 0o200)
        if attrs.gid is not None and attrs.gid == self._gid:
            return bool(mode & 0o020)
        return bool(mode & 0o002)

    def _entry(
        self, name: str, drive: str, real: str, attrs: SFTPAttrs, is_link: bool = False
    ) -> FileEntry:
        is_dir = stat_mod.S_ISDIR(attrs.permissions or 0) or (
            attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY
        )
        mtime = float(attrs.mtime or 0)
        if attrs.mtime_ns is not None:
            mtime = attrs.mtime_ns / 1e9
        return FileEntry(
            name=name,
            path=drive,
            type="directory" if is_dir else "file",
            size=None if is_dir else attrs.size,
            mtime=mtime,
            writable=self._writable(attrs),
            real_path=real,
            is_link=is_link,
        )

    async def _stat_or_none(self, sftp: SFTPClient, drive: str, real: str) -> SFTPAttrs | None:
        try:
            return await self._call(drive, "read", sftp.stat(real))
        except RPCError as exc:
            if exc.code == "files.not_found":
                return None
            raise

    # --- reading --------------------------------------------------------------------

    async def real_path(self, path: str, *, must_exist: bool = False) -> str:
        sftp = await self._sftp()
        parsed, real = await self._resolve(sftp, path)
        if must_exist and await self._stat_or_none(sftp, parsed.drive, real) is None:
            raise P.not_found(path)
        return real

    async def drive_path(self, real: str) -> str | None:
        if not real.startswith("/") or "\0" in real:
            return None
        sftp = await self._sftp()
        try:
            resolved = await self._realpath(sftp, real, real)
        except RPCError as exc:
            if exc.code == "files.unavailable":
                raise
            resolved = posixpath.normpath(real)
        return self.policy.to_drive(resolved)

    async def stat(self, path: str) -> FileEntry:
        parsed = self.policy.parse(path)
        if parsed.root is None:
            return FileEntry(
                name="", path="", type="directory", size=None, mtime=0.0, writable=False
            )
        sftp = await self._sftp()
        parsed, real = await self._resolve(sftp, path)
        attrs = await self._call(parsed.drive, "read", sftp.stat(real))
        is_link = False
        if parsed.parts:
            joined = posixpath.join(parsed.root.real, *parsed.parts)  # type: ignore[union-attr]
            if joined != real:
                lattrs = await self._call(parsed.drive, "read", sftp.lstat(joined))
                is_link = stat_mod.S_ISLNK(lattrs.permissions or 0)
        return self._entry(parsed.name, parsed.drive, real, attrs, is_link)

    async def list_dir(self, path: str) -> list[FileEntry]:
        sftp = await self._sftp()
        parsed = self.policy.parse(path)
        if parsed.root is None:
            return [await self._root_entry(sftp, root) for root in self.roots]
        parsed, real = await self._resolve(sftp, path)
        try:
            names = await self._call(parsed.drive, "list", sftp.readdir(real))
        except RPCError as exc:
            if exc.code in ("files.io_error", "files.not_found"):  # OpenSSH's ENOTDIR
                attrs = await self._stat_or_none(sftp, parsed.drive, real)
                if attrs is not None and not stat_mod.S_ISDIR(attrs.permissions or 0):
                    raise P.not_directory(parsed.drive) from None
            raise
        entries: list[FileEntry] = []
        links: list[tuple[int, str]] = []
        for item in names:
            name = item.filename if isinstance(item.filename, str) else item.filename.decode()
            if name in (".", ".."):
                continue
            item_real = posixpath.join(real, name)
            is_link = stat_mod.S_ISLNK(item.attrs.permissions or 0)
            entries.append(
                self._entry(name, P.join_drive(parsed.drive, name), item_real, item.attrs, is_link)
            )
            if is_link:
                links.append((len(entries) - 1, item_real))
        if links:
            targets = await asyncio.gather(
                *(self._stat_or_none(sftp, parsed.drive, p) for _, p in links),
                return_exceptions=True,
            )
            for (index, _), target in zip(links, targets, strict=True):
                if isinstance(target, SFTPAttrs):
                    old = entries[index]
                    entries[index] = self._entry(old.name, old.path, old.real_path, target, True)
        return sorted(entries, key=lambda e: e.name)

    async def _root_entry(self, sftp: SFTPClient, root: Any) -> FileEntry:
        attrs = await self._stat_or_none(sftp, root.name, root.real)
        if attrs is None:
            return FileEntry(
                name=root.name,
                path=root.name,
                type="directory",
                size=None,
                mtime=0.0,
                writable=False,
                real_path=root.real,
            )
        entry = self._entry(root.name, root.name, root.real, attrs)
        entry.type, entry.size = "directory", None
        return entry

    async def _readable(self, sftp: SFTPClient, path: str, check_roots: bool) -> str:
        """The real path to read (see :meth:`RemoteFiles.read_chunks`)."""
        if check_roots or not path.startswith("/"):
            _, real = await self._resolve(sftp, path)
            return real
        if "\0" in path:
            raise P.invalid_name(path, "it contains a NUL character")
        return path

    async def file_size(self, path: str, *, check_roots: bool = True) -> int | None:
        sftp = await self._sftp()
        real = await self._readable(sftp, path, check_roots)
        return (await self._call(path, "read", sftp.stat(real))).size

    async def read_chunks(
        self, path: str, *, offset: int = 0, length: int | None = None, check_roots: bool = True
    ) -> AsyncGenerator[bytes, None]:
        if offset < 0 or (length is not None and length < 0):
            raise P.invalid_name(path, "negative offset or length")
        sftp = await self._sftp()
        real = await self._readable(sftp, path, check_roots)
        # before opening: a FIFO's open would hold the SFTP server (one request at a time)
        _check_regular(await self._call(path, "read", sftp.stat(real)), path)
        f = await self._call(path, "read", sftp.open(real, "rb", block_size=0))
        try:
            attrs = await self._call(path, "read", f.stat())
            _check_regular(attrs, path)
            end = (attrs.size or 0) if length is None else offset + length
            if length is None:
                end = max(end, offset)
            async for data in self._pipelined_read(sftp, f, path, offset, end):
                yield data
            if length is None:  # the file may have grown (a job's output): read on to EOF
                pos = max(offset, attrs.size or 0)
                while True:
                    data = await self._read_exact(f, path, pos, CHUNK_SIZE)
                    if not data:
                        break
                    pos += len(data)
                    yield data
        finally:
            await self._close_quietly(f)

    async def _pipelined_read(
        self, sftp: SFTPClient, f: SFTPClientFile, drive: str, start: int, end: int
    ) -> AsyncIterator[bytes]:
        """Bytes ``start..end`` in order, with ``in_flight`` requests outstanding."""
        size = min(CHUNK_SIZE, sftp.limits.max_read_len or CHUNK_SIZE)
        queue: list[asyncio.Task[bytes]] = []
        next_offset = start
        try:
            while queue or next_offset < end:
                while next_offset < end and len(queue) < self.in_flight:
                    n = min(size, end - next_offset)
                    queue.append(asyncio.ensure_future(self._read_exact(f, drive, next_offset, n)))
                    next_offset += n
                data = await queue.pop(0)
                if data:
                    yield data
        finally:
            for task in queue:
                task.cancel()
            if queue:
                await asyncio.gather(*queue, return_exceptions=True)

    async def _read_exact(self, f: SFTPClientFile, drive: str, offset: int, n: int) -> bytes:
        """``n`` bytes at ``offset`` (fewer only at EOF), re-asking after short reads."""
        parts: list[bytes] = []
        got = 0
        while got < n:
            # the file is opened in binary mode: read() gives bytes (asyncssh types it AnyStr)
            data: bytes = await self._call(drive, "read", f.read(n - got, offset + got))
            if not data:
                break
            parts.append(data)
            got += len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def _close_quietly(self, f: SFTPClientFile) -> None:
        try:
            await asyncio.wait_for(f.close(), self.timeout)
        except (asyncssh.Error, OSError, EOFError, asyncio.TimeoutError, ValueError):
            pass

    # --- writing --------------------------------------------------------------------

    async def _write_target(
        self, sftp: SFTPClient, drive: str
    ) -> tuple[P.Parsed, str, SFTPAttrs | None]:
        self.policy.parse_target(drive)
        parsed, real = await self._resolve(sftp, drive)
        if parsed.is_root:
            raise P.is_directory(drive)
        attrs = await self._stat_or_none(sftp, parsed.drive, real)
        if attrs is not None and stat_mod.S_ISDIR(attrs.permissions or 0):
            raise P.is_directory(parsed.drive)
        if attrs is not None:
            _check_regular(attrs, parsed.drive)  # a FIFO is not replaced by a file
        if attrs is not None and not self._writable(attrs):
            # the rename would replace it, but a read-only file is not ours to replace
            raise P.permission(parsed.drive, "write")
        if attrs is None:
            parent = await self._stat_or_none(sftp, parsed.drive, posixpath.dirname(real))
            if parent is None:
                raise P.not_found(parsed.parent_drive(), "folder")
            if not stat_mod.S_ISDIR(parent.permissions or 0):
                raise P.not_directory(parsed.parent_drive())
        return parsed, real, attrs

    async def _pipelined_write(
        self,
        sftp: SFTPClient,
        f: SFTPClientFile,
        drive: str,
        chunks: AsyncIterator[bytes],
        start: int = 0,
    ) -> int:
        """Write the chunks from ``start``, coalesced into the server's request size,
        with ``in_flight`` requests outstanding; returns the bytes written. (The file is
        opened with ``block_size=0``: one request per ``write``, none of asyncssh's own
        parallel tasks, which a cancellation would leave behind.)"""
        block = min(CHUNK_SIZE, sftp.limits.max_write_len or CHUNK_SIZE)
        pending: set[asyncio.Task[int]] = set()
        buffer = bytearray()
        offset = start

        async def drain(limit: int) -> None:
            nonlocal pending
            while len(pending) > limit:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                errors = [task.exception() for task in done]  # every one retrieved
                for error in errors:
                    if error is not None:
                        raise error

        def send(data: bytes) -> None:
            nonlocal offset
            pending.add(asyncio.ensure_future(self._call(drive, "write", f.write(data, offset))))
            offset += len(data)

        try:
            async for chunk in chunks:
                buffer += chunk
                while len(buffer) >= block:
                    send(bytes(buffer[:block]))
                    del buffer[:block]
                    await drain(self.in_flight - 1)
            if buffer:
                send(bytes(buffer))
            await drain(0)
        except BaseException:
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
            raise
        return offset - start

    async def _no_space_check(
        self, sftp: SFTPClient, drive: str, real: str, exc: RPCError
    ) -> RPCError:
        """OpenSSH reports a full disk as a bare "Failure": ask the file system."""
        if exc.code != "files.io_error":
            return exc
        try:
            vfs = await asyncio.wait_for(sftp.statvfs(posixpath.dirname(real)), self.timeout)
        except (asyncssh.Error, OSError, asyncio.TimeoutError):
            return exc
        if vfs.bavail * vfs.frsize < 1024 * 1024 or (vfs.favail == 0 and vfs.files):
            return P.no_space(drive)
        return exc

    async def _fsync(self, f: SFTPClientFile, drive: str) -> None:
        try:
            await asyncio.wait_for(f.fsync(), self.timeout)
        except asyncssh.SFTPOpUnsupported:
            pass
        except (asyncssh.Error, OSError, EOFError, asyncio.TimeoutError) as exc:
            raise self._map(exc, drive, "write") from None

    async def _open_private(self, sftp: SFTPClient, drive: str, temp: str) -> SFTPClientFile:
        """Create a temporary file 0600: a file in flight is the user's only (as LocalFiles'
        are); it gets its final mode just before it is renamed into place."""
        return await self._call(drive, "write", sftp.open(temp, "xb", attrs=_PRIVATE, block_size=0))

    async def _new_file_mode(self, sftp: SFTPClient, drive: str, temp: str) -> int:
        """The mode a file the user creates on this server gets: 0666 less the SFTP
        server's umask, which SFTP does not tell. Learnt once from an empty file created
        beside ``temp`` without a mode (it holds nothing), then removed."""
        if self._new_mode is None:
            probe = f"{temp}-mode"
            f = await self._call(drive, "write", sftp.open(probe, "xb", block_size=0))
            try:
                attrs = await self._call(drive, "write", f.stat())
            finally:
                await self._close_quietly(f)
                await self._remove_temp(sftp, probe)
            self._new_mode = stat_mod.S_IMODE(attrs.permissions or 0o644)
        return self._new_mode

    async def _final_mode(
        self, sftp: SFTPClient, drive: str, temp: str, replaced: SFTPAttrs | None
    ) -> int:
        """The replaced file's permission bits, or a new file's (:meth:`_new_file_mode`)."""
        if replaced is not None and replaced.permissions is not None:
            return stat_mod.S_IMODE(replaced.permissions)
        return await self._new_file_mode(sftp, drive, temp)

    async def _commit(
        self, sftp: SFTPClient, drive: str, temp: str, target: str, create_only: bool
    ) -> None:
        """Rename into place: replacing atomically (``posix-rename@openssh.com``), or,
        with ``create_only``, the plain SFTP rename that refuses an existing name."""
        if create_only:
            try:
                await self._call(drive, "write", sftp.rename(temp, target))
            except RPCError as exc:
                if exc.code == "files.io_error" and await self._stat_or_none(sftp, drive, target):
                    raise P.exists(drive) from None
                raise
        else:
            await self._call(drive, "write", sftp.posix_rename(temp, target))

    async def write_chunks(
        self,
        path: str,
        chunks: AsyncIterator[bytes],
        *,
        expected_mtime: float | None = None,
        create_only: bool = False,
    ) -> FileEntry:
        sftp = await self._sftp()
        parsed, target, attrs = await self._write_target(sftp, path)
        drive = parsed.drive
        if create_only and attrs is not None:
            raise P.exists(drive)
        P.check_expected_mtime(drive, self._mtime(attrs), expected_mtime)
        temp = posixpath.join(posixpath.dirname(target), P.temp_name(posixpath.basename(target)))
        mode = await self._final_mode(sftp, drive, temp, attrs)
        f = await self._open_private(sftp, drive, temp)
        try:
            try:
                await self._pipelined_write(sftp, f, drive, chunks)
                await self._call(drive, "write", f.chmod(mode))
                await self._fsync(f, drive)
            except RPCError as exc:
                raise await self._no_space_check(sftp, drive, temp, exc) from None
            finally:
                await self._close_quietly(f)
            now = await self._stat_or_none(sftp, drive, target)
            if create_only and now is not None:
                raise P.exists(drive)
            P.check_expected_mtime(drive, self._mtime(now), expected_mtime)
            await self._commit(sftp, drive, temp, target, create_only)
        except BaseException:
            await self._remove_temp(sftp, temp)
            raise
        return await self.stat(drive)

    @staticmethod
    def _mtime(attrs: SFTPAttrs | None) -> float | None:
        if attrs is None:
            return None
        if attrs.mtime_ns is not None:
            return attrs.mtime_ns / 1e9
        return float(attrs.mtime or 0)

    # --- chunked uploads --------------------------------------------------------------

    async def _sweep(self, sftp: SFTPClient) -> None:
        now = time.monotonic()
        for upload_id, upload in list(self._uploads.items()):
            if now - upload.touched > self.upload_ttl:
                self._uploads.pop(upload_id, None)
                await self._remove_temp(sftp, upload.temp)

    def _upload(self, upload_id: str) -> P.Upload:
        return P.live_upload(self._uploads, upload_id)

    async def begin_upload(self, path: str) -> str:
        sftp = await self._sftp()
        await self._sweep(sftp)
        parsed, target, attrs = await self._write_target(sftp, path)
        temp = posixpath.join(posixpath.dirname(target), P.temp_name(posixpath.basename(target)))
        mode = await self._final_mode(sftp, parsed.drive, temp, attrs)
        f = await self._open_private(sftp, parsed.drive, temp)
        await self._close_quietly(f)
        upload_id = secrets.token_urlsafe(16)
        self._uploads[upload_id] = P.Upload(parsed.drive, target, temp, mode=mode)
        return upload_id

    async def append_upload(self, upload_id: str, data: bytes) -> None:
        sftp = await self._sftp()
        await self._sweep(sftp)
        upload = self._upload(upload_id)
        f = await self._call(
            upload.drive,
            "write",
            sftp.open(upload.temp, asyncssh.FXF_WRITE, encoding=None, block_size=0),
        )
        try:

            async def one() -> AsyncIterator[bytes]:
                yield data

            written = await self._pipelined_write(sftp, f, upload.drive, one(), upload.offset)
        except RPCError as exc:
            raise await self._no_space_check(sftp, upload.drive, upload.temp, exc) from None
        finally:
            await self._close_quietly(f)
        upload.offset += written

    async def finish_upload(self, upload_id: str) -> FileEntry:
        sftp = await self._sftp()
        upload = self._upload(upload_id)
        self._uploads.pop(upload_id, None)
        try:
            if upload.mode is not None:
                await self._call(upload.drive, "write", sftp.chmod(upload.temp, upload.mode))
            f = await self._call(
                upload.drive, "write", sftp.open(upload.temp, asyncssh.FXF_WRITE, encoding=None)
            )
            try:
                await self._fsync(f, upload.drive)
            finally:
                await self._close_quietly(f)
            await self._commit(sftp, upload.drive, upload.temp, upload.target, False)
        except BaseException:
            await self._remove_temp(sftp, upload.temp)
            raise
        return await self.stat(upload.drive)

    async def abort_upload(self, upload_id: str) -> None:
        upload = self._uploads.pop(upload_id, None)
        if upload is not None:
            sftp = await self._sftp()
            await self._remove_temp(sftp, upload.temp)

    # --- folders and names ----------------------------------------------------------

    async def mkdir(self, path: str) -> FileEntry:
        self.policy.parse_new_folder(path)
        sftp = await self._sftp()
        parsed, real = await self._resolve(sftp, path, follow=False)
        try:
            await self._call(parsed.drive, "create", sftp.mkdir(real))
        except RPCError as exc:
            if exc.code == "files.io_error":  # OpenSSH: a bare "Failure" for EEXIST/ENOTDIR
                if await self._lstat_or_none(sftp, parsed.drive, real) is not None:
                    raise P.exists(parsed.drive) from None
                parent = await self._stat_or_none(sftp, parsed.drive, posixpath.dirname(real))
                if parent is not None and not stat_mod.S_ISDIR(parent.permissions or 0):
                    raise P.not_directory(parsed.parent_drive()) from None
            raise
        return await self.stat(parsed.drive)

    async def _lstat_or_none(self, sftp: SFTPClient, drive: str, real: str) -> SFTPAttrs | None:
        try:
            return await self._call(drive, "read", sftp.lstat(real))
        except RPCError as exc:
            if exc.code == "files.not_found":
                return None
            raise

    async def _movable(self, sftp: SFTPClient, path: str, action: str) -> tuple[P.Parsed, str]:
        self.policy.parse_movable(path, action)
        return await self._resolve(sftp, path, follow=False)

    async def rename(self, path: str, new_path: str) -> FileEntry:
        sftp = await self._sftp()
        src_parsed, src = await self._movable(sftp, path, "rename")
        dst_parsed, dst = await self._movable(sftp, new_path, "replace")
        if src == dst:
            return await self.stat(dst_parsed.drive)
        if P.is_within(dst, src):  # OpenSSH's answer would be a bare "failure"
            raise P.into_itself(src_parsed.drive, dst_parsed.drive)
        if await self._lstat_or_none(sftp, src_parsed.drive, src) is None:
            raise P.not_found(src_parsed.drive)
        if await self._lstat_or_none(sftp, dst_parsed.drive, dst) is not None:
            raise P.exists(dst_parsed.drive)
        # Plain SFTP rename refuses to replace (OpenSSH: link + unlink, or a checked rename).
        try:
            await self._call(dst_parsed.drive, "move to", sftp.rename(src, dst))
        except RPCError as exc:
            if exc.code == "files.io_error" and await self._lstat_or_none(
                sftp, dst_parsed.drive, dst
            ):
                raise P.exists(dst_parsed.drive) from None
            raise
        return await self.stat(dst_parsed.drive)

    async def copy(self, path: str, new_path: str) -> FileEntry:
        entry = await self.stat(path)
        if entry.type == "directory":
            raise RPCError(
                f"'{path}' is a folder; only files can be copied.",
                code="files.is_directory",
                status=400,
                details={"path": path},
            )
        sftp = await self._sftp()
        # before any open (copy-data opens the source itself): a FIFO's open would hold the server
        _check_regular(await self._call(path, "read", sftp.stat(entry.real_path)), path)
        if sftp.supports_remote_copy:
            return await self._remote_copy(sftp, path, entry.real_path, new_path, entry.size or 0)
        return await self.write_chunks(new_path, self.read_chunks(path), create_only=True)

    async def _remote_copy(
        self, sftp: SFTPClient, path: str, src: str, new_path: str, size: int
    ) -> FileEntry:
        """Copy on the server (``copy-data``): nothing crosses the network."""
        parsed, target, attrs = await self._write_target(sftp, new_path)
        if attrs is not None:
            raise P.exists(parsed.drive)
        temp = posixpath.join(posixpath.dirname(target), P.temp_name(posixpath.basename(target)))
        mode = await self._new_file_mode(sftp, parsed.drive, temp)
        fin = await self._call(path, "read", sftp.open(src, "rb", block_size=0))
        try:
            fout = await self._open_private(sftp, parsed.drive, temp)
            try:
                try:
                    # copy-data is one request however large the file: allow 20 MB/s at least
                    await asyncio.wait_for(sftp.remote_copy(fin, fout), self.timeout + size / 20e6)
                except (asyncssh.Error, OSError, EOFError, asyncio.TimeoutError) as exc:
                    mapped = self._map(exc, parsed.drive, "copy")
                    raise await self._no_space_check(sftp, parsed.drive, temp, mapped) from None
                else:
                    await self._call(parsed.drive, "write", fout.chmod(mode))
                finally:
                    await self._close_quietly(fout)
                await self._commit(sftp, parsed.drive, temp, target, True)
            except BaseException:
                await self._remove_temp(sftp, temp)
                raise
        finally:
            await self._close_quietly(fin)
        return await self.stat(parsed.drive)

    async def delete(self, path: str) -> None:
        sftp = await self._sftp()
        parsed, real = await self._movable(sftp, path, "delete")
        attrs = await self._lstat_or_none(sftp, parsed.drive, real)
        if attrs is None:
            raise P.not_found(parsed.drive)
        if stat_mod.S_ISDIR(attrs.permissions or 0):
            await self._rmtree(sftp, parsed.drive, real)
        else:
            await self._call(parsed.drive, "delete", sftp.remove(real))

    async def _rmtree(self, sftp: SFTPClient, drive: str, real: str) -> None:
        names = await self._call(drive, "delete", sftp.readdir(real))
        for item in names:
            name = item.filename if isinstance(item.filename, str) else item.filename.decode()
            if name in (".", ".."):
                continue
            child = posixpath.join(real, name)
            child_drive = P.join_drive(drive, name)
            if stat_mod.S_ISDIR(item.attrs.permissions or 0):
                await self._rmtree(sftp, child_drive, child)
            else:
                await self._call(child_drive, "delete", sftp.remove(child))
        await self._call(drive, "delete", sftp.rmdir(real))

    async def close(self) -> None:
        if not self._uploads and not self._debris:
            return
        temps = [u.temp for u in self._uploads.values()]
        self._uploads.clear()
        try:
            sftp = await self._sftp()
        except RPCError:
            return
        for temp in temps:
            await self._remove_temp(sftp, temp)


def _check_regular(attrs: SFTPAttrs, drive: str) -> None:
    """``files.is_directory`` / ``files.not_regular`` unless ``attrs`` are a regular file's
    (a server that sends no file type is taken at its word)."""
    mode = attrs.permissions or 0
    if stat_mod.S_ISDIR(mode) or attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY:
        raise P.is_directory(drive)
    if stat_mod.S_IFMT(mode) and not stat_mod.S_ISREG(mode):
        raise P.not_regular(drive, mode)


def from_context(ctx: FilesContext) -> SFTPFiles:
    """The registry's factory (:mod:`jupyter_rpc.files.registry`): the roots are folders of
    the cluster, reached through its SFTP session."""
    if ctx.open_sftp is None:
        raise ValueError("sftp files need an SSH connection (a 'host')")
    return SFTPFiles(ctx.open_sftp, user=ctx.user, roots=ctx.roots, label=ctx.cluster)
