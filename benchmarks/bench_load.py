"""Load: many clients calling, uploading, submitting jobs and listing files at once.

Starts a real Jupyter server with jupyter_rpc on 127.0.0.1 (the example backend as a local
process, the local cluster over a temporary folder with the local scheduler), then runs
``--clients`` threads, each on its own keep-alive connection, each making ``--calls``
remote calls ``add(a, b)`` under ids it chose, and between them every 10th call an upload
(64 KB, checked by its size and a download every few), every 10th a listing of its folder
(checked to hold what it uploaded) and every 50th a local-scheduler job (checked by its
output once it ended). Reported:

- lost or duplicated calls (both must be 0): every id answered exactly once with the right
  result, and the server's call list (the newest ``RPCApp`` keeps) holds no id twice;
- p50/p99 latency per kind of request;
- the server's RSS, open file descriptors, threads, child processes and upload temp files
  at the start (after a warm-up) and at the end (after a few seconds to settle); growth
  beyond ``--max-rss-growth`` MB or ``--max-fd-growth`` fds fails the run;
- as a reference in the same run, the same number of plain ``GET /api/status`` requests
  of jupyter_server from the same clients, and the ratios.

Usage: python benchmarks/bench_load.py [--clients 16] [--calls 1000] [--short]
``--short`` is 4 clients × 100 calls. The server is stopped by PID at the end; the exit
status is 1 if a call was lost or duplicated, a result was wrong or a bound was passed.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

#: what every Nth call of a client adds
UPLOAD_EVERY, LIST_EVERY, JOB_EVERY, DOWNLOAD_EVERY = 10, 10, 50, 5
UPLOAD_BYTES = 64 * 1024
#: seconds a client waits for any one answer
TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(tmp: str) -> tuple[subprocess.Popen[bytes], int, str, str]:
    """A Jupyter server with jupyter_rpc on 127.0.0.1: (process, port, token, home)."""
    port, token = free_port(), secrets.token_hex(16)
    home = os.path.join(tmp, "home")
    server_tmp = os.path.join(tmp, "tmp")
    for folder in (home, server_tmp, os.path.join(tmp, "config")):
        os.makedirs(folder, exist_ok=True)
    config = {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_rpc": True, "jupyter_server_terminals": False}
        },
        "RPCApp": {
            "backends": {"examples": {"module": "jupyter_rpc.examples.demo"}},
            "clusters": {"local": {"scheduler": "local", "roots": {"home": home}, "workdir": home}},
            "state_dir": os.path.join(tmp, "state"),
        },
    }
    with open(os.path.join(tmp, "config", "jupyter_server_config.json"), "w") as fh:
        json.dump(config, fh)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": os.path.join(tmp, "config"),
        "JUPYTER_CONFIG_PATH": "",
        "JUPYTER_DATA_DIR": os.path.join(tmp, "data"),
        "JUPYTER_RUNTIME_DIR": os.path.join(tmp, "runtime"),
        "TMPDIR": server_tmp,
    }
    cmd = [
        sys.executable, "-m", "jupyter_server",
        f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
        "--ServerApp.open_browser=False", f"--ServerApp.root_dir={home}", "--ServerApp.allow_root=True",
        "--ServerApp.port_retries=0", "--ServerApp.log_level=WARN",
    ]  # fmt: skip
    with open(os.path.join(tmp, "server.log"), "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if Client(port, token).request("GET", "/api/status")[0] == 200:
                return proc, port, token, home
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    stop_server(proc)
    raise SystemExit(f"the Jupyter server did not start; see {tmp}/server.log")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


# --- what the server holds --------------------------------------------------------------


@dataclass
class Resources:
    rss_mb: float
    hwm_mb: float
    fds: int
    fd_kinds: Counter[str]
    threads: int
    children: int
    temp_files: int

    def line(self) -> str:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.fd_kinds.items()))
        return (
            f"RSS {self.rss_mb:6.1f} MB (peak {self.hwm_mb:.0f}), {self.fds:3d} fds ({kinds}), {self.threads} threads, "
            f"{self.children} child processes, {self.temp_files} upload temp files"
        )


def _kind(target: str) -> str:
    for prefix in ("socket", "pipe", "anon_inode"):
        if target.startswith(prefix + ":"):
            return prefix
    return "device" if target.startswith("/dev/") else "file"


def resources(pid: int, home: str) -> Resources:
    """The server's VmRSS, open fds by kind, threads, live descendants and temp files."""
    with open(f"/proc/{pid}/status") as f:
        status = dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)
    kinds: Counter[str] = Counter()
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            kinds[_kind(os.readlink(f"/proc/{pid}/fd/{name}"))] += 1
        except OSError:
            continue
    parents: dict[int, list[int]] = {}
    live: set[int] = set()
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{name}/stat") as f:
                text = f.read()
        except OSError:
            continue
        state, ppid = text[text.rindex(")") + 2 :].split()[:2]
        parents.setdefault(int(ppid), []).append(int(name))
        if state != "Z":
            live.add(int(name))
    below, todo = set(), list(parents.get(pid, ()))
    while todo:
        child = todo.pop()
        if child not in below:
            below.add(child)
            todo.extend(parents.get(child, ()))
    temp = sum(1 for _, _, files in os.walk(home) for name in files if ".jrpc-upload-" in name)
    return Resources(
        rss_mb=int(status["VmRSS"].split()[0]) / 1024,
        hwm_mb=int(status["VmHWM"].split()[0]) / 1024,
        fds=sum(kinds.values()),
        fd_kinds=kinds,
        threads=int(status["Threads"]),
        children=len(below & live),
        temp_files=temp,
    )


# --- clients ------------------------------------------------------------------------------


class Client:
    """One keep-alive connection with the token; reconnects once if the server closed it."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.auth = {"Authorization": f"token {token}"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str = ""
    ) -> tuple[int, bytes]:
        headers = dict(self.auth)
        if content_type:
            headers["Content-Type"] = content_type
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
                if attempt == 2 or method == "POST":  # a POST is never sent twice
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        raw = None if body is None else json.dumps(body).encode()
        status, data = self.request(method, path, raw, "application/json" if raw else "")
        return status, json.loads(data) if data else None


@dataclass
class Load:
    """What the clients saw."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    answered: Counter[str] = field(default_factory=Counter)  # call id -> final answers
    sent: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)  # wrong results or failed requests
    jobs: list[tuple[str, str]] = field(default_factory=list)  # (job id, expected output)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def time(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)

    def fail(self, what: str) -> None:
        with self.lock:
            self.wrong.append(what)


CALLS = "/jupyter-rpc/backends/examples/calls"
FILES = "/jupyter-rpc/clusters/local/files/"
UPLOAD = "/jupyter-rpc/clusters/local/upload/"
DOWNLOAD = "/jupyter-rpc/clusters/local/download/"
JOBS = "/jupyter-rpc/clusters/local/jobs"


def _call(client: Client, load: Load, n: int, a: int, b: int) -> None:
    call_id = secrets.token_hex(16)
    with load.lock:
        load.sent.append(call_id)
    body = {"id": call_id, "function": "add", "arguments": {"a": a, "b": b}, "wait": 30}
    t0 = time.perf_counter()
    status, data = client.json("POST", CALLS, body)
    while status in (200, 201) and data.get("state") in ("pending", "running"):
        status, data = client.json("GET", f"/jupyter-rpc/calls/{call_id}?wait=30")
    load.time("call", time.perf_counter() - t0)
    if status not in (200, 201) or data.get("id") != call_id:
        load.fail(f"call {n}: {status} {str(data)[:200]}")
        return
    with load.lock:
        load.answered[call_id] += 1
    if data.get("state") != "succeeded" or data.get("result") != a + b:
        load.fail(f"call {call_id}: {data.get('state')} {data.get('result')!r} != {a + b}")


def _upload(client: Client, load: Load, folder: str, n: int, uploaded: dict[str, str]) -> None:
    content = secrets.token_bytes(UPLOAD_BYTES)
    path = f"{folder}/up-{n}.bin"
    t0 = time.perf_counter()
    status, data = client.request(
        "PUT", UPLOAD + urllib.parse.quote(path), content, "application/octet-stream"
    )
    load.time("upload 64 KB", time.perf_counter() - t0)
    if status != 201 or json.loads(data).get("size") != UPLOAD_BYTES:
        load.fail(f"upload {path}: {status} {data[:200]!r}")
        return
    uploaded[path.rsplit("/", 1)[1]] = hashlib.sha256(content).hexdigest()
    if len(uploaded) % DOWNLOAD_EVERY == 0:
        t0 = time.perf_counter()
        status, data = client.request("GET", DOWNLOAD + urllib.parse.quote(path))
        load.time("download 64 KB", time.perf_counter() - t0)
        if status != 200 or hashlib.sha256(data).hexdigest() != uploaded[path.rsplit("/", 1)[1]]:
            load.fail(f"download {path}: {status}, {len(data)} bytes, not what was uploaded")


def _listing(client: Client, load: Load, folder: str, uploaded: dict[str, str]) -> None:
    t0 = time.perf_counter()
    status, data = client.json("GET", FILES + urllib.parse.quote(folder))
    load.time("file listing", time.perf_counter() - t0)
    names = {item["name"] for item in (data or {}).get("content") or []}
    if status != 200 or not set(uploaded) <= names:
        load.fail(f"listing {folder}: {status}, missing {sorted(set(uploaded) - names)[:5]}")


def _job(client: Client, load: Load, n: int) -> None:
    word = secrets.token_hex(8)
    spec = {"script": f"#!/bin/sh\necho {word}\n", "name": f"load-{n}"}
    t0 = time.perf_counter()
    status, data = client.json("POST", JOBS, spec)
    load.time("job submission", time.perf_counter() - t0)
    if status != 201:
        load.fail(f"job {n}: {status} {str(data)[:200]}")
        return
    with load.lock:
        load.jobs.append((str(data["id"]), word))


def client_loop(port: int, token: str, load: Load, index: int, calls: int) -> None:
    client = Client(port, token)
    folder = f"home/load/client-{index}"
    status, data = client.json("PUT", FILES + urllib.parse.quote(folder), {"type": "directory"})
    if status not in (200, 201):
        load.fail(f"folder {folder}: {status} {str(data)[:200]}")
    uploaded: dict[str, str] = {}
    for n in range(calls):
        try:
            _call(client, load, n, n, index)
            if n % UPLOAD_EVERY == UPLOAD_EVERY - 1:
                _upload(client, load, folder, n, uploaded)
            if n % LIST_EVERY == LIST_EVERY // 2:
                _listing(client, load, folder, uploaded)
            if n % JOB_EVERY == JOB_EVERY - 1:
                _job(client, load, index * calls + n)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            load.fail(f"client {index}, step {n}: {type(exc).__name__}: {exc}")


def check_jobs(port: int, token: str, load: Load, timeout: float = 120.0) -> None:
    """Wait for every job to end; each must have completed and printed its word."""
    client = Client(port, token)
    deadline = time.monotonic() + timeout
    for job_id, word in load.jobs:
        while True:
            status, info = client.json("GET", f"{JOBS}/{job_id}")
            state = (info or {}).get("state")
            if state in ("completed", "failed", "cancelled", "timeout") or status != 200:
                break
            if time.monotonic() > deadline:
                load.fail(f"job {job_id} still {state} after {timeout:.0f} s")
                break
            time.sleep(0.2)
        status, out = client.json("GET", f"{JOBS}/{job_id}/output")
        if state != "completed" or word not in (out or {}).get("data", ""):
            load.fail(f"job {job_id}: {state}, output {str(out)[:200]}")


def warm_up(port: int, token: str) -> None:
    """Start the backend's process, grow the thread pools, read the root once."""
    warm = Client(port, token)
    status, data = warm.json("POST", CALLS, {"function": "add", "arguments": {"a": 1}})
    assert status == 201, data
    for _ in range(50):
        warm.json("GET", f"/jupyter-rpc/calls/{data['id']}?wait=10")
        warm.json("GET", FILES + "home")


def run_load(port: int, token: str, clients: int, calls: int) -> tuple[Load, float]:
    """``clients`` threads × ``calls`` calls with the mix; (what they saw, seconds)."""
    load = Load()
    status, data = Client(port, token).json("PUT", FILES + "home/load", {"type": "directory"})
    assert status in (200, 201), data
    threads = [
        threading.Thread(target=client_loop, args=(port, token, load, i, calls))
        for i in range(clients)
    ]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    check_jobs(port, token, load)
    return load, elapsed


def run_reference(port: int, token: str, clients: int, requests: int) -> tuple[list[float], float]:
    """The same number of plain ``GET /api/status`` from the same number of clients."""
    samples: list[float] = []
    lock = threading.Lock()

    def loop() -> None:
        client = Client(port, token)
        mine = []
        for _ in range(requests):
            t0 = time.perf_counter()
            status, _ = client.request("GET", "/api/status")
            mine.append(time.perf_counter() - t0)
            assert status == 200, status
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples, time.monotonic() - t0


def lost_and_duplicated(port: int, token: str, load: Load) -> tuple[list[str], list[str]]:
    """Ids sent without exactly one answer, and ids the server's call list holds twice."""
    lost = [i for i in load.sent if load.answered[i] != 1]
    duplicated = [i for i, n in load.answered.items() if n > 1]
    status, listing = Client(port, token).json("GET", "/jupyter-rpc/calls")
    if status == 200:
        seen = Counter(c["id"] for c in listing.get("calls", []))
        duplicated += [i for i, n in seen.items() if n > 1]
    return lost, duplicated


def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1e3


def settle(pid: int, home: str, start: Resources, seconds: float = 10.0) -> Resources:
    """The server's resources once back near ``start`` (or after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while True:
        now = resources(pid, home)
        if (now.fds <= start.fds and now.children <= start.children) or (
            time.monotonic() > deadline
        ):
            return now
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--calls", type=int, default=1000, help="per client")
    parser.add_argument("--short", action="store_true", help="4 clients × 100 calls")
    parser.add_argument("--max-rss-growth", type=float, default=100.0, help="MB")
    parser.add_argument("--max-fd-growth", type=int, default=16)
    args = parser.parse_args()
    if args.short:
        args.clients, args.calls = 4, 100

    with tempfile.TemporaryDirectory(prefix="rpc-load-") as tmp:
        proc, port, token, home = start_server(tmp)
        try:
            warm_up(port, token)
            start = resources(proc.pid, home)
            load, elapsed = run_load(port, token, args.clients, args.calls)
            lost, duplicated = lost_and_duplicated(port, token, load)
            end = settle(proc.pid, home, start)
            ref, ref_elapsed = run_reference(port, token, args.clients, args.calls)
        finally:
            stop_server(proc)
    report = Report(args.clients, args.calls, load, elapsed, lost, duplicated, start, end)
    report.print(ref, ref_elapsed)
    problems = report.problems(args.max_rss_growth, args.max_fd_growth)
    if problems:
        print("\nFAILED:\n  " + "\n  ".join(problems))
        raise SystemExit(1)


@dataclass
class Report:
    clients: int
    calls: int
    load: Load
    elapsed: float
    lost: list[str]
    duplicated: list[str]
    start: Resources
    end: Resources

    def problems(self, max_rss_growth: float, max_fd_growth: int) -> list[str]:
        found = []
        if self.lost or self.duplicated:
            found.append(
                f"{len(self.lost)} calls lost and {len(self.duplicated)} duplicated of "
                f"{len(self.load.sent)} (ids: {(self.lost + self.duplicated)[:5]})"
            )
        if self.load.wrong:
            found.append(
                f"{len(self.load.wrong)} wrong answers or failed requests, e.g.: "
                + "; ".join(self.load.wrong[:5])
            )
        rss = self.end.rss_mb - self.start.rss_mb
        if rss > max_rss_growth:
            found.append(
                f"the server's RSS grew {rss:.0f} MB ({self.start.rss_mb:.0f} -> "
                f"{self.end.rss_mb:.0f} MB; bound +{max_rss_growth:.0f} MB)"
            )
        fds = self.end.fds - self.start.fds
        if fds > max_fd_growth:
            found.append(
                f"the server's open fds grew by {fds} ({self.start.fds} -> {self.end.fds}; "
                f"bound +{max_fd_growth}): {dict(self.end.fd_kinds - self.start.fd_kinds)}"
            )
        if self.end.temp_files:
            found.append(f"{self.end.temp_files} upload temp files left")
        if self.end.children > self.start.children:
            found.append(
                f"{self.end.children - self.start.children} more child processes than at the "
                "start still running"
            )
        return found

    def print(self, ref: list[float], ref_elapsed: float) -> None:
        load = self.load
        total = sum(len(v) for v in load.latencies.values())
        print(
            f"load: {self.clients} clients × {self.calls} calls (+ every {UPLOAD_EVERY}th an "
            f"upload, every {LIST_EVERY}th a listing, every {JOB_EVERY}th a job), loopback, "
            f"{os.cpu_count()} cores: {total} requests in {self.elapsed:.1f} s "
            f"({total / self.elapsed:.0f}/s)"
        )
        print(
            f"calls: {len(load.sent)} sent, {len(self.lost)} lost, {len(self.duplicated)} "
            f"duplicated; {len(load.wrong)} wrong answers or failed requests; "
            f"{len(load.jobs)} jobs checked"
        )
        print(f"{'kind':<34}{'n':>7}{'p50 ms':>10}{'p99 ms':>10}")
        for kind, samples in sorted(load.latencies.items()):
            print(
                f"{kind:<34}{len(samples):>7}{quantile(samples, 0.5):>10.2f}"
                f"{quantile(samples, 0.99):>10.2f}"
            )
        print(
            f"{'reference: GET /api/status':<34}{len(ref):>7}{quantile(ref, 0.5):>10.2f}"
            f"{quantile(ref, 0.99):>10.2f}"
        )
        calls = load.latencies.get("call", [0.0])
        print(
            f"ratio call / GET /api/status: p50 x{quantile(calls, 0.5) / quantile(ref, 0.5):.1f}, "
            f"p99 x{quantile(calls, 0.99) / quantile(ref, 0.99):.1f}; "
            f"throughput {len(calls) / self.elapsed:.0f} calls/s (mixed) vs "
            f"{len(ref) / ref_elapsed:.0f} status/s"
        )
        print(f"server at the start: {self.start.line()}")
        print(f"server at the end:   {self.end.line()}")


if __name__ == "__main__":
    main()
