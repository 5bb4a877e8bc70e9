"""Latency and throughput of a no-op remote call, beside the same function in-process.

Starts a real Jupyter server with jupyter_rpc on 127.0.0.1 (its example backend as a
local process), then measures, in one run:

- in-process: ``jupyter_rpc.examples.demo.add(1, 2)`` called directly;
- runner: the same request as a JSON line straight to a backend process (the transport floor);
- REST: ``POST /jupyter-rpc/backends/examples/calls`` with ``wait`` (one HTTP round trip
  per call, keep-alive connection), as a client in another process sees it;
- throughput with 1 and 16 concurrent REST clients.

Usage: python benchmarks/bench_calls.py [--calls 1000] [--seconds 5]
The server is stopped by PID at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from jupyter_rpc import protocol


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp: str, config: dict | None = None) -> tuple[subprocess.Popen[bytes], int, str]:
    """A Jupyter server with jupyter_rpc on 127.0.0.1 (``config``: extra server config)."""
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": os.path.join(tmp, "runtime")}
    if config is not None:
        env["JUPYTER_CONFIG_DIR"] = os.path.join(tmp, "config")
        os.makedirs(env["JUPYTER_CONFIG_DIR"], exist_ok=True)
        with open(os.path.join(env["JUPYTER_CONFIG_DIR"], "jupyter_server_config.json"), "w") as fh:
            json.dump(config, fh)
    cmd = [
        sys.executable, "-m", "jupyter_server",
        f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
        "--ServerApp.open_browser=False", f"--ServerApp.root_dir={tmp}", "--ServerApp.allow_root=True",
        "--ServerApp.port_retries=0", "--ServerApp.log_level=WARN",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "server.log"), "wb")
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=1)
            return proc, port, token
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"the Jupyter server did not start; see {tmp}/server.log")


class Client:
    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}

    def call(self, body: bytes) -> dict:
        self.conn.request(
            "POST", "/jupyter-rpc/backends/examples/calls", body=body, headers=self.headers
        )
        response = self.conn.getresponse()
        data = json.loads(response.read())
        if response.status != 201 or data["state"] != "succeeded":
            raise RuntimeError(f"call failed: {response.status} {data}")
        return data


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    samples = sorted(samples)
    return (
        statistics.median(samples) * 1e3,
        samples[int(len(samples) * 0.95) - 1] * 1e3,
        statistics.mean(samples) * 1e3,
    )


def bench_in_process(n: int) -> list[float]:
    from jupyter_rpc.examples.demo import add

    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        add(a=1, b=2)
        out.append(time.perf_counter() - t0)
    return out


def bench_runner(n: int) -> list[float]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_rpc.backend", "serve", "jupyter_rpc.examples.demo"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdin and proc.stdout
    payload = protocol.encode_payload({"func_name": "add", "a": 1, "b": 2})
    out = []
    try:
        for i in range(n + 20):
            line = protocol.dumps_line(
                protocol.message(protocol.REQUEST, str(i), payload=payload, response_topic="x")
            )
            t0 = time.perf_counter()
            proc.stdin.write(line)
            proc.stdin.flush()
            reply = protocol.loads_line(proc.stdout.readline())
            if i >= 20:  # warm-up
                out.append(time.perf_counter() - t0)
            assert reply["properties"]["status"] == "success", reply
    finally:
        proc.stdin.close()
        proc.wait(5)
    return out


def bench_rest(port: int, token: str, n: int) -> list[float]:
    client = Client(port, token)
    body = json.dumps({"function": "add", "arguments": {"a": 1, "b": 2}, "wait": 30}).encode()
    for _ in range(20):
        client.call(body)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        client.call(body)
        out.append(time.perf_counter() - t0)
    return out


def throughput(port: int, token: str, clients: int, seconds: float) -> float:
    body = json.dumps({"function": "add", "arguments": {"a": 1, "b": 2}, "wait": 30}).encode()
    return run_clients(
        clients, seconds, lambda: Client(port, token), lambda client: client.call(body)
    )


def run_clients(clients: int, seconds: float, connect, call) -> float:  # type: ignore[no-untyped-def]
    """Calls per second of ``clients`` threads, each calling ``call(connect())`` in a loop."""
    counts = [0] * clients
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        client = connect()
        while time.monotonic() < stop:
            call(client)
            counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rpc-bench-") as tmp:
        proc, port, token = start_server(tmp)
        try:
            inproc = percentiles(bench_in_process(args.calls))
            runner = percentiles(bench_runner(args.calls))
            rest = percentiles(bench_rest(port, token, args.calls))
            tp1 = throughput(port, token, 1, args.seconds)
            tp16 = throughput(port, token, 16, args.seconds)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()

    print(
        f"no-op call `add(1, 2)`, {args.calls} sequential calls, loopback, {os.cpu_count()} cores"
    )
    print(f"{'path':<44}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    for name, (p50, p95, mean) in [
        ("in-process function call", inproc),
        ("backend runner, JSON line on stdio", runner),
        ("REST API -> server -> local backend", rest),
    ]:
        print(f"{name:<44}{p50:>10.4f}{p95:>10.4f}{mean:>10.4f}")
    print(
        f"overhead of the REST path over the runner:   p50 +{rest[0] - runner[0]:.3f} ms "
        f"(x{rest[0] / runner[0]:.1f})"
    )
    print(f"overhead of the REST path over in-process:   p50 +{rest[0] - inproc[0]:.3f} ms")
    print(f"throughput, in-process: {1e3 / inproc[2]:8.0f} calls/s (one thread)")
    print(f"throughput, 1 client:   {tp1:8.0f} calls/s")
    print(f"throughput, 16 clients: {tp16:8.0f} calls/s  (x{tp16 / tp1:.2f} of 1 client)")


if __name__ == "__main__":
    main()
