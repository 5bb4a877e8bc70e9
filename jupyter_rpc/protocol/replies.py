"""Matching replies to requests: one copy for every transport that talks DASF.

A client sends a message with a ``requestContext`` and waits for the ``response`` (or
``pong``) that carries the same context; ``progress`` frames in between go to the call's
progress sink. :class:`Replies` keeps the table of requests waiting for an answer and
does that matching for a process's stdio, an SSH channel and a DASF broker alike:

- contexts are numbers written as strings (dasf-broker-django stores them in an integer
  column), compared as strings;
- a ``pong`` answers a ``ping`` only; a ``response`` answers anything;
- a fragmented answer (``fragment`` / ``num_fragments``, as demessaging cuts them) is put
  back together in fragment order and handed over once, as one payload;
- an answer larger than ``max_size`` fails its request instead of growing without bound;
- a progress sink that raises is logged and the call goes on: a bug in whoever records
  progress must not cost the call its answer, nor the connection its other calls;
- a late answer to a request that was given up (cancelled, timed out) is dropped.

Standard library only (asyncio futures): this module also ships to login nodes.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from . import PING, PONG, PROGRESS, RESPONSE, Payload, ProtocolError, decode_payload

log = logging.getLogger(__name__)

#: Receives each progress tree of a running call.
ProgressSink = Callable[[dict[str, Any]], None]
#: Builds the exception a request fails with when the other end breaks the protocol; it
#: gets what was wrong ("a payload that is not text").
ProtocolFault = Callable[[str], BaseException]
#: The exception a request fails with when its answer exceeds ``max_size``.
TooLarge = Callable[[], BaseException]


class Pending:
    """One request waiting for its answer."""

    __slots__ = ("acked", "context", "fragments", "future", "kind", "on_progress", "owner", "size")

    def __init__(
        self,
        context: str,
        kind: str,
        future: asyncio.Future[dict[str, Any]],
        on_progress: ProgressSink | None,
        owner: object,
    ) -> None:
        self.context = context
        #: The message type of the request (``request``, ``ping``, ``api_info``, ...).
        self.kind = kind
        #: Resolves to ``{"properties": ..., "payload": ...}`` of the answer.
        self.future = future
        self.on_progress = on_progress
        #: What the request went out on (a connection); :meth:`Replies.fail_all` matches it.
        self.owner = owner
        #: The carrier confirmed it took the request (a broker's publish acknowledgement).
        self.acked = False
        self.fragments: dict[int, Payload] = {}
        self.size = 0


class Replies:
    """The requests of one connection (or one client) that wait for an answer.

    Parameters
    ----------
    name
        Whose replies (a backend's name), for log lines.
    protocol_fault
        Builds the error of a request whose answer breaks the protocol.
    max_size
        Longest answer payload, characters of base64 (``None``: no limit, the carrier
        bounds it).
    too_large
        Builds the error of a request whose answer is longer than ``max_size``.
    """

    def __init__(
        self,
        name: str,
        *,
        protocol_fault: ProtocolFault,
        max_size: int | None = None,
        too_large: TooLarge | None = None,
    ) -> None:
        if max_size is not None and too_large is None:
            raise ValueError("a max_size needs a too_large error")
        self.name = name
        self._protocol_fault = protocol_fault
        self._max_size = max_size
        self._too_large = too_large
        self._pending: dict[str, Pending] = {}
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._pending)

    def __iter__(self) -> Iterator[Pending]:
        return iter(list(self._pending.values()))

    def __contains__(self, context: object) -> bool:
        return context in self._pending

    def next_context(self) -> str:
        """A new ``requestContext`` (a number, as dasf-broker-django requires)."""
        return str(next(self._ids))

    def add(
        self, kind: str, *, on_progress: ProgressSink | None = None, owner: object = None
    ) -> Pending:
        """Wait for the answer of a request about to be sent (under a new context)."""
        context = self.next_context()
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        pending = Pending(context, kind, future, on_progress, owner)
        self._pending[context] = pending
        return pending

    def get(self, context: str) -> Pending | None:
        """The request waiting under ``context``, if it still waits."""
        return self._pending.get(context)

    def forget(self, context: str) -> Pending | None:
        """Stop waiting for ``context`` (a late answer is then dropped); returns the request
        if it was still waiting."""
        return self._pending.pop(context, None)

    def fail(self, context: str, exc: BaseException) -> None:
        """Fail the request waiting under ``context`` with ``exc``."""
        pending = self._pending.pop(context, None)
        if pending is not None and not pending.future.done():
            pending.future.set_exception(exc)

    def fail_all(
        self, exc: BaseException | Callable[[], BaseException], owner: object = None
    ) -> None:
        """Fail every waiting request (only those sent on ``owner``, when given).

        ``exc`` may be a function that builds a fresh exception for each request.
        """
        for pending in list(self._pending.values()):
            if owner is None or pending.owner is owner:
                self.fail(pending.context, exc() if callable(exc) else exc)

    def deliver(
        self,
        properties: Mapping[str, Any],
        payload: object,
        buffers: list[bytes] | None = None,
    ) -> Pending | None:
        """Match one received message (its ``properties``, ``payload`` and the binary
        ``buffers`` that followed it) to its request.

        Returns the request it belonged to (``None``: not ours, or a late answer).
        """
        context = str(properties.get("requestContext", ""))
        pending = self._pending.get(context)
        if pending is None:
            return None
        kind = properties.get("messageType")
        if not isinstance(payload, str | bytes | bytearray):
            self.fail(context, self._protocol_fault("a payload that is not text"))
            return pending
        if kind == PROGRESS:
            self._progress(pending, payload)
        elif kind == RESPONSE or (kind == PONG and pending.kind == PING):
            if "num_fragments" in properties:
                self._fragment(pending, properties, payload)
            elif self._max_size is not None and len(payload) > self._max_size:
                self._fail_too_large(pending)
            else:
                self._resolve(pending, dict(properties), payload, buffers)
        return pending

    def _progress(self, pending: Pending, payload: Payload) -> None:
        if pending.on_progress is None or not payload:
            return
        try:
            tree = decode_payload(payload)
        except ProtocolError as exc:
            log.warning("Backend %s sent unreadable progress: %s", self.name, exc)
            return
        try:
            pending.on_progress(tree)
        except Exception:
            log.exception("Progress of a call to backend %s could not be recorded", self.name)

    def _fragment(self, pending: Pending, properties: Mapping[str, Any], payload: Payload) -> None:
        try:
            index, count = int(properties["fragment"]), int(properties["num_fragments"])
            if not 0 <= index < count:
                raise ValueError(f"fragment {index} of {count}")
        except (KeyError, TypeError, ValueError) as exc:
            self.fail(pending.context, self._protocol_fault(f"a broken fragment ({exc})"))
            return
        if index not in pending.fragments:
            pending.size += len(payload)
            pending.fragments[index] = payload
        if self._max_size is not None and pending.size > self._max_size:
            self._fail_too_large(pending)
            return
        if len(pending.fragments) < count:
            return
        # All there: the base64 in fragment order, in one bytearray that whoever reads it
        # decodes in place (and empties); each fragment is dropped once it is in, so the
        # answer is held about once, not as its fragments and their join at the same time.
        whole = bytearray()
        for i in range(count):
            part = pending.fragments.pop(i)
            whole += part.encode("ascii", errors="replace") if isinstance(part, str) else part
            del part
        props = {k: v for k, v in properties.items() if k not in ("fragment", "num_fragments")}
        self._resolve(pending, props, whole)

    def _fail_too_large(self, pending: Pending) -> None:
        assert self._too_large is not None  # checked in __init__
        self.fail(pending.context, self._too_large())

    def _resolve(
        self,
        pending: Pending,
        properties: dict[str, Any],
        payload: Payload,
        buffers: list[bytes] | None = None,
    ) -> None:
        self._pending.pop(pending.context, None)
        if not pending.future.done():
            reply: dict[str, Any] = {"properties": properties, "payload": payload}
            if buffers:
                reply["buffers"] = buffers
            pending.future.set_result(reply)


__all__ = ["Pending", "ProgressSink", "Replies"]
