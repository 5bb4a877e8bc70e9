"""The remote-files interface.

Paths in this interface are *drive paths*: ``""`` is the top level, whose entries are
the cluster's allowed roots by name (``"home"``, ``"scratch"``); ``"home/run1/out.txt"``
is a file under the root named ``home``. Implementations map drive paths to real
(absolute) paths with :meth:`RemoteFiles.real_path`, which refuses ``..``, absolute
paths and symlinks that lead outside the roots (``files.outside_roots``).

Errors are :class:`~jupyter_rpc.errors.RPCError` subclasses with ``files.*`` codes:
``files.not_found`` (404), ``files.exists`` (409), ``files.conflict`` (409: changed since
it was read), ``files.permission`` (403), ``files.outside_roots`` (403),
``files.is_directory`` / ``files.not_directory`` (400), ``files.no_space`` (507),
``files.invalid_name`` (400; also a folder moved into itself), ``files.not_regular``
(400: a FIFO, device or socket, which are listed but never opened or overwritten),
``files.too_large`` (413), ``files.unavailable`` (503);
also ``files.timeout`` (504: the server did not answer in time), ``files.upload_not_found``
(404: a chunked upload unknown or expired) and ``files.io_error`` (500: any other failure,
with the system's reason).

Creating a new name at the top level (``"x"`` where ``x`` is not a root) is refused with
``files.permission``; roots themselves cannot be renamed or deleted (``files.permission``).
Writes never replace a file the user may not write, although the directory would allow the
rename.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import asdict, dataclass
from typing import Any, Literal

EntryType = Literal["file", "directory"]

#: Read and write in pieces of this size; nothing holds a whole file in memory.
CHUNK_SIZE = 256 * 1024


@dataclass
class Root:
    """One allowed root: a name shown at the top level and the real folder."""

    name: str
    path: str  # as configured: "~", "~/work", "/scratch/$USER"
    real: str = ""  # absolute, resolved on first use


@dataclass
class FileEntry:
    """One file or folder."""

    name: str
    path: str  # drive path
    type: EntryType
    size: int | None
    mtime: float  # POSIX seconds, sub-second where the server has it
    writable: bool = True
    real_path: str = ""  # absolute path on the cluster (for "copy path", job scripts)
    is_link: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class RemoteFiles(abc.ABC):
    """One cluster's files. Long-lived and shared by all requests."""

    kind: str = "abstract"
    roots: list[Root]

    @abc.abstractmethod
    async def real_path(self, path: str, *, must_exist: bool = False) -> str:
        """The absolute real path of a drive path, checked against the roots
        (symlinks resolved for the parts that exist)."""

    @abc.abstractmethod
    async def drive_path(self, real: str) -> str | None:
        """The drive path of an absolute path on the cluster, or ``None`` if it lies
        outside every root (for "open the job's folder")."""

    @abc.abstractmethod
    async def stat(self, path: str) -> FileEntry:
        """One entry; ``files.not_found`` if missing. ``""`` is the top level."""

    @abc.abstractmethod
    async def list_dir(self, path: str) -> list[FileEntry]:
        """A folder's entries (no ``.``/``..``), sorted by name; ``""`` lists the roots."""

    @abc.abstractmethod
    def read_chunks(
        self, path: str, *, offset: int = 0, length: int | None = None, check_roots: bool = True
    ) -> AsyncGenerator[bytes, None]:
        """The file's bytes from ``offset``, at most ``CHUNK_SIZE`` at a time. ``check_roots=False``
        is for job output files the scheduler named: ``path`` may then be an absolute path
        on the cluster (any file the user can read)."""

    @abc.abstractmethod
    async def write_chunks(
        self,
        path: str,
        chunks: AsyncIterator[bytes],
        *,
        expected_mtime: float | None = None,
        create_only: bool = False,
    ) -> FileEntry:
        """Write a whole file atomically: into a temporary name beside it, renamed into
        place at the end (removed if anything fails). With ``expected_mtime``, refuse
        with ``files.conflict`` if the file changed since (compared to the second);
        with ``create_only``, refuse with ``files.exists`` if it exists."""

    @abc.abstractmethod
    async def begin_upload(self, path: str) -> str:
        """Start a chunked upload (the contents API's ``chunk`` numbers): returns an
        upload id; the data goes into a temporary file beside ``path``."""

    @abc.abstractmethod
    async def append_upload(self, upload_id: str, data: bytes) -> None:
        """Append a piece to a chunked upload."""

    @abc.abstractmethod
    async def finish_upload(self, upload_id: str) -> FileEntry:
        """Rename the finished upload into place."""

    @abc.abstractmethod
    async def abort_upload(self, upload_id: str) -> None:
        """Remove an unfinished upload's temporary file."""

    @abc.abstractmethod
    async def mkdir(self, path: str) -> FileEntry:
        """Make one folder; ``files.exists`` if it is there already."""

    @abc.abstractmethod
    async def rename(self, path: str, new_path: str) -> FileEntry:
        """Move or rename; refuses to overwrite (``files.exists``)."""

    @abc.abstractmethod
    async def copy(self, path: str, new_path: str) -> FileEntry:
        """Copy a file (not a folder) to a new name; refuses to overwrite."""

    @abc.abstractmethod
    async def delete(self, path: str) -> None:
        """Delete a file, or a folder with everything in it. Roots cannot be deleted."""

    async def close(self) -> None:  # noqa: B027 (optional for implementations)
        """Release what it holds."""

    async def file_size(self, path: str, *, check_roots: bool = True) -> int | None:
        """A file's size now (``path`` as for :meth:`read_chunks`; ``files.not_found`` if
        missing), for a live tail's ``size``; ``None`` where an implementation cannot say
        cheaply (the default, so storages of other packages need not)."""
        return None

    async def read_text(self, path: str, *, limit: int) -> bytes:
        """A whole (small) file; ``files.too_large`` beyond ``limit`` bytes."""
        from ..errors import RPCError

        entry = await self.stat(path)
        if entry.type == "directory":
            raise RPCError(f"'{path}' is a folder.", code="files.is_directory", status=400)
        if entry.size is not None and entry.size > limit:
            raise RPCError(
                f"'{path}' is {entry.size:,} bytes; files over {limit:,} bytes open as downloads only.",
                code="files.too_large",
                status=413,
                details={"size": entry.size, "limit": limit},
            )
        parts = [chunk async for chunk in self.read_chunks(path)]
        return b"".join(parts)
