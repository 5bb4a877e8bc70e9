"""``asynchronous=True`` for clusters, jobs, files and app sessions, as for functions.

The client's methods are written once, blocking (what a notebook cell wants). On an
asynchronous session each of them returns a coroutine instead: the blocking body runs in
a worker thread, so ``await cluster.submit(...)`` or ``await job.wait()`` leave the
kernel's event loop free (``asyncio.gather`` over many jobs, a dashboard updating while
jobs run).

Waiting and following (``Job.wait``, ``Job.tail``, ``AppSession.wait``) are written as
generators of pauses: each step (a request, a status line) runs in a thread and the
pauses are ``asyncio.sleep``, so cancelling the awaiting task stops waiting at once (the
job goes on), as an interrupt does for the blocking form.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
import time
from collections.abc import Callable, Generator
from typing import Any, ParamSpec, TypeVar, cast

T = TypeVar("T")
P = ParamSpec("P")

#: Set in the worker thread that runs a blocking body: the methods it calls block too.
_inside = threading.local()

#: A polling body: yields the seconds to pause before its next step, returns its result.
Steps = Generator[float, None, T]


def _blocking_here() -> bool:
    return bool(getattr(_inside, "active", False))


async def _in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    def run() -> T:
        _inside.active = True
        try:
            return fn(*args, **kwargs)
        finally:
            _inside.active = False

    return await asyncio.to_thread(run)


def awaitable(method: Callable[P, T]) -> Callable[P, T]:
    """``method`` as it is, or a coroutine of it when its object's session is
    asynchronous (the object's ``_asynchronous`` property). Typed as the blocking form,
    the default."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self._asynchronous and not _blocking_here():
            return _in_thread(method, self, *args, **kwargs)
        return method(self, *args, **kwargs)

    return cast("Callable[P, T]", wrapper)


def polling(steps: Callable[P, Steps[T]]) -> Callable[P, T]:
    """A method from a generator of pauses: blocking (``time.sleep``; an interrupt goes
    into the generator as ``KeyboardInterrupt``, so it can say what it stopped) or, on an
    asynchronous session, a coroutine (``asyncio.sleep``; cancelling the task goes into
    the generator the same way, then the task ends cancelled)."""

    @functools.wraps(steps)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        gen = steps(self, *args, **kwargs)
        if self._asynchronous and not _blocking_here():
            return _drive_async(gen)
        return _drive(gen)

    wrapper.__signature__ = _returning(steps)  # type: ignore[attr-defined]
    return cast("Callable[P, T]", wrapper)


def _returning(steps: Callable[..., Any]) -> inspect.Signature:
    """``steps``' signature with what it returns at its end (``help()`` shows that, not
    the generator)."""
    sig = inspect.signature(steps)
    ret = sig.return_annotation
    if isinstance(ret, str) and ret.startswith("Steps[") and ret.endswith("]"):
        ret = ret[len("Steps[") : -1]
    return sig.replace(return_annotation=ret)


def _drive(gen: Steps[T]) -> T:
    try:
        pause = next(gen)
        while True:
            try:
                time.sleep(pause)
            except KeyboardInterrupt:
                gen.throw(KeyboardInterrupt())  # it says what stopped, and raises
                raise
            pause = next(gen)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def _step(gen: Steps[T]) -> tuple[bool, Any]:
    """One step of ``gen`` (run in a thread): (True, result) at its end, else (False, pause).
    StopIteration cannot cross into a future, so it is turned into a value here."""
    try:
        return False, next(gen)
    except StopIteration as stop:
        return True, stop.value


async def _drive_async(gen: Steps[T]) -> T:
    while True:
        done, value = await _in_thread(_step, gen)
        if done:
            return value  # type: ignore[no-any-return]
        try:
            await asyncio.sleep(value)
        except asyncio.CancelledError:
            await _in_thread(_stop, gen)
            raise


def _stop(gen: Steps[Any]) -> None:
    """Tell ``gen`` it was stopped (as an interrupt), in a thread: it shows a note."""
    try:
        gen.throw(KeyboardInterrupt())
    except (KeyboardInterrupt, StopIteration):
        pass
