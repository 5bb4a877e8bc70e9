"""What the hardening suite measures: a server's resources before and after a test.

Every test in this folder is marked ``hardening`` and bounded in time (``tests/conftest.py``
sets both from the folder), so ``pytest -m hardening`` runs the suite and a hang fails one
test instead of the run.

Two servers, the same measurements:

``server_resources`` (the in-process test server of ``tests/conftest.py``: ``rpc``,
``jp_fetch``)
    A :class:`ResourceTracker` for this process (the test server runs in the test's
    process), watching ``tmp_path`` (so ``home``) for upload temp files. Its baseline is
    taken when the fixture is set up; take it again with ``server_resources.baseline()``
    after warming up (the first call on a backend starts its process, a thread pool grows
    on first use). At the end of a test ``await server_resources.acheck()`` waits up to a
    few seconds for the server to let go and fails with what is still held; if the test
    did not check, teardown checks once (no waiting: the loop is not running then).

``jupyter_server_process`` (a real ``jupyter server`` subprocess)
    ``server = jupyter_server_process(module)`` starts ``python -m jupyter_server`` with
    the extension on 127.0.0.1 (a free port, a token), a temporary root folder
    (``server.home``: the local cluster's one root ``home`` and working folder, local
    scheduler), ``module`` served as the backend ``test`` (a module name or a ``.py``
    path; ``None`` for no backend; ``backends=`` for several) and ``rpc_config=`` added to
    ``RPCApp``'s config. It has its own ``TMPDIR`` (``server.tmp``), so every file there is
    the server's. ``server.request("GET", "backends")`` sends one request under
    ``jupyter-rpc/`` with a bounded timeout and returns a :class:`Reply` (status, headers,
    body, ``.json()``); ``server.stream("PUT", path, size)`` sends a big body in chunks and
    stops once the server answers (as a browser does), ``reply.sent`` saying how much went;
    ``server.url``/``server.token`` for other clients.
    ``server.resources`` is a :class:`ResourceTracker` of the server's PID, baseline taken
    once it answers, watching ``server.home`` (upload temp files) and ``server.tmp`` (any
    new entry). At teardown it is checked (waiting up to a few seconds) unless the test
    checked it, then the server is stopped by PID (SIGTERM, then SIGKILL after 20 s);
    processes it started that outlive it are killed by PID and fail the test
    (``server.leftovers_allowed = True`` when a test expects them); a server that exited
    by itself during the test fails it, with its log's end.

``module_server_process``
    The same, one per module (many requests against one server; checked and stopped after
    the module's last test).

What a :class:`ResourceTracker` compares (bounds in :class:`Bounds`, per check):

- memory: ``VmRSS`` growth (``rss_mb``) and, when a test sets ``hwm_mb``, ``VmHWM``
  growth (the peak: what a big body or result cost even if it was released);
- open file descriptors from ``/proc/<pid>/fd`` by kind (file, socket, pipe, anon_inode,
  device): total growth (``fds``) and regular files opened since the baseline
  (``files``), each new one named in the failure message;
- temp files: ``.*.jrpc-upload-*`` anywhere under a watched folder, and any new entry in
  a watched temp folder (``temp_files``);
- child processes: the process's descendants by PID from ``/proc/*/stat``; new live ones
  beyond ``children`` and any zombie (not reaped) fail;
- threads: ``/proc/<pid>/task`` growth beyond ``threads``, new ones named.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import pathlib
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from jupyter_rpc.files.paths import TEMP_MARK
from tests.dasf.testbed import free_port
from tests.fixtures import FAULTY

__all__ = [
    "FAULTY",
    "Bounds",
    "Reply",
    "ResourceTracker",
    "ServerProcess",
    "ServerStarter",
    "Snapshot",
]

#: How long a check waits for the server to release what a test made it hold.
SETTLE_SECONDS = 5.0


# --- what /proc says about one process -------------------------------------------------


def _status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)


def _kb(value: str) -> int:
    return int(value.split()[0]) if value else 0


def fd_kind(target: str) -> str:
    """``file``, ``socket``, ``pipe``, ``anon_inode:<what>``, ``device`` or ``other``."""
    if target.startswith("socket:"):
        return "socket"
    if target.startswith("pipe:"):
        return "pipe"
    if target.startswith("anon_inode:"):
        return "anon_inode:" + target.split(":", 1)[1].strip("[]")
    if target.startswith("/dev/"):
        return "device"
    if target.startswith("/"):
        return "file"
    return "other"


def _fds(pid: int) -> dict[int, str]:
    fds: dict[int, str] = {}
    base = f"/proc/{pid}/fd"
    for name in os.listdir(base):
        try:
            fds[int(name)] = os.readlink(f"{base}/{name}")
        except OSError:  # closed while we looked
            continue
    return fds


def _threads(pid: int) -> dict[int, str]:
    threads: dict[int, str] = {}
    base = f"/proc/{pid}/task"
    for name in os.listdir(base):
        try:
            with open(f"{base}/{name}/comm") as f:
                threads[int(name)] = f.read().strip()
        except OSError:
            continue
    return threads


def _stat(pid: int) -> tuple[str, str, int] | None:
    """(command, state, parent PID) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    comm = text[text.index("(") + 1 : text.rindex(")")]
    state, ppid = text[text.rindex(")") + 2 :].split()[:2]
    return comm, state, int(ppid)


def _start_time(pid: int) -> int | None:
    """When a process started (clock ticks after boot): tells a PID's reuse apart."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    return int(text[text.rindex(")") + 2 :].split()[19])


def descendants(pid: int) -> dict[int, tuple[str, str]]:
    """Every process below ``pid`` (children, grandchildren...): PID -> (command, state)."""
    parents: dict[int, list[int]] = {}
    info: dict[int, tuple[str, str]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        stat = _stat(int(name))
        if stat is None:
            continue
        comm, state, ppid = stat
        info[int(name)] = (comm, state)
        parents.setdefault(ppid, []).append(int(name))
    found: dict[int, tuple[str, str]] = {}
    todo = list(parents.get(pid, ()))
    while todo:
        child = todo.pop()
        if child in found or child not in info:
            continue
        found[child] = info[child]
        todo.extend(parents.get(child, ()))
    return found


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:200]
    except OSError:
        return "?"


# --- snapshots, bounds, the tracker -----------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """One look at a process: memory (kB), open fds, threads, descendants, temp files."""

    pid: int
    rss_kb: int
    hwm_kb: int
    fds: dict[int, str]
    threads: dict[int, str]
    children: dict[int, tuple[str, str]]
    temp_files: frozenset[str]

    @property
    def fd_kinds(self) -> Counter[str]:
        return Counter(fd_kind(target) for target in self.fds.values())

    def summary(self) -> str:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.fd_kinds.items()))
        return (
            f"RSS {self.rss_kb / 1024:.0f} MB (peak {self.hwm_kb / 1024:.0f} MB), "
            f"{len(self.fds)} fds ({kinds}), {len(self.threads)} threads, "
            f"{len(self.children)} child processes, {len(self.temp_files)} temp files"
        )


@dataclass(frozen=True)
class Bounds:
    """How much a process may hold beyond its baseline after a test (growth, not totals)."""

    #: VmRSS growth, MB (allocators keep some freed memory)
    rss_mb: float = 64.0
    #: VmHWM (peak) growth, MB; None: not checked (set it where a peak is the point)
    hwm_mb: float | None = None
    #: open file descriptors, all kinds together
    fds: int = 8
    #: regular files held open that were not open at the baseline
    files: int = 0
    #: upload temp files under watched folders, and new entries in watched temp folders
    temp_files: int = 0
    #: live descendant processes that were not there at the baseline
    children: int = 0
    #: threads (a thread pool grows on first use up to its size)
    threads: int = 8


class ResourceTracker:
    """Snapshots of one process's resources and a check against a baseline.

    ``watch(folder)``: look for upload temp files (``.*.jrpc-upload-*``) anywhere under it;
    ``watch_temp(folder)``: count any new entry in it (a folder only the server uses)."""

    def __init__(self, pid: int, *, name: str = "server", bounds: Bounds | None = None) -> None:
        self.pid = pid
        self.name = name
        self.bounds = bounds or Bounds()
        self.watched: list[pathlib.Path] = []
        self.temp_dirs: list[pathlib.Path] = []
        self.start: Snapshot | None = None
        self.checked = False
        #: every descendant any snapshot saw: PID -> start time (to find orphans later)
        self.seen: dict[int, int] = {}

    def watch(self, *folders: pathlib.Path | str) -> None:
        self.watched.extend(pathlib.Path(f) for f in folders)

    def watch_temp(self, *folders: pathlib.Path | str) -> None:
        self.temp_dirs.extend(pathlib.Path(f) for f in folders)

    def temp_files(self) -> frozenset[str]:
        found: set[str] = set()
        for folder in self.watched:
            if folder.is_dir():
                found.update(str(p) for p in folder.rglob(f".*{TEMP_MARK}*"))
        for folder in self.temp_dirs:
            if folder.is_dir():
                found.update(str(p) for p in folder.iterdir())
        return frozenset(found)

    def snapshot(self) -> Snapshot:
        status = _status(self.pid)
        children = descendants(self.pid)
        for pid in children:
            started = _start_time(pid)
            if started is not None:
                self.seen.setdefault(pid, started)
        return Snapshot(
            pid=self.pid,
            rss_kb=_kb(status.get("VmRSS", "")),
            hwm_kb=_kb(status.get("VmHWM", "")),
            fds=_fds(self.pid),
            threads=_threads(self.pid),
            children=children,
            temp_files=self.temp_files(),
        )

    def baseline(self) -> Snapshot:
        """Take (or take again, after warming up) the snapshot later checks compare to."""
        self.start = self.snapshot()
        return self.start

    def problems(self, bounds: Bounds | None = None, now: Snapshot | None = None) -> list[str]:
        """What is out of bounds now, one readable line each (empty: all within bounds)."""
        b = bounds or self.bounds
        start = self.start or self.baseline()
        now = now or self.snapshot()
        found: list[str] = []
        rss = (now.rss_kb - start.rss_kb) / 1024
        if rss > b.rss_mb:
            found.append(
                f"RSS grew {rss:.0f} MB ({start.rss_kb / 1024:.0f} -> "
                f"{now.rss_kb / 1024:.0f} MB; bound +{b.rss_mb:.0f} MB)"
            )
        hwm = (now.hwm_kb - start.hwm_kb) / 1024
        if b.hwm_mb is not None and hwm > b.hwm_mb:
            found.append(
                f"peak memory (VmHWM) grew {hwm:.0f} MB ({start.hwm_kb / 1024:.0f} -> "
                f"{now.hwm_kb / 1024:.0f} MB; bound +{b.hwm_mb:.0f} MB)"
            )
        old_targets = Counter(start.fds.values())
        new: list[str] = []
        for target in now.fds.values():
            if old_targets[target] > 0:
                old_targets[target] -= 1
            else:
                new.append(target)
        grown = len(now.fds) - len(start.fds)
        if grown > b.fds:
            kinds = Counter(fd_kind(t) for t in new)
            found.append(
                f"open fds grew by {grown} ({len(start.fds)} -> {len(now.fds)}; bound "
                f"+{b.fds}); new: "
                + ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())
                + _examples(new)
            )
        files = [t for t in new if fd_kind(t) == "file"]
        if len(files) > b.files:
            found.append(
                f"{len(files)} files held open that were not before (bound {b.files}):"
                + _examples(files, 8)
            )
        temp = sorted(now.temp_files - start.temp_files)
        if len(temp) > b.temp_files:
            found.append(
                f"{len(temp)} temp files left (bound {b.temp_files}):" + _examples(temp, 8)
            )
        zombies = {p: c for p, (c, s) in now.children.items() if s == "Z"}
        live = {p: c for p, (c, s) in now.children.items() if s != "Z" and p not in start.children}
        if len(live) > b.children:
            found.append(
                f"{len(live)} new child processes still running (bound {b.children}):"
                + _examples([f"{p} {_cmdline(p)}" for p in sorted(live)], 8)
            )
        if zombies:
            found.append(
                f"{len(zombies)} child processes exited and were never reaped (zombies):"
                + _examples([f"{p} {c}" for p, c in sorted(zombies.items())], 8)
            )
        threads = len(now.threads) - len(start.threads)
        if threads > b.threads:
            names = Counter(n for t, n in now.threads.items() if t not in start.threads)
            found.append(
                f"threads grew by {threads} ({len(start.threads)} -> {len(now.threads)}; "
                f"bound +{b.threads}); new: "
                + ", ".join(f"{n} × {name}" for name, n in names.most_common(8))
            )
        return found

    def _report(self, found: list[str], waited: float) -> str:
        assert self.start is not None
        return (
            f"the {self.name} (PID {self.pid}) holds more than its bounds allow "
            f"(after waiting {waited:.1f} s):\n  - "
            + "\n  - ".join(found)
            + f"\n  at the baseline: {self.start.summary()}"
            + f"\n  now:             {self.snapshot().summary()}"
        )

    def check(self, bounds: Bounds | None = None, *, settle: float = SETTLE_SECONDS) -> Snapshot:
        """Fail (AssertionError) unless the process is back within bounds of its baseline
        within ``settle`` seconds. For a server in another process (time.sleep while
        waiting); for the in-process server use :meth:`acheck`."""
        self.checked = True
        started = time.monotonic()
        while True:
            now = self.snapshot()
            found = self.problems(bounds, now)
            if not found:
                return now
            if time.monotonic() - started >= settle:
                raise AssertionError(self._report(found, time.monotonic() - started))
            time.sleep(0.2)

    async def acheck(
        self, bounds: Bounds | None = None, *, settle: float = SETTLE_SECONDS
    ) -> Snapshot:
        """:meth:`check` that lets the event loop (and so an in-process server) run."""
        self.checked = True
        started = time.monotonic()
        while True:
            now = self.snapshot()
            found = self.problems(bounds, now)
            if not found:
                return now
            if time.monotonic() - started >= settle:
                raise AssertionError(self._report(found, time.monotonic() - started))
            await asyncio.sleep(0.2)


def _examples(items: list[str], limit: int = 4) -> str:
    shown = "".join(f"\n      {item}" for item in items[:limit])
    return shown + (f"\n      ... and {len(items) - limit} more" if len(items) > limit else "")


# --- the in-process test server -----------------------------------------------------------


@pytest.fixture
def server_resources(jp_serverapp: Any, tmp_path: pathlib.Path) -> Iterator[ResourceTracker]:
    """The in-process test server's resources (this process), baseline at setup;
    upload temp files looked for under ``tmp_path`` (so ``home``)."""
    tracker = ResourceTracker(os.getpid(), name="test process (in-process server)")
    tracker.watch(tmp_path)
    tracker.baseline()
    yield tracker
    if not tracker.checked:
        tracker.check(settle=0)


# --- a real jupyter server subprocess -------------------------------------------------------


@dataclass
class Reply:
    """One HTTP answer: status, headers (lower-case names), body bytes."""

    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float = 0.0
    #: request body bytes sent before the answer came (:meth:`ServerProcess.stream`)
    sent: int = -1

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ServerProcess:
    """A running ``jupyter server`` with the extension (see the module docstring)."""

    proc: subprocess.Popen[bytes]
    port: int
    token: str
    home: pathlib.Path
    tmp: pathlib.Path
    log_path: pathlib.Path
    resources: ResourceTracker
    leftovers_allowed: bool = False
    stopped: bool = field(default=False, init=False)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        """The server's base URL, ending in ``/``."""
        return f"http://127.0.0.1:{self.port}/"

    def log(self, tail: int = 60) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-tail:])

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        prefix: str = "jupyter-rpc/",
    ) -> Reply:
        """``method`` ``prefix + path`` with the token; ``body`` is sent as JSON, ``raw``
        as it is. A socket timeout (no answer within ``timeout``) raises TimeoutError."""
        target = "/" + prefix + path.lstrip("/")
        if query:
            target += "?" + urllib.parse.urlencode(query)
        if raw is None and body is not None:
            raw = json.dumps(body).encode()
        sent = {"Authorization": f"token {self.token}"}
        if raw is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        started = time.monotonic()
        try:
            conn.request(method, target, body=raw, headers=sent)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        return Reply(
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            data,
            time.monotonic() - started,
        )

    def stream(
        self,
        method: str,
        path: str,
        size: int,
        *,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        chunk: int = 256 * 1024,
        prefix: str = "jupyter-rpc/",
    ) -> Reply:
        """Send a ``size``-byte body as a browser does: in chunks, and stop sending as soon
        as the server answers (an early refusal) or closes. ``reply.sent`` says how much
        went. A server that neither reads nor answers within ``timeout`` raises
        TimeoutError; one that closes without an answer, ConnectionError."""
        target = "/" + prefix + path.lstrip("/")
        if query:
            target += "?" + urllib.parse.urlencode(query)
        sent_headers = {
            "Host": f"127.0.0.1:{self.port}",
            "Authorization": f"token {self.token}",
            "Content-Type": "application/octet-stream",
            "Content-Length": str(size),
            "Connection": "close",
            **(headers or {}),
        }
        head = f"{method} {target} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in sent_headers.items()
        )
        started = time.monotonic()
        deadline = started + timeout
        sent = 0
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(head.encode() + b"\r\n")
            block = b"x" * chunk
            while sent < size:
                if select.select([sock], [], [], 0)[0]:
                    break  # an answer (or a close) before the whole body: stop sending
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"sent {sent} of {size} bytes in {timeout:.0f} s")
                sock.settimeout(left)
                try:
                    sock.sendall(block[: size - sent])
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += min(chunk, size - sent)
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            response = http.client.HTTPResponse(sock, method=method)
            try:
                response.begin()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError) as exc:
                raise ConnectionError(
                    f"the server closed the connection without an answer after {sent} bytes"
                ) from exc
            finally:
                response.close()
        return Reply(
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            data,
            time.monotonic() - started,
            sent,
        )

    def stop(self, timeout: float = 20.0) -> list[str]:
        """Stop the server by PID (SIGTERM, SIGKILL after ``timeout``); kill by PID what
        it started and left running (its descendants now, and any a snapshot saw that
        still runs: orphans of a server that died), and return those (PID, command line)."""
        if self.stopped:
            return []
        self.stopped = True
        below = {pid: _start_time(pid) for pid in descendants(self.pid)}
        below.update(self.resources.seen)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        left = []
        for pid, started in below.items():
            stat = _stat(pid)
            if stat is None or stat[1] == "Z" or _start_time(pid) != started:
                continue  # gone, or its PID now names another process
            left.append(f"{pid} {_cmdline(pid)}")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return left


def _write_config(path: pathlib.Path, config: dict[str, Any]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / "jupyter_server_config.json").write_text(json.dumps(config, indent=1))


class ServerStarter:
    """Starts :class:`ServerProcess` es in folders under ``base`` and stops them all."""

    def __init__(self, base: pathlib.Path) -> None:
        self.base = base
        self.started: list[ServerProcess] = []

    def __call__(
        self,
        module: str | None = FAULTY,
        *,
        backends: dict[str, Any] | None = None,
        rpc_config: dict[str, Any] | None = None,
        server_config: dict[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        bounds: Bounds | None = None,
        timeout: float = 60.0,
    ) -> ServerProcess:
        base = self.base / f"server{len(self.started)}"
        home = base / "home"
        (home / "data").mkdir(parents=True)
        (home / "data" / "notes.txt").write_text("first line\n")
        tmp = base / "tmp"
        tmp.mkdir()
        port = free_port()
        token = f"hardening-{os.urandom(8).hex()}"
        rpc: dict[str, Any] = {
            "backends": dict(backends or ({"test": {"module": module}} if module else {})),
            "clusters": {
                "local": {
                    "display_name": "This computer",
                    "scheduler": "local",
                    "roots": {"home": str(home)},
                    "workdir": str(home),
                }
            },
            "state_dir": str(base / "state"),
        }
        rpc.update(rpc_config or {})
        _write_config(
            base / "config",
            {
                "ServerApp": {
                    "ip": "127.0.0.1",
                    "port": port,
                    "port_retries": 0,
                    "open_browser": False,
                    "allow_root": True,
                    "root_dir": str(home),
                    "jpserver_extensions": {"jupyter_rpc": True, "jupyter_server_terminals": False},
                    **(server_config or {}),
                },
                "RPCApp": rpc,
            },
        )
        environ = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(base / "config"),
            "JUPYTER_CONFIG_PATH": "",
            "JUPYTER_DATA_DIR": str(base / "data"),
            "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
            "JUPYTER_TOKEN": token,
            "TMPDIR": str(tmp),
            **(env or {}),
        }
        log_path = base / "server.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "jupyter_server"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=environ,
                cwd=base,
            )
        server = ServerProcess(
            proc, port, token, home, tmp, log_path, ResourceTracker(proc.pid, bounds=bounds)
        )
        self.started.append(server)
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the server exited ({proc.returncode}):\n{server.log()}")
            try:
                if server.request("GET", "api/status", prefix="", timeout=5).status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"no server after {timeout:.0f} s:\n{server.log()}")
            time.sleep(0.2)
        server.resources.watch(home)
        server.resources.watch_temp(tmp)
        server.resources.baseline()
        return server

    def finish(self) -> None:
        """Check each server that was not checked, stop each by PID, fail on what is left."""
        problems = []
        for server in self.started:
            if not server.stopped and server.proc.poll() is not None:
                problems.append(
                    f"the server (PID {server.pid}) exited by itself during the test (status "
                    f"{server.proc.returncode}); its log ends:\n{server.log(30)}"
                )
            elif not server.stopped and not server.resources.checked:
                try:
                    server.resources.check()
                except AssertionError as exc:
                    problems.append(str(exc))
            left = server.stop()
            if left and not server.leftovers_allowed:
                problems.append(
                    f"the server (PID {server.pid}) left processes running after it stopped "
                    "(killed now):" + _examples(left, 8)
                )
        if problems:
            pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def jupyter_server_process(tmp_path: pathlib.Path) -> Iterator[ServerStarter]:
    """``jupyter_server_process(module=FAULTY, *, backends=None, rpc_config=None,
    server_config=None, env=None, bounds=None)`` -> a started :class:`ServerProcess`
    (module docstring); checked and stopped at the end of the test."""
    starter = ServerStarter(tmp_path)
    yield starter
    starter.finish()


@pytest.fixture(scope="module")
def module_server_process(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerStarter]:
    """:func:`jupyter_server_process` shared by a module's tests (one server for many
    requests); checked and stopped after the module's last test."""
    starter = ServerStarter(tmp_path_factory.mktemp("servers"))
    yield starter
    starter.finish()


def tightened(bounds: Bounds | None = None, **changes: Any) -> Bounds:
    """``Bounds`` with some fields changed: ``tightened(hwm_mb=50)``."""
    return replace(bounds or Bounds(), **changes)
