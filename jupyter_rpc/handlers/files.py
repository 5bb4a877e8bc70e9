"""A cluster's files as contents-API models, plus streamed download and upload: the REST
side of :mod:`jupyter_rpc.services.contents`."""

from __future__ import annotations

import urllib.parse
from typing import Any

from jsonschema import Draft202012Validator
from jupyter_core.utils import ensure_async
from tornado import web
from tornado.iostream import StreamClosedError

from ..errors import TooLarge
from ..files.base import RemoteFiles
from ..services.contents import ContentsService, CreateRequest, SaveRequest, StreamedUpload
from .base import forbidden_message, requires
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


class FilesHandler(ClusterHandler):
    """GET / PUT / POST / PATCH / DELETE of one drive path."""

    @property
    def contents(self) -> ContentsService:
        return self.services.contents

    def files(self, cluster: str) -> RemoteFiles:
        return self.cluster(cluster).files

    def body_limit(self) -> int:
        """A save's body may hold a file as large as one that opens (``max_open_size``)."""
        limit = self.services.max_request_size
        if self.request.method == "PUT":
            return max(limit, self.contents.save_body_limit)
        return limit

    @requires("read")
    async def get(self, cluster: str, path: str) -> None:
        files = self.files(cluster)
        model = await self.contents.get(
            files,
            path,
            content=self.get_query_argument("content", "1") not in ("0", "false"),
            format=self.get_query_argument("format", None),
            type=self.get_query_argument("type", None),
        )
        self.write_json(model)

    @requires("write", event=("file.write", "file.mkdir", "file.upload"))
    async def put(self, cluster: str, path: str) -> None:
        files = self.files(cluster)
        body = self.json_body(SAVE_REQUEST)
        self._audit_save(body)
        request = SaveRequest(
            type=body["type"],
            format=body.get("format"),
            content=body.get("content"),
            chunk=body.get("chunk"),
            last_modified=body.get("last_modified"),
        )
        model = await self.contents.save(files, path, request)
        self.write_json(model, status=201 if request.type == "directory" else 200)

    @requires("write", event=("file.create", "file.copy", "file.mkdir"))
    async def post(self, cluster: str, path: str) -> None:
        files = self.files(cluster)
        body = self.json_body(CREATE_REQUEST)
        request = CreateRequest(
            type=body.get("type", "file"), ext=body.get("ext"), copy_from=body.get("copy_from")
        )
        if request.copy_from:
            self.audit(action="file.copy", source_path=request.copy_from)
        elif request.type == "directory":
            self.audit(action="file.mkdir")
        model = await self.contents.create(files, path, request)
        self.audit(path=model.get("path"))
        self.write_json(model, status=201)

    @requires("write", event="file.rename")
    async def patch(self, cluster: str, path: str) -> None:
        files = self.files(cluster)
        body = self.json_body(RENAME_REQUEST)
        self.audit(path=body["path"], source_path=path)
        self.write_json(await self.contents.rename(files, path, body["path"]))

    @requires("write", event="file.delete")
    async def delete(self, cluster: str, path: str) -> None:
        await self.contents.delete(self.files(cluster), path)
        self.set_status(204)
        self.finish()

    def _audit_save(self, body: dict[str, Any]) -> None:
        """A save's event: a folder made (``file.mkdir``), a chunked upload's end
        (``file.upload``; its earlier chunks only if they fail) or a file written; the
        content's size, never a digest of it."""
        chunk = body.get("chunk")
        if body["type"] == "directory":
            self.audit(action="file.mkdir")
        elif chunk is not None:
            self.audit(action="file.upload", quiet_if_ok=chunk != -1)
        content = body.get("content")
        size = len(content) if isinstance(content, str) else None
        self.audit_arguments(body, digest=False, size=size)


class DownloadHandler(ClusterHandler):
    """A file's bytes, streamed."""

    @requires("read", event="file.download")
    async def get(self, cluster: str, path: str) -> None:
        download = await self.services.contents.download(self.cluster(cluster).files, path)
        quoted = urllib.parse.quote(download.name)
        self.set_header("Content-Type", download.mimetype)
        self.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{quoted}")
        if download.size is not None:
            self.set_header("Content-Length", str(download.size))
        self.set_header("Cache-Control", "no-store")
        try:
            self.write(download.first)
            await self.flush()
            async for piece in download.rest:
                self.write(piece)
                await self.flush()
        except StreamClosedError:  # the client went away: the download was cut off
            self._emit_event(aborted=True)
            return
        finally:
            await download.aclose()
        self.finish()


class UploadHandler(ClusterHandler):
    """The raw request body, streamed into a file (atomic; memory stays flat). A refused
    upload (the file exists and ``overwrite=0``, a missing folder, a path outside the
    roots, a body over ``RPCApp.max_upload_size``) is answered before its body is read,
    or as soon as the write fails; the rest of the body is dropped (:mod:`.body`)."""

    keep_body = False
    _upload: StreamedUpload | None = None

    def body_limit(self) -> int:
        return self.services.max_upload_size

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()  # the user, the size limit
        if self.request.method != "PUT" or self._finished or self.refused:
            return
        # the verb's check (write), made before the body is read; without a user the
        # verb's @web.authenticated answers
        if self.current_user and not await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "write", self.auth_resource)
        ):
            raise web.HTTPError(403, forbidden_message("write"))
        overwrite = self.get_query_argument("overwrite", "1") not in ("0", "false")
        try:
            files = self.cluster(self.path_kwargs["cluster"]).files
            self._upload = self.services.contents.upload(
                files, self.path_kwargs["path"], overwrite=overwrite
            )
            await self._upload.started()
        except Exception as exc:  # noqa: BLE001 - answered as any error, before the body
            self.refuse(exc)

    async def data_received(self, chunk: bytes) -> None:  # type: ignore[override]
        super().data_received(chunk)  # counts it against the limit
        upload = self._upload
        if upload is None:
            return
        if self.refused:
            upload.cancel()
            return
        try:
            await upload.feed(chunk)
        except Exception as exc:  # noqa: BLE001 - the write failed: answer now
            self.refuse(exc)

    def on_connection_close(self) -> None:
        if self._upload is not None:
            self._upload.cut_off()
        super().on_connection_close()

    def on_finish(self) -> None:
        if self._upload is not None:
            self._upload.cancel()
        super().on_finish()

    @requires("write", event="file.upload")
    async def put(self, cluster: str, path: str) -> None:
        assert self._upload is not None
        self.audit_arguments(None, size=self._received)
        self.write_json(await self._upload.finish(), status=201)


__all__ = ["DownloadHandler", "FilesHandler", "UploadHandler", "TooLarge"]
