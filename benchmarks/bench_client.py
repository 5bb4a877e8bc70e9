"""No-op calls from a kernel through the notebook client, beside the REST API, the runner
and in-process.

Starts a real Jupyter server with jupyter_rpc (example backend) and a real IPython kernel
whose client finds the server through JUPYTER_RPC_URL/TOKEN, then times, in one run,
``--calls`` calls of ``add(1, 2)`` each way:

- in-process: ``jupyter_rpc.examples.demo.add(a=1, b=2)`` (the floor);
- runner, sequential: one request line to a backend process, its answer, the next;
- runner, pipelined: every request line written by one thread while another reads the
  answers (the most a backend process answers, without any server);
- REST: one ``POST .../calls`` with ``wait`` on a keep-alive connection;
- kernel, sequential: ``examples.add(a=1, b=2)`` in a kernel cell, one after the other;
- kernel, ``ex.map``: ``list(ex.map(examples.add, xs))`` with ``jupyter_rpc.executor``
  (batches and one long poll for many results).

Usage: python benchmarks/bench_client.py [--calls 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from jupyter_client.manager import start_new_kernel

sys.path.insert(0, os.path.dirname(__file__))
from bench_calls import (  # noqa: E402
    bench_in_process,
    bench_rest,
    bench_runner,
    percentiles,
    protocol,
    start_server,
)

KERNEL_CODE = """
import json, time, statistics
from jupyter_rpc import connect
examples = connect("examples")
for _ in range(20):
    examples.add(a=1, b=2)
samples = []
for _ in range({n}):
    t0 = time.perf_counter()
    examples.add(a=1, b=2)
    samples.append(time.perf_counter() - t0)
t0 = time.perf_counter()
from jupyter_rpc import executor
ex = executor("examples", progress=False)
assert list(ex.map(examples.add, range(500), [2] * 500)) == [i + 2 for i in range(500)]
t1 = time.perf_counter()
results = list(ex.map(examples.add, range({n}), [2] * {n}))
mapped = time.perf_counter() - t1
assert results == [i + 2 for i in range({n})]
ex.shutdown()
print("RESULT" + json.dumps({{"samples": samples, "map": mapped}}))
"""


def runner_pipelined(n: int) -> float:
    """Seconds for ``n`` requests written to a backend process while its answers are read."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_rpc.backend", "serve", "jupyter_rpc.examples.demo"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdin and proc.stdout
    payload = protocol.encode_payload({"func_name": "add", "a": 1, "b": 2})
    lines = [
        protocol.dumps_line(
            protocol.message(protocol.REQUEST, str(i), payload=payload, response_topic="x")
        )
        for i in range(n + 100)
    ]
    stdin = proc.stdin

    def write(chunk: list[bytes]) -> None:
        for line in chunk:
            stdin.write(line)
        stdin.flush()

    try:
        write(lines[:100])  # warm-up
        for _ in range(100):
            proc.stdout.readline()
        t0 = time.perf_counter()
        writer = threading.Thread(target=write, args=(lines[100:],))
        writer.start()
        for _ in range(n):
            reply = protocol.loads_line(proc.stdout.readline())
            assert reply["properties"]["status"] == "success", reply
        elapsed = time.perf_counter() - t0
        writer.join()
    finally:
        proc.stdin.close()
        proc.wait(5)
    return elapsed


def bench_kernel(port: int, token: str, n: int) -> dict[str, Any]:
    env = {**os.environ, "JUPYTER_RPC_URL": f"http://127.0.0.1:{port}/", "JUPYTER_RPC_TOKEN": token}
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    try:
        out: list[str] = []
        kc.execute_interactive(
            KERNEL_CODE.format(n=n),
            timeout=600,
            output_hook=lambda msg: (
                out.append(msg["content"].get("text", "")) if msg["msg_type"] == "stream" else None
            ),
        )
        text = "".join(out)
        return json.loads(text[text.index("RESULT") + 6 :])
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000)
    args = parser.parse_args()
    n = args.calls
    with tempfile.TemporaryDirectory(prefix="rpc-bench-") as tmp:
        proc, port, token = start_server(tmp)
        try:
            inproc = bench_in_process(n)
            runner = bench_runner(n)
            piped = runner_pipelined(n)
            rest = bench_rest(port, token, min(n, 2000))
            kernel = bench_kernel(port, token, n)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(f"no-op call `add(1, 2)`, {n:,} calls each way, loopback, {os.cpu_count()} cores")
    print(f"{'path':<44}{'p50 ms':>9}{'p95 ms':>9}{'calls/s':>13}")
    rows: list[tuple[str, tuple[float, float, float] | None, float]] = [
        ("in-process function call (floor)", percentiles(inproc), len(inproc) / sum(inproc)),
        ("runner, sequential (floor)", percentiles(runner), len(runner) / sum(runner)),
        ("runner, pipelined (floor)", None, n / piped),
        ("REST API, one POST with wait", percentiles(rest), len(rest) / sum(rest)),
        (
            "kernel, examples.add() one after another",
            percentiles(kernel["samples"]),
            len(kernel["samples"]) / sum(kernel["samples"]),
        ),
        ("kernel, list(ex.map(examples.add, ...))", None, n / kernel["map"]),
    ]
    for name, stats, rate in rows:
        p50, p95 = (f"{stats[0]:.4f}", f"{stats[1]:.4f}") if stats else ("-", "-")
        print(f"{name:<44}{p50:>9}{p95:>9}{rate:>13,.0f}")
    sequential = len(kernel["samples"]) / sum(kernel["samples"])
    print(f"ex.map over sequential calls: x{n / kernel['map'] / sequential:.1f}")


if __name__ == "__main__":
    main()
