"""What the workflow tests on the HPC test bed share (test_slurm, test_sge): the server's
config with the demo's templates, a command on the login node, the runs a test made
cancelled and removed at its end, and submitting and reading a run of the demo's
three steps on one of the bed's clusters."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.fixtures.hpc import HPCTestbed
from tests.schedulers.bed import server_config as bed_config

DEMO = Path(__file__).resolve().parents[2] / "demo" / "workflows"
ENDED = {"completed", "failed", "cancelled"}


def ssh(tb: HPCTestbed, command: str) -> subprocess.CompletedProcess[str]:
    """A command on the bed's login node, the way a user would check by hand."""
    return subprocess.run(
        ["ssh", "-F", tb.ssh_config, "-p", str(tb.port), "-i", tb.key,
         "-o", f"UserKnownHostsFile={tb.known_hosts}", "-o", "BatchMode=yes",
         f"{tb.user}@127.0.0.1", command],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def server_config(
    jp_server_config: dict[str, Any],
    tb: HPCTestbed,
    tmp_path: Path,
    runs_dir: str,
    cluster: str,
    scheduler: str,
) -> dict[str, Any]:
    """The bed's ``cluster`` (``scheduler``) with the demo's templates, runs in ``runs_dir``."""
    config = bed_config(jp_server_config, tb, tmp_path, cluster, scheduler=scheduler)
    config["RPCApp"].update(
        workflow_dirs=[str(DEMO)], workflow_runs_dir=runs_dir, workflow_poll=1.0
    )
    return config


def made_runs(tb: HPCTestbed, runs_dir: str, cancel: str) -> Iterator[list[str]]:
    """For a fixture: the job ids of the runs a test made, cancelled at its end by id with
    ``cancel`` (scancel, qdel), and the runs' folders removed."""
    made: list[str] = []
    yield made
    if made:
        ssh(tb, f"{cancel} {' '.join(made)}")
    ssh(tb, f"rm -rf -- ~/{runs_dir}")


async def submit(
    rpc: Any, runs: list[str], values: dict[str, Any], *, cluster: str
) -> dict[str, Any]:
    """A run of the demo's three steps on ``cluster``; its jobs are added to ``runs``."""
    status, run = await rpc(
        "POST", "clusters", cluster, "workflows", "three-steps", body={"values": values}
    )
    assert status == 201, run
    runs.extend(s["job_id"] for s in run["steps"])
    return run


async def wait_run(
    rpc: Any, run_id: str, states: set[str], timeout: float = 90, *, cluster: str
) -> dict[str, Any]:
    """The run once it is in one of ``states`` (read every second, up to ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while True:
        status, run = await rpc("GET", "clusters", cluster, "runs", run_id)
        assert status == 200, run
        if run["state"] in states:
            return run
        assert time.monotonic() < deadline, f"run stayed {run['state']}: {run}"
        await asyncio.sleep(1.0)
