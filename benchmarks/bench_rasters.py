"""A raster result from a backend process to the map's copy, as bytes or as base64.

One run, one machine, the ``geo`` example backend as a local process (the way the
Jupyter server runs it): ``raster(rows, cols)`` is called ``--repeat`` times each way and
the server's side of the answer is done as the server does it (``RasterStore.accept``:
the whole grid kept, the map's block-mean copy of at most 1,024 cells a side):

- **buffers**: the runner sends the float32 grid raw after its answer's line (what the
  server asks for on stdio since issue 21);
- **base64**: the grid as base64 inside the JSON inside DASF's base64 payload, as a DASF
  broker carries it (the reference: demessaging's own envelope), the same runner and
  transport told not to use buffers.

Prints each way's median and best time from the call to the map's copy, and their ratio;
the figures vary with the machine's load, the ratio much less.

Usage: python benchmarks/bench_rasters.py [--rows 4000] [--cols 4000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

from jupyter_rpc.services.rasters import RasterStore
from jupyter_rpc.transports import LocalTransport

ARGV = [sys.executable, "-m", "jupyter_rpc.backend", "serve", "jupyter_rpc.examples.geo"]


async def measure(buffers: bool, rows: int, cols: int, repeat: int) -> list[float]:
    transport = LocalTransport("geo", ARGV, max_message_size=512 * 1024 * 1024)
    transport.ask_buffers = buffers
    store = RasterStore(1 << 30)
    times = []
    try:
        await transport.call({"func_name": "raster", "rows": 8, "cols": 8})  # started, warm
        for i in range(repeat):
            started = time.perf_counter()
            value = await transport.call({"func_name": "raster", "rows": rows, "cols": cols})
            copy = await asyncio.to_thread(store.accept, str(i), value, "download")
            times.append(time.perf_counter() - started)
            assert isinstance(value["values"], bytes if buffers else str), type(value["values"])
            assert copy["source_shape"] == [rows, cols]
            del value, copy
            store.forget(str(i))
    finally:
        await transport.close()
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--cols", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results = {}
    for _ in range(2):  # interleaved, so a load change hits both ways
        for name, buffers in (("buffers", True), ("base64", False)):
            results.setdefault(name, []).extend(
                await measure(buffers, args.rows, args.cols, max(1, args.repeat // 2))
            )
    print(
        f"raster {args.rows} x {args.cols} (float32, {args.rows * args.cols * 4 / 1e6:.0f} MB), "
        "backend process -> the map's copy"
    )
    print(f"{'way':10} {'median s':>9} {'best s':>7}  runs")
    for name, times in results.items():
        print(f"{name:10} {statistics.median(times):9.2f} {min(times):7.2f}  {len(times)}")
    ratio = statistics.median(results["base64"]) / statistics.median(results["buffers"])
    print(f"base64 (DASF's envelope) / buffers: {ratio:.1f}x (median)")


if __name__ == "__main__":
    asyncio.run(main())
