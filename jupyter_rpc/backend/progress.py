"""Progress reports and cancellation for remote functions.

A function asks for a :class:`Progress` by annotating a parameter with it; the runner
passes one in (it is not part of the schema). Reports form a tree in deprogressapi's
shape, so DASF clients and the JupyterLab panel show nested steps with a bar::

    {"report_id": "root", "status": "running", "step_message": "Simulating",
     "steps": 3, "children": [{"report_id": "root", "status": "success",
                               "step_message": "Step 1", "steps": 0, "children": []}]}

``steps`` is the expected number of children (0 = unknown). Every change sends the
whole tree; the runner throttles what it sends, so reporting in a tight loop is cheap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

__all__ = ["Cancelled", "Progress"]

RUNNING = "running"
SUCCESS = "success"
ERROR = "error"


class Cancelled(BaseException):
    """The call was cancelled (by the user, or because it ran out of time).

    Raised by the next report of a cancelled call's :class:`Progress` (``start``,
    ``step``, ``update``) or by :meth:`Progress.check`. It derives from
    :class:`BaseException`, like :class:`asyncio.CancelledError`, so that a broad
    ``except Exception:`` in a function does not swallow it by accident.
    """

    def __init__(self, message: str = "the call was cancelled") -> None:
        super().__init__(message)


class Progress:
    """A node of a progress tree; the runner gives every call its root node.

    Parameters
    ----------
    message
        The text shown for this node.
    steps
        The expected number of child steps (0 = unknown).
    on_change
        Called with the root node after every change (the runner's hook; leave it out
        when you call a function yourself, then reports are only kept in memory).

    Examples
    --------
    >>> def simulate(n: int, progress: Progress) -> int:
    ...     progress.start("Simulating", steps=n)
    ...     for i in range(n):
    ...         with progress.step(f"Step {i + 1} of {n}"):
    ...             pass  # work
    ...     return n
    >>> simulate(2, Progress())
    2
    """

    __slots__ = (
        "_root",
        "_lock",
        "_cancelled",
        "_on_change",
        "message",
        "steps",
        "status",
        "children",
    )

    def __init__(
        self,
        message: str = "",
        steps: int = 0,
        *,
        on_change: Callable[[Progress], None] | None = None,
    ) -> None:
        self._root: Progress = self
        self._lock = threading.RLock()
        self._cancelled = threading.Event()
        self._on_change = on_change
        self.message = message
        self.steps = int(steps)
        self.status = RUNNING
        self.children: list[Progress] = []

    @classmethod
    def _child(cls, parent: Progress, message: str, steps: int) -> Progress:
        node = cls.__new__(cls)
        root = parent._root
        node._root = root
        node._lock = root._lock
        node._cancelled = root._cancelled
        node._on_change = None
        node.message = message
        node.steps = int(steps)
        node.status = RUNNING
        node.children = []
        return node

    # -- reporting ---------------------------------------------------------------------

    def start(self, message: str, steps: int = 0) -> Progress:
        """Say what this (part of the) call is doing and how many steps it will take.

        Parameters
        ----------
        message
            The text shown for this node.
        steps
            The expected number of child steps (0 = unknown).

        Returns
        -------
        Progress
            This node, for chaining.

        Raises
        ------
        Cancelled
            If the call was cancelled.
        """
        self.check()
        with self._lock:
            self.message = str(message)
            self.steps = int(steps)
            self.status = RUNNING
        self._changed()
        return self

    def update(self, message: str | None = None, *, steps: int | None = None) -> None:
        """Change the text (and optionally the number of steps) of this node.

        Raises
        ------
        Cancelled
            If the call was cancelled.
        """
        self.check()
        with self._lock:
            if message is not None:
                self.message = str(message)
            if steps is not None:
                self.steps = int(steps)
        self._changed()

    def step(self, message: str, steps: int = 0) -> Progress:
        """Add a child step; use it as a context manager.

        The step is ``running`` at once, ``success`` when the ``with`` block ends and
        ``error`` when it ends with an exception. Steps nest: call ``step`` on the
        returned node for sub-steps.

        Parameters
        ----------
        message
            The text shown for the step.
        steps
            The expected number of sub-steps (0 = unknown).

        Returns
        -------
        Progress
            The new child node.

        Raises
        ------
        Cancelled
            If the call was cancelled.
        """
        self.check()
        child = Progress._child(self, str(message), steps)
        with self._lock:
            self.children.append(child)
        self._changed()
        return child

    def finish(self, *, failed: bool = False) -> None:
        """Mark this node ``success`` (or ``error``); ``with`` does this for you."""
        with self._lock:
            self.status = ERROR if failed else SUCCESS
        self._changed()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish(failed=exc_type is not None)

    # -- cancellation ------------------------------------------------------------------

    @property
    def cancelled(self) -> bool:
        """Whether the call was cancelled."""
        return self._cancelled.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if the call was cancelled.

        Call it in long loops that do not report progress.
        """
        if self._cancelled.is_set():
            raise Cancelled()

    def cancel(self) -> None:
        """Ask the call to stop: its next report (or :meth:`check`) raises :class:`Cancelled`.

        The runner calls this when a client cancels the call.
        """
        self._cancelled.set()

    # -- the tree ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A snapshot of this node and its children in deprogressapi's report shape."""
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> dict[str, Any]:
        return {
            "report_id": "root",
            "status": self.status,
            "step_message": self.message,
            "steps": self.steps,
            "children": [child._snapshot() for child in self.children],
        }

    def _changed(self) -> None:
        hook = self._root._on_change
        if hook is not None:
            hook(self._root)

    def __repr__(self) -> str:
        return (
            f"Progress({self.message!r}, steps={self.steps}, status={self.status!r}, "
            f"children={len(self.children)})"
        )
