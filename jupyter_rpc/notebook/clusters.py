"""Clusters, batch jobs and remote files from notebook cells, as plain Python.

``jupyter_rpc.cluster("levante")`` returns a :class:`Cluster`: submit and follow jobs, list
the queue, read and write files in the cluster's folders. Everything goes through the
Jupyter server that runs the extension (its REST API, its authentication, its SSH
connection): the kernel holds no cluster credentials and opens no SSH connection itself.

Calls block until answered (every one with a timeout); ``await``-able variants are a later
step. Errors raise :class:`~jupyter_rpc.client.RemoteError` with the server's message and
its stable ``code``; a cluster that first needs a person (an unknown host key, a password
or one-time code) raises :class:`~jupyter_rpc.client.OpenPanelFirst`.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
import posixpath
import re
import sys
import tempfile
import textwrap
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, NamedTuple

from .client import BLOCK, RemoteError, Session
from .display import LiveOutput, TransferProgress, in_ipython

#: Job states in which a job may still run (``jupyter_rpc.schedulers.base.ACTIVE_STATES``).
ACTIVE = frozenset({"pending", "held", "running", "completing", "suspended"})
OUTPUT_LIMIT = 1024 * 1024  # bytes of job output per request


def _q(value: str, safe: str = "") -> str:
    return urllib.parse.quote(str(value), safe=safe)


# --- values people type ---------------------------------------------------------------

_TIME = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


def minutes(value: int | float | str | dt.timedelta) -> int:
    """A time limit in whole minutes (rounded up) from what people write.

    Accepts minutes as a number, a :class:`datetime.timedelta`, or Slurm's forms:
    ``"90"`` (minutes), ``"30:00"`` (minutes:seconds), ``"2:00:00"`` (hours:minutes:seconds),
    ``"1-00:00:00"``, ``"1-12"`` (days-hours), ``"1-12:30"`` (days-hours:minutes).
    """
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value) * 60
    elif isinstance(value, str):
        m = _TIME.match(value.strip())
        if not m:
            raise ValueError(
                f"time_limit {value!r} is not a time: use minutes (90), 'HH:MM:SS' or 'D-HH:MM:SS'."
            )
        days, a, b, c = (int(x) if x is not None else None for x in m.groups())
        if days is not None:  # D-H, D-H:M, D-H:M:S
            seconds = days * 86400 + (a or 0) * 3600 + (b or 0) * 60 + (c or 0)
        elif c is not None:  # H:M:S
            seconds = (a or 0) * 3600 + (b or 0) * 60 + c
        elif b is not None:  # M:S
            seconds = (a or 0) * 60 + b
        else:  # M
            seconds = (a or 0) * 60
    else:
        raise TypeError(
            f"time_limit must be minutes, a string or a timedelta, not {type(value).__name__}."
        )
    if seconds <= 0:
        raise ValueError(f"time_limit must be positive, not {value!r}.")
    return max(1, math.ceil(seconds / 60))


_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$", re.IGNORECASE)
_UNIT_MB = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024, "": 1}


def megabytes(value: int | str) -> int:
    """Memory in MB (as Slurm counts: 1G = 1024M) from ``4096``, ``"4G"``, ``"500M"``, ``"1.5GB"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        mb = float(value)
    elif isinstance(value, str):
        m = _MEMORY.match(value.strip())
        if not m:
            raise ValueError(
                f"memory {value!r} is not a size: use MB (4000) or a string like '4G' or '500M'."
            )
        mb = float(m.group(1)) * _UNIT_MB[m.group(2).upper()]
    else:
        raise TypeError(
            f"memory must be MB (int) or a string like '4G', not {type(value).__name__}."
        )
    if mb <= 0:
        raise ValueError(f"memory must be positive, not {value!r}.")
    return max(1, math.ceil(mb))


def _when(ts: float | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(ts).astimezone() if ts else None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    text = f"{rest // 3600}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}-{text}" if days else text


def _size(n: int | None) -> str:
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)  # pragma: no cover


# --- tables ---------------------------------------------------------------------------


#: (heading, function of an item returning the cell's text)
Column = tuple[str, Callable[[Any], Any]]


class Table(list):  # type: ignore[type-arg]
    """A list that a notebook shows as a table (every value HTML-escaped)."""

    columns: tuple[Column, ...] = ()
    empty = "(none)"

    def _rows(self) -> list[list[str]]:
        return [
            ["" if (v := fn(item)) is None else str(v) for _, fn in self.columns] for item in self
        ]

    def __repr__(self) -> str:
        if not self:
            return self.empty
        heads = [h for h, _ in self.columns]
        rows = self._rows()
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)).rstrip()]
        lines += [
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        ]
        return "\n".join(lines)

    __str__ = __repr__

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        if not self:
            return f"<p>{html.escape(self.empty)}</p>"
        head = "".join(f"<th>{html.escape(h)}</th>" for h, _ in self.columns)
        body = "".join(
            "<tr>"
            + "".join(f'<td style="text-align:left">{html.escape(c)}</td>' for c in row)
            + "</tr>"
            for row in self._rows()
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _ts(key: str) -> Any:
    return lambda info: w.strftime("%Y-%m-%d %H:%M") if (w := _when(info.get(key))) else ""


class JobList(Table):
    """Jobs (a list of :class:`Job`) that a notebook shows as a table."""

    columns: tuple[Column, ...] = (
        ("id", lambda j: j.id),
        ("name", lambda j: j.info.get("name")),
        ("state", lambda j: j.info.get("state")),
        ("user", lambda j: j.info.get("user")),
        ("partition", lambda j: j.info.get("partition")),
        ("submitted", lambda j: _ts("submitted")(j.info)),
        ("elapsed", lambda j: _duration(j.info.get("elapsed"))),
        ("time limit", lambda j: _duration(j.info.get("time_limit"))),
        ("exit", lambda j: j.info.get("exit_code")),
        ("reason", lambda j: j.info.get("reason")),
    )
    empty = "(no jobs)"


def _cpu_efficiency(info: dict[str, Any]) -> float | None:
    used, elapsed, cpus = info.get("cpu_used"), info.get("elapsed"), info.get("cpus")
    if used is None or not elapsed or not cpus:
        return None
    return float(used) / (float(elapsed) * int(cpus))


def _percent(fraction: float | None) -> str:
    return "" if fraction is None else f"{fraction * 100:.0f} %"


def _memory_peak(info: dict[str, Any]) -> str:
    peak, asked = info.get("memory_peak_mb"), info.get("memory_mb")
    if peak is None:
        return ""
    text = _size(round(peak * 1024 * 1024))
    return f"{text} ({_percent(peak / asked)})" if asked else text


class HistoryList(JobList):
    """Ended jobs, with what they used: CPU efficiency and peak memory (of the request)."""

    columns = (
        *(c for c in JobList.columns if c[0] not in ("user", "time limit", "reason")),
        ("cpu", lambda j: _percent(j.cpu_efficiency)),
        ("memory peak", lambda j: _memory_peak(j.info)),
        ("ended", lambda j: _ts("ended")(j.info)),
        ("reason", lambda j: j.info.get("reason")),
    )
    empty = "(no ended jobs)"


class Listing(Table):
    """A folder's entries (dicts: ``name``, ``path``, ``type``, ``size``, ``modified``, ...)."""

    columns = (
        ("name", lambda e: e["name"] + ("/" if e["type"] == "directory" else "")),
        ("type", lambda e: e["type"]),
        ("size", lambda e: "" if e["type"] == "directory" else _size(e["size"])),
        (
            "modified",
            lambda e: (
                e["modified"].astimezone().strftime("%Y-%m-%d %H:%M") if e["modified"] else ""
            ),
        ),
    )
    empty = "(empty folder)"


class ClusterList(Table):
    """The clusters (dicts as ``GET /jupyter-rpc/clusters`` describes them)."""

    columns = (
        ("name", lambda c: c["name"]),
        ("display name", lambda c: c.get("display_name")),
        ("kind", lambda c: c.get("kind")),
        ("scheduler", lambda c: c.get("scheduler")),
        ("host", lambda c: c.get("host")),
        ("state", lambda c: c.get("state")),
    )
    empty = "(no clusters)"

    @property
    def names(self) -> list[str]:
        """Just the names, for ``jupyter_rpc.cluster(name)``."""
        return [c["name"] for c in self]


class PartitionList(Table):
    """Partitions (queues) with their limits (minutes, MB)."""

    columns = (
        ("name", lambda p: p["name"] + (" (default)" if p.get("default") else "")),
        ("state", lambda p: p.get("state")),
        ("max time", lambda p: _duration(p["max_time"] * 60) if p.get("max_time") else "unlimited"),
        ("max nodes", lambda p: p.get("max_nodes")),
        ("cpus/node", lambda p: p.get("max_cpus_per_node")),
        (
            "memory/node",
            lambda p: _size(p["max_memory_mb"] * 1024 * 1024) if p.get("max_memory_mb") else "",
        ),
        ("gpus/node", lambda p: p.get("gpus")),
    )
    empty = "(no partitions)"


class SubmitTest(NamedTuple):
    """What ``Cluster.test`` learnt: when the job would start (``None``: unknown) and the
    scheduler's own words."""

    expected_start: dt.datetime | None
    message: str


# --- jobs -----------------------------------------------------------------------------


class Job:
    """One batch job on a cluster.

    ``info`` is the scheduler's description (a dict: ``state``, ``reason``, ``exit_code``,
    ``stdout`` path, ...) as last fetched; :meth:`refresh` fetches it again. ``state``,
    ``done`` and ``exit_code`` ask the cluster again while the job is still active.
    """

    def __init__(self, cluster: Cluster, info: dict[str, Any]):
        self.cluster = cluster
        self.info = info

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
        if self.info.get("state") in ACTIVE:
            self.refresh()
        return str(self.info.get("state"))

    @property
    def done(self) -> bool:
        """Whether the job has ended (any way: completed, failed, cancelled, timeout)."""
        return self.state not in ACTIVE

    @property
    def exit_code(self) -> int | None:
        """The exit code once the job has ended (``None`` before, or if unknown)."""
        _ = self.state
        return self.info.get("exit_code")

    @property
    def cpu_efficiency(self) -> float | None:
        """CPU time used over elapsed time × CPUs (1.0: every CPU busy all the time), once
        the scheduler's accounting measured it; ``None`` if unknown."""
        return _cpu_efficiency(self.info)

    @property
    def memory_peak_mb(self) -> float | None:
        """The job's peak resident memory (MB), once accounting measured it."""
        return self.info.get("memory_peak_mb")

    def _path(self, *more: str) -> str:
        return "/".join([self.cluster._path("jobs", _q(self.id)), *more])

    def refresh(self) -> Job:
        """Fetch the job's description again; returns the job."""
        self.info = self.cluster._session.request("GET", self._path())
        return self

    def cancel(self) -> Job:
        """Cancel the job (``RemoteError`` with code ``job.finished`` if it had ended)."""
        self.info = self.cluster._session.request("DELETE", self._path())
        return self

    def hold(self) -> Job:
        """Hold a pending job: it will not start until :meth:`release`."""
        self.info = self.cluster._session.request("POST", self._path("hold"))
        return self

    def release(self) -> Job:
        """Release a held job."""
        self.info = self.cluster._session.request("POST", self._path("release"))
        return self

    def resubmit(self) -> Job:
        """Submit the same script with the same resources again; returns the new job."""
        return Job(self.cluster, self.cluster._session.request("POST", self._path("resubmit")))

    # -- waiting -----------------------------------------------------------------------

    def wait(self, timeout: float | None = None, poll: float = 2.0) -> Job:
        """Block until the job has ended; returns the job (``job.wait().exit_code``).

        A status line in the cell shows the job's state as it changes (plain lines
        outside IPython). ``timeout`` (seconds) raises :class:`TimeoutError` and leaves the
        job running. Interrupting (Kernel > Interrupt, Ctrl-C) stops waiting; the job goes on.
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
                time.sleep(max(pause, 0.05))
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

    def output(self, stream: str = "stdout") -> str:
        """The job's ``stdout`` (or ``stderr``) text so far (``""`` before it exists)."""
        return self._read_from(stream, 0)[0]

    def tail(self, stream: str = "stdout", follow: bool = True, poll: float = 1.0) -> None:
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
                if not text:
                    time.sleep(poll)
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


class _StatusLine:
    """One live line in the cell (an IPython display handle), or printed lines otherwise."""

    def __init__(self, job: Job):
        self.job = job
        self.output = LiveOutput()
        self.last = ""
        self.ipython = in_ipython()

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
            parts.append(_duration(info["elapsed"]))
        if state not in ACTIVE and info.get("exit_code") is not None:
            parts.append(f"exit code {info['exit_code']}")
        if note:
            parts.append(note)
        return " · ".join(parts)

    def show(self, note: str = "") -> None:
        line = self.text(note)
        if not self.ipython:
            if line.split(" · ")[0] != self.last.split(" · ")[0] or note:  # a new state
                print(line, flush=True)
            self.last = line
            return
        if not self.output.shown or line != self.last:
            self.output.show({"text/plain": line, "text/html": f"<code>{html.escape(line)}</code>"})
        self.last = line


# --- files ----------------------------------------------------------------------------


def _entry(model: dict[str, Any]) -> dict[str, Any]:
    modified = model.get("last_modified")
    return {
        "name": model["name"],
        "path": model["path"],
        "type": "directory" if model["type"] == "directory" else "file",
        "size": model.get("size"),
        "modified": dt.datetime.fromisoformat(modified.replace("Z", "+00:00"))
        if modified
        else None,
        "writable": model.get("writable", True),
        "real_path": model.get("real_path"),
    }


class _CountingReader:
    """A binary file as an upload body that counts the bytes http.client reads from it."""

    def __init__(self, f: IO[bytes], bar: TransferProgress):
        self._f = f
        self._bar = bar

    def read(self, n: int = -1) -> bytes:
        piece = self._f.read(n)
        self._bar.add(len(piece))
        return piece

    def seekable(self) -> bool:
        return self._f.seekable()

    def tell(self) -> int:
        return self._f.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        position = self._f.seek(offset, whence)
        self._bar.done = position  # a retried request starts over (uploads start at 0)
        return position


class RemoteFolder:
    """A cluster's files by *drive path*: ``""`` lists the cluster's roots (``home``,
    ``scratch``, ...), ``"home/run1/out.txt"`` is a file in the root ``home``.

    Large transfers (:meth:`upload`, :meth:`download`) are streamed: memory stays flat
    whatever the file's size.
    """

    def __init__(self, cluster: Cluster):
        self.cluster = cluster

    @property
    def _session(self) -> Session:
        return self.cluster._session

    def _path(self, route: str, path: str) -> str:
        # Each segment quoted; "." and ".." too, so no proxy on the way (JupyterHub's)
        # normalizes them into another URL: the server's path policy sees them as they are.
        segments = [_q(part, safe="") for part in str(path).strip("/").split("/")]
        segments = [seg.replace(".", "%2E") if seg in (".", "..") else seg for seg in segments]
        return self.cluster._path(route, "/".join(segments))

    def __repr__(self) -> str:
        return f"<files of cluster {self.cluster.name!r}: {', '.join(self.cluster.roots) or 'no roots'}>"

    def stat(self, path: str) -> dict[str, Any]:
        """One entry: ``name``, ``path``, ``type`` (``file``/``directory``), ``size``,
        ``modified`` (datetime), ``writable``, ``real_path``."""
        return _entry(self._session.request("GET", self._path("files", path) + "?content=0"))

    def ls(self, path: str = "") -> Listing:
        """A folder's entries, folders first (a file's own entry for a file)."""
        model = self._session.request("GET", self._path("files", path) + "?content=1")
        if model["type"] != "directory":
            return Listing([_entry(model)])
        entries = [_entry(m) for m in model.get("content") or []]
        entries.sort(key=lambda e: (e["type"] != "directory", e["name"].lower()))
        return Listing(entries)

    def exists(self, path: str) -> bool:
        """Whether ``path`` exists (a file or a folder)."""
        try:
            self.stat(path)
        except RemoteError as exc:
            if exc.code == "files.not_found":
                return False
            raise
        return True

    def real_path(self, path: str) -> str:
        """The path on the cluster's file system (e.g. to use in a job script)."""
        return str(self.stat(path)["real_path"])

    def read_bytes(self, path: str) -> bytes:
        """A file's bytes (use :meth:`download` for files too large for memory)."""
        response = self._session.stream("GET", self._path("download", path), timeout=60)
        try:
            return response.read()
        except OSError as exc:
            self._session.discard()
            raise RemoteError(f"Reading '{path}' broke off: {exc}", code="files.io_error") from None

    def read_text(self, path: str, encoding: str = "utf-8") -> str:
        """A file's text."""
        return self.read_bytes(path).decode(encoding)

    def write_bytes(self, path: str, data: bytes, *, overwrite: bool = True) -> int:
        """Write ``data`` to a file (atomically: readers see the old or the new file);
        returns the number of bytes. ``overwrite=False`` refuses an existing file."""
        data = bytes(data)
        self._put(path, data, len(data), overwrite)
        return len(data)

    def write_text(
        self, path: str, text: str, encoding: str = "utf-8", *, overwrite: bool = True
    ) -> int:
        """Write ``text`` to a file; returns the number of characters."""
        self.write_bytes(path, text.encode(encoding), overwrite=overwrite)
        return len(text)

    def _put(self, path: str, body: Any, size: int, overwrite: bool) -> dict[str, Any]:
        target = self._path("upload", path) + ("" if overwrite else "?overwrite=0")
        response = self._session.stream("PUT", target, body, size=size, timeout=120)
        try:
            return _entry(json.loads(response.read()))
        except OSError as exc:
            self._session.discard()
            raise RemoteError(f"Writing '{path}' broke off: {exc}", code="files.io_error") from None

    def upload(
        self,
        local_path: str | os.PathLike[str],
        remote_path: str,
        *,
        overwrite: bool = True,
        progress: bool | None = None,
    ) -> dict[str, Any]:
        """Copy a local file to the cluster, streamed in blocks; returns the new entry.

        A ``remote_path`` ending in ``/`` is a folder: the file keeps its name there. In a
        notebook a live bar shows the bytes sent for files of 8 MB or more
        (``progress=True`` / ``False`` to always / never show it).
        """
        local = Path(local_path)
        if remote_path.endswith("/") or remote_path == "":
            remote_path = posixpath.join(remote_path, local.name)
        with open(local, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            bar = TransferProgress(
                f"Uploading {local.name} to {self.cluster.name}:{remote_path}", size, progress
            )
            try:
                entry = self._put(
                    remote_path, _CountingReader(f, bar) if bar.enabled else f, size, overwrite
                )
            except BaseException as exc:
                bar.finish(f"stopped: {exc}" if str(exc) else "stopped")
                raise
            bar.finish()
            return entry

    def download(
        self,
        remote_path: str,
        local_path: str | os.PathLike[str] | None = None,
        *,
        progress: bool | None = None,
    ) -> Path:
        """Copy a file from the cluster to ``local_path`` (default: its name in the current
        folder; a folder: the file keeps its name there), streamed in blocks; returns the
        local path. The local file appears whole or not at all. In a notebook a live bar
        shows the bytes received for files of 8 MB or more (``progress`` as for upload)."""
        name = posixpath.basename(remote_path.rstrip("/"))
        local = Path(local_path) if local_path is not None else Path(name)
        if local.is_dir() or str(local_path).endswith(("/", os.sep)):
            local = local / name
        fd, tmp = tempfile.mkstemp(prefix=f".{local.name}.", suffix=".part", dir=local.parent)
        try:
            response = self._session.stream("GET", self._path("download", remote_path), timeout=60)
        except BaseException:
            os.close(fd)
            os.unlink(tmp)
            raise
        length = response.getheader("Content-Length")
        bar = TransferProgress(
            f"Downloading {self.cluster.name}:{remote_path} to {local}",
            int(length) if length and length.isdigit() else None,
            progress,
        )
        try:
            with os.fdopen(fd, "wb") as out:
                while piece := response.read(BLOCK):
                    out.write(piece)
                    bar.add(len(piece))
            os.replace(tmp, local)
        except BaseException as exc:
            os.unlink(tmp)
            bar.finish("stopped, nothing written")
            if not response.isclosed():
                self._session.discard()  # a half-read answer: the connection is unusable
            if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
                raise RemoteError(
                    f"Downloading '{remote_path}' broke off: {exc}", code="files.io_error"
                ) from None
            raise
        bar.finish()
        return local

    def mkdir(self, path: str, *, parents: bool = False, exist_ok: bool = False) -> dict[str, Any]:
        """Make a folder; returns its entry. Like :meth:`pathlib.Path.mkdir`: ``parents``
        makes missing parent folders too, ``exist_ok`` accepts an existing folder."""
        parts = str(path).strip("/").split("/")
        target = "/".join(parts)
        ancestors = ["/".join(parts[:i]) for i in range(2, len(parts))] if parents else []
        for folder in ancestors:  # parts[0] is a root: it exists or cannot be made
            try:
                self._session.request("PUT", self._path("files", folder), {"type": "directory"})
            except RemoteError as exc:
                if exc.code != "files.exists":
                    raise
        try:
            return _entry(
                self._session.request("PUT", self._path("files", target), {"type": "directory"})
            )
        except RemoteError as exc:
            if exc.code == "files.exists" and exist_ok and self.stat(target)["type"] == "directory":
                return self.stat(target)
            raise

    def rename(self, src: str, dst: str) -> dict[str, Any]:
        """Rename or move ``src`` to the drive path ``dst``; returns the new entry."""
        return _entry(
            self._session.request("PATCH", self._path("files", src), {"path": dst.strip("/")})
        )

    def delete(self, path: str) -> None:
        """Delete a file, or a folder with everything in it."""
        self._session.request("DELETE", self._path("files", path))


# --- clusters -------------------------------------------------------------------------


class Cluster:
    """A place where jobs run and files live, through the Jupyter server.

    Get one with :func:`cluster`. ``files`` reads and writes its folders; :meth:`submit`
    runs batch jobs; :meth:`jobs` lists the queue.
    """

    def __init__(self, name: str, session: Session):
        self.name = name
        self._session = session
        self.info: dict[str, Any] = session.request("GET", f"clusters/{_q(name)}")
        self.files = RemoteFolder(self)

    def _path(self, *parts: str) -> str:
        return "/".join(["clusters", _q(self.name), *parts])

    @property
    def roots(self) -> list[str]:
        """The names of the cluster's top-level folders (``files.ls()`` lists them)."""
        return [r["name"] for r in self.info.get("roots", [])]

    def __repr__(self) -> str:
        info = self.info
        where = info.get("host") or "this machine"
        return (
            f"<Cluster {self.name!r} ({info.get('display_name') or self.name}): {where}, "
            f"scheduler {info.get('scheduler')}, {info.get('state')}>"
        )

    def refresh(self) -> Cluster:
        """Fetch the cluster's description (connection state) again."""
        self.info = self._session.request("GET", self._path())
        return self

    def jobs(self, all_users: bool = False) -> JobList:
        """The jobs the scheduler shows now (yours, or everyone's with ``all_users``)."""
        body = self._session.request(
            "GET", self._path("jobs") + ("?all_users=1" if all_users else "")
        )
        return JobList(Job(self, j) for j in body["jobs"])

    def history(self, days: float = 7) -> JobList:
        """Your jobs that ended in the last ``days`` days, from the scheduler's accounting,
        with their CPU efficiency and peak memory where it measured them."""
        body = self._session.request("GET", self._path("history") + f"?days={float(days):g}")
        return HistoryList(Job(self, j) for j in body["jobs"])

    def job(self, job_id: str | int) -> Job:
        """An existing job by its id."""
        return Job(self, self._session.request("GET", self._path("jobs", _q(str(job_id)))))

    def partitions(self) -> PartitionList:
        """The partitions (queues) with their limits."""
        return PartitionList(
            self._session.request("GET", self._path("submit-schema"))["partitions"]
        )

    def submit(
        self,
        script: str | None = None,
        *,
        script_path: str | None = None,
        name: str | None = None,
        partition: str | None = None,
        time_limit: int | float | str | dt.timedelta | None = None,
        cpus: int | None = None,
        memory: int | str | None = None,
        gpus: int | None = None,
        nodes: int | None = None,
        ntasks: int | None = None,
        account: str | None = None,
        qos: str | None = None,
        array: str | None = None,
        workdir: str | None = None,
        stdout: str | None = None,
        stderr: str | None = None,
        env: dict[str, str] | None = None,
        hold: bool = False,
    ) -> Job:
        """Submit a batch job; returns the :class:`Job`.

        Parameters
        ----------
        script
            The batch script's text (dedented; ``#!/bin/bash`` is added when it has no
            ``#!`` line), or
        script_path
            a script file on the cluster (a path the cluster understands).
        name, partition, account, qos
            As the scheduler knows them; ``None`` = the scheduler's default.
        time_limit
            Minutes, a ``timedelta``, or ``"HH:MM:SS"`` / ``"D-HH:MM:SS"``.
        cpus, memory, gpus, nodes, ntasks
            CPUs per task, memory per node (MB, or ``"4G"`` / ``"500M"``), GPUs, nodes, tasks.
        array
            An array job: ``"0-9"``, ``"1,3,5"``, ``"1-100%10"``.
        workdir, stdout, stderr
            Working folder and output files on the cluster (scheduler defaults otherwise).
        env
            Environment variables for the job.
        hold
            Submit held: it waits for :meth:`Job.release`.
        """
        spec = _spec(locals())
        return Job(self, self._session.request("POST", self._path("jobs"), spec, timeout=120))

    def test(self, script: str | None = None, **kwargs: Any) -> SubmitTest:
        """When would this job start? Takes :meth:`submit`'s arguments; submits nothing."""
        spec = _spec({"script": script, **kwargs})
        body = self._session.request("POST", self._path("jobs", "test"), spec, timeout=120)
        return SubmitTest(_when(body.get("expected_start")), str(body.get("message") or ""))


_SPEC_ARGS = {
    "script",
    "script_path",
    "name",
    "partition",
    "time_limit",
    "cpus",
    "memory",
    "gpus",
    "nodes",
    "ntasks",
    "account",
    "qos",
    "array",
    "workdir",
    "stdout",
    "stderr",
    "env",
    "hold",
}


def _spec(args: dict[str, Any]) -> dict[str, Any]:
    """The ``JobSpec`` body of the REST API from :meth:`Cluster.submit`'s arguments."""
    unknown = set(args) - _SPEC_ARGS - {"self"}
    if unknown:
        raise TypeError(f"unexpected argument(s): {', '.join(sorted(unknown))}")
    script, script_path = args.get("script"), args.get("script_path")
    if (script is None) == (script_path is None):
        raise ValueError("Give the job's script text or script_path (one of them).")
    spec: dict[str, Any] = {}
    if script is not None:
        text = textwrap.dedent(script).lstrip("\n")
        if not text.startswith("#!"):
            text = "#!/bin/bash\n" + text  # sbatch refuses a script without an interpreter line
        spec["script"] = text if text.endswith("\n") else text + "\n"
    else:
        spec["script_path"] = script_path
    for key in ("name", "partition", "account", "qos", "array", "workdir", "stdout", "stderr"):
        if args.get(key) is not None:
            spec[key] = str(args[key])
    for key in ("cpus", "gpus", "nodes", "ntasks"):
        if args.get(key) is not None:
            value = args[key]
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{key} must be an integer, not {value!r}.")
            spec[key] = value
    if args.get("time_limit") is not None:
        spec["time_limit"] = minutes(args["time_limit"])
    if args.get("memory") is not None:
        spec["memory_mb"] = megabytes(args["memory"])
    if args.get("env"):
        spec["env"] = {str(k): str(v) for k, v in args["env"].items()}
    if args.get("hold"):
        spec["hold"] = True
    return spec


def clusters(*, url: str | None = None, token: str | None = None) -> ClusterList:
    """The clusters the Jupyter server knows (dicts; ``.names`` for just their names)."""
    return ClusterList(Session(url, token).request("GET", "clusters")["clusters"])


def cluster(name: str, url: str | None = None, token: str | None = None) -> Cluster:
    """The cluster ``name`` (as the Jobs and Remote files panels list it).

    Parameters
    ----------
    name
        The cluster's name, e.g. ``"local"`` or ``"levante"``.
    url, token
        The Jupyter server to use; found automatically inside JupyterLab / JupyterHub.
    """
    return Cluster(name, Session(url, token))
