"""Time to rank placement across 3 clusters with one unreachable (issue 15; aim < 2 s).

A real Jupyter server with three clusters: ``local`` (the local scheduler), ``testbed``
(the HPC test bed's Slurm, partitions debug and long: two ``sbatch --test-only``) and
``down``, a host that cannot be reached. ``--down closed`` (default) points it at a
closed port (the connection is refused at once); ``--down silent`` at a port that
accepts and never answers (a hung sshd or a firewall that holds the connection), so the
placement's bound (``--timeout``) decides. Prints the first ranking (a fresh SSH
connection to the bed) and the median and worst of ``--rounds`` more (the pool's
connection kept), each ``POST /jupyter-rpc/placement`` timed by the client.

Needs the HPC test bed (``sudo tests/hpc/testbed/up.sh``). Submits nothing.

    python benchmarks/bench_placement.py [--down closed|silent] [--rounds 10] [--timeout 1.5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from bench_calls import free_port, start_server  # noqa: E402

TB = os.environ.get("TESTBED_DIR", "/var/lib/hpc-testbed")
SSH_CONFIG = f"{TB}/keys/ssh_config"
SPEC = {"script": "#!/bin/bash\nhostname\n", "cpus": 1, "time_limit": 30}


def rank(port: int, token: str, timeout: float) -> tuple[float, dict]:
    body = json.dumps({"spec": SPEC, "timeout": timeout}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/jupyter-rpc/placement",
        data=body,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    t0 = time.monotonic()
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
    return time.monotonic() - t0, answer


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--down", choices=["closed", "silent"], default="closed")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=1.5, help="each cluster's bound, s")
    args = parser.parse_args()
    if not os.path.exists(SSH_CONFIG):
        raise SystemExit(
            f"no HPC test bed ({SSH_CONFIG} is missing): run sudo tests/hpc/testbed/up.sh"
        )

    silent = None
    if args.down == "silent":
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        down_port = silent.getsockname()[1]
    else:
        down_port = free_port()  # nothing listens there
    tmp = tempfile.mkdtemp(prefix="bench-placement-")
    os.makedirs(f"{tmp}/home")
    config = {
        "RPCApp": {
            "state_dir": f"{tmp}/state",
            "clusters": {
                "local": {"scheduler": "local", "roots": {"home": f"{tmp}/home"}},
                "testbed": {
                    "host": "testbed",
                    "ssh_config": SSH_CONFIG,
                    "scheduler": "slurm",
                    "cost_per_core_hour": 0.02,
                },
                "down": {
                    "host": "127.0.0.1",
                    "port": down_port,
                    "user": "nobody",
                    "ssh_config": False,
                    "scheduler": "slurm",
                },
            },
        }
    }
    proc, port, token = start_server(tmp, config)
    try:
        first, answer = rank(port, token, args.timeout)
        for entry in answer["placements"]:
            where = entry["cluster"] + (f"/{entry['partition']}" if entry["partition"] else "")
            print(f"  {entry['rank'] or '-'}  {where:16} {entry['status']:12} {entry['reason']}")
        times = [rank(port, token, args.timeout)[0] for _ in range(args.rounds)]
        print(
            f"3 clusters, 'down' {args.down} (bound {args.timeout:g} s): first {first * 1000:.0f} ms "
            f"(fresh SSH), then median {statistics.median(times) * 1000:.0f} ms, "
            f"worst {max(times) * 1000:.0f} ms over {args.rounds}"
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except Exception:  # noqa: BLE001
            proc.kill()
        if silent is not None:
            silent.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
