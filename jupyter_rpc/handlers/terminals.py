"""Terminals on a cluster: the REST side of :mod:`jupyter_rpc.services.terminals` and the
websocket that carries JupyterLab's terminal messages."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any

from jsonschema import Draft202012Validator
from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..errors import InvalidRequest, RPCError, error_body
from ..services import strict_json
from ..services.terminals import MAX_SIZE, Terminal, TerminalService
from .base import (
    AUTH_RESOURCE,
    HTTP_CODES,
    HTTP_MESSAGES,
    RPCHandler,
    Services,
    forbidden_message,
    requires,
)

_SIZE = {"type": "integer", "minimum": 1, "maximum": MAX_SIZE}
OPEN_REQUEST = Draft202012Validator(
    {
        "type": "object",
        "properties": {
            "cwd": {"type": "string", "maxLength": 4096},
            "job": {"type": "string", "pattern": "^[0-9]{1,20}(_[0-9]{1,10})?$"},
            "cols": _SIZE,
            "rows": _SIZE,
        },
        "additionalProperties": False,
    }
)

#: Largest websocket message a client may send (a paste of 1 MiB is plenty).
MAX_MESSAGE = 1024 * 1024


def _owner(handler: JupyterHandler) -> str:
    user = handler.current_user
    return str(getattr(user, "username", None) or user or "")


def _service(services: Services) -> TerminalService:
    terminals = services.terminals
    if terminals is None:  # pragma: no cover - RPCApp always makes one
        raise RPCError(
            "Terminals are not available on this server.", code="terminal.refused", status=403
        )
    return terminals


class TerminalsHandler(RPCHandler):
    """``GET``: the user's open terminals of a cluster; ``POST``: open one."""

    @requires("read")
    async def get(self, cluster: str) -> None:
        terminals = _service(self.services).list(cluster)
        self.write_json({"terminals": [t.to_json() for t in terminals]})

    @requires("execute", event="terminal.launch")
    async def post(self, cluster: str) -> None:
        if not self.body_bytes().strip():
            raise InvalidRequest(
                "The request body must be a JSON object ({} for a shell where a login starts).",
                code="request.schema",
            )
        body = self.json_body(OPEN_REQUEST)
        terminal = await _service(self.services).open(
            cluster,
            _owner(self),
            cwd=body.get("cwd") or None,
            cols=body.get("cols", 80),
            rows=body.get("rows", 24),
            job=body.get("job") or None,
        )
        self.audit(terminal=terminal.name)
        self.write_json(terminal.to_json(), status=201)


class TerminalHandler(RPCHandler):
    """``GET``: one terminal; ``DELETE``: end it (its shell hung up)."""

    @requires("read")
    async def get(self, cluster: str, terminal: str) -> None:
        self.write_json(_service(self.services).get(cluster, terminal).to_json())

    @requires("write", event="terminal.end")
    async def delete(self, cluster: str, terminal: str) -> None:
        await _service(self.services).end(cluster, terminal)
        self.set_status(204)
        self.finish()


class TerminalSocketHandler(
    WebSocketMixin,
    WebSocketHandler,
    ExtensionHandlerMixin,
    JupyterHandler,
):
    """The websocket of one terminal: JupyterLab's terminal messages as JSON text
    frames; the server pings it (``RPCApp.terminal_ping_interval``, 30 s) so no
    proxy's idle timeout cuts a quiet terminal. Closing it leaves the shell running."""

    auth_resource = AUTH_RESOURCE
    services: Services
    terminal: Terminal | None = None

    def initialize(self, name: str, services: Services) -> None:
        ExtensionHandlerMixin.initialize(self, name)
        self.services = services

    # the one JSON error shape for a refusal before the upgrade (as RPCHandler writes it)
    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, RPCError):
            status_code = exc.status
        super().send_error(status_code, **kwargs)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, RPCError):
            body = exc.to_json()
        elif isinstance(exc, web.HTTPError) or exc is None:
            message = (exc.log_message if isinstance(exc, web.HTTPError) else None) or (
                HTTP_MESSAGES.get(status_code, self._reason)
            )
            body = error_body(
                status_code, message, HTTP_CODES.get(status_code, f"http.{status_code}")
            )
        else:
            body = error_body(
                500, "An internal error occurred; the server log has the details.", "internal"
            )
        self.set_header("Content-Type", "application/json")
        self.finish(strict_json.dumps(body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, RPCError):
            self.log.warning(
                "%s %s -> %s %s: %s",
                self.request.method,
                self.request.path,
                value.status,
                value.code,
                value.message,
            )
        else:
            super().log_exception(typ, value, tb)

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        if not self.current_user:
            raise web.HTTPError(403, forbidden_message("execute"))
        if not await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "execute", AUTH_RESOURCE)
        ):
            raise web.HTTPError(403, forbidden_message("execute"))
        if self.request.headers.get("Upgrade", "").lower() != "websocket":
            raise InvalidRequest(
                "This is a terminal's websocket: connect with a websocket client "
                "(Upgrade: websocket).",
                code="request.invalid",
            )
        origin = self.request.headers.get("Origin") or self.request.headers.get(
            "Sec-Websocket-Origin"
        )
        if origin is not None and not self.check_origin(origin):
            # tornado would refuse it too, with a text body: the one error shape instead
            raise web.HTTPError(
                403,
                f"A page of another site ({origin[:200]}) may not open this terminal: "
                "websockets of other origins are refused (ServerApp.allow_origin).",
            )
        cluster, name = kwargs["cluster"], kwargs["terminal"]
        self.terminal = _service(self.services).get(cluster, name)
        await super().get(*args, **kwargs)

    get.jupyter_rpc_action = "execute"  # type: ignore[attr-defined]

    # Tornado's own pings (it closes a socket whose pong is later than the timeout, which
    # it caps at the interval): ServerApp.websocket_ping_interval (seconds) when the site
    # set it, else RPCApp.terminal_ping_interval. (The mixin's own pinging, which reads
    # ws_ping_interval in ms, is not started: see open.)
    @property
    def ping_interval(self) -> float:
        server = self.settings.get("websocket_ping_interval")
        if server:
            return float(server)
        terminals = self.services.terminals
        return terminals.settings.ping_interval if terminals is not None else 30.0

    @property
    def ping_timeout(self) -> float:
        timeout = self.settings.get("websocket_ping_timeout")
        interval = self.ping_interval
        return min(float(timeout), interval) if timeout else interval

    def open(self, *args: Any, **kwargs: Any) -> None:
        WebSocketHandler.open(self, *args, **kwargs)  # tornado pings (ping_interval)
        self.set_nodelay(True)  # keystrokes' echo goes out at once (no Nagle wait)
        if self.terminal is not None:
            self.terminal.attach(self._send)

    def on_message(self, message: str | bytes) -> None:
        if self.terminal is None:
            return
        if len(message) > MAX_MESSAGE:
            self.close(1009, "message too big")
            return
        try:
            data = json.loads(message)
        except ValueError:
            return
        if isinstance(data, list) and data[:1] == ["disconnect"]:
            self.close()
            return
        self.terminal.receive(data)

    def on_close(self) -> None:
        if self.terminal is not None:
            self.terminal.detach(self._send)

    def _send(self, message: list[Any]) -> Awaitable[None] | None:
        """Write one message; the terminal awaits its flush before it reads on."""
        if self.ws_connection is None or self.ws_connection.is_closing():
            return None
        try:
            sent = self.write_message(json.dumps(message))
        except WebSocketClosedError:
            return None
        if message[:1] == ["disconnect"]:
            self.close()
            return None
        sent.add_done_callback(_retrieve)  # a socket closed mid-write is not an error
        return sent


def _retrieve(future: Any) -> None:
    if not future.cancelled():
        future.exception()
