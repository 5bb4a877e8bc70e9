"""A backend that misbehaves on purpose, for the server's fault tests.

Serve it with ``python -m jupyter_rpc.backend tests/backend_modules/faulty.py`` (or the dotted
name ``tests.backend_modules.faulty`` from the repository root).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

from jupyter_rpc.backend import Progress

__all__ = ["noop", "echo", "crash", "sleep", "async_sleep", "chatty", "boom", "getenv"]


def noop() -> None:
    """Do nothing (the cheapest possible call)."""


def echo(value: str) -> str:
    """Return ``value`` unchanged.

    Parameters
    ----------
    value : str
        Any text; it comes back as is.
    """
    return value


def crash(after: float = 0.2) -> None:
    """Kill the backend process (exit status 3) in the middle of the call.

    Parameters
    ----------
    after : float
        Seconds to wait first.
    """
    time.sleep(after)
    sys.stderr.flush()
    os._exit(3)


def sleep(seconds: float, progress: Progress) -> float:
    """Sleep in a worker thread, reporting progress every 0.1 s (so it can be cancelled).

    Parameters
    ----------
    seconds : float
        How long to sleep.

    Returns
    -------
    float
        ``seconds``.
    """
    progress.start(f"Sleeping {seconds} s")
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(0.1, left))
        progress.update(f"Sleeping, {max(0.0, deadline - time.monotonic()):.1f} s left")
    return seconds


async def async_sleep(seconds: float) -> float:
    """Sleep on the runner's event loop (cancelled directly).

    Parameters
    ----------
    seconds : float
        How long to sleep.

    Returns
    -------
    float
        ``seconds``.
    """
    await asyncio.sleep(seconds)
    return seconds


def chatty(text: str) -> str:
    """Print to stdout and write to file descriptor 1, then return ``text``.

    A backend must keep such output out of the protocol stream.

    Parameters
    ----------
    text : str
        What to print and return.
    """
    print(f"chatty print: {text}")
    sys.stdout.flush()
    os.write(1, f"chatty fd1: {text}\n".encode())
    return text


def boom(message: str = "boom") -> None:
    """Raise ``RuntimeError(message)``.

    Parameters
    ----------
    message : str
        The error message.
    """
    raise RuntimeError(message)


def getenv(name: str) -> str | None:
    """The value of an environment variable in the backend process (None when unset).

    Parameters
    ----------
    name
        The variable's name.
    """
    import os

    return os.environ.get(name)
