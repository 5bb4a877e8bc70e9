"""The base of every handler: authentication, one JSON error shape, checked JSON bodies."""

from __future__ import annotations

import asyncio
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from jsonschema import Draft202012Validator
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from tornado.ioloop import IOLoop
from tornado.web import HTTPError

from .. import events
from ..errors import (
    InvalidRequest,
    NotFound,
    RPCError,
    TooLarge,
    error_body,
    problems_text,
    schema_problems,
)
from ..policy import Grant, Policy
from ..services import strict_json
from ..services.backends import BackendRegistry
from ..services.calls import CallManager
from ..services.clusters import ClusterRegistry
from ..services.contents import ContentsService
from ..services.jobs import JobsService
from ..services.kernel_values import KernelEnvService, KernelValuesService
from ..services.kernels import KernelStarts
from ..services.sessions import SessionService
from ..services.terminals import TerminalService
from ..services.workflow_runs import WorkflowService
from .body import BoundedBody, refusal_code

#: Stable codes for the errors tornado and jupyter_server raise themselves.
HTTP_CODES = {
    400: "request.invalid",
    401: "auth.unauthenticated",
    403: "auth.forbidden",
    404: "route.not_found",
    405: "request.method_not_allowed",
    413: "request.too_large",
}

HTTP_MESSAGES = {
    403: "Forbidden: this request is not authenticated or not allowed. "
    "Log in to the Jupyter server or send its token.",
    404: "There is no such resource.",
    405: "This method is not allowed here.",
}

#: The resource every route is authorized on (``Authorizer.is_authorized(..., resource)``).
AUTH_RESOURCE = "jupyter_rpc"

#: What each action allows, in the words of the 403 a user without it gets. ``execute``
#: runs code (a call, a job); ``write`` changes files or clusters; ``read`` reads.
ACTIONS = {
    "read": "read this",
    "write": "change files or clusters",
    "execute": "run code (call a function or submit a job)",
}

F = TypeVar("F", bound=Callable[..., Any])


def forbidden_message(action: str) -> str:
    """The 403 message of a user the authorizer refuses ``action``."""
    return (
        f"You may not {ACTIONS[action]} here: it needs the '{action}' permission on "
        f"'{AUTH_RESOURCE}', which this server's authorizer does not grant you. "
        "Ask the server's administrator for it."
    )


def requires(action: str, event: str | tuple[str, ...] | None = None) -> Callable[[F], F]:
    """A handler method that needs ``action`` on ``jupyter_rpc``: authenticated, then asked
    of the server's authorizer (jupyter_server's ``@authorized``; 403 ``auth.forbidden``
    naming the permission). Every route states its action (never derived from the HTTP
    method: starting a call is a POST but needs ``execute``); it is kept on the method
    as ``jupyter_rpc_action`` for the contract test.

    ``event`` names the remote action the method performs (``"job.submit"``): each
    request to it, allowed or not, emits one accountability event when it ends
    (:mod:`jupyter_rpc.events`); a tuple names the default first, then those the handler
    may say it was instead (:meth:`RPCHandler.audit`; a POST of files makes a file, a
    copy or a folder). Kept on the method as ``jupyter_rpc_events``. Reads name none."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; one of {sorted(ACTIONS)}")
    names = (event,) if isinstance(event, str) else tuple(event or ())
    for name in names:
        if not events.ACTION_NAME.match(name):
            raise ValueError(f"an event's action is <resource>.<verb>, not {name!r}")

    def decorate(method: F) -> F:
        checked = web.authenticated(
            authorized(action, AUTH_RESOURCE, forbidden_message(action))(method)
        )
        checked.jupyter_rpc_action = action  # type: ignore[attr-defined]
        checked.jupyter_rpc_events = names  # type: ignore[attr-defined]
        return cast(F, checked)

    return decorate


@dataclass
class Services:
    """What the handlers work with (made once by ``RPCApp``); injected through the route
    table."""

    backends: BackendRegistry
    calls: CallManager
    clusters: ClusterRegistry
    max_request_size: int
    max_wait: float
    #: A cluster's files as contents-API models; holds the chunked uploads in progress.
    contents: ContentsService = field(default_factory=ContentsService)
    jobs: JobsService = field(default_factory=JobsService)
    #: Largest streamed upload (bytes): tornado's body limit for the upload route.
    max_upload_size: int = 100 * 1024 * 1024 * 1024
    #: The site's group policy (``RPCApp.policy``; empty: everything allowed).
    policy: Policy = field(default_factory=Policy)
    #: Terminals on clusters (issue 19).
    terminals: TerminalService | None = None
    #: Interactive app sessions (issue 14).
    sessions: SessionService | None = None
    #: Compute-node kernels being started (issue 20).
    kernels: KernelStarts = field(default_factory=KernelStarts)
    #: The user's values of the clusters' kernel profiles (issue 20).
    kernel_values: KernelValuesService | None = None
    #: The user's own kernel environment per cluster (issue 20).
    kernel_env: KernelEnvService | None = None
    #: Workflow templates and runs (issue 24).
    workflows: WorkflowService | None = None


class RPCHandler(BoundedBody, ExtensionHandlerMixin, APIHandler):
    """Thin: parse, validate, call one service method, serialise. Bodies are read with a
    bound (:class:`~jupyter_rpc.handlers.body.BoundedBody`)."""

    auth_resource = AUTH_RESOURCE
    services: Services

    #: The request's accountability event: what the handler added (:meth:`audit`).
    _audit: dict[str, Any]
    #: The arguments to summarise in it, and how (:meth:`audit_arguments`).
    _audit_arguments: tuple[Any, bool, int | None] | None = None
    #: The code of the error answered, if any.
    _error_code: str | None = None
    _audited = False

    def initialize(self, name: str, services: Services) -> None:
        super().initialize(name)
        self.services = services
        self._audit = {}

    # -- group policy -----------------------------------------------------------------

    _grant: Grant | None = None

    @property
    def grant(self) -> Grant:
        """What this request's user may use (``RPCApp.policy``)."""
        if self._grant is None:
            self._grant = self.services.policy.grant(getattr(self, "_current_user", None))
        return self._grant

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()  # the user, the body's limit
        if self._finished or self.refused or not self.current_user:
            return  # answered, or the verb's @web.authenticated answers
        self.services.kernels.owner.seen(self.current_user)  # kernels follow the owner's grant
        try:
            self.check_policy()
        except RPCError as exc:  # answered before the body is read; the verb does not run
            self.refuse(exc)

    def check_policy(self) -> None:
        """403 ``policy.forbidden`` when the route's backend or cluster is not the user's
        to use (an unknown name is left to the route's own 404)."""
        if not self.services.policy.enabled:
            return
        kwargs = self.path_kwargs
        if "backend" in kwargs:
            self.grant.check_backend(kwargs["backend"])
        if "cluster" in kwargs:
            try:
                cluster = self.services.clusters.get(kwargs["cluster"])
            except NotFound:
                return
            self.grant.check_cluster(cluster.name, user_defined=cluster.source == "user")

    # -- accountability events --------------------------------------------------------

    def audit(self, **fields: Any) -> None:
        """Add fields to this request's event (``job_id=`` of the job made, ``path=`` of
        the file made) or refine its ``action`` (a POST of files makes a copy, a folder or
        a file); ``None`` values are left out. ``quiet_if_ok=True``: no event unless it
        fails (a chunk of a chunked save before the last)."""
        self._audit.update({k: v for k, v in fields.items() if v is not None})

    def audit_arguments(self, value: Any, *, digest: bool = True, size: int | None = None) -> None:
        """The arguments the event summarises: their names and a digest (never a value);
        ``digest=False`` for what could be guessed from it (a password, a file's content),
        ``size`` of a content."""
        self._audit_arguments = (value, digest, size)

    def _event_route(self) -> tuple[tuple[str, ...], str] | None:
        """(event actions, permission) of this request's method, if it is a remote action.
        Read from the class: a refused body replaces the instance's method."""
        method = getattr(type(self), str(self.request.method).lower(), None)
        names = getattr(method, "jupyter_rpc_events", ())
        if not names:
            return None
        return names, str(getattr(method, "jupyter_rpc_action", "read"))

    def _emit_event(self, aborted: bool = False) -> None:
        """Emit this request's event, once, if its method names one and anything listens.
        Never raises (the request has its answer); large arguments are digested in a
        thread."""
        if self._audited:
            return
        self._audited = True
        try:
            route = self._event_route()
            logger = self.settings.get("event_logger")
            if route is None or logger is None or not events.listening(logger):
                return
            data = self._event_data(*route, aborted=aborted)
            if data is None:
                return
        except Exception:  # noqa: BLE001 - an event must never fail the request
            self.log.warning("jupyter_rpc: could not build an event", exc_info=True)
            return
        log = self.log
        if self._audit_arguments is None:
            events.emit(logger, data, log)
            return
        value, digest, size = self._audit_arguments
        if getattr(self, "_received", 0) <= events.DIGEST_IN_THREAD:
            data["arguments"] = events.arguments_summary(value, digest=digest, size=size)
            events.emit(logger, data, log)
            return

        def summarised(future: asyncio.Future[dict[str, Any]]) -> None:
            _PENDING.discard(future)
            if not future.cancelled() and future.exception() is None:
                data["arguments"] = future.result()
            events.emit(logger, data, log)

        future = asyncio.get_running_loop().run_in_executor(
            None, lambda: events.arguments_summary(value, digest=digest, size=size)
        )
        _PENDING.add(future)
        future.add_done_callback(summarised)

    def _event_data(
        self, actions: tuple[str, ...], permission: str, *, aborted: bool
    ) -> dict[str, Any] | None:
        """The event's fields (schema ``jupyter_rpc/events/action/v1.yaml``)."""
        audit = dict(self._audit)
        status = self.get_status()
        code = self._error_code or refusal_code(self)
        if aborted:
            outcome = "aborted"
        elif status in (401, 403):
            outcome = "forbidden"
        elif status >= 400 or code:
            outcome = "failed"
        else:
            outcome = "ok"
        if audit.pop("quiet_if_ok", False) and outcome == "ok":
            return None
        user = getattr(self, "_current_user", None)
        action = audit.pop("action", actions[0])
        if action not in actions:  # a handler's slip: logged, the event still goes out
            self.log.warning("jupyter_rpc: event %s is not declared by its route", action)
        data: dict[str, Any] = {
            "action": action,
            "permission": permission,
            "user": user if isinstance(user, str) else getattr(user, "username", None),
        }
        hub_user = os.environ.get("JUPYTERHUB_USER")
        if hub_user:
            data["hub_user"] = hub_user
        if self.request.remote_ip:
            data["remote_ip"] = self.request.remote_ip
        for key in ("backend", "call_id", "cluster", "job_id", "path", "terminal"):
            value = self.path_kwargs.get(key)
            if value is not None:
                data[key] = str(value)
        data.update({k: str(v) for k, v in audit.items()})
        data["outcome"] = outcome
        data["status"] = status
        if code and outcome != "ok":
            data["error_code"] = code
        data["duration_ms"] = round(self.request.request_time() * 1000, 1)
        return data

    def on_finish(self) -> None:
        super().on_finish()
        self._emit_event()

    def on_connection_close(self) -> None:
        # the client went away before the answer ended: if the handler does not end the
        # request soon (its on_finish emits), the event says it was aborted
        if not self._finished and not self._audited:
            IOLoop.current().call_later(ABORT_GRACE, self._emit_unfinished)
        super().on_connection_close()

    def _emit_unfinished(self) -> None:
        if not self._finished:
            self._emit_event(aborted=True)

    # -- errors -----------------------------------------------------------------------

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, RPCError):
            status_code = exc.status
        super().send_error(status_code, **kwargs)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, RPCError):
            body = exc.to_json()
        elif isinstance(exc, HTTPError) or exc is None:
            message = (
                exc.log_message if isinstance(exc, HTTPError) else None
            ) or HTTP_MESSAGES.get(status_code, self._reason)
            body = error_body(
                status_code, message, HTTP_CODES.get(status_code, f"http.{status_code}")
            )
        else:
            body = error_body(
                500, "An internal error occurred; the server log has the details.", "internal"
            )
        self._error_code = str(body.get("code") or "") or None
        self.set_header("Content-Type", "application/json")
        self.finish(strict_json.dumps(body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, RPCError):
            # Errors we raised on purpose are understood: one line, no traceback.
            log = self.log.warning if value.status < 500 else self.log.error
            log(
                "%s %s -> %s %s: %s",
                self.request.method,
                self.request.path,
                value.status,
                value.code,
                value.message,
            )
        else:
            super().log_exception(typ, value, tb)

    # -- bodies -----------------------------------------------------------------------

    def body_limit(self) -> int:
        """Largest body of a request (a call's arguments): ``RPCApp.max_request_size``."""
        return self.services.max_request_size

    def json_body(self, validator: Draft202012Validator) -> dict[str, Any]:
        """The request body as a JSON object that fits ``validator``'s schema."""
        body = self.body_bytes()
        limit = self.body_limit()
        if len(body) > limit:
            raise TooLarge(
                f"The request body is {len(body):,} bytes; the limit is {limit:,} bytes.",
                details={"size": len(body), "limit": limit},
            )
        data = parse_json(body or b"{}")
        problems = schema_problems(validator, data)
        if problems:
            listing = problems_text(problems, "body")
            raise InvalidRequest(
                f"The request body is not valid: {listing}", details={"errors": problems}
            )
        return data  # type: ignore[no-any-return]

    def _number(self, name: str, default: float, low: float, high: float) -> float:
        """A numeric query parameter, clamped to [low, high]."""
        raw = self.get_query_argument(name, None)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise InvalidRequest(
                f"The query parameter '{name}' must be a number, not {raw!r}."
            ) from None
        if value != value:  # NaN
            raise InvalidRequest(f"The query parameter '{name}' must be a number, not {raw!r}.")
        return max(low, min(high, value))

    def write_json(self, model: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        # strict: a NaN in an answer would make the front end's JSON.parse fail (a
        # non-finite figure, from a scheduler's odd output say, is written as null)
        self.finish(strict_json.dumps(model))


#: Seconds a request whose client went away has to end before its event says "aborted".
ABORT_GRACE = 2.0

#: Digests being computed in a thread (kept until they are done).
_PENDING: set[asyncio.Future[dict[str, Any]]] = set()

#: How deep a request body's arrays and objects may nest (a function's arguments need few).
MAX_JSON_DEPTH = 100
#: How many characters one number in a request body may have (a double needs under 30).
MAX_JSON_NUMBER = 1000


def parse_json(body: bytes) -> Any:
    """A request body as strict JSON: ``request.invalid_json`` (400) for what is not JSON,
    NaN and Infinity (Python's extension; no browser can read them back), numbers of more
    than ``MAX_JSON_NUMBER`` characters or too large for a double, and arrays and objects
    nested more than ``MAX_JSON_DEPTH`` deep (the parser, then the schema check, recurse)."""

    def refuse(why: str) -> InvalidRequest:
        return InvalidRequest(
            f"The request body is not valid JSON: {why}", code="request.invalid_json"
        )

    def number(text: str, kind: type[int] | type[float]) -> int | float:
        if len(text) > MAX_JSON_NUMBER:
            raise refuse(
                f"a number has {len(text):,} digits; at most {MAX_JSON_NUMBER:,} are accepted."
            )
        value = kind(text)
        if isinstance(value, float) and not math.isfinite(value):
            raise refuse(f"{text} is too large for a number; {_NOT_FINITE}")
        return value

    def constant(name: str) -> Any:
        raise refuse(f"{name} is not a JSON number; {_NOT_FINITE}")

    try:
        data = json.loads(
            body,
            parse_constant=constant,
            parse_int=lambda text: number(text, int),
            parse_float=lambda text: number(text, float),
        )
    except RecursionError:
        raise refuse(_too_deep()) from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise refuse(str(exc)) from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise refuse(_too_deep())
    return data


_NOT_FINITE = "NaN, Infinity and -Infinity cannot be sent (send null or a string instead)."


def _too_deep() -> str:
    return f"arrays and objects are nested more than {MAX_JSON_DEPTH} deep."


def _depth(data: Any) -> int:
    """How deep ``data``'s lists and dicts nest (without recursion)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            if level <= MAX_JSON_DEPTH:
                stack.extend((child, level + 1) for child in item)
    return deepest
