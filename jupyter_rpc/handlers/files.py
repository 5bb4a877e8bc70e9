"""A cluster's files as contents-API models, plus streamed download and upload."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import mimetypes
import posixpath
import urllib.parse
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from jsonschema import Draft202012Validator
from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.http1connection import HTTP1Connection
from tornado.iostream import StreamClosedError

from ..errors import InvalidRequest, RPCError, TooLarge
from ..files.base import FileEntry, RemoteFiles
from .clusters import ClusterHandler

SAVE_REQUEST = Draft202012Validator(
    {
        "type": "object",
        "properties": {
            "type": {"enum": ["file", "notebook", "directory"]},
            "format": {"enum": ["text", "base64", "json", None]},
            "content": {},
            "chunk": {"type": "integer"},
            "last_modified": {"type": ["string", "null"]},
            "name": {"type": "string"},
            "path": {"type": "string"},
            "mimetype": {"type": ["string", "null"]},
        },
        "required": ["type"],
    }
)

CREATE_REQUEST = Draft202012Validator(
    {
        "type": "object",
        "properties": {
            "type": {"enum": ["file", "notebook", "directory"]},
            "ext": {"type": "string", "maxLength": 20, "pattern": r"^(\.[A-Za-z0-9_-]+)?$"},
            "copy_from": {"type": "string", "minLength": 1},
        },
        "additionalProperties": False,
    }
)

RENAME_REQUEST = Draft202012Validator(
    {
        "type": "object",
        "properties": {"path": {"type": "string", "minLength": 1}},
        "required": ["path"],
        "additionalProperties": False,
    }
)

EMPTY_NOTEBOOK = {
    "cells": [],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()


def parse_iso(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise InvalidRequest(f"last_modified must be an ISO 8601 time, not {text!r}.") from None


def model(
    entry: FileEntry, *, content: Any = None, fmt: str | None = None, kind: str | None = None
) -> dict[str, Any]:
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


def _clean(path: str) -> str:
    return path.strip("/")  # tornado has decoded the URL already


class FilesHandler(ClusterHandler):
    """GET / PUT / POST / PATCH / DELETE of one drive path."""

    def files(self, cluster: str) -> RemoteFiles:
        return self.cluster(cluster).files

    @web.authenticated
    @authorized
    async def get(self, cluster: str, path: str) -> None:
        files = self.files(cluster)
        path = _clean(path)
        want_content = self.get_query_argument("content", "1") not in ("0", "false")
        fmt = self.get_query_argument("format", None)
        kind = self.get_query_argument("type", None)
        entry = await files.stat(path)
        if entry.type == "directory":
            content = None
            if want_content:
                content = [model(e) for e in await files.list_dir(path)]
            self.write_json(model(entry, content=content, fmt="json" if want_content else None))
            return
        if not want_content:
            self.write_json(model(entry, kind=kind if kind in ("file", "notebook") else None))
            return
        data = await files.read_text(path, limit=self.services.max_open_size)
        if (kind == "notebook" or (kind is None and entry.name.endswith(".ipynb"))) and fmt in (
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
            self.write_json(model(entry, content=nb, fmt="json", kind="notebook"))
            return
        if fmt != "base64":
            try:
                text = data.decode("utf-8")
                self.write_json(model(entry, content=text, fmt="text", kind="file"))
                return
            except UnicodeDecodeError:
                if fmt == "text":
                    raise RPCError(
                        f"'{path}' is not UTF-8 text; open it as a download.",
                        code="files.not_text",
                        status=400,
                    ) from None
        self.write_json(
            model(entry, content=base64.b64encode(data).decode("ascii"), fmt="base64", kind="file")
        )

    @web.authenticated
    @authorized
    async def put(self, cluster: str, path: str) -> None:
        files = self.files(cluster)
        path = _clean(path)
        body = self.json_body(SAVE_REQUEST)
        kind = body["type"]
        if kind == "directory":
            self.write_json(model(await files.mkdir(path)), status=201)
            return
        data = _content_bytes(body)
        chunk = body.get("chunk")
        expected = parse_iso(body.get("last_modified"))
        entry: FileEntry | None
        if chunk is None:
            entry = await files.write_chunks(path, _once(data), expected_mtime=expected)
        else:
            entry = await self._chunk(files, cluster, path, chunk, data)
            if entry is None:  # more chunks to come
                self.write_json(
                    {"name": posixpath.basename(path), "path": path, "type": kind, "chunk": chunk}
                )
                return
        self.write_json(model(entry, kind=kind))

    async def _chunk(
        self, files: RemoteFiles, cluster: str, path: str, chunk: int, data: bytes
    ) -> FileEntry | None:
        uploads = self.settings.setdefault("jupyter_rpc_uploads", {})
        key = (cluster, path)
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

    @web.authenticated
    @authorized
    async def post(self, cluster: str, path: str) -> None:
        files = self.files(cluster)
        folder = _clean(path)
        body = self.json_body(CREATE_REQUEST)
        if "copy_from" in body:
            source = _clean(body["copy_from"])
            name = posixpath.basename(source)
            target = await _free_name(files, folder, *_copy_name(name))
            self.write_json(model(await files.copy(source, target)), status=201)
            return
        kind = body.get("type", "file")
        if kind == "directory":
            target = await _free_name(files, folder, "Untitled Folder", "")
            self.write_json(model(await files.mkdir(target)), status=201)
            return
        ext = ".ipynb" if kind == "notebook" else body.get("ext", ".txt")
        stem = "Untitled" if kind == "notebook" else "untitled"
        target = await _free_name(files, folder, stem, ext)
        data = json.dumps(EMPTY_NOTEBOOK, indent=1).encode() if kind == "notebook" else b""
        entry = await files.write_chunks(target, _once(data), create_only=True)
        self.write_json(model(entry, kind=kind), status=201)

    @web.authenticated
    @authorized
    async def patch(self, cluster: str, path: str) -> None:
        files = self.files(cluster)
        body = self.json_body(RENAME_REQUEST)
        self.write_json(model(await files.rename(_clean(path), _clean(body["path"]))))

    @web.authenticated
    @authorized
    async def delete(self, cluster: str, path: str) -> None:
        await self.files(cluster).delete(_clean(path))
        self.set_status(204)
        self.finish()


class DownloadHandler(ClusterHandler):
    """A file's bytes, streamed."""

    @web.authenticated
    @authorized
    async def get(self, cluster: str, path: str) -> None:
        files = self.cluster(cluster).files
        path = _clean(path)
        entry = await files.stat(path)
        if entry.type == "directory":
            raise RPCError(
                f"'{path}' is a folder; download its files one by one.",
                code="files.is_directory",
                status=400,
            )
        chunks = files.read_chunks(path)
        first = await anext(chunks, b"")  # errors (permission) before any header is sent
        quoted = urllib.parse.quote(entry.name)
        self.set_header(
            "Content-Type", mimetypes.guess_type(entry.name)[0] or "application/octet-stream"
        )
        self.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{quoted}")
        if entry.size is not None:
            self.set_header("Content-Length", str(entry.size))
        self.set_header("Cache-Control", "no-store")
        try:
            self.write(first)
            await self.flush()
            async for piece in chunks:
                self.write(piece)
                await self.flush()
        except StreamClosedError:
            return
        finally:
            await chunks.aclose()
        self.finish()


@web.stream_request_body
class UploadHandler(ClusterHandler):
    """The raw request body, streamed into a file (atomic; memory stays flat)."""

    _queue: asyncio.Queue[bytes | None | BaseException]
    _task: asyncio.Task[FileEntry] | None = None

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        if self.request.method != "PUT":
            return
        if not self.current_user:
            raise web.HTTPError(403)
        if not self.authorizer.is_authorized(self, self.current_user, "write", self.auth_resource):
            raise web.HTTPError(403)
        connection = self.request.connection
        if isinstance(connection, HTTP1Connection):  # what tornado's HTTP server gives
            connection.set_max_body_size(self.services.max_upload_size)
        cluster, path = self.path_kwargs["cluster"], self.path_kwargs["path"]
        files = self.cluster(cluster).files
        overwrite = self.get_query_argument("overwrite", "1") not in ("0", "false")
        self._queue = asyncio.Queue(maxsize=8)
        self._task = asyncio.ensure_future(
            files.write_chunks(_clean(path), self._chunks(), create_only=not overwrite)
        )

    async def _chunks(self) -> AsyncIterator[bytes]:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    async def data_received(self, chunk: bytes) -> None:
        if self._task is not None and self._task.done():
            return  # it failed: put() reports why
        await self._queue.put(chunk)

    def on_connection_close(self) -> None:
        if self._task is not None and not self._task.done():
            self._queue.put_nowait(ConnectionAbortedError("the upload was cut off"))

    def on_finish(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    @web.authenticated
    @authorized
    async def put(self, cluster: str, path: str) -> None:
        assert self._task is not None
        if not self._task.done():
            await self._queue.put(None)
        entry = await self._task
        self.write_json(model(entry), status=201)


def _content_bytes(body: dict[str, Any]) -> bytes:
    content = body.get("content")
    fmt = body.get("format")
    if body["type"] == "notebook":
        if not isinstance(content, dict):
            raise InvalidRequest(
                "A notebook's content must be a JSON object.", code="files.invalid_notebook"
            )
        return (json.dumps(content, indent=1, ensure_ascii=False) + "\n").encode()
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise InvalidRequest("A file's content must be a string (text or base64).")
    if fmt == "base64":
        try:
            return base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest(
                "The content is not valid base64.", code="files.invalid_base64"
            ) from None
    return content.encode("utf-8")


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _copy_name(name: str) -> tuple[str, str]:
    stem, ext = posixpath.splitext(name)
    if name.startswith(".") and not ext:
        stem, ext = name, ""
    return f"{stem}-Copy", ext


async def _free_name(files: RemoteFiles, folder: str, stem: str, ext: str) -> str:
    """The first of ``stem.ext``, ``stem1.ext``, ... that does not exist in ``folder``."""
    names = {e.name for e in await files.list_dir(folder)}
    for i in range(0, 10_000):
        name = f"{stem}{i or ''}{ext}"
        if name not in names:
            return posixpath.join(folder, name) if folder else name
    raise RPCError("Too many untitled files in this folder.", code="files.exists", status=409)


__all__ = ["DownloadHandler", "FilesHandler", "UploadHandler", "TooLarge"]
