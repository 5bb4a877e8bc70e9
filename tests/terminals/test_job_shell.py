"""A shell on a running Slurm job's node (HPC test bed): the terminal runs ``srun
--jobid=ID --overlap --pty`` inside the job, so ``$SLURM_JOB_ID`` is the job's; a job
that does not run is refused with job.not_running."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.hpc import HPCTestbed


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], hpc_testbed: HPCTestbed, tmp_path: Any
) -> dict[str, Any]:
    tb = hpc_testbed
    ssh = {
        "host": "127.0.0.1",
        "port": tb.port,
        "user": tb.user,
        "identity_file": tb.key,
        "known_hosts": tb.known_hosts,
        "ssh_config": False,
    }
    return {
        **jp_server_config,
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {
                "slurm": {**ssh, "scheduler": "slurm"},
                "plain": {**ssh, "scheduler": "none"},
            },
            "state_dir": str(tmp_path / "state"),
            "jobs_refresh_min": 0.0,
        },
    }


@pytest.fixture
def submitted(hpc_testbed: HPCTestbed) -> Iterator[list[str]]:
    """Job ids this test submitted; cancelled at the end (only these, by id)."""
    ids: list[str] = []
    yield ids
    if ids:
        subprocess.run(
            ["ssh", "-F", hpc_testbed.ssh_config, "testbed", "scancel " + " ".join(ids)],
            check=False,
            timeout=30,
        )


async def test_a_shell_inside_a_running_job(rpc: Any, term_ws: Any, submitted: list[str]) -> None:
    status, job = await rpc(
        "POST",
        "clusters",
        "slurm",
        "jobs",
        body={"script": "#!/bin/sh\nsleep 300\n", "time_limit": 10, "name": "jrpc-term"},
    )
    assert status == 201, job
    job_id = str(job["id"])
    submitted.append(job_id)
    # pending: refused, saying why
    status, err = await rpc("POST", "clusters", "slurm", "terminals", body={"job": job_id})
    if status == 409:
        assert err["code"] == "job.not_running" and job_id in err["message"], err
    end = time.monotonic() + 60
    while True:
        status, info = await rpc("GET", "clusters", "slurm", "jobs", job_id)
        if info.get("state") == "running":
            break
        assert time.monotonic() < end, f"the job did not start: {info}"
        await asyncio.sleep(0.5)
    status, model = await rpc("POST", "clusters", "slurm", "terminals", body={"job": job_id})
    assert status == 201 and model["job"] == job_id, model
    term = await term_ws("slurm", model["name"])
    assert (await term.run("echo $SLURM_JOB_ID", timeout=20)).strip() == job_id
    status, _ = await rpc("DELETE", "clusters", "slurm", "terminals", model["name"])
    assert status == 204
    status, info = await rpc("GET", "clusters", "slurm", "jobs", job_id)
    assert info["state"] == "running"  # the job goes on; only its interactive step ended


async def test_a_job_shell_needs_slurm(rpc: Any) -> None:
    status, err = await rpc("POST", "clusters", "plain", "terminals", body={"job": "1"})
    assert status == 404 and err["code"] == "cluster.no_scheduler", err
    status, err = await rpc("POST", "clusters", "slurm", "terminals", body={"job": "1;rm"})
    assert status == 400 and "job" in err["message"], err
