"""Call remote functions from notebook cells and scripts, through the Jupyter server.

``connect("examples")`` returns an object whose methods are the backend's functions,
with real signatures and docstrings. Calls go to the Jupyter server that runs the
extension (over its REST API, with its own authentication): the kernel holds no cluster
credentials and opens no connection of its own to a backend.
"""

from __future__ import annotations

import asyncio
import glob
import http.client
import inspect
import json
import math
import os
import select
import socket
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any, Optional

from .display import ProgressView, rich_value

FINISHED = ("succeeded", "failed", "cancelled")
BLOCK = 256 * 1024  # bytes per send / read of streamed bodies
#: Bodies of this size or more are sent after the server's go-ahead (``Expect:
#: 100-continue``): a request the server refuses (an upload onto an existing file) gets
#: its answer before any of the body goes, instead of after it all.
EXPECT_FROM = 1024 * 1024
#: How long to wait for the go-ahead before sending anyway (a proxy that does not pass
#: ``Expect`` on may never answer it).
EXPECT_WAIT = 3.0
_TYPES: dict[str, Any] = {
    "integer": int,
    "number": float,
    "string": str,
    "boolean": bool,
    "array": list,
    "object": dict,
}


class RemoteError(Exception):
    """The remote side failed: the function raised, timed out, or the call was refused."""

    def __init__(
        self, message: str, *, code: str = "", call_id: str | None = None, details: Any = None
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.call_id = call_id
        self.details = details or {}


class Unsupported(RemoteError):
    """The cluster's scheduler cannot do this: its ``capabilities`` (``cluster.info``) say
    so, and nothing was sent. ``capability`` names what it lacks (code
    ``scheduler.unsupported``, as the server's own refusal)."""

    def __init__(self, message: str, *, capability: str):
        super().__init__(message, code="scheduler.unsupported", details={"capability": capability})
        self.capability = capability


#: What a scheduler's capability lets a cluster do (the Jobs panel says the same).
CAPABILITY_TEXT = {
    "hold": "hold and release jobs",
    "arrays": "run array jobs",
    "history": "list the jobs that ended (it keeps no accounting)",
    "test_only": "tell when a job would start without submitting it",
    "efficiency": "say what an ended job used",
    "queues": "list its queues",
    "workdir": "set a job's working folder (a job starts in your home folder: cd in the script)",
    "dependencies": "make a job wait for others",
}


def need_capability(cluster: dict[str, Any], capability: str) -> None:
    """Raise :class:`Unsupported` when the cluster described by ``cluster`` (``GET
    clusters/NAME``) says its scheduler lacks ``capability``."""
    capabilities = cluster.get("capabilities")
    if isinstance(capabilities, dict) and capabilities.get(capability) is False:
        label = cluster.get("display_name") or cluster.get("name")
        raise Unsupported(
            f"Cluster {label!r} ({cluster.get('scheduler')}) cannot "
            f"{CAPABILITY_TEXT.get(capability, capability)}: its scheduler lacks the "
            f"capability {capability!r} (cluster.info['capabilities'] says what it can).",
            capability=capability,
        )


class InvalidArguments(RemoteError, ValueError):
    """The arguments do not fit the function's schema (nothing was sent to the backend)."""


class OpenPanelFirst(RemoteError):
    """The cluster needs a person first: a host key to trust (``ssh.host_unknown``) or a
    login to answer (``ssh.auth_required``, a password or a one-time code).

    A notebook cannot show those dialogs. Open the Jobs or Remote files panel in
    JupyterLab once, choose the cluster there, and answer the dialog; the Jupyter server
    keeps the connection, so notebook code works afterwards.
    """

    def __init__(self, message: str, *, code: str = "", details: Any = None, cluster: str = ""):
        self.cluster = cluster
        details = details or {}
        self.fingerprint: str | None = details.get("fingerprint")
        name = f"'{cluster}'" if cluster else "this cluster"
        if code == "ssh.host_unknown":
            hint = (
                f"A notebook cannot ask you to trust a host: open the Jobs or Remote files panel "
                f"in JupyterLab, choose {name}, check that the fingerprint "
                f"{self.fingerprint or '(see above)'} is the one your cluster documents and trust it "
                "there once; then run this cell again."
            )
        else:
            hint = (
                f"A notebook cannot show a login prompt: open the Jobs or Remote files panel in "
                f"JupyterLab, choose {name} and log in there once (the Jupyter server keeps the "
                "connection); then run this cell again."
            )
        super().__init__(f"{message}\n{hint}" if message else hint, code=code, details=details)
        self.server_message = message


class ServerNotFound(RuntimeError):
    """No Jupyter server with jupyter_rpc could be found."""


def find_server() -> tuple[str, str]:
    """The URL and token of the Jupyter server this kernel belongs to."""
    if os.environ.get("JUPYTER_RPC_URL"):
        return os.environ["JUPYTER_RPC_URL"], os.environ.get("JUPYTER_RPC_TOKEN", "")
    if os.environ.get("JUPYTERHUB_SERVICE_URL") and os.environ.get("JUPYTERHUB_API_TOKEN"):
        return os.environ["JUPYTERHUB_SERVICE_URL"], os.environ["JUPYTERHUB_API_TOKEN"]
    from jupyter_core.paths import jupyter_runtime_dir

    servers = []
    for path in glob.glob(os.path.join(jupyter_runtime_dir(), "jpserver-*.json")):
        try:
            with open(path) as f:
                info = json.load(f)
            os.kill(int(info["pid"]), 0)
        except (OSError, ValueError, KeyError):
            continue
        servers.append(info)
    ancestors = _ancestors()
    for info in servers:
        if int(info["pid"]) in ancestors:
            return info["url"], info.get("token", "")
    if len(servers) == 1:
        return servers[0]["url"], servers[0].get("token", "")
    raise ServerNotFound(
        "No Jupyter server to talk to was found"
        + (f" ({len(servers)} are running and none started this process)" if servers else "")
        + ". Run this inside JupyterLab, or pass connect(..., url=..., token=...), or set "
        "JUPYTER_RPC_URL and JUPYTER_RPC_TOKEN."
    )


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    for _ in range(32):
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        if pid <= 1:
            break
        pids.add(pid)
    if not pids:
        pids.add(os.getppid())
    return pids


def _encode(body: Any) -> bytes:
    """``body`` as strict JSON; NaN and infinities raise ``ValueError`` naming where they are
    (the server refuses them, and no browser could read them back)."""
    try:
        return json.dumps(body, allow_nan=False).encode()
    except ValueError:
        where, value = _not_finite(body, "") or ("a value", None)
        raise ValueError(
            f"{where} is {value!r}: NaN and infinite numbers cannot be sent as JSON. "
            "Send None (or a string) instead."
        ) from None


def _not_finite(value: Any, path: str) -> tuple[str, float] | None:
    """(dotted path, value) of the first NaN or infinity in ``value``, if any."""
    if isinstance(value, float) and not math.isfinite(value):
        return path or "the value", value
    items: Any = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    for key, item in items:
        found = _not_finite(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


class Session:
    """HTTP access to one server's jupyter_rpc API."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        asynchronous: bool = False,
    ):
        self.asynchronous = asynchronous
        self._local = threading.local()  # one keep-alive connection per thread
        if url is None:
            url, found_token = find_server()
            token = found_token if token is None else token
        self.url = url.rstrip("/") + "/jupyter-rpc/"
        self.token = token or ""
        self.timeout = timeout

    def request(
        self, method: str, path: str, body: Any = None, *, timeout: float | None = None
    ) -> Any:
        """One request on this thread's keep-alive connection; errors become RemoteError.

        Returns the decoded JSON answer (``None`` for an empty answer, e.g. ``204``).
        """
        data = _encode(body) if body is not None else None
        response = self._exchange(method, path, data, {"Content-Type": "application/json"}, timeout)
        try:
            raw = response.read()
        except OSError as exc:
            self._drop()
            raise RemoteError(
                f"The Jupyter server at {self.url} broke off its answer: {exc}"
            ) from None
        if response.status >= 400:
            raise self._error(response.status, raw, path)
        return json.loads(raw) if raw else None

    def stream(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        size: int | None = None,
        content_type: str = "application/octet-stream",
        timeout: float | None = None,
    ) -> http.client.HTTPResponse:
        """Send ``body`` (bytes or a binary file object, sent in blocks) and return the
        response *unread*, for answers too large to hold in memory.

        The caller reads the response in pieces and must read it to the end (or call
        :meth:`discard`) before the next request on this thread. A file body is sent from
        its current position; ``size`` is its length from there (``Content-Length``).
        Error answers (4xx/5xx) raise :class:`RemoteError` here.
        """
        headers = {"Content-Type": content_type}
        if size is not None:
            headers["Content-Length"] = str(size)
        response = self._exchange(method, path, body, headers, timeout)
        if response.status >= 400:
            try:
                raw = response.read()
            except OSError:
                self._drop()
                raw = b""
            raise self._error(response.status, raw, path)
        return response

    def discard(self) -> None:
        """Forget this thread's connection (after a response that was not read to its end)."""
        self._drop()

    def _exchange(
        self, method: str, path: str, body: Any, headers: dict[str, str], timeout: float | None
    ) -> http.client.HTTPResponse:
        """Send one request and return the response with its body unread."""
        url = urllib.parse.urlsplit(urllib.parse.urljoin(self.url, path))
        target = url.path + (f"?{url.query}" if url.query else "")
        headers = dict(headers)
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        start = body.tell() if hasattr(body, "read") and body.seekable() else None
        for attempt in (1, 2):  # a kept-alive connection the server has closed: reconnect once
            conn = self._connection(url, timeout or self.timeout)
            try:
                return _send(conn, method, target, body, headers)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop()
                # never send a POST twice blindly, nor a file body we cannot rewind
                rewind = not hasattr(body, "read") or start is not None
                if attempt == 2 or method == "POST" or not rewind:
                    raise RemoteError(
                        f"The Jupyter server at {self.url} closed the connection: {exc}"
                    ) from None
                if start is not None:
                    body.seek(start)
            except OSError as exc:
                self._drop()
                raise RemoteError(f"Cannot reach the Jupyter server at {self.url}: {exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def _error(self, status: int, raw: bytes, path: str) -> RemoteError:
        """The exception for an error answer (the server's message and code)."""
        try:
            err = json.loads(raw)
            if not isinstance(err, dict):
                raise ValueError(err)
        except ValueError:
            err = {"message": f"HTTP {status} from {self.url}{path}", "code": f"http.{status}"}
        code = err.get("code", "")
        message, details = err.get("message", ""), err.get("details")
        if code == "request.schema":
            return InvalidArguments(message, code=code, details=details)
        if code in ("ssh.host_unknown", "ssh.auth_required"):
            parts = path.split("/")
            cluster = (
                urllib.parse.unquote(parts[1]) if len(parts) > 1 and parts[0] == "clusters" else ""
            )
            return OpenPanelFirst(message, code=code, details=details, cluster=cluster)
        return RemoteError(message, code=code, details=details)

    def _connection(
        self, url: urllib.parse.SplitResult, timeout: float
    ) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            cls = (
                http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
            )
            conn = cls(url.hostname or "127.0.0.1", url.port, timeout=timeout, blocksize=BLOCK)
            self._local.conn = conn
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def run(self, backend: str, function: str, arguments: dict[str, Any]) -> Any:
        """The result of a call, or a coroutine of it when the session is asynchronous."""
        if self.asynchronous:
            return self.acall(backend, function, arguments)
        return self.call(backend, function, arguments)

    def call(self, backend: str, function: str, arguments: dict[str, Any]) -> Any:
        """Run one call to the end and return its result (Ctrl-C / interrupt cancels it).

        Inside IPython the backend's progress shows live in the cell, and results that
        are tables, images or charts display richly while staying plain Python values.
        """
        view = ProgressView(f"{backend}.{function}")
        call: dict[str, Any] = {"id": uuid.uuid4().hex}
        try:
            call = self._start(backend, function, arguments, call["id"])
            while call["state"] not in FINISHED:
                view.update(call.get("progress"), call["state"])
                call = self._follow(call)
        except KeyboardInterrupt:
            self._cancel(call, view)
            raise
        return self._outcome(call, view)

    async def acall(self, backend: str, function: str, arguments: dict[str, Any]) -> Any:
        """:meth:`call` for ``await``: cancelling the awaiting task cancels the remote call."""
        view = ProgressView(f"{backend}.{function}")
        call: dict[str, Any] = {"id": uuid.uuid4().hex}
        try:
            call = await asyncio.to_thread(self._start, backend, function, arguments, call["id"])
            while call["state"] not in FINISHED:
                view.update(call.get("progress"), call["state"])
                call = await asyncio.to_thread(self._follow, call)
        except asyncio.CancelledError:
            await asyncio.to_thread(
                self._cancel, call, view
            )  # off the loop: it may be the server's
            raise
        except KeyboardInterrupt:
            self._cancel(call, view)
            raise
        return self._outcome(call, view)

    def _start(
        self, backend: str, function: str, arguments: dict[str, Any], call_id: str
    ) -> dict[str, Any]:
        # The id is ours, so an interrupt at any moment can cancel the call, and a short
        # call is answered by this one request (it waits up to half a second, then the
        # progress display takes over).
        body = {"function": function, "arguments": arguments, "id": call_id, "wait": 0.5}
        path = f"backends/{urllib.parse.quote(backend, safe='')}/calls"
        return self.request("POST", path, body, timeout=60)  # type: ignore[no-any-return]

    def _follow(self, call: dict[str, Any]) -> Any:
        return self.request(
            "GET", f"calls/{call['id']}?wait=25&version={call['version']}", timeout=60
        )

    def _cancel(self, call: dict[str, Any], view: ProgressView | None) -> None:
        self._local.conn = None  # an interrupted request leaves its connection unusable
        deadline = time.monotonic() + 5
        while True:
            try:
                self.request("DELETE", f"calls/{call['id']}", timeout=5)
                break
            except RemoteError as exc:
                # not found yet: the POST was interrupted before the server took it
                if exc.code != "call.not_found" or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
        if view is not None:
            view.done(call.get("progress"), "cancelled")

    def _outcome(self, call: dict[str, Any], view: ProgressView) -> Any:
        view.done(call.get("progress"), call["state"])
        return outcome(call, self.download)

    def download(self, path: str) -> bytes:
        """The bytes at ``path`` (under the server's base URL, e.g. a raster's
        ``download``: ``jupyter-rpc/calls/<id>/download``)."""
        path = path.removeprefix("jupyter-rpc/")
        response = self.stream("GET", path, timeout=max(self.timeout, 300))
        try:
            return response.read()
        except OSError as exc:
            self._drop()
            raise RemoteError(f"The download of {path} broke off: {exc}") from None


def outcome(call: dict[str, Any], fetch: Callable[[str], bytes] | None = None) -> Any:
    """The value of an ended call (the server's ``Call``), or its ``RemoteError``."""
    if call["state"] != "succeeded":
        error = call.get("error") or {}
        cls = InvalidArguments if error.get("code") == "request.schema" else RemoteError
        raise cls(
            error.get("message", f"The call {call['state']}."),
            code=error.get("code", ""),
            call_id=call["id"],
            details=error.get("details"),
        )
    if "result_dropped" in call:  # too large to keep, and someone else read it first
        raise RemoteError(call["result_dropped"], call_id=call["id"])
    return rich_value(call.get("result"), call.get("display"), fetch)


class RemoteBackend:
    """A backend's functions as methods; classes as callables returning instances."""

    def __init__(self, name: str, session: Session):
        self._name = name
        self._session = session
        specs = session.request("GET", f"backends/{urllib.parse.quote(name, safe='')}/functions")[
            "functions"
        ]
        classes: dict[str, list[dict[str, Any]]] = {}
        for spec in specs:
            if spec["kind"] == "method":
                classes.setdefault(spec["class_name"], []).append(spec)
            else:
                setattr(self, spec["name"], _function(session, name, spec))
        for class_name, methods in classes.items():
            setattr(self, class_name, _remote_class(session, name, class_name, methods))

    def __repr__(self) -> str:
        return f"<jupyter_rpc backend {self._name!r}>"

    def executor(self, max_workers: int = 500, *, progress: bool = True) -> Any:
        """A :class:`concurrent.futures.Executor` running this backend's functions many at
        a time (:class:`jupyter_rpc.notebook.executor.Executor`)."""
        from .executor import Executor

        return Executor(self, max_workers, progress=progress)

    def __dir__(self) -> list[str]:
        return [k for k in self.__dict__ if not k.startswith("_")]


def connect(
    backend: str, *, url: str | None = None, token: str | None = None, asynchronous: bool = False
) -> RemoteBackend:
    """The backend ``backend`` of the Jupyter server this code runs under.

    Parameters
    ----------
    backend
        The backend's name, as the "Remote functions" panel lists it.
    url, token
        The Jupyter server to use; found automatically inside JupyterLab.
    asynchronous
        Make every function a coroutine function (``await examples.simulate(steps=5)``);
        cancelling the awaiting task cancels the remote call.
    """
    return RemoteBackend(backend, Session(url, token, asynchronous=asynchronous))


_KIND = {
    "positional_only": inspect.Parameter.POSITIONAL_ONLY,
    "positional_or_keyword": inspect.Parameter.POSITIONAL_OR_KEYWORD,
    "var_positional": inspect.Parameter.VAR_POSITIONAL,
    "keyword_only": inspect.Parameter.KEYWORD_ONLY,
    "var_keyword": inspect.Parameter.VAR_KEYWORD,
}
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
#: Said in help() when the backend does not publish its parameters' kinds and order.
KEYWORD_ONLY_NOTE = (
    "Arguments are passed by name only: this backend does not publish its parameters' "
    "order (a DASF backend, or an older runner)."
)


def _signature(
    schema: dict[str, Any],
    skip: tuple[str, ...] = (),
    parameters: list[dict[str, str]] | None = None,
) -> inspect.Signature:
    """The Python signature of a remote function: the runner's published ``parameters``
    give kinds and order; without them (DASF), every parameter is keyword-only."""
    required = set(schema.get("required", []))
    props = schema.get("properties", {})

    def param(name: str, kind: inspect._ParameterKind) -> inspect.Parameter:
        if kind in _VARIADIC:
            return inspect.Parameter(name, kind)
        prop = props[name]
        default = inspect.Parameter.empty if name in required else prop.get("default")
        return inspect.Parameter(name, kind, default=default, annotation=_annotation(prop))

    if parameters is not None:
        try:
            ordered = [
                param(p["name"], _KIND[p["kind"]])
                for p in parameters
                if p["name"] not in skip
                and p["name"].isidentifier()
                and (p["name"] in props or _KIND[p["kind"]] in _VARIADIC)
            ]
            seen = {p.name for p in ordered}
            ordered += [  # a property the runner did not list (should not happen): by name
                param(name, inspect.Parameter.KEYWORD_ONLY)
                for name in props
                if name not in seen and name not in skip and name.isidentifier()
            ]
            return inspect.Signature(ordered)
        except (KeyError, ValueError):  # an order Python cannot express: by name only
            pass
    params = [
        param(name, inspect.Parameter.KEYWORD_ONLY)
        for name in props
        if name not in skip and name.isidentifier()
    ]
    params.sort(key=lambda p: p.default is not inspect.Parameter.empty)
    return inspect.Signature(params)


def _arguments(label: str, signature: inspect.Signature, args: Any, kwargs: Any) -> dict[str, Any]:
    """Bind a call's arguments to ``signature`` as Python would (a TypeError names what
    does not fit), then name them for the call; ``*args``/``**kwargs`` of the remote
    function are refused: the backend's schema has no place for them."""
    bound = signature.bind(*args, **kwargs)
    arguments: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind == inspect.Parameter.VAR_POSITIONAL:
            if value:
                raise TypeError(
                    f"{label}() got {len(value)} extra positional argument(s): the remote "
                    f"function's *{name} cannot be passed through jupyter_rpc (its schema "
                    "has no place for them)"
                )
        elif kind == inspect.Parameter.VAR_KEYWORD:
            if value:
                raise TypeError(
                    f"{label}() got unexpected keyword argument(s) {', '.join(map(repr, value))}: "
                    f"the remote function's **{name} cannot be passed through jupyter_rpc (its "
                    "schema has no place for them)"
                )
        else:
            arguments[name] = value
    return arguments


def _annotation(prop: dict[str, Any]) -> Any:
    options = prop.get("anyOf")
    if options:
        inner = [o for o in options if o.get("type") != "null"]
        if len(inner) == 1 and len(options) == 2:
            return Optional[_annotation(inner[0])]  # noqa: UP045 - shows as Optional[...] in help()
        return Any
    if "enum" in prop:
        return str if all(isinstance(v, str) for v in prop["enum"]) else Any
    return _TYPES.get(prop.get("type", ""), Any)


def _doc(
    spec: dict[str, Any], schema: dict[str, Any], parameters: list[dict[str, str]] | None = None
) -> str:
    lines = [spec.get("description") or spec["name"], "", "Parameters", "----------"]
    for name, prop in schema.get("properties", {}).items():
        kind = prop.get("type") or "any"
        lines.append(f"{name} : {kind}")
        if prop.get("description"):
            lines.append(f"    {prop['description']}")
    if parameters is None:
        lines += ["", KEYWORD_ONLY_NOTE]
    else:
        variadic = [p["name"] for p in parameters if _KIND.get(p["kind"]) in _VARIADIC]
        if variadic:
            lines += [
                "",
                f"The remote function's {', '.join(variadic)} cannot be passed (the schema "
                "has no place for them).",
            ]
    return "\n".join(lines)


def _function(session: Session, backend: str, spec: dict[str, Any]) -> Any:
    parameters = spec.get("parameters")
    signature = _signature(spec["schema"], parameters=parameters)
    name = spec["name"]

    def remote(*args: Any, **kwargs: Any) -> Any:
        return session.run(backend, name, _arguments(name, signature, args, kwargs))

    remote.__name__ = remote.__qualname__ = name
    remote.__module__ = backend  # help() says "in module examples", like local code
    remote.__signature__ = signature  # type: ignore[attr-defined]
    remote.__doc__ = _doc(spec, spec["schema"], parameters)
    remote._rpc_call = lambda args, kwargs: (name, _arguments(name, signature, args, kwargs))  # type: ignore[attr-defined]
    remote._rpc_backend = backend  # type: ignore[attr-defined]
    return remote


def _remote_class(
    session: Session, backend: str, class_name: str, methods: list[dict[str, Any]]
) -> type:
    init_schema = methods[0]["schema"]
    init_signature = _signature(
        init_schema, skip=("function",), parameters=methods[0].get("init_parameters")
    )

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        self._init = _arguments(class_name, init_signature, args, kwargs)

    namespace: dict[str, Any] = {
        "__init__": __init__,
        "__doc__": init_schema.get("description", class_name),
    }
    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            *init_signature.parameters.values(),
        ]
    )
    for spec in methods:
        method_schema = spec["schema"]["properties"]["function"]
        namespace[spec["method"]] = _method(session, backend, spec, method_schema)
    namespace["__repr__"] = lambda self: (
        f"{class_name}({', '.join(f'{k}={v!r}' for k, v in self._init.items())})"
    )
    namespace["__module__"] = backend
    return type(class_name, (), namespace)


def _method(session: Session, backend: str, spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    parameters = spec.get("parameters")
    signature = _signature(schema, parameters=parameters)
    label = spec["name"]

    def call(self: Any, args: Any, kwargs: Any) -> tuple[str, dict[str, Any]]:
        return label, {**self._init, "function": _arguments(label, signature, args, kwargs)}

    def remote(self: Any, *args: Any, **kwargs: Any) -> Any:
        return session.run(backend, *call(self, args, kwargs))

    remote.__name__ = remote.__qualname__ = spec["method"]
    remote.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            *signature.parameters.values(),
        ]
    )
    remote.__doc__ = _doc(spec, schema, parameters)
    remote._rpc_method_call = call  # type: ignore[attr-defined]
    remote._rpc_backend = backend  # type: ignore[attr-defined]
    return remote


def _send(
    conn: http.client.HTTPConnection,
    method: str,
    target: str,
    body: Any,
    headers: dict[str, str],
) -> http.client.HTTPResponse:
    """Send one request and return its response, unread.

    A large body over plain HTTP asks for the go-ahead first (``EXPECT_FROM``): the server
    answers a refusal at once instead of ``100 Continue``, and no body is sent. Whatever
    the body, a server that answered and closed while the body was going out (a refusal,
    after it dropped what it would) has its answer read rather than lost in the broken
    pipe.
    """
    size = len(body) if isinstance(body, (bytes, bytearray, memoryview)) else None
    if size is None and "Content-Length" in headers:
        size = int(headers["Content-Length"])
    expect = (
        body is not None
        and size is not None
        and size >= EXPECT_FROM
        and not isinstance(conn, http.client.HTTPSConnection)  # no peeking under TLS
    )
    try:
        if not expect:
            conn.request(method, target, body=body, headers=headers)
        else:
            conn.putrequest(method, target)
            for name, value in {**headers, "Content-Length": str(size)}.items():
                conn.putheader(name, value)
            conn.putheader("Expect", "100-continue")
            conn.endheaders()
            if _go_ahead(conn.sock, EXPECT_WAIT):
                conn.send(body)
    except (BrokenPipeError, ConnectionResetError) as exc:
        # the server may have answered before it closed: that answer says why
        try:
            return conn.getresponse()
        except (OSError, http.client.HTTPException):
            raise exc from None
    return conn.getresponse()


def _go_ahead(sock: socket.socket, wait: float) -> bool:
    """After headers with ``Expect: 100-continue``: True to send the body (the server's
    ``100 Continue`` arrived, and is consumed, or nothing came within ``wait`` s); False
    when the server has answered already (the answer is left for ``getresponse``)."""
    deadline = time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            return True
        seen = sock.recv(4096, socket.MSG_PEEK)
        interim = any(seen[:12] == p[: len(seen)] for p in (b"HTTP/1.1 100", b"HTTP/1.0 100"))
        if not seen or not interim:
            return False  # an answer (or the connection's end): getresponse reads it
        end = seen.find(b"\r\n\r\n")
        if end >= 0:
            sock.recv(end + 4)  # the interim answer, exactly
            return True
        time.sleep(0.01)  # the rest of the interim answer is on its way
