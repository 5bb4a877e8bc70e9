"""A cluster's files from a notebook, by drive path: list, read, write, upload and
download (streamed), make folders, rename, delete."""

from __future__ import annotations

import datetime as dt
import json
import os
import posixpath
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .aio import awaitable
from .client import BLOCK, RemoteError, Session
from .display import TransferProgress
from .tables import Listing
from .units import quote

if TYPE_CHECKING:
    from .clusters import Cluster


def entry(model: dict[str, Any]) -> dict[str, Any]:
    modified = model.get("last_modified")
    return {
        "name": model["name"],
        "path": model["path"],
        "type": "directory" if model["type"] == "directory" else "file",
        "size": model.get("size"),
        "modified": dt.datetime.fromisoformat(modified.replace("Z", "+00:00"))
        if modified
        else None,
        "writable": model.get("writable", True),
        "real_path": model.get("real_path"),
    }


class _CountingReader:
    """A binary file as an upload body that counts the bytes http.client reads from it."""

    def __init__(self, f: IO[bytes], bar: TransferProgress):
        self._f = f
        self._bar = bar

    def read(self, n: int = -1) -> bytes:
        piece = self._f.read(n)
        self._bar.add(len(piece))
        return piece

    def seekable(self) -> bool:
        return self._f.seekable()

    def tell(self) -> int:
        return self._f.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        position = self._f.seek(offset, whence)
        self._bar.done = position  # a retried request starts over (uploads start at 0)
        return position


class RemoteFolder:
    """A cluster's files by *drive path*: ``""`` lists the cluster's roots (``home``,
    ``scratch``, ...), ``"home/run1/out.txt"`` is a file in the root ``home``.

    Large transfers (:meth:`upload`, :meth:`download`) are streamed: memory stays flat
    whatever the file's size.
    """

    def __init__(self, cluster: Cluster):
        self.cluster = cluster

    @property
    def _session(self) -> Session:
        return self.cluster._session

    @property
    def _asynchronous(self) -> bool:
        return self.cluster._session.asynchronous

    def _path(self, route: str, path: str) -> str:
        # Each segment quoted; "." and ".." too, so no proxy on the way (JupyterHub's)
        # normalizes them into another URL: the server's path policy sees them as they are.
        segments = [quote(part, safe="") for part in str(path).strip("/").split("/")]
        segments = [seg.replace(".", "%2E") if seg in (".", "..") else seg for seg in segments]
        return self.cluster._path(route, "/".join(segments))

    def __repr__(self) -> str:
        return f"<files of cluster {self.cluster.name!r}: {', '.join(self.cluster.roots) or 'no roots'}>"

    @awaitable
    def stat(self, path: str) -> dict[str, Any]:
        """One entry: ``name``, ``path``, ``type`` (``file``/``directory``), ``size``,
        ``modified`` (datetime), ``writable``, ``real_path``."""
        return entry(self._session.request("GET", self._path("files", path) + "?content=0"))

    @awaitable
    def ls(self, path: str = "") -> Listing:
        """A folder's entries, folders first (a file's own entry for a file)."""
        model = self._session.request("GET", self._path("files", path) + "?content=1")
        if model["type"] != "directory":
            return Listing([entry(model)])
        entries = [entry(m) for m in model.get("content") or []]
        entries.sort(key=lambda e: (e["type"] != "directory", e["name"].lower()))
        return Listing(entries)

    @awaitable
    def exists(self, path: str) -> bool:
        """Whether ``path`` exists (a file or a folder)."""
        try:
            self.stat(path)
        except RemoteError as exc:
            if exc.code == "files.not_found":
                return False
            raise
        return True

    @awaitable
    def real_path(self, path: str) -> str:
        """The path on the cluster's file system (e.g. to use in a job script)."""
        return str(self.stat(path)["real_path"])

    @awaitable
    def read_bytes(self, path: str) -> bytes:
        """A file's bytes (use :meth:`download` for files too large for memory)."""
        response = self._session.stream("GET", self._path("download", path), timeout=60)
        try:
            return response.read()
        except OSError as exc:
            self._session.discard()
            raise RemoteError(f"Reading '{path}' broke off: {exc}", code="files.io_error") from None

    @awaitable
    def read_text(self, path: str, encoding: str = "utf-8") -> str:
        """A file's text."""
        return self.read_bytes(path).decode(encoding)

    @awaitable
    def write_bytes(self, path: str, data: bytes, *, overwrite: bool = True) -> int:
        """Write ``data`` to a file (atomically: readers see the old or the new file);
        returns the number of bytes. ``overwrite=False`` refuses an existing file."""
        data = bytes(data)
        self._put(path, data, len(data), overwrite)
        return len(data)

    @awaitable
    def write_text(
        self, path: str, text: str, encoding: str = "utf-8", *, overwrite: bool = True
    ) -> int:
        """Write ``text`` to a file; returns the number of characters."""
        self.write_bytes(path, text.encode(encoding), overwrite=overwrite)
        return len(text)

    def _put(self, path: str, body: Any, size: int, overwrite: bool) -> dict[str, Any]:
        target = self._path("upload", path) + ("" if overwrite else "?overwrite=0")
        response = self._session.stream("PUT", target, body, size=size, timeout=120)
        try:
            return entry(json.loads(response.read()))
        except OSError as exc:
            self._session.discard()
            raise RemoteError(f"Writing '{path}' broke off: {exc}", code="files.io_error") from None

    @awaitable
    def upload(
        self,
        local_path: str | os.PathLike[str],
        remote_path: str,
        *,
        overwrite: bool = True,
        progress: bool | None = None,
    ) -> dict[str, Any]:
        """Copy a local file to the cluster, streamed in blocks; returns the new entry.

        A ``remote_path`` ending in ``/`` is a folder: the file keeps its name there. In a
        notebook a live bar shows the bytes sent for files of 8 MB or more
        (``progress=True`` / ``False`` to always / never show it).
        """
        local = Path(local_path)
        if remote_path.endswith("/") or remote_path == "":
            remote_path = posixpath.join(remote_path, local.name)
        with open(local, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            bar = TransferProgress(
                f"Uploading {local.name} to {self.cluster.name}:{remote_path}", size, progress
            )
            try:
                entry = self._put(
                    remote_path, _CountingReader(f, bar) if bar.enabled else f, size, overwrite
                )
            except BaseException as exc:
                bar.finish(f"stopped: {exc}" if str(exc) else "stopped")
                raise
            bar.finish()
            return entry

    @awaitable
    def download(
        self,
        remote_path: str,
        local_path: str | os.PathLike[str] | None = None,
        *,
        progress: bool | None = None,
    ) -> Path:
        """Copy a file from the cluster to ``local_path`` (default: its name in the current
        folder; a folder: the file keeps its name there), streamed in blocks; returns the
        local path. The local file appears whole or not at all. In a notebook a live bar
        shows the bytes received for files of 8 MB or more (``progress`` as for upload)."""
        name = posixpath.basename(remote_path.rstrip("/"))
        local = Path(local_path) if local_path is not None else Path(name)
        if local.is_dir() or str(local_path).endswith(("/", os.sep)):
            local = local / name
        fd, tmp = tempfile.mkstemp(prefix=f".{local.name}.", suffix=".part", dir=local.parent)
        try:
            response = self._session.stream("GET", self._path("download", remote_path), timeout=60)
        except BaseException:
            os.close(fd)
            os.unlink(tmp)
            raise
        length = response.getheader("Content-Length")
        bar = TransferProgress(
            f"Downloading {self.cluster.name}:{remote_path} to {local}",
            int(length) if length and length.isdigit() else None,
            progress,
        )
        try:
            with os.fdopen(fd, "wb") as out:
                while piece := response.read(BLOCK):
                    out.write(piece)
                    bar.add(len(piece))
            os.replace(tmp, local)
        except BaseException as exc:
            os.unlink(tmp)
            bar.finish("stopped, nothing written")
            if not response.isclosed():
                self._session.discard()  # a half-read answer: the connection is unusable
            if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
                raise RemoteError(
                    f"Downloading '{remote_path}' broke off: {exc}", code="files.io_error"
                ) from None
            raise
        bar.finish()
        return local

    @awaitable
    def mkdir(self, path: str, *, parents: bool = False, exist_ok: bool = False) -> dict[str, Any]:
        """Make a folder; returns its entry. Like :meth:`pathlib.Path.mkdir`: ``parents``
        makes missing parent folders too, ``exist_ok`` accepts an existing folder."""
        parts = str(path).strip("/").split("/")
        target = "/".join(parts)
        ancestors = ["/".join(parts[:i]) for i in range(2, len(parts))] if parents else []
        for folder in ancestors:  # parts[0] is a root: it exists or cannot be made
            try:
                self._session.request("PUT", self._path("files", folder), {"type": "directory"})
            except RemoteError as exc:
                if exc.code != "files.exists":
                    raise
        try:
            return entry(
                self._session.request("PUT", self._path("files", target), {"type": "directory"})
            )
        except RemoteError as exc:
            if exc.code == "files.exists" and exist_ok and self.stat(target)["type"] == "directory":
                return self.stat(target)
            raise

    @awaitable
    def rename(self, src: str, dst: str) -> dict[str, Any]:
        """Rename or move ``src`` to the drive path ``dst``; returns the new entry."""
        return entry(
            self._session.request("PATCH", self._path("files", src), {"path": dst.strip("/")})
        )

    @awaitable
    def delete(self, path: str) -> None:
        """Delete a file, or a folder with everything in it."""
        self._session.request("DELETE", self._path("files", path))
