"""The base of every handler: authentication, one JSON error shape, checked JSON bodies."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from jsonschema import Draft202012Validator
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from tornado.web import HTTPError

from ..errors import InvalidRequest, RPCError, TooLarge, error_body, problems_text, schema_problems
from ..services import strict_json
from ..services.backends import BackendRegistry
from ..services.calls import CallManager
from ..services.clusters import ClusterRegistry
from ..services.contents import ContentsService
from ..services.jobs import JobsService
from ..services.terminals import TerminalService
from .body import BoundedBody

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


def requires(action: str) -> Callable[[F], F]:
    """A handler method that needs ``action`` on ``jupyter_rpc``: authenticated, then asked
    of the server's authorizer (jupyter_server's ``@authorized``; 403 ``auth.forbidden``
    naming the permission). Every route states its action (never derived from the HTTP
    method: starting a call is a POST but needs ``execute``); it is kept on the method
    as ``jupyter_rpc_action`` for the contract test."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; one of {sorted(ACTIONS)}")

    def decorate(method: F) -> F:
        checked = web.authenticated(
            authorized(action, AUTH_RESOURCE, forbidden_message(action))(method)
        )
        checked.jupyter_rpc_action = action  # type: ignore[attr-defined]
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
    #: Terminals on clusters (issue 19).
    terminals: TerminalService | None = None


class RPCHandler(BoundedBody, ExtensionHandlerMixin, APIHandler):  # type: ignore[misc]
    """Thin: parse, validate, call one service method, serialise. Bodies are read with a
    bound (:class:`~jupyter_rpc.handlers.body.BoundedBody`)."""

    auth_resource = AUTH_RESOURCE
    services: Services

    def initialize(self, name: str, services: Services) -> None:
        super().initialize(name)
        self.services = services

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
