"""Request bodies read with a bound, and refusals answered at once.

Every handler reads its body as a stream (``tornado.web.stream_request_body``): a body
is kept only up to the route's limit (``body_limit``), so a client cannot make the server
hold more than that, whatever it declares or sends. A request refused before its body is
complete (a ``Content-Length`` over the limit, a body that grows past it, an upload whose
target is refused) gets its answer at once: the whole answer is sent, the rest of the
body is read and dropped (so the client, still sending, is not cut off before it reads
the answer), and after ``DISCARD_BYTES`` more bytes or ``DISCARD_SECONDS`` the connection
is closed. A client that asked ``Expect: 100-continue`` gets the answer instead of the go
ahead and sends no body at all.
"""

from __future__ import annotations

from typing import Any

from tornado.http1connection import HTTP1Connection
from tornado.ioloop import IOLoop
from tornado.web import HTTPError, RequestHandler, stream_request_body

from ..errors import RPCError, TooLarge, error_body
from ..services import strict_json

#: Methods whose body a handler reads.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: How much of a refused body is read and dropped before the connection is closed.
DISCARD_BYTES = 64 * 1024 * 1024
#: How long a refused body is read and dropped before the connection is closed (s).
DISCARD_SECONDS = 10.0


@stream_request_body
class BoundedBody(RequestHandler):
    """A handler that reads its body as a stream with a bound (see the module docstring).

    Subclasses say how large a body may be (:meth:`body_limit`) and read it with
    :meth:`body_bytes` in their verb; a handler that streams its body elsewhere (an
    upload) sets ``keep_body = False`` and extends :meth:`data_received`.
    """

    #: Whether the body is kept for :meth:`body_bytes` (False: only counted).
    keep_body = True

    _body: bytearray | None = None
    _received = 0
    _refusal: BaseException | None = None
    _discarded = 0
    _linger: object | None = None

    def body_limit(self) -> int:
        """Largest body this request may send, in bytes."""
        raise NotImplementedError

    @property
    def refused(self) -> bool:
        """Whether this request was refused before its body ended (:meth:`refuse`)."""
        return self._refusal is not None

    def body_bytes(self) -> bytes:
        """The body (complete once the verb runs)."""
        return bytes(self._body or b"")

    async def prepare(self) -> None:
        found = super().prepare()  # jupyter_server's (later in the bases): finds the user
        if found is not None:
            await found
        if self._finished or self.request.method not in BODY_METHODS:
            return
        if not self.current_user:
            # what the verb's @web.authenticated would say, before the body is read
            raise HTTPError(403)
        limit = self.body_limit()
        declared = _content_length(self.request.headers.get("Content-Length"))
        connection = self.request.connection
        if isinstance(connection, HTTP1Connection):  # what tornado's HTTP server gives
            # tornado's own check answers a bare 400; ours answers 413 in the JSON shape
            connection.set_max_body_size(max(limit, declared or 0) + DISCARD_BYTES)
        self._body = bytearray()
        if declared is not None and declared > limit:
            self.refuse(_too_large(declared, limit, exact=True))

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._refusal is not None:
            self._discarded += len(chunk)
            if self._discarded > DISCARD_BYTES:
                self._stop_discarding()
            return
        if self._body is None:  # a body on a method that takes none: dropped
            return
        limit = self.body_limit()
        if self._received > limit:
            self.refuse(_too_large(self._received, limit, exact=False))
        elif self.keep_body:
            self._body += chunk

    def refuse(self, error: BaseException) -> None:
        """Answer ``error`` now, before the body has ended; the verb does not run and the
        rest of the body is dropped (module docstring)."""
        if self._refusal is not None or self._finished:
            return
        self._refusal = error
        self._body = None
        # tornado calls the verb once the body has ended; this request has its answer
        setattr(self, str(self.request.method).lower(), self._end_refused)
        self.log_exception(type(error), error, error.__traceback__)
        status, answer = _answer(error)
        data = strict_json.dumps(answer).encode()
        self.clear()
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.set_header("Content-Length", str(len(data)))
        self.set_header("Connection", "close")
        self.write(data)
        expects = self.request.headers.get("Expect", "").lower() == "100-continue"
        if expects and self._received == 0:
            self.finish()  # instead of "100 Continue": the client sends no body
            return
        self.flush()
        self._linger = IOLoop.current().call_later(DISCARD_SECONDS, self._stop_discarding)

    def _stop_discarding(self) -> None:
        """Enough of a refused body was dropped: end the request, close the connection."""
        if not self._finished:
            self.finish()  # tornado closes the connection: the body has not ended

    async def _end_refused(self, *args: Any, **kwargs: Any) -> None:
        """The refused request's body has ended: its answer is out, end it."""
        if not self._finished:
            self.finish()

    def _stop_linger(self) -> None:
        if self._linger is not None:
            IOLoop.current().remove_timeout(self._linger)
            self._linger = None

    def finish(self, chunk: str | bytes | dict[str, Any] | None = None) -> Any:
        # An answer sent before the body has ended (an error in prepare: no login, no XSRF
        # header) makes tornado close the connection: say so, or a proxy that keeps
        # connections alive (JupyterHub's) sends its next request on it and gets a reset
        body = getattr(self.request, "_body_future", None)
        if not self._headers_written and body is not None and not body.done():
            self.set_header("Connection", "close")
        return super().finish(chunk)

    def on_finish(self) -> None:
        self._stop_linger()
        super().on_finish()

    def on_connection_close(self) -> None:
        self._stop_linger()
        super().on_connection_close()  # ends the request (tornado's body future)


def refusal_code(handler: RequestHandler) -> str | None:
    """The error code of the answer :meth:`BoundedBody.refuse` sent, if it did."""
    error = getattr(handler, "_refusal", None)
    if error is None:
        return None
    return str(_answer(error)[1].get("code") or "") or None


def _content_length(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None  # tornado refuses what is not a number
    return int(value)


def _too_large(size: int, limit: int, *, exact: bool) -> TooLarge:
    said = f"{size:,} bytes" if exact else f"more than {limit:,} bytes"
    return TooLarge(
        f"The request body is {said}; the limit is {limit:,} bytes.",
        details={"size": size, "limit": limit},
    )


def _answer(error: BaseException) -> tuple[int, dict[str, Any]]:
    """The status and the one JSON error shape for an error raised on purpose or not."""
    if isinstance(error, RPCError):
        return error.status, error.to_json()
    if isinstance(error, HTTPError):
        status = error.status_code
        return status, error_body(status, error.log_message or "Refused.", f"http.{status}")
    return 500, error_body(
        500, "An internal error occurred; the server log has the details.", "internal"
    )
