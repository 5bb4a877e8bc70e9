"""A no-op call from a kernel through the notebook client, beside the REST API and in-process.

Starts a real Jupyter server with jupyter_rpc (example backend) and a real IPython kernel
whose client finds the server through JUPYTER_RPC_URL/TOKEN, then times, in one run:

- in-process: ``jupyter_rpc.examples.demo.add(a=1, b=2)``;
- REST: one ``POST .../calls`` with ``wait`` on a keep-alive connection;
- kernel: ``examples.add(a=1, b=2)`` in a kernel cell (the code "Copy as Python" gives).

Usage: python benchmarks/bench_client.py [--calls 300]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile

from jupyter_client.manager import start_new_kernel

sys.path.insert(0, os.path.dirname(__file__))
from bench_calls import bench_in_process, bench_rest, percentiles, start_server  # noqa: E402

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
print("RESULT" + json.dumps(samples))
"""


def bench_kernel(port: int, token: str, n: int) -> list[float]:
    env = {**os.environ, "JUPYTER_RPC_URL": f"http://127.0.0.1:{port}/", "JUPYTER_RPC_TOKEN": token}
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    try:
        out: list[str] = []
        kc.execute_interactive(
            KERNEL_CODE.format(n=n),
            timeout=300,
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
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rpc-bench-") as tmp:
        proc, port, token = start_server(tmp)
        try:
            inproc = percentiles(bench_in_process(args.calls))
            rest = percentiles(bench_rest(port, token, args.calls))
            kernel = percentiles(bench_kernel(port, token, args.calls))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(
        f"no-op call `add(a=1, b=2)`, {args.calls} sequential calls, loopback, {os.cpu_count()} cores"
    )
    print(f"{'path':<46}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    for name, (p50, p95, mean) in [
        ("in-process function call", inproc),
        ("REST API, one POST with wait", rest),
        ("kernel cell via jupyter_rpc.connect()", kernel),
    ]:
        print(f"{name:<46}{p50:>10.4f}{p95:>10.4f}{mean:>10.4f}")
    print(
        f"kernel client over REST: p50 x{kernel[0] / rest[0]:.2f} (+{kernel[0] - rest[0]:.3f} ms)"
    )


if __name__ == "__main__":
    main()
