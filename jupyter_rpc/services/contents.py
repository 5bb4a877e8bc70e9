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
import mimetypes
import posixpath
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal, TypedDict

from ..errors import InvalidRequest, RPCError
from ..files.base import FileEntry, RemoteFiles

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

    def __init__(self, *, max_open_size: int = 32 * 1024 * 1024) -> None:
        #: Largest file whose content is answered (larger ones: download).
        self.max_open_size = max_open_size
        #: Chunked uploads in progress, by (files, path): their upload ids.
        self._uploads: dict[tuple[RemoteFiles, str], str] = {}

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
        if chunk == 1 or (chunk == -1 and key not in uploads):
            if key in uploads:
                await files.abort_upload(uploads.pop(key))
            uploads[key] = await files.begin_upload(path)
        elif key not in uploads:
            raise InvalidRequest(
                f"The upload of '{path}' was not started (chunk {chunk} arrived first); upload it again.",
                code="files.upload_not_started",
            )
        upload_id = uploads[key]
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
        """Start a streamed upload: feed it the body's pieces, then :meth:`StreamedUpload.finish`."""
        return StreamedUpload(files, clean(path), create_only=not overwrite)


class StreamedUpload:
    """One streamed upload: the pieces of a request body, written as they arrive into a
    temporary file beside ``path`` and renamed into place at the end (memory stays flat).

    This object owns the write (one task running ``files.write_chunks``, which owns the
    temporary file) and every way it ends: :meth:`finish` (the body is complete),
    :meth:`cut_off` (the client went away) and :meth:`cancel` (the request ended without
    finishing it).
    """

    def __init__(self, files: RemoteFiles, path: str, *, create_only: bool) -> None:
        self.path = path
        self._queue: asyncio.Queue[bytes | None | BaseException] = asyncio.Queue(maxsize=8)
        self._task: asyncio.Task[FileEntry] = asyncio.ensure_future(
            files.write_chunks(path, self._chunks(), create_only=create_only)
        )

    async def _chunks(self) -> AsyncIterator[bytes]:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    async def feed(self, chunk: bytes) -> None:
        """The next piece of the body (dropped if the write failed: :meth:`finish` says why)."""
        if self._task.done():
            return
        await self._queue.put(chunk)

    def cut_off(self) -> None:
        """The client went away before the body ended: the write fails, nothing is kept."""
        if not self._task.done():
            self._queue.put_nowait(ConnectionAbortedError("the upload was cut off"))

    def cancel(self) -> None:
        """Stop a write that has not ended (the request is over)."""
        if not self._task.done():
            self._task.cancel()

    async def finish(self) -> ContentsModel:
        """The body is complete: the file's model once it is in place, or the write's error."""
        if not self._task.done():
            await self._queue.put(None)
        return model(await self._task)


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
