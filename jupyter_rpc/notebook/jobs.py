"""One batch job from a notebook: its state, waiting for it, its output."""

from __future__ import annotations

import html
import sys
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

from .aio import Steps, awaitable, polling
from .client import need_capability
from .display import StatusLine
from .units import duration, quote

if TYPE_CHECKING:
    from .clusters import Cluster

#: Job states in which a job may still run (``jupyter_rpc.schedulers.base.ACTIVE_STATES``).
ACTIVE = frozenset({"pending", "held", "running", "completing", "suspended"})
OUTPUT_LIMIT = 1024 * 1024  # bytes of job output per request


def cpu_efficiency(info: dict[str, Any]) -> float | None:
    """CPU time used over elapsed time × CPUs; ``None`` until accounting measured it."""
    used, elapsed, cpus = info.get("cpu_used"), info.get("elapsed"), info.get("cpus")
    if used is None or not elapsed or not cpus:
        return None
    return float(used) / (float(elapsed) * int(cpus))


class Job:
    """One batch job on a cluster.

    ``info`` is the scheduler's description (a dict: ``state``, ``reason``, ``exit_code``,
    ``stdout`` path, ...) as last fetched; :meth:`refresh` fetches it again. ``state``,
    ``done`` and ``exit_code`` ask the cluster again while the job is still active.

    On a cluster opened with ``asynchronous=True`` the methods return coroutines
    (``await job.wait()``) and ``state``, ``done`` and ``exit_code`` read ``info`` as last
    fetched (``await job.refresh()`` fetches it again).
    """

    def __init__(self, cluster: Cluster, info: dict[str, Any]):
        self.cluster = cluster
        self.info = info

    @property
    def _asynchronous(self) -> bool:
        return self.cluster._session.asynchronous

    def _ask(self) -> None:
        """Fetch the description again while the job is active (not on an asynchronous
        session: a property cannot be awaited)."""
        if self.info.get("state") in ACTIVE and not self._asynchronous:
            self.refresh()

    @property
    def id(self) -> str:
        """The scheduler's job id (``"123"``, ``"123_4"`` for an array task)."""
        return str(self.info["id"])

    @property
    def name(self) -> str:
        """The job's name."""
        return str(self.info.get("name") or "")

    @property
    def state(self) -> str:
        """``pending``, ``held``, ``running``, ``completing``, ``suspended``, ``completed``,
        ``failed``, ``cancelled``, ``timeout`` or ``unknown`` (asked again while active)."""
        self._ask()
        return str(self.info.get("state"))

    @property
    def done(self) -> bool:
        """Whether the job has ended (any way: completed, failed, cancelled, timeout)."""
        return self.state not in ACTIVE

    @property
    def exit_code(self) -> int | None:
        """The exit code once the job has ended (``None`` before, or if unknown)."""
        self._ask()
        return self.info.get("exit_code")

    @property
    def cpu_efficiency(self) -> float | None:
        """CPU time used over elapsed time × CPUs (1.0: every CPU busy all the time), once
        the scheduler's accounting measured it; ``None`` if unknown."""
        return cpu_efficiency(self.info)

    @property
    def memory_peak_mb(self) -> float | None:
        """The job's peak resident memory (MB), once accounting measured it."""
        return self.info.get("memory_peak_mb")

    def _path(self, *more: str) -> str:
        return "/".join([self.cluster._path("jobs", quote(self.id)), *more])

    @awaitable
    def refresh(self) -> Job:
        """Fetch the job's description again; returns the job."""
        self.info = self.cluster._session.request("GET", self._path())
        return self

    @awaitable
    def cancel(self) -> Job:
        """Cancel the job (``RemoteError`` with code ``job.finished`` if it had ended)."""
        self.info = self.cluster._session.request("DELETE", self._path())
        return self

    @awaitable
    def hold(self) -> Job:
        """Hold a pending job: it will not start until :meth:`release`."""
        need_capability(self.cluster.info, "hold")
        self.info = self.cluster._session.request("POST", self._path("hold"))
        return self

    @awaitable
    def release(self) -> Job:
        """Release a held job."""
        need_capability(self.cluster.info, "hold")
        self.info = self.cluster._session.request("POST", self._path("release"))
        return self

    @awaitable
    def resubmit(self) -> Job:
        """Submit the same script with the same resources again; returns the new job."""
        return Job(self.cluster, self.cluster._session.request("POST", self._path("resubmit")))

    # -- waiting -----------------------------------------------------------------------

    @polling
    def wait(self, timeout: float | None = None, poll: float = 2.0) -> Steps[Job]:
        """Block until the job has ended; returns the job (``job.wait().exit_code``).

        A status line in the cell shows the job's state as it changes (plain lines
        outside IPython). ``timeout`` (seconds) raises :class:`TimeoutError` and leaves the
        job running. Interrupting (Kernel > Interrupt, Ctrl-C), or cancelling the task that
        awaits it, stops waiting; the job goes on.
        """
        status = _StatusLine(self)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                self.refresh()
                status.show()
                if self.info.get("state") not in ACTIVE:
                    return self
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"Job {self.id} is still {self.info.get('state')} after {timeout:g} s (it keeps running)."
                    )
                pause = (
                    poll if deadline is None else min(poll, max(0.0, deadline - time.monotonic()))
                )
                yield max(pause, 0.05)
        except KeyboardInterrupt:
            status.show(note="stopped waiting; the job goes on")
            raise

    # -- output ------------------------------------------------------------------------

    def _chunk(self, stream: str, offset: int) -> dict[str, Any]:
        query = urllib.parse.urlencode({"stream": stream, "offset": offset, "limit": OUTPUT_LIMIT})
        return self.cluster._session.request("GET", self._path("output") + "?" + query)  # type: ignore[no-any-return]

    def _read_from(self, stream: str, offset: int) -> tuple[str, int]:
        parts = []
        while True:
            chunk = self._chunk(stream, offset)
            parts.append(chunk["data"])
            read = chunk["next_offset"] - offset
            offset = chunk["next_offset"]
            if read < OUTPUT_LIMIT - 4:  # less than asked: the end for now (4: a cut character)
                return "".join(parts), offset

    @awaitable
    def output(self, stream: str = "stdout") -> str:
        """The job's ``stdout`` (or ``stderr``) text so far (``""`` before it exists)."""
        return self._read_from(stream, 0)[0]

    @polling
    def tail(self, stream: str = "stdout", follow: bool = True, poll: float = 1.0) -> Steps[None]:
        """Print the job's output, then (``follow``) new output as it arrives, until the
        job ends. Interrupting stops following; the job goes on."""
        text, offset = self._read_from(stream, 0)
        _write(text)
        try:
            while follow:
                active = self.refresh().info.get("state") in ACTIVE  # before reading: no lost tail
                text, offset = self._read_from(stream, offset)
                _write(text)
                if not active:
                    return
                yield 0.0 if text else poll
        except KeyboardInterrupt:
            _write(f"\n[stopped following job {self.id}; it goes on]\n")
            raise

    def __repr__(self) -> str:
        info = self.info
        bits = [f"Job {self.id}"]
        if info.get("name"):
            bits.append(repr(info["name"]))
        bits.append(str(info.get("state")))
        if info.get("exit_code") is not None and info.get("state") not in ACTIVE:
            bits.append(f"exit code {info['exit_code']}")
        if info.get("reason") and info.get("state") in ("pending", "held"):
            bits.append(f"({info['reason']})")
        return f"<{' '.join(bits)} on {self.cluster.name}>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
            for k, v in (
                ("job", self.id),
                ("name", self.info.get("name", "")),
                ("cluster", self.cluster.name),
                ("state", self.info.get("state", "")),
                ("reason", self.info.get("reason", "")),
                ("exit code", "" if self.info.get("exit_code") is None else self.info["exit_code"]),
                ("stdout", self.info.get("stdout", "")),
            )
        )
        return f"<table>{rows}</table>"


def _write(text: str) -> None:
    if text:
        sys.stdout.write(text)
        sys.stdout.flush()


class _StatusLine(StatusLine):
    """One live line in the cell (an IPython display handle), or printed lines otherwise."""

    def __init__(self, job: Job):
        super().__init__()
        self.job = job

    def text(self, note: str = "") -> str:
        info = self.job.info
        state = str(info.get("state"))
        named = f" ({info['name']})" if info.get("name") else ""
        parts = [f"Job {self.job.id}{named} on {self.job.cluster.name}: {state}"]
        if state in ("pending", "held") and info.get("reason"):
            parts.append(str(info["reason"]))
        if state == "running" and info.get("nodes"):
            parts.append(f"on {info['nodes']}")
        if info.get("elapsed"):
            parts.append(duration(info["elapsed"]))
        if state not in ACTIVE and info.get("exit_code") is not None:
            parts.append(f"exit code {info['exit_code']}")
        if note:
            parts.append(note)
        return " · ".join(parts)

    def prints(self, line: str, note: str) -> bool:
        return line.split(" · ")[0] != self.last.split(" · ")[0] or bool(note)  # a new state
