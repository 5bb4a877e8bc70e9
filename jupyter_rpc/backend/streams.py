"""The runner's output side: the protocol writer, progress throttling, error texts."""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, Protocol

from .. import protocol
from ..protocol import encode_payload, message
from .progress import ERROR, RUNNING, SUCCESS, Progress

__all__ = ["Outlet", "ProgressChannel", "Writer", "execution_error_text", "log", "user_traceback"]


class Outlet(Protocol):
    """What a :class:`ProgressChannel` needs from the runner."""

    topic: str
    interval: float

    def send(self, msg: dict[str, Any]) -> None: ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> None: ...


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def log(text: str) -> None:
    """One line on stderr, prefixed with ``jupyter-rpc:`` (the server keeps it in its log)."""
    try:
        sys.stderr.write(f"jupyter-rpc: {text}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # pragma: no cover - stderr gone
        pass


def execution_error_text(exc: BaseException) -> str:
    """``"<ExcClass>: <message>"`` (just the class when there is no message)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def user_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` without the runner's own frames ("" if none are left)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        tb = tb.tb_next
    if tb is None:
        return ""
    return "".join(traceback.format_exception(type(exc), exc, tb))


class Writer:
    """The only writer of the protocol output."""

    def __init__(self, fd: int, on_error: Any) -> None:
        self._fd = fd
        # a line, or a line and the buffers that follow it (written as one, in order)
        self._queue: queue.SimpleQueue[bytes | tuple[bytes, ...] | None] = queue.SimpleQueue()
        self._on_error = on_error
        self._failed = False
        self._thread = threading.Thread(target=self._run, name="jupyter-rpc-writer", daemon=True)
        self._thread.start()

    def send(self, data: bytes | tuple[bytes, ...]) -> None:
        if not self._failed:
            self._queue.put(data)

    def _run(self) -> None:
        while True:
            data = self._queue.get()
            if data is None:
                return
            try:
                for part in data if isinstance(data, tuple) else (data,):
                    view = memoryview(part)
                    while view:
                        view = view[os.write(self._fd, view) :]
            except OSError as exc:
                self._failed = True
                self._on_error(exc)
                return

    def close(self, timeout: float) -> bool:
        """Write what is queued (for at most ``timeout`` s); True when all was written."""
        self._queue.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()


class ProgressChannel:
    """Sends a call's progress tree, at most one frame per interval, final state always."""

    def __init__(self, runner: Outlet, context: str) -> None:
        self._runner = runner
        self._context = context
        self._lock = threading.Lock()
        self._last = -1e9
        self._dirty = False
        self._timer = False
        self._closed = False
        self._sent = False
        self._root: Progress | None = None

    def changed(self, root: Progress) -> None:
        with self._lock:
            if self._closed:
                return
            self._root = root
            now = time.monotonic()
            wait = self._last + self._runner.interval - now
            if wait <= 0 and not self._timer:
                self._send(root, now)
                return
            self._dirty = True
            if not self._timer:
                self._timer = True
                self._runner.call_later(max(wait, 0.0), self._flush)

    def _flush(self) -> None:
        with self._lock:
            self._timer = False
            if self._dirty and not self._closed and self._root is not None:
                self._send(self._root, time.monotonic())

    def close(self, failed: bool) -> None:
        """Send the final tree (root marked success/error) if anything was reported."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            root = self._root
            if root is None or not (self._sent or self._dirty):
                return
            with root._lock:
                if root.status == RUNNING:
                    root.status = ERROR if failed else SUCCESS
            self._send(root, time.monotonic())

    def _send(self, root: Progress, now: float) -> None:
        tree = root.to_dict()
        self._last = now
        self._dirty = False
        self._sent = True
        self._runner.send(
            message(
                protocol.PROGRESS,
                self._context,
                payload=encode_payload(tree),
                status=tree["status"],
                source_topic=self._runner.topic,
            )
        )
