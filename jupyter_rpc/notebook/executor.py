"""Many remote calls at once: a :class:`concurrent.futures.Executor` over the server's
batch routes.

``ex = jupyter_rpc.executor("examples")`` (or ``connect("examples").executor()``):
``ex.submit(examples.simulate, 5)`` returns a :class:`~concurrent.futures.Future`,
``ex.map(examples.add, xs, ys)`` yields results in order. One thread per executor sends
what is submitted in batches (``POST backends/{b}/calls/batch``) and collects results
with one long poll for many calls (``POST calls/wait``), so a call costs a share of a
request instead of a round trip of its own. At most ``max_workers`` calls run on the
server at a time; the rest wait here, and ``map`` reads its input only as far as it needs
(a bounded window ahead of what was consumed), so a map over a generator of millions holds
a bounded number of calls.

A future stays *pending* until its result arrives (``running()`` is False while the call
runs remotely), so :meth:`Future.cancel` works until then: it cancels the remote call
(``POST calls/cancel``, many at once), or drops it before it was sent. Errors are the client's usual
:class:`~jupyter_rpc.notebook.client.RemoteError`, with the call's id.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .client import RemoteBackend, RemoteError, Session, connect, outcome
from .display import MapProgress

#: The server's bound on calls in one batch and ids in one wait.
MAX_BATCH = 1000
#: Seconds a batch request waits for its calls (quick ones come back in the same answer).
BATCH_WAIT = 0.05
#: Seconds one long poll for results waits at most (the server answers as soon as any of
#: the calls has ended); short, so calls submitted meanwhile are not held back for long.
POLL_WAIT = 0.5


class RemoteFuture(concurrent.futures.Future):  # type: ignore[type-arg]
    """A future of one remote call; ``call_id`` is the call's id on the server."""

    def __init__(self, call_id: str) -> None:
        super().__init__()
        self.call_id = call_id


class Executor(concurrent.futures.Executor):
    """Run remote calls of one backend concurrently (see the module's documentation).

    Parameters
    ----------
    backend
        The backend's name, or a backend from :func:`~jupyter_rpc.connect`.
    max_workers
        Most calls running on the server at a time (the rest wait in this process).
    url, token
        The Jupyter server to use; found automatically inside JupyterLab.
    progress
        Show one progress line per ``map`` in the cell (done / failed / running).
    """

    def __init__(
        self,
        backend: str | RemoteBackend,
        max_workers: int = 500,
        *,
        url: str | None = None,
        token: str | None = None,
        progress: bool = True,
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        if isinstance(backend, RemoteBackend):
            self.backend = backend._name
            self._session = backend._session  # its connections are per thread
            self._functions = backend
        else:
            self.backend = backend
            self._session = Session(url, token)
            self._functions = RemoteBackend(backend, self._session)
        self.max_workers = max_workers
        self.progress = progress
        self._path = f"backends/{urllib.parse.quote(self.backend, safe='')}/calls/batch"
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._queue: collections.deque[tuple[RemoteFuture, str, dict[str, Any]]] = (
            collections.deque()
        )
        self._inflight: dict[str, RemoteFuture] = {}
        #: The batch on its way to the server (in neither the queue nor ``_inflight``).
        self._sending: list[tuple[RemoteFuture, str, dict[str, Any]]] = []
        self._to_cancel: list[str] = []
        self._batch_limit = MAX_BATCH
        self._shutdown = False
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __repr__(self) -> str:
        return (
            f"<jupyter_rpc Executor {self.backend!r}: {len(self._inflight)} running, "
            f"{len(self._queue)} queued>"
        )

    # -- concurrent.futures.Executor ----------------------------------------------------

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> RemoteFuture:
        """Start ``fn(*args, **kwargs)`` remotely; ``fn`` is a function (or an instance's
        method) of this executor's backend. Arguments that do not fit its signature raise
        here, as a call would."""
        function, arguments = self._call_of(fn, args, kwargs)
        future = RemoteFuture(uuid.uuid4().hex)
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit to an Executor that was shut down")
            if self._error is not None:
                raise RuntimeError(f"the Executor stopped: {self._error}") from self._error
            self._queue.append((future, function, arguments))
            self._start_thread()
        future.add_done_callback(self._on_done)
        self._wake.set()
        return future

    def map(
        self,
        fn: Callable[..., Any],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int = 1,
        buffersize: int | None = None,
    ) -> Iterator[Any]:
        """``fn`` over the items of ``iterables`` (zipped), results in order.

        Pipelined: up to ``buffersize`` calls (default twice ``max_workers``) are
        submitted ahead of what was consumed, and the input is read only that far, so an
        endless generator is fine. The first failing item raises its ``RemoteError``
        when its turn comes (as ``concurrent.futures`` does); the calls after it are
        cancelled when the iterator is closed or collected. ``chunksize`` is ignored:
        batching is automatic.
        """
        window_size = buffersize or 2 * self.max_workers
        items = zip(*iterables, strict=False)
        window: collections.deque[RemoteFuture] = collections.deque()
        for args in itertools.islice(items, window_size):
            window.append(self.submit(fn, *args))
        deadline = None if timeout is None else time.monotonic() + timeout
        name = getattr(fn, "__qualname__", getattr(fn, "__name__", "call"))
        view = MapProgress(f"{self.backend}.{name}") if self.progress else None
        return self._results(fn, items, window, deadline, view)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No more submits; with ``cancel_futures``, cancel every call not yet ended
        (queued ones are dropped, running ones cancelled on the server); with ``wait``,
        return once every call has ended (or was cancelled)."""
        with self._lock:
            self._shutdown = True
            futures = [f for f, _, _ in self._queue] + [f for f, _, _ in self._sending]
            futures += list(self._inflight.values())
        if cancel_futures:
            for future in futures:
                future.cancel()
        self._wake.set()
        thread = self._thread
        if wait and thread is not None:
            thread.join()

    # -- internals ----------------------------------------------------------------------

    def _call_of(
        self, fn: Callable[..., Any], args: Any, kwargs: Any
    ) -> tuple[str, dict[str, Any]]:
        call = getattr(fn, "_rpc_call", None)
        owner = getattr(fn, "_rpc_backend", None)
        if call is None and hasattr(fn, "__func__"):  # an instance's method
            method = getattr(fn.__func__, "_rpc_method_call", None)
            owner = getattr(fn.__func__, "_rpc_backend", None)
            if method is not None:
                instance = getattr(fn, "__self__", None)
                call = lambda a, k: method(instance, a, k)  # noqa: E731
        if call is None:
            raise TypeError(
                f"{fn!r} is not a remote function: an Executor runs the functions of a "
                f"backend (connect({self.backend!r}).name, or the executor's .functions)"
            )
        if owner != self.backend:
            raise TypeError(
                f"{getattr(fn, '__name__', fn)!r} is a function of backend {owner!r}; this "
                f"Executor runs backend {self.backend!r}"
            )
        return call(args, kwargs)  # type: ignore[no-any-return]

    @property
    def functions(self) -> RemoteBackend:
        """The backend's functions (as :func:`~jupyter_rpc.connect` gives them)."""
        return self._functions

    def _results(
        self,
        fn: Callable[..., Any],
        items: Iterator[tuple[Any, ...]],
        window: collections.deque[RemoteFuture],
        deadline: float | None,
        view: MapProgress | None,
    ) -> Iterator[Any]:
        done = failed = 0
        total = len(window)
        try:
            while window:
                future = window.popleft()
                for args in itertools.islice(items, 1):
                    window.append(self.submit(fn, *args))
                    total += 1
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    value = future.result(left)
                except BaseException as exc:
                    # an interrupt or a timeout while waiting: this call is cancelled too
                    future.cancel()
                    if isinstance(exc, RemoteError):
                        failed += 1
                    if view is not None:
                        view.show(done, failed, total - done - failed, final=True)
                    raise
                done += 1
                if view is not None:
                    view.show(done, failed, total - done - failed)
                yield value
            if view is not None:
                view.show(done, failed, 0, final=True)
        finally:
            for future in window:
                future.cancel()

    def _start_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name=f"jupyter_rpc executor {self.backend}", daemon=True
            )
            self._thread.start()

    def _on_done(self, future: concurrent.futures.Future[Any]) -> None:
        if future.cancelled():
            with self._lock:
                self._to_cancel.append(future.call_id)  # type: ignore[attr-defined]
            self._wake.set()

    def _run(self) -> None:
        try:
            while self._step():
                pass
        except BaseException as exc:  # a bug or a dead server: fail what is left, loudly
            with self._lock:
                self._error = exc
                left = [f for f, _, _ in self._queue] + list(self._inflight.values())
                self._queue.clear()
                self._inflight.clear()
            for future in left:
                if future.set_running_or_notify_cancel():
                    future.set_exception(exc)

    def _step(self) -> bool:
        """One round: cancel, send, collect. False when there is nothing left to do after
        shutdown."""
        with self._lock:
            cancels, self._to_cancel = self._to_cancel, []
            room = min(self.max_workers - len(self._inflight), self._batch_limit)
            batch: list[tuple[RemoteFuture, str, dict[str, Any]]] = []
            while self._queue and len(batch) < room:
                item = self._queue.popleft()
                if not item[0].cancelled():  # cancelled before it was sent: never sent
                    batch.append(item)
            self._sending = batch
        sent = [c for c in cancels if self._inflight.pop(c, None) is not None]
        if sent:
            self._cancel_remote(sent)
        if batch:
            try:
                self._send(batch)
            finally:
                with self._lock:
                    self._sending = []
        if self._inflight:
            more = bool(self._queue) and len(self._inflight) < self.max_workers
            self._collect(0.0 if more else POLL_WAIT)
            return True
        if self._queue:
            return True
        with self._lock:
            if self._shutdown and not self._queue and not self._to_cancel:
                return False
        self._wake.wait(POLL_WAIT)
        self._wake.clear()
        return True

    def _send(self, batch: list[tuple[RemoteFuture, str, dict[str, Any]]]) -> None:
        body = {
            "calls": [{"function": f, "arguments": a, "id": fut.call_id} for fut, f, a in batch],
            "wait": BATCH_WAIT,
        }
        try:
            answer = self._session.request("POST", self._path, body, timeout=60)
        except RemoteError as exc:
            if exc.code == "request.too_large" and len(batch) > 1:  # the server's body limit
                with self._lock:
                    self._batch_limit = max(1, len(batch) // 2)
                    self._queue.extendleft(reversed(batch))
                return
            for future, _, _ in batch:
                if future.set_running_or_notify_cancel():
                    future.set_exception(exc)
            return
        for (future, _, _), call in zip(batch, answer["calls"], strict=True):
            if call["state"] in ("succeeded", "failed", "cancelled"):
                _resolve(future, call, self._session.download)
            else:
                with self._lock:
                    self._inflight[future.call_id] = future
                    if future.cancelled():  # cancelled while its batch was on its way
                        self._to_cancel.append(future.call_id)

    def _collect(self, wait: float) -> None:
        ids = list(itertools.islice(self._inflight, MAX_BATCH))
        answer = self._session.request(
            "POST", "calls/wait", {"ids": ids, "wait": wait}, timeout=60 + wait
        )
        for call in answer["calls"]:
            future = self._inflight.pop(call["id"], None)
            if future is not None:
                _resolve(future, call, self._session.download)
        for call_id in answer["missing"]:
            future = self._inflight.pop(call_id, None)
            if future is not None and future.set_running_or_notify_cancel():
                future.set_exception(
                    RemoteError(
                        "The Jupyter server no longer knows this call (it restarted, or the "
                        "call left its history).",
                        code="call.not_found",
                        call_id=call_id,
                    )
                )

    def _cancel_remote(self, call_ids: list[str]) -> None:
        """Cancel the calls on the server: one request per 1,000 (calls that ended or are
        no longer known meanwhile are no error)."""
        for i in range(0, len(call_ids), MAX_BATCH):
            chunk = call_ids[i : i + MAX_BATCH]
            self._session.request("POST", "calls/cancel", {"ids": chunk}, timeout=10)


def _resolve(
    future: RemoteFuture, call: dict[str, Any], fetch: Callable[[str], bytes] | None = None
) -> None:
    """Settle ``future`` from the server's ``call`` (an ended one), unless cancelled
    (``fetch``: how a raster result downloads its whole grid)."""
    if not future.set_running_or_notify_cancel():
        return
    try:
        value = outcome(call, fetch)
    except RemoteError as exc:
        future.set_exception(exc)
    else:
        future.set_result(value)


def executor(
    backend: str,
    max_workers: int = 500,
    *,
    url: str | None = None,
    token: str | None = None,
    progress: bool = True,
) -> Executor:
    """An :class:`Executor` for the backend ``backend`` of the Jupyter server this code
    runs under (see :class:`Executor`)."""
    return Executor(backend, max_workers, url=url, token=token, progress=progress)


__all__ = ["Executor", "RemoteFuture", "connect", "executor"]
