"""Backends, their functions, and calls of them."""

from __future__ import annotations

from jsonschema import Draft202012Validator
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.iostream import StreamClosedError

from .. import __version__
from .base import RPCHandler, requires

CALL_REQUEST = Draft202012Validator(
    {
        "type": "object",
        "properties": {
            "function": {"type": "string", "minLength": 1},
            "arguments": {"type": "object"},
            "timeout": {"type": "number", "exclusiveMinimum": 0},
            "wait": {"type": "number", "minimum": 0},
            "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        },
        "required": ["function"],
        "additionalProperties": False,
    }
)


_CALL_ITEM = {
    "type": "object",
    "properties": {
        "function": {"type": "string", "minLength": 1},
        "arguments": {"type": "object"},
        "timeout": {"type": "number", "exclusiveMinimum": 0},
        "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    },
    "required": ["function"],
    "additionalProperties": False,
}
#: The size bound (MAX_BATCH) is checked by the service, with its own message.
BATCH_REQUEST = Draft202012Validator(
    {
        "type": "object",
        "properties": {
            "calls": {"type": "array", "items": _CALL_ITEM},
            "wait": {"type": "number", "minimum": 0},
        },
        "required": ["calls"],
        "additionalProperties": False,
    }
)
WAIT_REQUEST = Draft202012Validator(
    {
        "type": "object",
        "properties": {
            "ids": {"type": "array", "items": {"type": "string"}},
            "wait": {"type": "number", "minimum": 0},
        },
        "required": ["ids"],
        "additionalProperties": False,
    }
)


CANCEL_REQUEST = Draft202012Validator(
    {
        "type": "object",
        "properties": {"ids": {"type": "array", "items": {"type": "string"}}},
        "required": ["ids"],
        "additionalProperties": False,
    }
)


class RootHandler(RPCHandler):
    """API version and features."""

    @requires("read")
    async def get(self) -> None:
        self.write_json(
            {"version": __version__, "features": ["functions", "clusters", "jobs", "files"]}
        )


class BackendsHandler(RPCHandler):
    """The configured backends and their state."""

    @requires("read")
    async def get(self) -> None:
        grant = self.grant  # only those the site's policy lets this user use
        backends = [b for b in self.services.backends if grant.allows_backend(b.name)]
        self.write_json({"backends": [b.to_json() for b in backends]})


class BackendHandler(RPCHandler):
    """One backend."""

    @requires("read")
    async def get(self, backend: str) -> None:
        self.write_json(self.services.backends.get(backend).to_json())


class FunctionsHandler(RPCHandler):
    """A backend's functions with their JSON Schemas (starts the backend if needed)."""

    @requires("read")
    async def get(self, backend: str) -> None:
        specs = await self.services.backends.get(backend).specs()
        self.write_json({"backend": backend, "functions": [s.to_json() for s in specs.values()]})


class BackendCallsHandler(RPCHandler):
    """Start a call of one of a backend's functions."""

    @requires("execute", event="call.start")
    async def post(self, backend: str) -> None:
        body = self.json_body(CALL_REQUEST)
        self.audit(function=body["function"])
        self.audit_arguments(body.get("arguments", {}))
        call, created = await self.services.calls.start(
            backend,
            body["function"],
            body.get("arguments", {}),
            timeout=body.get("timeout"),
            call_id=body.get("id"),
            wait=min(float(body.get("wait", 0)), self.services.max_wait),
        )
        self.audit(call_id=call.id)
        self.set_header("Location", url_path_join(self.base_url, "jupyter-rpc", "calls", call.id))
        self.write_json(call.to_json(), status=201 if created else 200)


class BatchCallsHandler(RPCHandler):
    """Start many calls of one backend in one request (a notebook's Executor.map)."""

    @requires("execute", event="call.batch")
    async def post(self, backend: str) -> None:
        body = self.json_body(BATCH_REQUEST)
        items = body["calls"]
        self.audit(function=", ".join(sorted({item["function"] for item in items}))[:1000])
        self.audit_arguments([item.get("arguments", {}) for item in items])
        started = await self.services.calls.start_batch(
            backend, items, wait=min(float(body.get("wait", 0)), self.services.max_wait)
        )
        # every call id of the batch, so each is accounted for in the one event
        self.audit(call_id=" ".join(call.id for call, _ in started))
        self.write_json({"calls": [call.to_json() for call, _ in started]}, status=201)


class WaitCallsHandler(RPCHandler):
    """Wait for any of many calls to end; answers the ended ones in full."""

    @requires("read")
    async def post(self) -> None:
        body = self.json_body(WAIT_REQUEST)
        wait = min(float(body.get("wait", 0)), self.services.max_wait)
        ended, running, missing = await self.services.calls.wait_any(body["ids"], wait)
        self.write_json(
            {"calls": [c.to_json() for c in ended], "running": running, "missing": missing}
        )


class CancelCallsHandler(RPCHandler):
    """Cancel many calls in one request; says which were cancelled, had ended or are
    unknown (none of those is an error: the caller wanted them stopped)."""

    @requires("write", event="call.cancel")
    async def post(self) -> None:
        body = self.json_body(CANCEL_REQUEST)
        cancelled, ended, missing = self.services.calls.cancel_many(body["ids"])
        if cancelled:  # one event for the request: every call it cancelled
            self.audit(
                backend=", ".join(sorted({c.backend for c in cancelled}))[:1000],
                function=", ".join(sorted({c.function for c in cancelled}))[:1000],
                call_id=" ".join(c.id for c in cancelled),
            )
        self.write_json(
            {
                "calls": [c.to_json(full=False) for c in cancelled],
                "ended": ended,
                "missing": missing,
            }
        )


class CallsHandler(RPCHandler):
    """This server's recent calls."""

    @requires("read")
    async def get(self) -> None:
        self.write_json({"calls": [c.to_json(full=False) for c in self.services.calls.list()]})


class CallHandler(RPCHandler):
    """One call: read it (optionally waiting for a change), or cancel it."""

    @requires("read")
    async def get(self, call_id: str) -> None:
        call = self.services.calls.get(call_id)
        wait = self._number("wait", 0.0, 0.0, self.services.max_wait)
        version = int(self._number("version", -1, -1, 1 << 62))
        if wait > 0:
            await call.wait_changed(version, wait)
        self.write_json(call.to_json())

    @requires("write", event="call.cancel")
    async def delete(self, call_id: str) -> None:
        call = self.services.calls.get(call_id)
        self.audit(backend=call.backend, function=call.function)
        self.write_json(self.services.calls.cancel(call_id).to_json())


class CallDownloadHandler(RPCHandler):
    """A map result whole, as a file: a raster as GeoTIFF, GeoJSON as .geojson."""

    @requires("read")
    async def get(self, call_id: str) -> None:
        download = self.services.calls.download(call_id)
        self.set_header("Content-Type", download.mimetype)
        self.set_header("Content-Disposition", f'attachment; filename="{download.name}"')
        self.set_header("Content-Length", str(download.size))
        self.set_header("Cache-Control", "no-store")
        try:
            for piece in download.chunks:
                self.write(piece)
                await self.flush()
        except StreamClosedError:  # the client went away
            return
        self.finish()


class NotFoundHandler(RPCHandler):
    """Everything else under the prefix: a 404 in the one error shape."""

    @requires("read")
    async def get(self, path: str) -> None:
        raise web.HTTPError(404, f"There is no resource 'jupyter-rpc/{path}'.")

    post = put = patch = delete = get
