"""``jupyter_rpc.place(...)`` from notebook code (issue 15): a real Jupyter server with
the local cluster and the test bed's Slurm (partitions debug, 1 h, and long)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import pytest

import jupyter_rpc
from jupyter_rpc.notebook.client import RemoteError
from tests.fixtures.hpc import HPCTestbed


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], home: Path, with_local_cluster: Any, hpc_testbed: HPCTestbed
) -> dict[str, Any]:
    config = with_local_cluster(jp_server_config, home)
    tb = hpc_testbed
    config["RPCApp"]["clusters"]["testbed"] = {
        "host": "127.0.0.1",
        "port": tb.port,
        "user": tb.user,
        "identity_file": tb.key,
        "known_hosts": tb.known_hosts,
        "ssh_config": False,
        "scheduler": "slurm",
        "cost_per_core_hour": 0.01,
        "cost_unit": "credits",
    }
    return config


@pytest.fixture
def slurm_jobs(hpc_testbed: HPCTestbed):
    """Slurm job ids this test submitted; cancelled at the end (only these, by id)."""
    ids: list[str] = []
    yield ids
    if ids:
        subprocess.run(
            ["ssh", "-F", hpc_testbed.ssh_config, "testbed", "scancel " + " ".join(ids)],
            check=False,
            timeout=60,
            capture_output=True,
        )


async def test_place_ranks_and_submits_to_the_chosen_entry(
    server_url: tuple[str, str], slurm_jobs: list[str]
) -> None:
    url, token = server_url
    options = await asyncio.to_thread(
        jupyter_rpc.place,
        "echo placed\n",
        cpus=1,
        time_limit="1:30:00",  # over debug's hour
        clusters=["testbed"],
        url=url,
        token=token,
    )
    rows = {(r["cluster"], r["partition"]): r for r in options}
    assert rows[("testbed", "debug")]["status"] == "refused"
    best = options.best
    assert best is not None and (best["cluster"], best["partition"]) == ("testbed", "long")
    assert best.expected_start is not None
    text = repr(options)
    assert text.splitlines()[0].split() == [
        "#",
        "cluster",
        "partition",
        "status",
        "starts",
        "cost",
        "reason",
    ]
    assert "0.015 credits" in text  # 1.5 core-hours × 0.01
    assert "<table>" in options._repr_html_()

    job = await asyncio.to_thread(best.submit, name="placed-job")
    slurm_jobs.append(job.id)
    await asyncio.to_thread(job.refresh)
    info = job.info
    assert info["partition"] == "long" and info["name"] == "placed-job", info
    assert info["time_limit"] == 90 * 60, info

    with pytest.raises(RemoteError, match="cannot take this job"):
        await asyncio.to_thread(rows[("testbed", "debug")].submit)


async def test_place_asynchronous_runs_on_the_local_cluster(server_url: tuple[str, str]) -> None:
    url, token = server_url
    options = await jupyter_rpc.place(
        "echo hi\n", clusters=["local"], url=url, token=token, asynchronous=True
    )
    assert [(r["cluster"], r["status"], r["rank"]) for r in options] == [("local", "ok", 1)]
    job = await options.best.submit()
    await job.wait(timeout=30, poll=0.5)
    assert job.state == "completed" and job.exit_code == 0
