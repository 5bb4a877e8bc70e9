"""Listing a cluster's jobs: jupyter_rpc (warm SSH pool) beside a fresh ``ssh host squeue``
(or, with ``--scheduler sge``, a fresh ``ssh host qstat -xml``).

Needs the HPC test bed (``sudo tests/hpc/testbed/up.sh``; for Grid Engine also
``sge_up.sh``). Submits ``--jobs`` held jobs as the test user (one ssh command, a loop of
``sbatch --hold`` or ``qsub -h``), then, in one run, taking turns:

* ``ssh``: ``ssh -F ssh_config testbed squeue -h -u USER -r -o FORMAT`` (Grid Engine:
  ``qstat -xml -u USER``) as a fresh command each time (what a panel without a pool costs
  per refresh),
* ``jupyter_rpc``: ``GET /jupyter-rpc/clusters/testbed/jobs`` of a real Jupyter server
  (its SSH connection kept open; ``jobs_refresh_min=0`` so every request asks Slurm),
  the answer's bytes read as the ssh's output is, neither side parsed in the timing,

and prints the medians side by side as a ratio. Beside them, the scheduler's command that
jupyter_rpc runs, timed on the login node itself (``qstat -xml``, with the requests of the
last ``qstat -r`` kept; Slurm: its ``squeue``):
the floor of any tool that asks the scheduler at each refresh, so ``fresh / floor`` is the
best ratio such a tool can reach. It then opens three "views" polling at
the panel's default interval (15 s, compressed with ``--interval``) for ``--seconds`` and
counts the scheduler queries the server made (one shared query serves all views).
Every job it submitted is cancelled at the end (by id).

    python benchmarks/bench_jobs.py [--scheduler slurm|sge] [--jobs 2000] [--rounds 15]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from bench_calls import start_server  # noqa: E402

TB = os.environ.get("TESTBED_DIR", "/var/lib/hpc-testbed")
SSH_CONFIG = f"{TB}/keys/ssh_config"
USER = os.environ.get("TESTBED_USER", "hpcuser")
FORMAT = "%i|%j|%T|%P|%M|%l|%R|%u"


def ssh(command: str, timeout: float = 600) -> str:
    out = subprocess.run(
        ["ssh", "-F", SSH_CONFIG, "testbed", command],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return out.stdout


def submit_held(n: int, scheduler: str) -> list[str]:
    if scheduler == "sge":
        # eight loops at once: one qsub takes about 0.2 s here (its round trips to qmaster)
        per_loop = -(-n // 8)
        loops = [min(per_loop, n - k * per_loop) for k in range(8) if n - k * per_loop > 0]
        script = " ".join(
            f"(for i in $(seq {m}); do echo true | qsub -terse -h -N bench-list -l h_rt=60; done) &"
            for m in loops
        )
        script += " wait"
        return [line for line in ssh(script).split() if line.strip().isdigit()]
    script = (
        f"for i in $(seq {n}); do sbatch --parsable --hold --time=1 -J bench-list --wrap true; done"
    )
    return [line.split(";")[0] for line in ssh(script).split() if line.strip()]


def cancel(ids: list[str], scheduler: str) -> None:
    command = "qdel" if scheduler == "sge" else "scancel"
    for i in range(0, len(ids), 500):
        try:
            ssh(f"{command} " + " ".join(ids[i : i + 500]))
        except subprocess.CalledProcessError as exc:  # some had ended: the others are gone
            print(f"  {command}: {exc.stderr.strip()[:200]}")


def list_command(scheduler: str) -> str:
    """What a fresh ssh runs to list the user's jobs, machine-readable."""
    if scheduler == "sge":
        return f"qstat -xml -u {USER}"
    return f"squeue -h --noconvert -r -u {USER} -o '{FORMAT}'"


def floor_command(scheduler: str) -> str:
    """What jupyter_rpc runs to list the jobs, timed on the login node (prints ns)."""
    if scheduler == "sge":  # between the -r listings (a new job, a minute): see sge._listing
        command = f"qstat -xml -u {USER}"
    else:
        from jupyter_rpc.schedulers import slurm_parse

        form = shlex.quote(f"--format={slurm_parse.squeue_format()}")
        command = f"squeue -h --noconvert -r -u {USER} {form}"
    return f"s=$(date +%s%N); {command} >/dev/null; e=$(date +%s%N); echo $((e - s))"


def count(out: str, scheduler: str) -> int:
    return out.count("<job_list") if scheduler == "sge" else len(out.splitlines())


def get_bytes(port: int, token: str, path: str) -> bytes:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/jupyter-rpc/{path}", headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return bytes(response.read())


def get(port: int, token: str, path: str) -> dict:
    return dict(json.loads(get_bytes(port, token, path)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scheduler", choices=["slurm", "sge"], default="slurm")
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--existing", action="store_true", help="list the test user's jobs as they are: submit none"
    )
    parser.add_argument("--views", type=int, default=3)
    parser.add_argument(
        "--interval", type=float, default=15.0, help="the panel's refresh interval, seconds"
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the views poll")
    args = parser.parse_args()
    if not os.path.exists(SSH_CONFIG):
        raise SystemExit(
            f"no HPC test bed ({SSH_CONFIG} is missing): run sudo tests/hpc/testbed/up.sh"
        )

    if args.existing:
        ids: list[str] = []  # the jobs already there, none of ours to cancel
    else:
        print(f"submitting {args.jobs} held jobs ...", flush=True)
        t0 = time.monotonic()
        ids = submit_held(args.jobs, args.scheduler)
        print(f"  {len(ids)} jobs in {time.monotonic() - t0:.1f} s")
    tmp = tempfile.mkdtemp(prefix="bench-jobs-")
    try:
        cluster = {
            "host": "testbed",
            "ssh_config": SSH_CONFIG,
            "scheduler": args.scheduler,
        }
        config = {
            "RPCApp": {
                "clusters": {"testbed": cluster},
                "jobs_refresh_min": 0.0,
                "state_dir": f"{tmp}/state",
            }
        }
        proc, port, token = start_server(tmp, config)
        try:
            first = get(port, token, "clusters/testbed/jobs")  # opens the SSH connection
            mine = [j for j in first["jobs"] if j["name"] == "bench-list" and j["id"] in ids]
            print(
                f"jupyter_rpc sees {len(first['jobs'])} jobs of {first['user']} ({len(mine)} from this run)"
            )
            fresh: list[float] = []
            pooled: list[float] = []
            alone: list[float] = []
            sizes = []
            for _ in range(args.rounds):
                t = time.perf_counter()
                out = ssh(list_command(args.scheduler))
                fresh.append(time.perf_counter() - t)
                sizes.append(count(out, args.scheduler))
                t = time.perf_counter()
                body = get_bytes(port, token, "clusters/testbed/jobs")
                pooled.append(time.perf_counter() - t)
                # read, not parsed, in the timing, as the fresh ssh's XML is
                alone.append(int(ssh(floor_command(args.scheduler)).split()[-1]) / 1e9)
            f, p = statistics.median(fresh), statistics.median(pooled)
            a = statistics.median(alone)
            listed = len(json.loads(body)["jobs"])
            if listed != sizes[-1]:
                print(f"  (jupyter_rpc listed {listed} jobs, the fresh ssh {sizes[-1]})")
            print(f"\nlist {sizes[0]} jobs, median of {args.rounds} (p95 in brackets)")
            print(
                f"  fresh ssh + {'qstat -xml' if args.scheduler == 'sge' else 'squeue    '}  {f * 1000:8.1f} ms  ({sorted(fresh)[int(0.95 * len(fresh)) - 1] * 1000:.1f})"
            )
            print(
                f"  jupyter_rpc REST (pool) {p * 1000:8.1f} ms  ({sorted(pooled)[int(0.95 * len(pooled)) - 1] * 1000:.1f})"
            )
            floor_name = "qstat -xml" if args.scheduler == "sge" else "squeue (ours)"
            print(
                f"  {floor_name} alone on the login node {a * 1000:8.1f} ms  ({sorted(alone)[int(0.95 * len(alone)) - 1] * 1000:.1f})"
            )
            print(f"  ratio fresh / jupyter_rpc: {f / p:.2f}x faster")
            print(
                f"  jupyter_rpc's cost over its command: {(p - a) * 1000:.1f} ms; the best ratio "
                f"any tool running that command per refresh can reach: {f / a:.2f}x"
            )
        finally:
            proc.terminate()
            proc.wait(timeout=20)

        # Scheduler queries caused by open panels: the server's default sharing window.
        config["RPCApp"]["jobs_refresh_min"] = 5.0
        proc, port, token = start_server(tmp, config)
        try:
            stop = time.monotonic() + args.seconds
            requests = [0]

            def view() -> None:
                while time.monotonic() < stop:
                    get(port, token, "clusters/testbed/jobs")
                    requests[0] += 1
                    time.sleep(args.interval)

            threads = [threading.Thread(target=view) for _ in range(args.views)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            queries = get(port, token, "clusters/testbed")["stats"]["job_queries"]
            per_minute = queries * 60.0 / args.seconds
            print(
                f"\n{args.views} open views polling every {args.interval:g} s for {args.seconds:g} s: "
                f"{requests[0]} list requests, {queries} {'qstat' if args.scheduler == 'sge' else 'squeue'} commands ({per_minute:.1f} per minute)"
            )
        finally:
            proc.terminate()
            proc.wait(timeout=20)

    finally:
        # every path (a failed listing too): the held jobs would wait in the queue for ever
        print("cancelling the benchmark's jobs ...", flush=True)
        cancel(ids, args.scheduler)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
