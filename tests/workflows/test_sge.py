"""Workflows on the HPC test bed's Grid Engine (issue 24): the demo's three steps as real
Grid Engine jobs chained with -hold_jid, submitted by one remote script over the pooled
SSH connection; a failed member named with its log; cancel. (Grid Engine's -hold_jid
waits for the end of a step, not its success: what the run says then is checked too.)"""

from __future__ import annotations

import asyncio
import functools
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.hpc import HPCTestbed
from tests.workflows import bed
from tests.workflows.bed import ENDED, ssh

CLUSTER = "grid"


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], hpc_testbed: HPCTestbed, tmp_path: Path, runs_dir: str
) -> dict[str, Any]:
    return bed.server_config(jp_server_config, hpc_testbed, tmp_path, runs_dir, CLUSTER, "sge")


@pytest.fixture
def runs(hpc_testbed: HPCTestbed, runs_dir: str) -> Any:
    """The job ids of the runs this test made: cancelled at the end (by id), and the runs'
    folders removed."""
    yield from bed.made_runs(hpc_testbed, runs_dir, "qdel")


submit = functools.partial(bed.submit, cluster=CLUSTER)
wait_run = functools.partial(bed.wait_run, cluster=CLUSTER)


@pytest.fixture(autouse=True)
def grid_engine(hpc_testbed: HPCTestbed) -> None:
    if ssh(hpc_testbed, "qstat -xml >/dev/null").returncode != 0:
        pytest.skip("Grid Engine is not up on the test bed (sudo tests/hpc/testbed/sge_up.sh)")


async def test_three_steps_run_to_the_end_on_grid_engine(
    rpc: Any, runs: list[str], hpc_testbed: HPCTestbed
) -> None:
    run = await submit(rpc, runs, {"label": "on grid engine", "scale": 5})
    ids = [s["job_id"] for s in run["steps"]]
    assert all(i.isdigit() for i in ids), ids
    shown = ssh(hpc_testbed, f"qstat -j {ids[2]}").stdout
    assert "jid_predecessor_list" in shown and ids[1] in shown, shown
    done = await wait_run(rpc, run["id"], ENDED)
    assert done["state"] == "completed", done
    assert done["steps"][1]["tasks"] == {"completed": 4}, done["steps"][1]
    outputs = {o["path"]: o for o in done["outputs"]}
    status, model = await rpc(
        "GET", "clusters", "grid", "files", outputs["results/summary.txt"]["drive_path"]
    )
    assert status == 200 and model["content"] == "label: on grid engine\nmembers: 4\ntotal: 50\n"


async def test_a_failed_member_is_named_on_grid_engine(rpc: Any, runs: list[str]) -> None:
    run = await submit(rpc, runs, {"label": "f", "fail_member": 4})
    done = await wait_run(rpc, run["id"], ENDED)
    assert done["state"] == "failed", done
    assert done["failed_step"] == "simulate"
    assert done["message"].startswith("Step 'simulate' failed (exit code 3)"), done["message"]
    assert "member 4: failing on purpose" in done["log_tail"], done["log_tail"]
    deadline = time.monotonic() + 30
    while done["steps"][2]["state"] not in ENDED:  # the server cancels it if it runs
        assert time.monotonic() < deadline, done
        await asyncio.sleep(1.0)
        done = (await rpc("GET", "clusters", "grid", "runs", run["id"]))[1]
    collect = done["steps"][2]
    # -hold_jid waits for the end only: collect is cancelled if the server saw the
    # failure first, else it ran; the run never claims a cancel that did not happen
    assert collect["state"] in {"cancelled", "completed", "failed"}, collect
    if collect["state"] == "cancelled":
        assert "'collect' was cancelled" in done["message"]


async def test_cancel_ends_every_step_on_grid_engine(
    rpc: Any, runs: list[str], hpc_testbed: HPCTestbed
) -> None:
    run = await submit(rpc, runs, {"label": "c", "seconds": 120})
    await wait_run(rpc, run["id"], {"running"})
    status, cancelled = await rpc("DELETE", "clusters", "grid", "runs", run["id"])
    assert status == 200, cancelled
    done = await wait_run(rpc, run["id"], ENDED, timeout=60)
    assert done["state"] == "cancelled", done
    assert [s["state"] for s in done["steps"]][1:] == ["cancelled", "cancelled"], done
    ids = ",".join(s["job_id"] for s in run["steps"])
    assert ssh(
        hpc_testbed, f"qstat -j {ids} 2>/dev/null | grep -c '^job_number'"
    ).stdout.strip() in ("", "0")
