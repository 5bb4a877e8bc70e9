"""A cluster's files as contents-API models (what JupyterLab's drives speak), plus streamed
downloads and uploads.

Plain asyncio over a :class:`~jupyter_rpc.files.base.RemoteFiles`: no tornado, so a test
or a CLI can use it as the REST handlers do. One :class:`ContentsService` serves the whole
server (``RPCApp`` makes it); it holds the contents API's chunked uploads in progress.

Paths are drive paths (``"home/run1/out.txt"``); leading and trailing ``/`` are ignored.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import mimetypes
import posixpath
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, TypedDict

from ..errors import InvalidRequest, RPCError
from ..files.base import FileEntry, RemoteFiles

log = logging.getLogger(__name__)

#: Seconds :meth:`ContentsService.close` waits for each streamed upload to remove its
#: temporary file before it cancels the write.
CLOSE_WAIT = 10.0

ContentsType = Literal["file", "notebook", "directory"]

EMPTY_NOTEBOOK = {
    "cells": [],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}


class ContentsModel(TypedDict):
    """One entry as the contents API shows it (``content`` only when asked for)."""

    name: str
    path: str
    type: str
    format: str | None
    mimetype: str | None
    content: Any  # a folder's models, a notebook's JSON, text, or base64
    size: int | None
    writable: bool
    created: str | None
    last_modified: str | None
    hash: None
    hash_algorithm: None
    real_path: str


class ChunkReceived(TypedDict):
    """The answer to a chunk of a chunked upload that is not the last one."""

    name: str
    path: str
    type: str
    chunk: int


@dataclass
class SaveRequest:
    """A save (the contents API's PUT): a whole file, a folder, or one chunk of a file."""

    type: ContentsType
    format: str | None = None  # "text", "base64", "json"
    content: Any = None  # text, base64 text, or a notebook's JSON
    chunk: int | None = None  # 1, 2, ... and -1 for the last one
    last_modified: str | None = None  # ISO 8601: refuse if the file changed since


@dataclass
class CreateRequest:
    """A new untitled file, notebook or folder, or a copy of ``copy_from``."""

    type: ContentsType = "file"
    ext: str | None = None  # for a file: ".txt" if not given
    copy_from: str | None = None


@dataclass
class Download:
    """A file's bytes, ready to send: the first piece has been read, so a failure to read
    it (permission, say) comes before any header is sent."""

    name: str
    mimetype: str
    size: int | None
    first: bytes
    rest: AsyncGenerator[bytes, None]

    async def aclose(self) -> None:
        """Close the file (also when the client went away)."""
        await self.rest.aclose()


class ContentsService:
    """The contents API over a cluster's files, one method per verb."""

    def __init__(self, *, max_open_size: int = 32 * 1024 * 1024, upload_ttl: float = 600.0) -> None:
        #: Largest file whose content is answered (larger ones: download), and so the
        #: largest whole file a save writes: what opens in an editor can be saved.
        self.max_open_size = max_open_size
        #: Seconds a chunked upload may wait for its next chunk before it is dropped
        #: (its temporary file removed).
        self.upload_ttl = upload_ttl
        #: Chunked uploads in progress, by (files, path): their upload ids and when their
        #: last chunk came.
        self._uploads: dict[tuple[RemoteFiles, str], _Session] = {}
        #: Streamed uploads whose write has not ended.
        self._streams: set[StreamedUpload] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def save_body_limit(self) -> int:
        """Largest request body of a save (the contents API's PUT), in bytes: a file of
        ``max_open_size`` bytes as JSON text (escapes of newlines, quotes and backslashes
        can double it) or base64 (a third more), plus the model's other fields."""
        return 2 * self.max_open_size + 64 * 1024

    async def get(
        self,
        files: RemoteFiles,
        path: str,
        *,
        content: bool = True,
        format: str | None = None,
        type: str | None = None,
    ) -> ContentsModel:
        """An entry's model; with ``content`` a folder's entries, a notebook's JSON, or a
        file as text (``format="text"``: UTF-8 only) or base64."""
        path = clean(path)
        entry = await files.stat(path)
        if entry.type == "directory":
            if not content:
                return model(entry)
            return model(entry, content=[model(e) for e in await files.list_dir(path)], fmt="json")
        if not content:
            return model(entry, kind=type if type in ("file", "notebook") else None)
        data = await files.read_text(path, limit=self.max_open_size)
        if (type == "notebook" or (type is None and entry.name.endswith(".ipynb"))) and format in (
            None,
            "json",
        ):
            try:
                nb = json.loads(data)
            except (ValueError, UnicodeDecodeError):
                raise RPCError(
                    f"'{path}' is not a valid notebook (not JSON).",
                    code="files.invalid_notebook",
                    status=400,
                ) from None
            return model(entry, content=nb, fmt="json", kind="notebook")
        if format != "base64":
            try:
                return model(entry, content=data.decode("utf-8"), fmt="text", kind="file")
            except UnicodeDecodeError:
                if format == "text":
                    raise RPCError(
                        f"'{path}' is not UTF-8 text; open it as a download.",
                        code="files.not_text",
                        status=400,
                    ) from None
        return model(
            entry, content=base64.b64encode(data).decode("ascii"), fmt="base64", kind="file"
        )

    async def save(
        self, files: RemoteFiles, path: str, request: SaveRequest
    ) -> ContentsModel | ChunkReceived:
        """Make a folder, write a whole file (atomically), or take one chunk of a chunked
        upload (the model once the last one, ``-1``, is in)."""
        path = clean(path)
        if request.type == "directory":
            return model(await files.mkdir(path))
        data = content_bytes(request)
        expected = parse_iso(request.last_modified)
        if request.chunk is None:
            if len(data) > self.max_open_size:
                raise RPCError(
                    f"'{path}' would be {len(data):,} bytes; files up to "
                    f"{self.max_open_size:,} bytes are opened and saved here "
                    "(RPCApp.max_open_size). Upload larger files instead.",
                    code="files.too_large",
                    status=413,
                    details={"size": len(data), "limit": self.max_open_size},
                )
            entry = await files.write_chunks(path, _once(data), expected_mtime=expected)
            return model(entry, kind=request.type)
        done = await self._chunk(files, path, request.chunk, data)
        if done is None:  # more chunks to come
            return {
                "name": posixpath.basename(path),
                "path": path,
                "type": request.type,
                "chunk": request.chunk,
            }
        return model(done, kind=request.type)

    async def _chunk(
        self, files: RemoteFiles, path: str, chunk: int, data: bytes
    ) -> FileEntry | None:
        """One chunk of a chunked upload. This is the one place that starts and ends a
        session (``files.begin_upload`` … ``finish_upload`` or ``abort_upload``); the
        temporary file itself belongs to ``files``."""
        key = (files, path)
        uploads = self._uploads
        await self._sweep()
        if chunk == 1 or (chunk == -1 and key not in uploads):
            if key in uploads:
                await files.abort_upload(uploads.pop(key).upload_id)
            uploads[key] = _Session(await files.begin_upload(path))
            self._start_sweeper()
        elif key not in uploads:
            raise InvalidRequest(
                f"The upload of '{path}' was not started (chunk {chunk} arrived first); upload it again.",
                code="files.upload_not_started",
            )
        session = uploads[key]
        session.touched = time.monotonic()
        upload_id = session.upload_id
        try:
            await files.append_upload(upload_id, data)
            if chunk == -1:
                uploads.pop(key, None)
                return await files.finish_upload(upload_id)
        except BaseException:
            uploads.pop(key, None)
            await files.abort_upload(upload_id)
            raise
        return None

    async def _sweep(self) -> None:
        """Drop the chunked uploads that waited longer than ``upload_ttl`` for a chunk
        (their temporary files are removed)."""
        now = time.monotonic()
        for key, session in list(self._uploads.items()):
            if now - session.touched > self.upload_ttl and self._uploads.get(key) is session:
                del self._uploads[key]
                await _abort_quietly(key[0], session.upload_id)

    def _start_sweeper(self) -> None:
        """While chunked uploads are in progress, sweep them now and then, so an abandoned
        one's temporary file goes even if no other upload comes."""
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.ensure_future(self._sweep_while_uploading())

    async def _sweep_while_uploading(self) -> None:
        while self._uploads and not self._closed:
            await asyncio.sleep(max(self.upload_ttl / 4, 0.05))
            try:
                await self._sweep()
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("jupyter_rpc: sweeping abandoned uploads failed")

    async def close(self) -> None:
        """Shutdown: end every upload in progress and remove its temporary file (chunked
        sessions, and streamed uploads whose request is still open)."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        sessions, self._uploads = list(self._uploads.items()), {}
        for (files, _path), session in sessions:
            await _abort_quietly(files, session.upload_id)
        streams = list(self._streams)
        for stream in streams:
            stream.cancel()
        await asyncio.gather(*(stream.wait_closed(CLOSE_WAIT) for stream in streams))

    async def create(
        self, files: RemoteFiles, folder: str, request: CreateRequest
    ) -> ContentsModel:
        """A new untitled file, notebook or folder in ``folder`` (``untitled.txt``,
        ``untitled1.txt``, …), or a copy of a file (``name-Copy.ext``, …)."""
        folder = clean(folder)
        if request.copy_from is not None:
            source = clean(request.copy_from)
            target = await free_name(files, folder, *copy_name(posixpath.basename(source)))
            return model(await files.copy(source, target))
        if request.type == "directory":
            target = await free_name(files, folder, "Untitled Folder", "")
            return model(await files.mkdir(target))
        notebook = request.type == "notebook"
        ext = ".ipynb" if notebook else request.ext if request.ext is not None else ".txt"
        target = await free_name(files, folder, "Untitled" if notebook else "untitled", ext)
        data = json.dumps(EMPTY_NOTEBOOK, indent=1).encode() if notebook else b""
        entry = await files.write_chunks(target, _once(data), create_only=True)
        return model(entry, kind=request.type)

    async def rename(self, files: RemoteFiles, path: str, new_path: str) -> ContentsModel:
        """Move or rename (never over an existing entry)."""
        return model(await files.rename(clean(path), clean(new_path)))

    async def delete(self, files: RemoteFiles, path: str) -> None:
        """Delete a file, or a folder with everything in it."""
        await files.delete(clean(path))

    async def download(self, files: RemoteFiles, path: str) -> Download:
        """A file's bytes as a stream (not a folder: ``files.is_directory``)."""
        path = clean(path)
        entry = await files.stat(path)
        if entry.type == "directory":
            raise RPCError(
                f"'{path}' is a folder; download its files one by one.",
                code="files.is_directory",
                status=400,
            )
        chunks = files.read_chunks(path)
        first = await anext(chunks, b"")  # errors (permission) before any header is sent
        mimetype = mimetypes.guess_type(entry.name)[0] or "application/octet-stream"
        return Download(entry.name, mimetype, entry.size, first, chunks)

    def upload(self, files: RemoteFiles, path: str, *, overwrite: bool = True) -> StreamedUpload:
        """Start a streamed upload: :meth:`StreamedUpload.started` (refused early?), feed
        it the body's pieces, then :meth:`StreamedUpload.finish`. The service keeps it
        until its write ends, so :meth:`close` can end it."""
        stream = StreamedUpload(files, clean(path), create_only=not overwrite)
        self._streams.add(stream)
        stream.add_done_callback(self._streams.discard)
        return stream


@dataclass
class _Session:
    """A chunked upload in progress: the files' upload id and when its last chunk came."""

    upload_id: str
    touched: float = field(default_factory=time.monotonic)


async def _abort_quietly(files: RemoteFiles, upload_id: str) -> None:
    try:
        await files.abort_upload(upload_id)
    except Exception:  # noqa: BLE001 - cleaning up: the next one goes on
        log.warning("jupyter_rpc: removing an abandoned upload failed", exc_info=True)


class StreamedUpload:
    """One streamed upload: the pieces of a request body, written as they arrive into a
    temporary file beside ``path`` and renamed into place at the end (memory stays flat).

    This object owns the write (one task running ``files.write_chunks``, which owns the
    temporary file) and every way it ends: :meth:`finish` (the body is complete),
    :meth:`cut_off` (the client went away) and :meth:`cancel` (the request ended without
    finishing it). Neither of the last two cancels the task: they make the body's next
    piece an error, so the write stops between two pieces (never inside a worker thread's
    write) and removes its temporary file itself.
    """

    def __init__(self, files: RemoteFiles, path: str, *, create_only: bool) -> None:
        self.path = path
        self._queue: asyncio.Queue[bytes | None | BaseException] = asyncio.Queue(maxsize=8)
        #: Set once the write asks for the body's first piece (the target was accepted).
        self._ready = asyncio.Event()
        #: Why the write was stopped (cut off, cancelled), once it was.
        self._stopped: BaseException | None = None
        self._task: asyncio.Task[FileEntry] = asyncio.ensure_future(
            files.write_chunks(path, self._chunks(), create_only=create_only)
        )
        self._task.add_done_callback(_retrieve)

    async def _chunks(self) -> AsyncIterator[bytes]:
        while True:
            self._ready.set()
            item = await self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def add_done_callback(self, callback: Any) -> None:
        """``callback(self)`` once the write has ended, however it ended."""
        self._task.add_done_callback(lambda _task: callback(self))

    @property
    def done(self) -> bool:
        """Whether the write has ended (finished, failed or stopped)."""
        return self._task.done()

    async def started(self) -> None:
        """Wait until the write is ready for the body, or raise why it was refused (the
        file exists and ``overwrite`` is off, the folder is missing, the path is outside
        the roots...): before any of the body has been read."""
        ready = asyncio.ensure_future(self._ready.wait())
        try:
            await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if self._task.done():
            self._task.result()

    async def feed(self, chunk: bytes) -> None:
        """The next piece of the body. Raises the write's error once the write has failed
        (the caller answers with it at once), never waits on a write that has ended."""
        if not self._task.done():
            if self._queue.full():
                put = asyncio.ensure_future(self._queue.put(chunk))
                await asyncio.wait({put, self._task}, return_when=asyncio.FIRST_COMPLETED)
                if not put.done():
                    put.cancel()
            else:
                self._queue.put_nowait(chunk)
        if self._task.done():
            self._task.result()  # the write's error (or a finished write: nothing)

    def _stop(self, why: BaseException) -> None:
        """Make the write's next piece ``why``: it stops and removes its temporary file."""
        if self._task.done() or self._stopped is not None:
            return
        self._stopped = why
        while not self._queue.empty():  # what was queued will never be written
            self._queue.get_nowait()
        self._queue.put_nowait(why)

    def cut_off(self) -> None:
        """The client went away before the body ended: the write fails, nothing is kept."""
        self._stop(ConnectionAbortedError("the upload was cut off"))

    def cancel(self) -> None:
        """Stop a write that has not ended (the request is over, or the server stops)."""
        self._stop(ConnectionAbortedError("the upload was cancelled"))

    async def wait_closed(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the write to end (after :meth:`cancel`), then
        cancel its task (the file layer removes its temporary file on cancellation too)."""
        done, _ = await asyncio.wait({self._task}, timeout=timeout)
        if not done:
            log.warning("jupyter_rpc: the upload of '%s' did not stop; cancelling it", self.path)
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=timeout)

    async def finish(self) -> ContentsModel:
        """The body is complete: the file's model once it is in place, or the write's error."""
        if self._stopped is not None:
            raise self._stopped
        if not self._task.done():
            put = asyncio.ensure_future(self._queue.put(None))
            await asyncio.wait({put, self._task}, return_when=asyncio.FIRST_COMPLETED)
            if not put.done():
                put.cancel()
        return model(await self._task)


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a write's error as seen (the request that owns it reports it, or is gone)."""
    if not task.cancelled():
        task.exception()


# -- models ----------------------------------------------------------------------------


def model(
    entry: FileEntry, *, content: Any = None, fmt: str | None = None, kind: str | None = None
) -> ContentsModel:
    """The contents-API model of an entry."""
    if kind is None:
        kind = (
            "directory"
            if entry.type == "directory"
            else "notebook"
            if entry.name.endswith(".ipynb")
            else "file"
        )
    mimetype = None
    if kind == "file":
        mimetype = mimetypes.guess_type(entry.name)[0] or (
            "text/plain" if fmt == "text" else "application/octet-stream"
        )
    return {
        "name": entry.name,
        "path": entry.path,
        "type": kind,
        "format": fmt,
        "mimetype": mimetype,
        "content": content,
        "size": entry.size,
        "writable": entry.writable,
        "created": iso(entry.mtime),
        "last_modified": iso(entry.mtime),
        "hash": None,
        "hash_algorithm": None,
        "real_path": entry.real_path,
    }


def iso(ts: float | None) -> str | None:
    """A POSIX time as ISO 8601 in UTC."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()


def parse_iso(text: str | None) -> float | None:
    """An ISO 8601 time (``Z`` allowed) as POSIX seconds; ``InvalidRequest`` if it is not one."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise InvalidRequest(f"last_modified must be an ISO 8601 time, not {text!r}.") from None


def clean(path: str) -> str:
    """A drive path without leading or trailing ``/``."""
    return path.strip("/")


def content_bytes(request: SaveRequest) -> bytes:
    """The bytes to write: a notebook's JSON (indented as Jupyter writes it), UTF-8 text,
    or decoded base64."""
    content = request.content
    if request.type == "notebook":
        if not isinstance(content, dict):
            raise InvalidRequest(
                "A notebook's content must be a JSON object.", code="files.invalid_notebook"
            )
        return (json.dumps(content, indent=1, ensure_ascii=False) + "\n").encode()
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise InvalidRequest("A file's content must be a string (text or base64).")
    if request.format == "base64":
        try:
            return base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest(
                "The content is not valid base64.", code="files.invalid_base64"
            ) from None
    return content.encode("utf-8")


def copy_name(name: str) -> tuple[str, str]:
    """(stem, extension) of a copy's name: ``a.txt`` → ``a-Copy`` + ``.txt``."""
    stem, ext = posixpath.splitext(name)
    if name.startswith(".") and not ext:
        stem, ext = name, ""
    return f"{stem}-Copy", ext


async def free_name(files: RemoteFiles, folder: str, stem: str, ext: str) -> str:
    """The first of ``stem.ext``, ``stem1.ext``, ... that does not exist in ``folder``."""
    names = {e.name for e in await files.list_dir(folder)}
    for i in range(0, 10_000):
        name = f"{stem}{i or ''}{ext}"
        if name not in names:
            return posixpath.join(folder, name) if folder else name
    raise RPCError("Too many untitled files in this folder.", code="files.exists", status=409)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
