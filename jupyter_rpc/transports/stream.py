"""DASF messages as JSON lines over a pair of byte streams (a process's stdio, an SSH channel)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from .. import protocol
from ..errors import RemoteFailed, RPCError
from ..protocol.replies import ProgressSink, Replies

log = logging.getLogger(__name__)


class StreamConnection:
    """Requests and their replies on one line-oriented stream (matched by
    :class:`~jupyter_rpc.protocol.replies.Replies`).

    ``closed_error`` builds the exception that in-flight requests fail with when the
    stream ends (it knows why: a crashed process, a dropped channel).
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        name: str,
        closed_error: Callable[[], RPCError],
        on_eof: Callable[[], Awaitable[None]] | None = None,
        on_closed: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self._reader = reader
        self._writer = writer
        self._closed_error = closed_error
        self._on_eof = on_eof
        self._on_closed = on_closed
        self._pending = Replies(name, protocol_fault=self._protocol_fault)
        self._reader_task: asyncio.Task[None] | None = None
        self.closed = False

    def start(self) -> None:
        """Start reading replies."""
        self._reader_task = asyncio.get_running_loop().create_task(
            self._read_loop(), name=f"jupyter_rpc reader {self.name}"
        )

    @property
    def in_flight(self) -> int:
        """Requests sent and not answered yet."""
        return len(self._pending)

    async def request(
        self,
        message_type: str,
        payload: str = "",
        *,
        on_progress: ProgressSink | None = None,
    ) -> dict[str, Any]:
        """Send one message and wait for its ``response`` (or ``pong``).

        Cancelling the awaiting task sends a ``cancel`` message for it.
        """
        if self.closed:
            raise self._closed_error()
        pending = self._pending.add(message_type, on_progress=on_progress)
        context = pending.context
        try:
            self._send(
                protocol.message(message_type, context, payload=payload, response_topic="stdio")
            )
            return await pending.future
        except asyncio.CancelledError:
            if self._pending.forget(context) is not None and not self.closed:
                self._send(protocol.message(protocol.CANCEL, context, response_topic="stdio"))
            raise
        finally:
            self._pending.forget(context)

    def _protocol_fault(self, what: str) -> RPCError:
        return RemoteFailed(f"Backend '{self.name}' sent {what}.")

    def _send(self, msg: dict[str, Any]) -> None:
        # StreamWriter.write buffers without blocking; the OS pipe takes it from there.
        # A backend that stops reading would grow this buffer, but it is also then not
        # answering, and the call's timeout ends the wait.
        try:
            self._writer.write(protocol.dumps_line(msg))
        except (ConnectionError, RuntimeError) as exc:
            raise RemoteFailed(f"Cannot write to backend '{self.name}': {exc}") from None

    async def _read_loop(self) -> None:
        reason: str | None = None
        try:
            while True:
                try:
                    line = await self._reader.readline()
                except ValueError:
                    reason = "the backend sent a message larger than the configured limit"
                    break
                if not line:
                    if self._on_eof is not None:
                        await self._on_eof()
                    break
                self._dispatch(line)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            reason = str(exc)
        finally:
            self._close(reason)

    def _dispatch(self, line: bytes) -> None:
        try:
            msg = protocol.loads_line(line)
        except protocol.ProtocolError as exc:
            log.warning(
                "Backend %s sent a line that is not a message (%s): %.200r", self.name, exc, line
            )
            return
        self._pending.deliver(msg["properties"], msg["payload"])

    def _close(self, reason: str | None) -> None:
        if self.closed:
            return
        self.closed = True
        if reason:
            log.warning("Connection to backend %s closed: %s", self.name, reason)
        self._pending.fail_all(self._closed_error)
        if self._on_closed is not None:
            self._on_closed()

    async def aclose(self) -> None:
        """Close our end; in-flight requests fail."""
        try:
            self._writer.close()
        except (ConnectionError, RuntimeError):
            pass
        if self._reader_task is not None:
            self._reader_task.cancel()
            await asyncio.gather(self._reader_task, return_exceptions=True)
        self._close(None)
