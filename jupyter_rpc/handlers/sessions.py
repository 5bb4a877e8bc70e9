"""Interactive apps (issue 14): the templates, the sessions (launch, list, end) and the
proxy to a running app, ``{base_url}jupyter-rpc/sessions/{id}/proxy/...``.

The proxy is our own small tornado handler, not jupyter-server-proxy's: that one
reaches a host and port (or a local UNIX socket) it is configured with, while a session's
app is reached through the cluster's pooled SSH connection (a forward of
:mod:`jupyter_rpc.ssh.forward`, found per session at request time); it would add aiohttp
and simpervisor to the server for a handler whose auth, error shape and events would all
have to be overridden; and the parts we need (hop-by-hop headers dropped, a
``Location`` kept under the prefix, the app's secret added and the browser's Jupyter
credentials removed, websockets pumped both ways) are a few dozen lines on tornado's
own clients.
"""

from __future__ import annotations

import asyncio
import contextlib
from http.cookies import SimpleCookie
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

from jsonschema import Draft202012Validator
from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import httpclient, httputil, web
from tornado.iostream import StreamClosedError
from tornado.simple_httpclient import SimpleAsyncHTTPClient
from tornado.websocket import WebSocketClientConnection, WebSocketHandler, websocket_connect

from ..errors import InvalidRequest, RemoteFailed, RPCError, error_body
from ..services import strict_json
from ..services.sessions import (
    ByteReader,
    RFBError,
    SessionService,
    Upstream,
    proxy_prefix,
    vnc_login,
    vnc_offer_none,
)
from .base import (
    AUTH_RESOURCE,
    HTTP_CODES,
    HTTP_MESSAGES,
    RPCHandler,
    Services,
    forbidden_message,
    requires,
)

LAUNCH_REQUEST = Draft202012Validator(
    {
        "type": "object",
        "properties": {
            "app": {"type": "string", "minLength": 1, "maxLength": 64},
            "cluster": {"type": "string", "minLength": 1, "maxLength": 64},
            "values": {"type": "object"},
        },
        "required": ["app", "cluster"],
        "additionalProperties": False,
    }
)

#: Headers that belong to one connection (RFC 9110 7.6.1), never passed on.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
#: Request headers the app never gets: the browser's credentials for Jupyter (the app
#: gets its own secret instead) and what tornado sets itself.
REQUEST_DROP = HOP_BY_HOP | {"host", "authorization", "content-length", "x-xsrftoken"}
#: Websocket handshake headers tornado's client makes itself.
WS_DROP = REQUEST_DROP | {
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-accept",
    "sec-websocket-protocol",
    "origin",
}
#: Seconds each side of a desktop's VNC handshake may take.
HANDSHAKE_SECONDS = 20.0
#: Largest websocket message passed either way.
MAX_WS_MESSAGE = 64 * 1024 * 1024
#: Methods whose request body is passed on to the app as it arrives.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Chunks of a request body held between the browser and the app (tornado reads 64 KiB
#: at a time); beyond that the browser waits (back-pressure).
BODY_QUEUE = 16


def _service(services: Services) -> SessionService:
    if services.sessions is None:  # pragma: no cover - RPCApp always makes one
        raise RemoteFailed("Apps are not available on this server.", code="session.failed")
    return services.sessions


#: A user's own template: checked by the service (services/apps.py user_app_problems).
USER_APP_BODY = Draft202012Validator({"type": "object"})


class AppsHandler(RPCHandler):
    """``GET``: the apps users may launch; ``POST``: add a template of the user's own."""

    @requires("read")
    async def get(self) -> None:
        sessions = _service(self.services)
        grant = self.grant  # only those the site's policy lets this user launch
        apps = [
            a
            for a in sessions.apps.values()
            if grant.allows_app(a.name, user_defined=a.source == "user")
        ]
        self.write_json({"apps": [a.to_json() for a in apps]})

    @requires("write", event="app.add")
    async def post(self) -> None:
        body = self.json_body(USER_APP_BODY)
        name = body.get("name")
        self.audit(app=name if isinstance(name, str) else None)
        self.audit_arguments({k: v for k, v in body.items() if k != "script"})
        template = _service(self.services).add_user_app(body, self.grant)
        self.write_json(template.to_json(), status=201)


class AppHandler(RPCHandler):
    """``DELETE``: remove a template of the user's own."""

    @requires("write", event="app.remove")
    async def delete(self, app: str) -> None:
        self.audit(app=app)
        _service(self.services).remove_user_app(app)
        self.set_status(204)
        self.finish()


class AppFormHandler(RPCHandler):
    """``GET ?cluster=``: an app's launch form on a cluster (JSON Schema)."""

    @requires("read")
    async def get(self, app: str) -> None:
        cluster = self.get_query_argument("cluster", "")
        if not cluster:
            raise InvalidRequest("Say which cluster: ?cluster=<name>.", code="request.invalid")
        self.grant.check_cluster(cluster, user_defined=self._user_cluster(cluster))
        service = _service(self.services)
        template = service.app(app)
        self.grant.check_app(template.name, user_defined=template.source == "user")
        self.write_json(service.form(app, cluster))

    def _user_cluster(self, name: str) -> bool:
        try:
            return self.services.clusters.get(name).source == "user"
        except RPCError:
            return False


class SessionsHandler(AppFormHandler):
    """``GET``: the sessions; ``POST``: launch one."""

    @requires("read")
    async def get(self) -> None:  # type: ignore[override]
        service = _service(self.services)
        sessions = await service.refresh_all()
        self.write_json({"sessions": [s.to_json(self.base_url) for s in sessions]})

    @requires("execute", event="session.launch")
    async def post(self) -> None:
        body = self.json_body(LAUNCH_REQUEST)
        self.audit(cluster=body["cluster"])
        self.audit_arguments(body.get("values", {}))
        self.grant.check_cluster(body["cluster"], user_defined=self._user_cluster(body["cluster"]))
        session = await _service(self.services).launch(
            body["app"], body["cluster"], body.get("values") or {}, self.grant
        )
        self.audit(job_id=session.job_id)
        self.write_json(session.to_json(self.base_url), status=201)


class SessionHandler(RPCHandler):
    """``GET``: one session; ``DELETE``: end it (its job cancelled)."""

    @requires("read")
    async def get(self, session: str) -> None:
        service = _service(self.services)
        found = await service.refresh(await service.lookup(session))
        self.write_json(found.to_json(self.base_url))

    @requires("write", event="session.end")
    async def delete(self, session: str) -> None:
        service = _service(self.services)
        found = await service.lookup(session)
        self.audit(cluster=found.cluster, job_id=found.job_id)
        self.write_json((await service.end(session)).to_json(self.base_url))


@web.stream_request_body
class ProxyHandler(WebSocketMixin, WebSocketHandler, ExtensionHandlerMixin, JupyterHandler):
    """HTTP and websockets of a session's app. Authenticated by the Jupyter server
    (``read`` on ``jupyter_rpc``); the app's own secret is added here.

    A request's body is streamed (tornado's ``stream_request_body``): once its headers
    are authenticated the request to the app starts, and each chunk goes on as it
    arrives, a few held at a time, so an upload of any size (up to the server's
    ``max_body_size``) costs the server no more memory than a small one, and the app
    parses the body, not the proxy."""

    auth_resource = AUTH_RESOURCE
    services: Services
    _upstream_ws: WebSocketClientConnection | None = None
    _pump: asyncio.Task[None] | None = None
    #: the request body's chunks on their way to the app (None: the body's end)
    _body: asyncio.Queue[bytes | None] | None = None
    #: the request to the app, started in prepare() while the body arrives
    _forwarding: asyncio.Task[None] | None = None

    def initialize(self, name: str, services: Services) -> None:
        ExtensionHandlerMixin.initialize(self, name)
        self.services = services

    # -- refusals: the one error shape, 403 instead of a login redirect ---------------

    def get_login_url(self) -> str:
        raise web.HTTPError(403)

    def check_xsrf_cookie(self) -> None:
        # The app's own pages post to it without Jupyter's _xsrf (as with
        # jupyter-server-proxy); Jupyter's cookie is SameSite, and the app's secret is
        # added only to requests that passed Jupyter's authentication.
        return

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, RPCError):
            status_code = exc.status
        if self._headers_written:  # mid-stream: nothing more can be said
            self.finish()
            return
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
        self.clear_header("Content-Security-Policy")
        self.set_header("Content-Type", "application/json")
        self.finish(strict_json.dumps(body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, RPCError):
            self.log.warning(
                "%s %s -> %s %s", self.request.method, self.request.path, value.status, value.code
            )
        else:
            super().log_exception(typ, value, tb)

    async def _authorize(self) -> None:
        if not self.current_user:
            raise web.HTTPError(403, HTTP_MESSAGES[403])
        if not await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "read", AUTH_RESOURCE)
        ):
            raise web.HTTPError(403, forbidden_message("read"))

    # -- HTTP ----------------------------------------------------------------------------

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        if self._finished or not self._has_body():
            return
        # The body goes on to the app as it arrives: the request is authenticated, and
        # the app found, before any of it does.
        if not self.current_user:
            raise web.HTTPError(403, HTTP_MESSAGES[403])
        await self._authorize()
        session = str(self.path_kwargs.get("session", ""))
        prefix = proxy_prefix(self.base_url, session)
        if not self.request.path.startswith(prefix):
            return  # a 404 or the redirect to the prefix, once the (dropped) body is read
        upstream = await self._target_for(session)
        self._body = asyncio.Queue(BODY_QUEUE)
        self._forwarding = asyncio.ensure_future(self._proxy(session, upstream))

    def _has_body(self) -> bool:
        headers = self.request.headers
        if self.request.method not in BODY_METHODS:
            return False
        if "chunked" in headers.get("Transfer-Encoding", "").lower():
            return True
        try:
            return int(headers.get("Content-Length", "0")) > 0
        except ValueError:
            return False

    async def data_received(self, chunk: bytes) -> None:
        queue, forwarding = self._body, self._forwarding
        if queue is None or forwarding is None or forwarding.done():
            return  # no app to send it to (it answered already, or failed): dropped
        if not queue.full():
            queue.put_nowait(chunk)
            return
        # the app reads slower than the browser sends: hold the browser back
        put = asyncio.ensure_future(queue.put(chunk))
        await asyncio.wait({put, forwarding}, return_when=asyncio.FIRST_COMPLETED)
        put.cancel()

    async def _body_sent(self) -> None:
        """The whole body arrived: tell the app, then wait for its answer to be passed on."""
        queue, forwarding = self._body, self._forwarding
        assert queue is not None and forwarding is not None
        if not forwarding.done():
            end = asyncio.ensure_future(queue.put(None))
            await asyncio.wait({end, forwarding}, return_when=asyncio.FIRST_COMPLETED)
            end.cancel()
        await forwarding

    def on_connection_close(self) -> None:
        if self._forwarding is not None and not self._forwarding.done():
            self._forwarding.cancel()  # the browser went away mid-upload
        super().on_connection_close()

    @ws_authenticated  # a 403 without a login (never a redirect), HTTP or websocket
    async def get(self, session: str, path: str | None = None) -> None:
        await self._authorize()
        if self.request.headers.get("Upgrade", "").lower() == "websocket":
            self._session = session
            self._target = await self._target_for(session)
            await WebSocketHandler.get(self, session, path)
            return
        await self._proxy(session)
        if not self._finished:
            self.finish()

    async def _proxy(self, session: str, streamed: Upstream | None = None) -> None:
        """Pass the request to the app and its answer back; ``streamed``: the app of a
        request whose body :meth:`data_received` queues (started by :meth:`prepare`)."""
        await self._authorize()
        service = _service(self.services)
        prefix = proxy_prefix(self.base_url, session)
        if not self.request.path.startswith(prefix) and self.request.path != prefix[:-1]:
            raise web.HTTPError(404)  # .../proxyfoo
        if self.request.path == prefix[:-1]:  # relative links need the slash
            query = f"?{self.request.query}" if self.request.query else ""
            self.redirect(prefix + query, permanent=False)
            return
        upstream = streamed or await self._target_for(session)
        url = upstream.url + _upstream_path(self.request, upstream, prefix)
        headers = _request_headers(self.request.headers, upstream)
        body: bytes | None = None
        producer = None
        if streamed is not None and self._body is not None:
            queue = self._body
            length = self.request.headers.get("Content-Length")
            if length is not None:
                headers["Content-Length"] = length  # else chunked, as it came

            async def producer(write: Any) -> None:
                while (chunk := await queue.get()) is not None:
                    await write(chunk)

        elif self.request.method in ("POST", "PUT", "PATCH"):
            body = b""
        client = SimpleAsyncHTTPClient(
            force_instance=True,
            resolver=upstream.resolver,
            max_body_size=1 << 42,
            max_buffer_size=1 << 27,
        )
        started = False

        def on_header(line: str) -> None:
            nonlocal started
            if line.startswith("HTTP/"):
                self._status_line = httputil.parse_response_start_line(line.strip())
                self._upstream_headers = httputil.HTTPHeaders()
            elif line.strip():
                self._upstream_headers.parse_line(line)
            elif self._status_line.code != 100:
                self._start_response(upstream, prefix)
                started = True

        def on_chunk(chunk: bytes) -> Any:
            # tornado's client awaits what this returns before it reads on: the app's
            # answer comes no faster than the browser takes it (back-pressure)
            self.write(chunk)
            return self.flush()

        request = httpclient.HTTPRequest(
            url,
            method=self.request.method or "GET",
            headers=headers,
            body=body,
            body_producer=cast(Any, producer),  # tornado awaits what it returns
            follow_redirects=False,
            decompress_response=False,
            header_callback=on_header,
            streaming_callback=on_chunk,
            allow_nonstandard_methods=True,
            request_timeout=3600,
            connect_timeout=20,
        )
        try:
            await client.fetch(request, raise_error=False)
        except StreamClosedError:
            if self.request.connection is None or self._finished or started:
                return  # the browser went away mid-answer: nothing to say, the app is fine
            await service.lost(session)
            raise RemoteFailed(
                f"The app of session {session} closed the connection without an answer.",
                code="session.unreachable",
                details={"session": session},
            ) from None
        except (OSError, httpclient.HTTPClientError, asyncio.TimeoutError) as exc:
            await service.lost(session)
            if not started:
                raise RemoteFailed(
                    f"The app of session {session} does not answer: {_reason(exc)}",
                    code="session.unreachable",
                    details={"session": session},
                ) from None
        finally:
            client.close()
        if not started:  # no answer at all (the connection closed)
            await service.lost(session)
            raise RemoteFailed(
                f"The app of session {session} closed the connection without an answer.",
                code="session.unreachable",
                details={"session": session},
            )

    def _start_response(self, upstream: Upstream, prefix: str) -> None:
        line = self._status_line
        self.set_status(line.code, line.reason or None)
        self.clear_header("Content-Type")
        self.clear_header("Content-Security-Policy")
        for name, value in self._upstream_headers.get_all():
            lower = name.lower()
            if lower in HOP_BY_HOP:
                continue
            if lower == "location":
                value = rewrite_location(value, upstream, prefix)
            if lower == "set-cookie" and upstream.strip_prefix:
                value = _cookie_path(value, prefix)
            self.add_header(name, value)
        self.flush()

    async def _target_for(self, session: str) -> Upstream:
        return await _service(self.services).upstream(session)

    async def _with_body(self, session: str) -> None:
        if self._forwarding is not None:
            await self._body_sent()
        else:  # no body, or one not for the app (a 404, the redirect to the prefix)
            await self._proxy(session)
        if not self._finished:
            self.finish()

    @web.authenticated
    async def post(self, session: str, path: str | None = None) -> None:
        await self._with_body(session)

    @web.authenticated
    async def put(self, session: str, path: str | None = None) -> None:
        await self._with_body(session)

    @web.authenticated
    async def patch(self, session: str, path: str | None = None) -> None:
        await self._with_body(session)

    @web.authenticated
    async def delete(self, session: str, path: str | None = None) -> None:
        await self._with_body(session)

    # -- websockets ---------------------------------------------------------------------

    _session: str = ""
    _target: Upstream | None = None

    @property
    def max_message_size(self) -> int:
        return MAX_WS_MESSAGE

    async def open(self, session: str, path: str | None = None) -> None:
        WebSocketHandler.open(self, session, path)
        upstream = self._target
        assert upstream is not None
        prefix = proxy_prefix(self.base_url, session)
        if upstream.kind == "desktop":
            # websockify --host-token: the Host header's token picks the VNC socket (a
            # token in the URL would be written to its log)
            url = f"{upstream.url}/"
            headers = httputil.HTTPHeaders({"Host": upstream.token})
        else:
            url = upstream.url + _upstream_path(self.request, upstream, prefix)
            headers = _request_headers(self.request.headers, upstream, drop=WS_DROP)
        url = "ws" + url[len("http") :]
        try:
            self._upstream_ws = await websocket_connect(
                httpclient.HTTPRequest(url, headers=headers, connect_timeout=20),
                resolver=upstream.resolver,
                max_message_size=MAX_WS_MESSAGE,
            )
        except (OSError, httpclient.HTTPClientError, asyncio.TimeoutError) as exc:
            await _service(self.services).lost(session)
            self.log.info("session %s: websocket to the app failed: %s", session, _reason(exc))
            self.close(1011, "the app does not answer")
            return
        loop = asyncio.get_running_loop()
        if upstream.kind == "desktop":
            # The VNC login is the server's: the browser's viewer gets security type
            # None on a connection already authenticated with the session's password.
            app = ByteReader(self._upstream_ws.read_message)
            try:
                await asyncio.wait_for(
                    vnc_login(app, self._to_app, upstream.password), HANDSHAKE_SECONDS
                )
            except (RFBError, asyncio.TimeoutError, OSError) as exc:
                self.log.info("session %s: VNC login failed: %s", session, _reason(exc))
                self.close(1011, "the desktop refused the connection")
                return
            self._handshake = asyncio.Queue()
            self._pump = loop.create_task(self._relay_desktop(app))
            return
        self._pump = loop.create_task(self._from_app(self._upstream_ws))

    _handshake: asyncio.Queue[bytes | None] | None = None

    async def _to_app(self, data: bytes) -> None:
        assert self._upstream_ws is not None
        await self._upstream_ws.write_message(data, binary=True)

    async def _to_browser(self, data: bytes) -> None:
        await self.write_message(data, binary=True)

    async def _relay_desktop(self, app: ByteReader) -> None:
        assert self._handshake is not None and self._upstream_ws is not None
        browser = ByteReader(self._handshake.get)
        try:
            await asyncio.wait_for(vnc_offer_none(browser, self._to_browser), HANDSHAKE_SECONDS)
        except (RFBError, asyncio.TimeoutError, Exception) as exc:  # noqa: BLE001
            self.log.info("session %s: the viewer's VNC handshake failed: %s", self._session, exc)
            with contextlib.suppress(Exception):
                self.close(1002, "not a VNC viewer")
            return
        queue, self._handshake = self._handshake, None  # from now on: straight on
        early = bytearray(browser.rest())
        while not queue.empty():
            item = queue.get_nowait()
            if item is None:
                return  # the browser went away
            early += item
        try:
            if early:
                await self._to_app(bytes(early))
            rest = app.rest()
            if rest:
                await self._to_browser(rest)
        except Exception:  # noqa: BLE001 - either side went away
            with contextlib.suppress(Exception):
                self.close()
            return
        await self._from_app(self._upstream_ws)

    async def _from_app(self, upstream: WebSocketClientConnection) -> None:
        while True:
            message = await upstream.read_message()
            if message is None:
                break
            try:
                await self.write_message(message, binary=isinstance(message, bytes))
            except Exception:  # noqa: BLE001 - the browser went away
                break
        with contextlib.suppress(Exception):
            self.close()

    async def on_message(self, message: str | bytes) -> None:
        if self._handshake is not None:
            self._handshake.put_nowait(message if isinstance(message, bytes) else message.encode())
            return
        if self._upstream_ws is not None:
            with contextlib.suppress(Exception):
                await self._upstream_ws.write_message(message, binary=isinstance(message, bytes))

    def on_close(self) -> None:
        if self._handshake is not None:
            self._handshake.put_nowait(None)
        if self._upstream_ws is not None:
            self._upstream_ws.close()
            self._upstream_ws = None

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return subprotocols[0] if subprotocols else None


for _method in ("get", "post", "put", "patch", "delete"):
    getattr(ProxyHandler, _method).jupyter_rpc_action = "read"


def _upstream_path(request: httputil.HTTPServerRequest, upstream: Upstream, prefix: str) -> str:
    """The path (and query) the app gets: the prefix stripped, or kept."""
    path = request.path
    rest = path[len(prefix) :] if path.startswith(prefix) else ""
    query = f"?{request.query}" if request.query else ""
    if upstream.strip_prefix:
        return "/" + rest + query
    return prefix + rest + query


def _request_headers(
    incoming: httputil.HTTPHeaders, upstream: Upstream, drop: frozenset[str] = REQUEST_DROP
) -> httputil.HTTPHeaders:
    headers = httputil.HTTPHeaders()
    for name, value in incoming.get_all():
        lower = name.lower()
        if lower in drop:
            continue
        if lower == "cookie":
            value = _app_cookies(value)
            if not value:
                continue
        headers.add(name, value)
    headers["Host"] = upstream.host_header
    headers["Authorization"] = f"token {upstream.token}"
    headers["X-Forwarded-Prefix"] = upstream.prefix.rstrip("/")
    return headers


def _app_cookies(header: str) -> str:
    """The browser's cookies minus Jupyter's own (its login and _xsrf)."""
    kept = []
    for part in header.split(";"):
        name = part.split("=", 1)[0].strip()
        if not name or name == "_xsrf" or name.startswith("username-"):
            continue
        kept.append(part.strip())
    return "; ".join(kept)


def _cookie_path(value: str, prefix: str) -> str:
    """A cookie the app set for ``/...`` is the browser's for ``prefix...``."""
    cookie = SimpleCookie()
    try:
        cookie.load(value)
    except Exception:  # noqa: BLE001 - an odd cookie passes as it is
        return value
    if len(cookie) != 1:
        return value
    morsel = next(iter(cookie.values()))
    path = morsel["path"] or "/"
    if path.startswith("/") and not path.startswith(prefix):
        morsel["path"] = prefix + path[1:]
    return morsel.OutputString()


def rewrite_location(value: str, upstream: Upstream, prefix: str) -> str:
    """A redirect of the app, kept under the session's prefix: an absolute path (or a
    URL of the app's own host) becomes the prefix's; another site's URL is left."""
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        if parts.netloc.lower() != upstream.host_header.lower():
            return value  # another site
    path = parts.path
    if not path.startswith("/"):
        return urlunsplit(("", "", path, parts.query, parts.fragment))
    if upstream.strip_prefix:
        path = prefix + path[1:]
    return urlunsplit(("", "", path, parts.query, parts.fragment))


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
