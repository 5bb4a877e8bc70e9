"""DASF messages as JSON lines over a pair of byte streams (a process's stdio, an SSH channel)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .. import protocol
from ..errors import RemoteFailed, RPCError
from ..protocol.replies import ProgressSink, Replies

log = logging.getLogger(__name__)

#: How much of a message over the size limit is read to learn which request it answers
#: (a message's ``properties``, with its ``requestContext``, come first on the line).
HEAD = 4096
#: The reader's buffer limit: a line is taken from it in pieces of about this size, and
#: the stream stops reading from the pipe or channel while the buffer holds twice as much
#: (the back-pressure that keeps a fast backend from filling the server's memory).
READ_LIMIT = 1024 * 1024
_CONTEXT = re.compile(rb'"requestContext"\s*:\s*"([^"]{1,64})"')
#: How many given-up requests are remembered (a backend that never answers its cancels).
MAX_ABANDONED = 10_000


class StreamConnection:
    """Requests and their replies on one line-oriented stream (matched by
    :class:`~jupyter_rpc.protocol.replies.Replies`).

    ``closed_error`` builds the exception that in-flight requests fail with when the
    stream ends (it knows why: a crashed process, a dropped channel). A message longer
    than the reader's limit is never held whole: it is skipped as it is read, and only
    the request it answers fails, with ``too_large(size)``; the connection goes on.
    ``on_abandoned`` is told when a request is given up (cancelled, timed out): the
    request's context stays in :attr:`abandoned` until the backend answers it.
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
        too_large: Callable[[int], RPCError] | None = None,
        on_abandoned: Callable[[], None] | None = None,
        max_size: int | None = None,
    ) -> None:
        self.name = name
        #: The longest line (message) held; ``None``: no limit (a line is gathered in pieces
        #: of the reader's buffer, so the reader's own limit does not bound it).
        self._max_size = max_size
        self._reader = reader
        self._writer = writer
        self._closed_error = closed_error
        self._on_eof = on_eof
        self._on_closed = on_closed
        self._too_large = too_large or self._default_too_large
        self._on_abandoned = on_abandoned
        #: Requests given up (context -> monotonic time) that the backend has not answered.
        self.abandoned: dict[str, float] = {}
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
        **properties: str,
    ) -> dict[str, Any]:
        """Send one message (with these extra ``properties``) and wait for its
        ``response`` (or ``pong``); a reply followed by binary buffers has them in
        ``"buffers"``.

        Cancelling the awaiting task sends a ``cancel`` message for it.
        """
        if self.closed:
            raise self._closed_error()
        pending = self._pending.add(message_type, on_progress=on_progress)
        context = pending.context
        try:
            self._send(
                protocol.message(
                    message_type, context, payload=payload, response_topic="stdio", **properties
                )
            )
            return await pending.future
        except asyncio.CancelledError:
            if self._pending.forget(context) is not None and not self.closed:
                self._send(protocol.message(protocol.CANCEL, context, response_topic="stdio"))
                if message_type == protocol.REQUEST:
                    self._abandon(context)
            raise
        finally:
            self._pending.forget(context)

    def _abandon(self, context: str) -> None:
        if len(self.abandoned) >= MAX_ABANDONED:
            self.abandoned.pop(next(iter(self.abandoned)))
        self.abandoned[context] = time.monotonic()
        if self._on_abandoned is not None:
            self._on_abandoned()

    def fail_pending(self, exc: Callable[[], RPCError]) -> None:
        """Fail every request still waiting for an answer (the backend is given up)."""
        self._pending.fail_all(exc)

    def _default_too_large(self, size: int) -> RPCError:
        return RemoteFailed(
            f"Backend '{self.name}' sent a message of {size} bytes, over the limit."
        )

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
                line = await self._read_line()
                if line is None:  # a message over the limit, skipped
                    continue
                if not line:
                    if self._on_eof is not None:
                        await self._on_eof()
                    break
                msg = self._parse(line)
                if msg is None:
                    continue
                buffers = await self._read_buffers(msg, len(line))
                if buffers is not None:  # None: over the limit, skipped
                    self._deliver(msg, buffers)
        except ConnectionError as exc:
            reason = str(exc)
        finally:
            self._close(reason)

    async def _read_line(self) -> bytes | bytearray | None:
        """The next line (``b""`` at the end); ``None`` after skipping one over the limit.

        A line longer than the reader's buffer is gathered into one ``bytearray`` as it
        comes, piece after piece (never joined again and again); the envelope is then
        parsed around its payload, which stays in that same buffer
        (:func:`~jupyter_rpc.protocol.loads_line`).
        """
        line: bytearray | None = None
        while True:
            done = True
            try:
                chunk = await self._reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:
                chunk = exc.partial  # the end, perhaps after a last line without its newline
            except asyncio.LimitOverrunError as exc:
                chunk, done = await self._reader.read(exc.consumed), False
            size = len(chunk) + (len(line) if line is not None else 0)
            if self._max_size is not None and size > self._max_size:
                head = bytes(line[:HEAD]) if line else chunk[:HEAD]
                line = None  # dropped before the rest is read
                if not done:
                    size += await self._skip_line()
                self._oversized(head, size)
                return None
            if line is None:
                if done:
                    return chunk  # a line that fit in the reader's buffer, as read
                line = bytearray(chunk)
            else:
                line += chunk
            del chunk
            if done:
                return line

    async def _skip_line(self) -> int:
        """Read and drop the rest of a line, a buffer at a time; returns its length."""
        skipped = 0
        while True:
            try:
                return skipped + len(await self._reader.readuntil(b"\n"))
            except asyncio.LimitOverrunError as exc:
                skipped += len(await self._reader.read(exc.consumed))
            except asyncio.IncompleteReadError as exc:
                return skipped + len(exc.partial)

    def _oversized(self, head: bytes, size: int) -> None:
        """Fail the request a message over the limit belonged to (and it alone)."""
        found = _CONTEXT.search(head)
        context = found.group(1).decode("ascii", errors="replace") if found else ""
        self.abandoned.pop(context, None)
        if context and self._pending.get(context) is not None:
            log.warning(
                "Backend %s sent a message of %d bytes, over the limit: its request fails",
                self.name,
                size,
            )
            self._pending.fail(context, self._too_large(size))
        else:
            log.warning(
                "Backend %s sent a message of %d bytes, over the limit, for no waiting request",
                self.name,
                size,
            )

    def _parse(self, line: bytes | bytearray) -> dict[str, Any] | None:
        try:
            return protocol.loads_line(line)
        except protocol.ProtocolError as exc:
            log.warning(
                "Backend %s sent a line that is not a message (%s): %r",
                self.name,
                exc,
                bytes(line[:200]),  # not the repr of all of it, cut afterwards
            )
            return None

    async def _read_buffers(self, msg: dict[str, Any], line_size: int) -> list[bytes] | None:
        """The binary buffers that follow ``msg`` on the stream (``protocol.BUFFERS``; ``[]``
        for none); ``None`` when they were over the size limit, skipped as read (the
        request they answer fails, as for a line over it). A malformed announcement ends
        the connection: where the next line starts is unknown."""
        try:
            lengths = protocol.buffer_lengths(msg["properties"])
        except protocol.ProtocolError as exc:
            raise ConnectionError(f"the backend sent a broken message ({exc})") from None
        if not lengths:
            return []
        total = sum(lengths)
        if self._max_size is not None and total > 4 * self._max_size:
            # no answer is that large: a broken length, not one to read past byte by byte
            raise ConnectionError(f"the backend announced {total} bytes after a message")
        try:
            if self._max_size is not None and line_size + total > self._max_size:
                left = total
                while left:
                    left -= len(await self._reader.readexactly(min(left, READ_LIMIT)))
                context = str(msg["properties"].get("requestContext", ""))
                self._oversized(f'"requestContext":"{context}"'.encode(), line_size + total)
                return None
            return [await self._reader.readexactly(n) for n in lengths]
        except asyncio.IncompleteReadError:
            raise ConnectionError("the backend's output ended inside a message") from None

    def _deliver(self, msg: dict[str, Any], buffers: list[bytes]) -> None:
        props = msg["properties"]
        if props["messageType"] == protocol.RESPONSE and self.abandoned:
            self.abandoned.pop(str(props.get("requestContext", "")), None)
        self._pending.deliver(props, msg["payload"], buffers or None)

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
