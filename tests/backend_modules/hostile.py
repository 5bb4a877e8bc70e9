"""A backend that attacks the server on purpose, for the hardening suite (issue 12).

Each function does one thing a careless or malicious backend could do to the Jupyter
server that serves it: answer with a huge result, flood stderr, write one giant stderr
line and exit, ignore cancellation, die abruptly, or leave child processes behind.

Serve it with ``python -m jupyter_rpc.backend tests/backend_modules/hostile.py`` (or the
dotted name ``tests.backend_modules.hostile`` from the repository root).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from jupyter_rpc.backend import Progress

__all__ = [
    "huge_result",
    "huge_list",
    "stderr_flood",
    "giant_stderr_line",
    "ignore_cancel",
    "block_loop",
    "huge_progress",
    "exit_now",
    "spawn_orphans",
    "alive",
]


def huge_result(size: int) -> str:
    """Return a string of ``size`` ASCII characters (about ``size`` bytes on the wire).

    Parameters
    ----------
    size : int
        The length of the result in characters.
    """
    return "x" * size


def huge_list(count: int) -> list[int]:
    """Return ``count`` small integers (a large result made of many small items).

    Parameters
    ----------
    count : int
        How many items.
    """
    return list(range(count))


def stderr_flood(lines: int, length: int = 1000) -> int:
    """Write ``lines`` lines of ``length`` characters each to stderr, then return.

    Parameters
    ----------
    lines : int
        How many lines.
    length : int
        Characters per line (without the newline).

    Returns
    -------
    int
        The number of bytes written.
    """
    line = ("e" * length + "\n").encode()
    for _ in range(lines):
        os.write(2, line)
    return lines * len(line)


def giant_stderr_line(size: int, status: int = 1) -> None:
    """Write one line of ``size`` bytes to stderr (no newline until the end), then exit.

    The process ends with :func:`os._exit` (status ``status``), so the call never answers:
    the server sees a crash whose stderr is one enormous line.

    Parameters
    ----------
    size : int
        Bytes in the line.
    status : int
        The exit status.
    """
    chunk = b"E" * min(size, 1 << 20)
    left = size
    while left > 0:
        left -= os.write(2, chunk[:left])
    os.write(2, b"\n")
    os._exit(status)


def ignore_cancel(seconds: float) -> float:
    """Busy-wait for ``seconds`` in a worker thread without ever checking for cancellation.

    A cancelled call of this function keeps its worker until the time is up; enough of
    them take every worker of the runner's pool, while the runner still answers pings.

    Parameters
    ----------
    seconds : float
        How long to block.

    Returns
    -------
    float
        ``seconds``.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)
    return seconds


async def block_loop(seconds: float) -> float:
    """Block the runner's event loop for ``seconds`` (``time.sleep`` in an ``async def``).

    While it runs the runner answers nothing: no pong, no cancel, no other call.

    Parameters
    ----------
    seconds : float
        How long to block.

    Returns
    -------
    float
        ``seconds``.
    """
    time.sleep(seconds)  # noqa: ASYNC251 - blocking the loop is the point
    return seconds


def huge_progress(size: int, progress: Progress) -> int:
    """Report one progress step whose message is ``size`` characters long, then return.

    Parameters
    ----------
    size : int
        Characters in the step's message.

    Returns
    -------
    int
        ``size``.
    """
    progress.start("x" * size)
    time.sleep(0.5)  # the runner sends progress at most every 50 ms
    progress.update("y" * size)
    time.sleep(0.5)
    return size


def exit_now(status: int = 0, after: float = 0.0) -> None:
    """End the backend process at once with :func:`os._exit` (no answer, no cleanup).

    Parameters
    ----------
    status : int
        The exit status.
    after : float
        Seconds to wait first.
    """
    time.sleep(after)
    sys.stderr.flush()
    os._exit(status)


def spawn_orphans(count: int = 2, seconds: float = 30.0) -> list[int]:
    """Start ``count`` child processes that sleep ``seconds`` and outlive the call.

    The children keep the backend's stderr open (they inherit it) and stay in its process
    group, so they outlive the backend unless the server ends the whole group.

    Parameters
    ----------
    count : int
        How many children.
    seconds : float
        How long each sleeps.

    Returns
    -------
    list[int]
        The children's process ids.
    """
    pids = []
    for _ in range(count):
        child = subprocess.Popen(  # noqa: S603 - a fixed argv of this interpreter
            [sys.executable, "-c", f"import time; time.sleep({float(seconds)!r})"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        pids.append(child.pid)
    return pids


def alive() -> int:
    """The backend process's id (a cheap call that shows the backend answers)."""
    return os.getpid()
