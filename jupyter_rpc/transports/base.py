"""The transport interface: how the server reaches one backend."""

from __future__ import annotations

import abc
import asyncio
import json
import time
from typing import Any

from .. import protocol
from ..errors import CallFailed, RemoteFailed
from ..protocol.replies import ProgressSink as ProgressSink

STOPPED = "stopped"
STARTING = "starting"
RUNNING = "running"
FAILED = "failed"


class Transport(abc.ABC):
    """Reaches one backend. Instances are long-lived and shared by all calls.

    A call is cancelled by cancelling the task that awaits :meth:`call`; the transport
    then tells the backend (DASF has no cancel message; our runner understands ours).

    What the server reads of a transport: ``kind`` (its name in the transport registry,
    :mod:`jupyter_rpc.transports.registry`), ``state`` (``stopped``, ``starting``,
    ``running`` or ``failed``), ``error`` (the JSON error of the last failure while
    ``failed``) and ``restarts``; and the methods below. A new transport implements the
    abstract ones and overrides :meth:`ping` and :meth:`check_soon` where it can do better.
    """

    #: The transport's name in the registry (``"local"``, ``"broker"``, ``"ssh"``).
    kind: str = "abstract"

    def __init__(self, name: str) -> None:
        self.name = name
        self.state = STOPPED
        self.error: dict[str, Any] | None = None
        self.restarts = 0

    @abc.abstractmethod
    async def api_info(self) -> dict[str, Any]:
        """The backend's API in DASF's ``api_info`` shape (starting it if needed)."""

    @abc.abstractmethod
    async def call(
        self, request: dict[str, Any], *, on_progress: ProgressSink | None = None
    ) -> Any:
        """Run one DASF request (``{"func_name": ..., ...}``) and return its JSON result.

        Raises :class:`~jupyter_rpc.errors.CallFailed` when the function raised, and other
        :class:`~jupyter_rpc.errors.RPCError` subclasses when the backend is unreachable.
        """

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop the backend connection (and process, where there is one)."""

    async def ping(self, timeout: float = 10.0) -> float:
        """Round-trip time to the backend, in seconds, starting it if needed.

        Raises ``asyncio.TimeoutError`` past ``timeout`` and
        :class:`~jupyter_rpc.errors.RPCError` when the backend cannot be reached. This
        default times :meth:`api_info`; transports whose protocol has a ping (all of ours:
        DASF ``ping``/``pong``) override it.
        """
        t0 = time.perf_counter()
        await asyncio.wait_for(self.api_info(), timeout)
        return time.perf_counter() - t0

    def check_soon(self) -> None:
        """Ask for a liveness check, returning at once; called whenever the backend list is
        read, so ``state`` says whether the backend still answers.

        The default does nothing: a transport that notices a dead backend by itself (a
        process's exit, a closed channel) needs no check. One that cannot (a broker keeps
        the connection open whether or not a backend listens) pings here, at most every
        so often.
        """
        return None


def result_of(reply: dict[str, Any]) -> Any:
    """The result of a DASF ``response`` message, or raise the backend's error."""
    props = reply["properties"]
    if props.get("status") == protocol.ERROR:
        text = protocol.strip_error_prefix(protocol.decode_text(reply["payload"])).strip()
        details: dict[str, Any] = {}
        if props.get("error_type"):
            details["error_type"] = props["error_type"]
        if props.get("errors"):
            try:
                details["errors"] = json.loads(props["errors"])
            except (TypeError, ValueError):
                pass
        code = "call.invalid_arguments" if "errors" in details else CallFailed.code
        raise CallFailed(
            text or "The backend reported an error without a message.", code=code, details=details
        )
    try:
        value = protocol.decode_payload(reply["payload"]) if reply["payload"] else None
        return protocol.with_buffers(value, reply.get("buffers"))
    except protocol.ProtocolError as exc:
        raise RemoteFailed(f"The backend sent a result that cannot be read: {exc}") from None
