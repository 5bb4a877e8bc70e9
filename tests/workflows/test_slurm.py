"""Workflows on the HPC test bed's Slurm (issue 24): the demo's three-step template as
real Slurm jobs chained with --dependency=afterok, submitted by one remote script over the
pooled SSH connection; a failed member, shell metacharacters, values refused before
anything is submitted, cancel."""

from __future__ import annotations

import functools
import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.hpc import HPCTestbed
from tests.workflows import bed
from tests.workflows.bed import ENDED, ssh

CLUSTER = "testbed"


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], hpc_testbed: HPCTestbed, tmp_path: Path, runs_dir: str
) -> dict[str, Any]:
    return bed.server_config(jp_server_config, hpc_testbed, tmp_path, runs_dir, CLUSTER, "slurm")


@pytest.fixture
def runs(hpc_testbed: HPCTestbed, runs_dir: str) -> Any:
    """The job ids of the runs this test made: cancelled at the end (by id), and the runs'
    folders removed."""
    yield from bed.made_runs(hpc_testbed, runs_dir, "scancel")


submit = functools.partial(bed.submit, cluster=CLUSTER)
wait_run = functools.partial(bed.wait_run, cluster=CLUSTER)


async def test_three_steps_run_to_the_end_on_slurm(
    rpc: Any, runs: list[str], hpc_testbed: HPCTestbed
) -> None:
    run = await submit(rpc, runs, {"label": "on slurm", "scale": 3})
    ids = [s["job_id"] for s in run["steps"]]
    assert all(i.isdigit() for i in ids), ids
    # chained by Slurm itself: the later steps wait on the earlier ones' ids
    shown = ssh(hpc_testbed, f"scontrol show job {ids[2]}").stdout
    assert f"Dependency=afterok:{ids[1]}" in shown, shown
    done = await wait_run(rpc, run["id"], ENDED)
    assert done["state"] == "completed", done
    assert done["steps"][1]["tasks"] == {"completed": 4}, done["steps"][1]
    assert done["message"] == "Every step completed."
    outputs = {o["path"]: o for o in done["outputs"]}
    assert "results/summary.txt" in outputs and len(outputs) == 6, outputs
    drive = outputs["results/summary.txt"]["drive_path"]
    assert drive and drive.startswith("home/jupyter-rpc-test-runs/"), drive
    status, model = await rpc("GET", "clusters", "testbed", "files", drive)
    assert status == 200 and model["content"] == "label: on slurm\nmembers: 4\ntotal: 30\n"
    status, listing = await rpc("GET", "clusters", "testbed", "runs")
    assert status == 200 and run["id"] in [r["id"] for r in listing["runs"]]


async def test_a_failed_member_cancels_collect_on_slurm(rpc: Any, runs: list[str]) -> None:
    run = await submit(rpc, runs, {"label": "f", "fail_member": 3})
    done = await wait_run(rpc, run["id"], ENDED)
    assert done["state"] == "failed", done
    assert done["failed_step"] == "simulate"
    steps = {s["name"]: s for s in done["steps"]}
    assert steps["simulate"]["exit_code"] == 3, steps["simulate"]
    assert steps["collect"]["state"] == "cancelled", steps["collect"]
    assert done["message"] == "Step 'simulate' failed (exit code 3); 'collect' was cancelled."
    assert "member 3: failing on purpose" in done["log_tail"], done["log_tail"]


async def test_shell_characters_arrive_literally_on_slurm(
    rpc: Any, runs: list[str], hpc_testbed: HPCTestbed, runs_dir: str
) -> None:
    marker = f"/tmp/jrpc-wf-{secrets.token_hex(4)}"
    label = f"'; touch {marker}; ' $(touch {marker}) `touch {marker}` \" && touch {marker}"
    run = await submit(rpc, runs, {"label": label})
    done = await wait_run(rpc, run["id"], ENDED)
    assert done["state"] == "completed", done
    written = ssh(hpc_testbed, f"cat ~/{runs_dir}/{run['id']}/results/label.txt").stdout
    assert written == label + "\n"
    assert ssh(hpc_testbed, f"test -e {marker}").returncode != 0


async def test_out_of_bounds_is_refused_before_anything_is_submitted_on_slurm(
    rpc: Any, hpc_testbed: HPCTestbed, runs_dir: str
) -> None:
    before = ssh(hpc_testbed, "squeue -h --me -o %i").stdout
    for values, field in (
        ({"label": "x", "scale": 0}, "scale"),
        ({"label": "x", "cpus": 0}, "cpus"),
    ):
        status, error = await rpc(
            "POST", "clusters", "testbed", "workflows", "three-steps", body={"values": values}
        )
        assert status == 400 and error["code"] == "request.schema", error
        assert field in error["message"]
    # the bed's partitions allow at most 2 CPUs: the scheduler's limit, before submitting
    status, error = await rpc(
        "POST", "clusters", "testbed", "workflows", "three-steps",
        body={"values": {"label": "x", "cpus": 64}},
    )  # fmt: skip
    assert status == 400, error
    assert ssh(hpc_testbed, "squeue -h --me -o %i").stdout == before
    assert ssh(hpc_testbed, f"test -e ~/{runs_dir}").returncode != 0


async def test_cancel_ends_every_step_on_slurm(
    rpc: Any, runs: list[str], hpc_testbed: HPCTestbed
) -> None:
    run = await submit(rpc, runs, {"label": "c", "seconds": 120})
    await wait_run(rpc, run["id"], {"running"})
    status, cancelled = await rpc("DELETE", "clusters", "testbed", "runs", run["id"])
    assert status == 200, cancelled
    done = await wait_run(rpc, run["id"], ENDED, timeout=30)
    assert done["state"] == "cancelled", done
    assert [s["state"] for s in done["steps"]] == ["completed", "cancelled", "cancelled"], done
    ids = " ".join(s["job_id"] for s in run["steps"])
    left = ssh(hpc_testbed, f"squeue -h -o '%i %T' -j {ids.replace(' ', ',')}").stdout
    assert not [line for line in left.splitlines() if "PENDING" in line or "RUNNING" in line], left
