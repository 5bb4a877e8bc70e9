"""One error model for every answer that is not a success.

Every non-2xx body, and the ``error`` of a failed call, has the shape::

    {"message": "...", "reason": "Bad Request", "code": "request.schema", "details": {...}}

``message`` is written for people, ``code`` is a stable dotted identifier for programs,
``details`` optional structured data. Tracebacks go to the server log only.
"""

from __future__ import annotations

from http.client import responses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Validator


class RPCError(Exception):
    """An error with an HTTP status, a stable code and a message a person understands."""

    status: int = 500
    code: str = "internal"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details or {}

    def to_json(self) -> dict[str, Any]:
        """The error body of this error."""
        return error_body(self.status, self.message, self.code, self.details)


class InvalidRequest(RPCError):
    """The request itself is wrong (400)."""

    status = 400
    code = "request.invalid"


class NotFound(RPCError):
    """The named thing does not exist (404)."""

    status = 404
    code = "not_found"


class Conflict(RPCError):
    """The request conflicts with the current state (409)."""

    status = 409
    code = "conflict"


class TooLarge(RPCError):
    """The request body is larger than allowed (413)."""

    status = 413
    code = "request.too_large"


class RemoteFailed(RPCError):
    """The remote side answered, but wrongly or with a failure (502)."""

    status = 502
    code = "backend.protocol"


class RemoteUnavailable(RPCError):
    """The remote side cannot be reached or started (503)."""

    status = 503
    code = "backend.unavailable"


class RemoteTimeout(RPCError):
    """The remote side did not answer in time (504)."""

    status = 504
    code = "call.timeout"


class CallFailed(RPCError):
    """A remote function raised: not an HTTP error of ours, the call ends ``failed``."""

    status = 502
    code = "call.remote_error"


class CallCancelled(RPCError):
    """The call was cancelled by its caller, or by a server shutdown."""

    status = 409
    code = "call.cancelled"


class BackendCrashed(RPCError):
    """The backend process died while the call was running."""

    status = 502
    code = "backend.crashed"


def error_body(
    status: int, message: str, code: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The one JSON error shape."""
    body: dict[str, Any] = {
        "message": message,
        "reason": responses.get(status, "Unknown"),
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def schema_problems(validator: Validator, data: Any) -> list[dict[str, Any]]:
    """What is wrong with ``data`` for ``validator``: ``[{"path": [...], "message": ...}]``,
    in path order."""
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    return [{"path": list(e.absolute_path), "message": e.message} for e in errors]


def problems_text(problems: list[dict[str, Any]], whole: str = "entry") -> str:
    """``schema_problems`` as one line for people (``whole`` names the top level)."""
    return "; ".join(f"{'.'.join(map(str, p['path'])) or whole}: {p['message']}" for p in problems)
