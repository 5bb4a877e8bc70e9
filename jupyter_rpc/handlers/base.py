"""The base of every handler: authentication, one JSON error shape, checked JSON bodies."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado.web import HTTPError

from ..errors import InvalidRequest, RPCError, TooLarge, error_body, problems_text, schema_problems
from ..services.backends import BackendRegistry
from ..services.calls import CallManager
from ..services.clusters import ClusterRegistry
from ..services.contents import ContentsService
from ..services.jobs import JobsService

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


class RPCHandler(ExtensionHandlerMixin, APIHandler):
    """Thin: parse, validate, call one service method, serialise."""

    auth_resource = "jupyter_rpc"
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
        self.finish(json.dumps(body))

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

    def json_body(self, validator: Draft202012Validator) -> dict[str, Any]:
        """The request body as a JSON object that fits ``validator``'s schema."""
        body = self.request.body or b""
        limit = self.services.max_request_size
        if len(body) > limit:
            raise TooLarge(
                f"The request body is {len(body):,} bytes; the limit is {limit:,} bytes.",
                details={"size": len(body), "limit": limit},
            )
        try:
            data = json.loads(body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidRequest(
                f"The request body is not valid JSON: {exc}", code="request.invalid_json"
            ) from None
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
        self.finish(json.dumps(model))
