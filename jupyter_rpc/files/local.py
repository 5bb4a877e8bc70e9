"""Files in local folders (the ``local`` cluster, single-machine setups, tests).

Blocking file I/O runs in worker threads, one chunk at a time, so the event loop never
waits on the disk and no file is held in memory whole. Each ``LocalFiles`` has threads of
its own (at most ``threads`` at once) and bounds every operation (``timeout``): a slow
disk or a hung network mount makes this cluster's requests fail with ``files.timeout``,
never the event loop's shared threads that every other cluster needs, nor the server's
exit. FIFOs, devices and sockets are
listed but refused as files (``files.not_regular``): opening a FIFO waits for a writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import getpass
import os
import posixpath
import queue
import secrets
import shutil
import stat as stat_mod
import sys
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, TypeVar

from ..errors import RPCError
from . import paths as P
from .base import CHUNK_SIZE, FileEntry, RemoteFiles
from .registry import FilesContext

T = TypeVar("T")

_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


class LocalFiles(RemoteFiles):
    """Folders on this machine, exposed under their root names.

    ``roots`` maps names to folders (``{"home": "~", "tmp": "/tmp/$USER"}``); ``~``,
    ``$HOME`` and ``$USER`` are those of the server's user. Abandoned chunked uploads are
    removed after ``upload_ttl`` seconds (checked whenever an upload call arrives, and at
    :meth:`close`). File I/O runs in ``threads`` threads of its own, each operation (one
    chunk, one listing) bounded by ``timeout`` seconds (``files.timeout`` beyond).
    """

    kind = "local"

    def __init__(
        self,
        roots: dict[str, str],
        *,
        label: str = "this machine",
        upload_ttl: float = 600.0,
        timeout: float = 60.0,
        threads: int = 8,
    ) -> None:
        self.policy = P.RootsPolicy(roots)
        self.roots = self.policy.roots
        self.label = label
        self.upload_ttl = upload_ttl
        self.timeout = timeout
        #: Free thread slots; a thread stuck past ``timeout`` keeps its slot until it ends.
        self._slots = asyncio.Semaphore(max(1, threads))
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._workers = 0  # threads started (idle, working or stuck)
        self._busy = 0  # jobs queued or running
        self._uploads: dict[str, P.Upload] = {}
        home = os.path.expanduser("~")
        user = getpass.getuser()
        for root in self.roots:
            root.real = os.path.realpath(P.expand_root(root.path, home=home, user=user))

    # --- helpers --------------------------------------------------------------------

    async def _thread(
        self,
        func: Callable[..., T],
        *args: Any,
        discard: Callable[[T], object] | None = None,
        **kwargs: Any,
    ) -> T:
        """``func(*args, **kwargs)`` in a thread of this cluster's, within ``timeout``.

        ``discard`` is called (on the loop) with what ``func`` returns if the caller gave up
        on it first (timed out, cancelled): what it opened is closed, not leaked.

        At most ``threads`` operations at once, each in a daemon thread of this object's: a
        thread stuck in the kernel (a hung mount) cannot be stopped, but it holds only this
        cluster's slot and, unlike an executor's threads (joined at exit), it does not keep
        the server's process from ending.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        try:
            await asyncio.wait_for(self._slots.acquire(), self.timeout)
        except asyncio.TimeoutError:
            raise self._timeout() from None
        done: asyncio.Future[T] = loop.create_future()

        def settle(result: Any, error: BaseException | None) -> None:
            self._busy -= 1
            self._slots.release()
            if done.done():  # given up on: what the thread ended with is dropped
                if discard is not None and error is None:
                    with contextlib.suppress(OSError):
                        discard(result)
                return
            if error is None:
                done.set_result(result)
            else:
                done.set_exception(error)

        self._busy += 1
        if self._busy > self._workers:  # so every queued job has a thread free to take it
            self._workers += 1
            threading.Thread(
                target=_work, args=(self._jobs,), name="jrpc-local-files", daemon=True
            ).start()
        self._jobs.put((loop, functools.partial(func, *args, **kwargs), settle))
        # asyncio.wait, not wait_for: on Python 3.11 wait_for returns the answer and drops
        # a cancel that arrives in the same turn of the loop (a busy machine), and a cancel
        # taken just after ``settle`` left the answer with nobody to discard it.
        try:
            await asyncio.wait((done,), timeout=max(0.0, deadline - loop.time()))
        except asyncio.CancelledError:
            if done.done() and not done.cancelled() and done.exception() is None:
                if discard is not None:
                    with contextlib.suppress(OSError):
                        discard(done.result())
            raise
        finally:
            done.cancel()  # no-op once settled; else ``settle`` discards the late answer
        if not done.done() or done.cancelled():
            raise self._timeout()
        return done.result()

    def _timeout(self) -> RPCError:
        return RPCError(
            f"The files of {self.label} did not answer within {self.timeout:g} s.",
            code="files.timeout",
            status=504,
        )

    async def _io(self, drive: str, action: str, func: Callable[..., T], *args: Any) -> T:
        """``func(*args)`` in a thread; an ``OSError`` becomes the matching ``files.*``."""
        try:
            return await self._thread(func, *args)
        except OSError as exc:
            raise P.from_errno(exc.errno, drive, action, exc.strerror or str(exc)) from None

    async def _use(
        self, drive: str, action: str, fd: _ThreadFd, func: Callable[..., T], *args: Any
    ) -> T:
        """``func(fd.fd, *args)`` in a thread that owns ``fd`` while it runs (:class:`_ThreadFd`)."""
        return await self._io(drive, action, fd.run, func, *args)

    def _resolve(self, drive: str, *, follow: bool) -> tuple[P.Parsed, str]:
        """(parsed, real path). ``follow=False`` resolves only the parent, so the entry
        itself (a symlink, say) is what gets renamed or deleted."""
        parsed = self.policy.parse(drive)
        if parsed.root is None:
            raise P.invalid_name(drive, "the top level is not a folder on the cluster")
        joined = posixpath.join(parsed.root.real, *parsed.parts)
        if follow or parsed.is_root:
            real = os.path.realpath(joined)
        else:
            parent = os.path.realpath(posixpath.dirname(joined))
            self.policy.check_inside(parsed.drive, parent)
            real = posixpath.join(parent, parsed.name)
        self.policy.check_inside(parsed.drive, real)
        return parsed, real

    def _entry(self, name: str, drive: str, real: str, unresolved: str | None = None) -> FileEntry:
        lst = os.lstat(unresolved or real)
        is_link = stat_mod.S_ISLNK(lst.st_mode)
        try:
            st = os.stat(real) if is_link or unresolved else lst
        except OSError:  # a dangling symlink
            st = lst
        is_dir = stat_mod.S_ISDIR(st.st_mode)
        return FileEntry(
            name=name,
            path=drive,
            type="directory" if is_dir else "file",
            size=None if is_dir else st.st_size,
            mtime=st.st_mtime,
            writable=os.access(real, os.W_OK),
            real_path=real,
            is_link=is_link,
        )

    def _sweep(self) -> None:
        now = time.monotonic()
        for upload_id, upload in list(self._uploads.items()):
            if now - upload.touched > self.upload_ttl:
                self._uploads.pop(upload_id, None)
                _unlink_quietly(upload.temp)

    async def _write_target(self, drive: str) -> tuple[P.Parsed, str, os.stat_result | None]:
        self.policy.parse_target(drive)
        parsed, real = await self._thread(self._resolve, drive, follow=True)
        if parsed.is_root:
            raise P.is_directory(drive)
        try:
            st: os.stat_result | None = await self._thread(os.stat, real)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise P.from_errno(exc.errno, drive, "write") from None
        if st is not None and stat_mod.S_ISDIR(st.st_mode):
            raise P.is_directory(drive)
        if st is not None and not stat_mod.S_ISREG(st.st_mode):
            raise P.not_regular(parsed.drive, st.st_mode)  # not replaced by a file
        if st is not None and not await self._thread(os.access, real, os.W_OK):
            # the rename would replace it, but a read-only file is not ours to replace
            raise P.permission(parsed.drive, "write")
        if st is None:
            parent = posixpath.dirname(real)
            if not await self._thread(os.path.isdir, parent):
                if await self._thread(os.path.lexists, parent):
                    raise P.not_directory(parsed.parent_drive())
                raise P.not_found(parsed.parent_drive(), "folder")
        return parsed, real, st

    # --- reading --------------------------------------------------------------------

    async def real_path(self, path: str, *, must_exist: bool = False) -> str:
        _, real = await self._thread(self._resolve, path, follow=True)
        if must_exist and not await self._thread(os.path.exists, real):
            raise P.not_found(path)
        return real

    async def drive_path(self, real: str) -> str | None:
        if not real.startswith("/") or "\0" in real:
            return None
        return self.policy.to_drive(await self._thread(os.path.realpath, real))

    def _top(self) -> FileEntry:
        return FileEntry(name="", path="", type="directory", size=None, mtime=0.0, writable=False)

    def _root_entry(self, root: Any) -> FileEntry:
        try:
            entry = self._entry(root.name, root.name, root.real)
        except OSError:  # configured but missing: listed, opening it says why
            entry = FileEntry(
                name=root.name,
                path=root.name,
                type="directory",
                size=None,
                mtime=0.0,
                writable=False,
                real_path=root.real,
            )
        entry.type, entry.size = "directory", None
        return entry

    async def stat(self, path: str) -> FileEntry:
        parsed = self.policy.parse(path)
        if parsed.root is None:
            return self._top()
        parsed, real = await self._thread(self._resolve, path, follow=True)
        unresolved = posixpath.join(parsed.root.real, *parsed.parts)  # type: ignore[union-attr]
        return await self._io(
            parsed.drive, "read", self._entry, parsed.name, parsed.drive, real, unresolved
        )

    async def list_dir(self, path: str) -> list[FileEntry]:
        parsed = self.policy.parse(path)
        if parsed.root is None:
            return await self._thread(lambda: [self._root_entry(r) for r in self.roots])
        parsed, real = await self._thread(self._resolve, path, follow=True)

        def scan() -> list[FileEntry]:
            if not os.path.isdir(real):
                if os.path.lexists(real):
                    raise OSError(errno.ENOTDIR, "not a folder")
            out = []
            with os.scandir(real) as it:
                for item in it:
                    drive = P.join_drive(parsed.drive, item.name)
                    try:
                        out.append(self._entry(item.name, drive, item.path))
                    except FileNotFoundError:  # removed meanwhile
                        continue
            return sorted(out, key=lambda e: e.name)

        return await self._io(parsed.drive, "list", scan)

    async def _readable(self, path: str, check_roots: bool) -> str:
        """The real path to read (see :meth:`RemoteFiles.read_chunks`)."""
        if check_roots or not path.startswith("/"):
            _, real = await self._thread(self._resolve, path, follow=True)
            return real
        if "\0" in path:
            raise P.invalid_name(path, "it contains a NUL character")
        return path

    async def file_size(self, path: str, *, check_roots: bool = True) -> int | None:
        real = await self._readable(path, check_roots)
        return (await self._io(path, "read", os.stat, real)).st_size

    async def read_chunks(
        self, path: str, *, offset: int = 0, length: int | None = None, check_roots: bool = True
    ) -> AsyncGenerator[bytes, None]:
        real = await self._readable(path, check_roots)
        if offset < 0 or (length is not None and length < 0):
            raise P.invalid_name(path, "negative offset or length")
        fd = _ThreadFd()
        try:
            await self._use(path, "read", fd, fd.opened, _open_read, real, path)
            pos, left = offset, length
            while left is None or left > 0:
                size = CHUNK_SIZE if left is None else min(CHUNK_SIZE, left)
                data = await self._use(path, "read", fd, _pread, size, pos)
                if not data:
                    break
                pos += len(data)
                if left is not None:
                    left -= len(data)
                yield data
        finally:
            fd.give_up()  # closed now, or by the thread still using it as it returns

    # --- writing --------------------------------------------------------------------

    async def write_chunks(
        self,
        path: str,
        chunks: AsyncIterator[bytes],
        *,
        expected_mtime: float | None = None,
        create_only: bool = False,
    ) -> FileEntry:
        parsed, target, st = await self._write_target(path)
        if create_only and st is not None:
            raise P.exists(parsed.drive)
        P.check_expected_mtime(parsed.drive, st.st_mtime if st else None, expected_mtime)
        temp = posixpath.join(posixpath.dirname(target), P.temp_name(posixpath.basename(target)))
        # The fd belongs to the thread using it until that thread returns: given up on
        # (an error, a timeout, a cancel), it is closed and the temporary file removed now
        # if no thread holds it, else by that thread as it ends; never closed under a
        # write or an fsync, never twice.
        fd = _ThreadFd(temp)
        drive = parsed.drive
        try:
            await self._use(drive, "write", fd, fd.opened, os.open, temp, _WRITE_FLAGS, 0o600)
            async for chunk in chunks:
                await self._use(drive, "write", fd, _write_all, chunk)
            await self._use(drive, "write", fd, fd.finished, _finish_fd, st)
            now = await self._thread(_stat_or_none, target)
            if create_only and now is not None:
                raise P.exists(drive)
            P.check_expected_mtime(drive, now.st_mtime if now else None, expected_mtime)
            await self._use(drive, "write", fd, fd.finished, _commit_fd, temp, target, create_only)
        except BaseException:
            fd.give_up()
            raise
        return await self.stat(parsed.drive)

    async def begin_upload(self, path: str) -> str:
        self._sweep()
        parsed, target, st = await self._write_target(path)
        temp = posixpath.join(posixpath.dirname(target), P.temp_name(posixpath.basename(target)))

        def remove(error: OSError | None) -> None:  # made after this gave up
            if error is None:
                _unlink_quietly(temp)

        made = await self._thread(_create, temp, discard=remove)
        if made is not None:
            raise P.from_errno(made.errno, parsed.drive, "write", made.strerror or str(made))
        upload_id = secrets.token_urlsafe(16)
        mode = stat_mod.S_IMODE(st.st_mode) if st else None
        self._uploads[upload_id] = P.Upload(parsed.drive, target, temp, mode=mode)
        return upload_id

    def _upload(self, upload_id: str) -> P.Upload:
        return P.live_upload(self._uploads, upload_id)

    async def append_upload(self, upload_id: str, data: bytes) -> None:
        self._sweep()
        upload = self._upload(upload_id)
        await self._io(upload.drive, "write", _pwrite_file, upload.temp, data, upload.offset)
        upload.offset += len(data)

    async def finish_upload(self, upload_id: str) -> FileEntry:
        upload = self._upload(upload_id)
        self._uploads.pop(upload_id, None)
        try:
            await self._io(upload.drive, "write", _finish_path, upload.temp, upload.mode)
            await self._io(upload.drive, "write", _commit, upload.temp, upload.target, False)
        except BaseException:
            _unlink_quietly(upload.temp)
            raise
        return await self.stat(upload.drive)

    async def abort_upload(self, upload_id: str) -> None:
        upload = self._uploads.pop(upload_id, None)
        if upload is not None:
            await self._thread(_unlink_quietly, upload.temp)

    # --- folders and names ----------------------------------------------------------

    async def mkdir(self, path: str) -> FileEntry:
        parsed = self.policy.parse_new_folder(path)
        _, real = await self._thread(self._resolve, path, follow=False)
        await self._io(parsed.drive, "create", os.mkdir, real)
        return await self.stat(parsed.drive)

    def _movable(self, path: str, action: str) -> tuple[P.Parsed, str]:
        self.policy.parse_movable(path, action)
        return self._resolve(path, follow=False)

    async def rename(self, path: str, new_path: str) -> FileEntry:
        src_parsed, src = await self._thread(self._movable, path, "rename")
        dst_parsed, dst = await self._thread(self._movable, new_path, "replace")
        if src == dst:
            return await self.stat(dst_parsed.drive)
        if P.is_within(dst, src):  # the system's EINVAL, said in words
            raise P.into_itself(src_parsed.drive, dst_parsed.drive)
        if not await self._thread(os.path.lexists, src):
            raise P.not_found(src_parsed.drive)
        await self._io(dst_parsed.drive, "move to", _move_no_replace, src, dst)
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
        return await self.write_chunks(new_path, self.read_chunks(path), create_only=True)

    async def delete(self, path: str) -> None:
        parsed, real = await self._thread(self._movable, path, "delete")
        await self._io(parsed.drive, "delete", _delete, real)

    async def close(self) -> None:
        for upload in self._uploads.values():
            _unlink_quietly(upload.temp)
        self._uploads.clear()
        # Idle threads end now, working ones when done, stuck ones are daemons; should this
        # be used again, new threads serve a new queue.
        for _ in range(self._workers):
            self._jobs.put(None)
        self._jobs, self._workers = queue.SimpleQueue(), 0


# --- blocking helpers (run in threads) ------------------------------------------------


class _ThreadFd:
    """A file descriptor used from worker threads, owned by the thread using it.

    :meth:`run` (in a worker thread) calls ``func(fd, *args)``; :meth:`give_up` (on the
    loop: the operation failed, timed out or was cancelled) closes the fd and removes
    ``temp`` at once if no thread is using it, else the last thread using it does as it
    returns. So a cancelled write never has its fd closed under it (the number reused by
    another open would take the rest of its writes), nor closed twice, and the temporary
    file goes on every path. A thread that starts after the give-up does nothing.
    """

    def __init__(self, temp: str | None = None) -> None:
        self.fd = -1
        self.temp = temp
        self._lock = threading.Lock()
        self._users = 0
        self._given_up = False

    def run(self, func: Callable[..., T], *args: Any) -> T:
        with self._lock:
            if self._given_up:
                raise OSError(errno.ECANCELED, "the operation was given up")
            self._users += 1
        try:
            return func(self.fd, *args)
        finally:
            with self._lock:
                self._users -= 1
                last = not self._users and self._released_by_user()
            if last:
                self._release()

    def opened(self, _fd: int, opener: Callable[..., int], *args: Any) -> None:
        """Open (with :meth:`run`): the fd is kept here, so a give-up closes it."""
        self.fd = opener(*args)

    def finished(self, fd: int, func: Callable[..., None], *args: Any) -> None:
        """``func(fd, *args)`` that closes ``fd`` whatever happens (with :meth:`run`)."""
        self.fd = -1
        func(fd, *args)

    def _released_by_user(self) -> bool:
        return self._given_up  # (a method: read after run's check, which mypy narrows)

    def give_up(self) -> None:
        with self._lock:
            self._given_up = True
            if self._users:
                return  # the thread using it releases it as it returns
        self._release()

    def _release(self) -> None:
        with self._lock:
            fd, self.fd = self.fd, -1
            temp, self.temp = self.temp, None
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)
        if temp is not None:
            _unlink_quietly(temp)


def _pread(fd: int, size: int, offset: int) -> bytes:
    return os.pread(fd, size, offset)


def _create(path: str) -> OSError | None:
    """Create the empty file ``path`` (``O_EXCL``); the error, if any, returned (so a
    give-up's ``discard`` gets only files this made)."""
    try:
        os.close(os.open(path, _WRITE_FLAGS, 0o600))
    except OSError as exc:
        return exc
    return None


def _commit_fd(_fd: int, temp: str, target: str, create_only: bool) -> None:
    """:func:`_commit` with :meth:`_ThreadFd.finished` (the fd is closed by then)."""
    _commit(temp, target, create_only)


def _work(jobs: queue.SimpleQueue[Any]) -> None:
    """A worker thread of :meth:`LocalFiles._thread`: run jobs until a ``None``."""
    while (job := jobs.get()) is not None:
        loop, call, settle = job
        result, error = None, None
        try:
            result = call()
        except BaseException as exc:  # handed to the awaiting task
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
            loop.call_soon_threadsafe(settle, result, error)
        del job, call, result, error


def _open_read(real: str, drive: str) -> int:
    """A regular file open for reading. A FIFO, device or socket is refused before it is
    opened (opening a FIFO waits for a writer; a device may never end), and checked again
    on the open file (``O_NONBLOCK``: if it was swapped for a FIFO meanwhile, the open
    does not wait)."""
    _check_regular(os.stat(real).st_mode, drive)
    fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        _check_regular(os.fstat(fd).st_mode, drive)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_regular(mode: int, drive: str) -> None:
    if stat_mod.S_ISDIR(mode):
        raise OSError(errno.EISDIR, "is a folder")
    if not stat_mod.S_ISREG(mode):
        raise P.not_regular(drive, mode)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _finish_fd(fd: int, replaces: os.stat_result | None) -> None:
    """fsync, give the file the replaced file's permission bits (a new file: what the
    umask makes of 0666, as for any file the user creates), close. The temporary file was
    0600 while in flight: it is the user's file only once it is complete."""
    try:
        os.fchmod(fd, stat_mod.S_IMODE(replaces.st_mode) if replaces else _new_file_mode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _finish_path(path: str, mode: int | None) -> None:
    fd = os.open(path, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
    _finish_fd(fd, None)
    if mode is not None:
        os.chmod(path, mode)


def _new_file_mode() -> int:
    """0666 less the process's umask (read from /proc, where there is one: setting it to
    read it would race with other threads creating files)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o077)
    os.umask(umask)
    return 0o666 & ~umask


def _pwrite_file(path: str, data: bytes, offset: int) -> None:
    fd = os.open(path, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        view = memoryview(data)
        while view:
            n = os.pwrite(fd, view, offset)
            view, offset = view[n:], offset + n
    finally:
        os.close(fd)


def _stat_or_none(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _commit(temp: str, target: str, create_only: bool) -> None:
    """Rename the finished temporary file into place (atomically)."""
    if create_only:
        _move_no_replace(temp, target)
    else:
        os.replace(temp, target)


def _move_no_replace(src: str, dst: str) -> None:
    """Rename without replacing: ``link`` + ``unlink`` refuses an existing name
    atomically; folders (no hard links) are checked first; across file systems, copy."""
    if not os.path.isdir(src) or os.path.islink(src):
        try:
            os.link(src, dst, follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                raise
        else:
            os.unlink(src)
            return
    if os.path.lexists(dst):
        raise OSError(errno.EEXIST, "exists", dst)
    try:
        os.rename(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.move(src, dst)


def _delete(real: str) -> None:
    st = os.lstat(real)
    if stat_mod.S_ISDIR(st.st_mode):
        errors: list[BaseException] = []
        if sys.version_info >= (3, 12):
            shutil.rmtree(real, onexc=lambda _f, _p, exc: errors.append(exc))
        else:
            shutil.rmtree(real, onerror=lambda _f, _p, info: errors.append(info[1]))
        if errors:
            raise errors[0]
    else:
        os.unlink(real)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def from_context(ctx: FilesContext) -> LocalFiles:
    """The registry's factory (:mod:`jupyter_rpc.files.registry`): the roots are folders of
    the Jupyter server's machine."""
    return LocalFiles(ctx.roots)
