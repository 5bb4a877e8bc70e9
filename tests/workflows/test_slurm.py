"""Workflows on the HPC test bed's Slurm (issue 24): the demo's three-step template as
real Slurm jobs chained with --dependency=afterok, submitted by one remote script over the
pooled SSH connection; a failed member, shell metacharacters, values refused before
anything is submitted, cancel; and notebooks run as Slurm jobs."""

from __future__ import annotations

import functools
import json
import secrets
import subprocess
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


# -- notebooks as Slurm jobs -----------------------------------------------------------
# "A notebook with a parameters cell runs as a Slurm job with other parameters and comes
# back executed with the new values in its outputs; one with a failing cell reports the
# cell": the REST route the panel and the notebook client use, real nbclient and ipykernel
# in a venv of the bed's user (~/nbenv, the versions of requirements/dev.txt).

#: What the bed user's notebook environment holds (pinned as requirements/dev.txt pins them).
PACKAGES = ("nbclient==0.11.0", "nbformat==5.11.1", "ipykernel==7.4.0", "jupyter-client==8.10.0")
ENVIRONMENT = "source ~/nbenv/bin/activate"


@pytest.fixture(scope="module")
def nbenv(hpc_testbed: HPCTestbed) -> str:
    """``~/nbenv`` of the bed's user with nbclient and ipykernel (made when missing)."""
    wanted = " ".join(PACKAGES)
    script = (
        "d=~/nbenv; $d/bin/python -c 'import nbclient, ipykernel' 2>/dev/null || "
        f"{{ python3 -m venv $d && $d/bin/pip install -q --disable-pip-version-check {wanted}; }}"
    )
    done = subprocess.run(
        ["ssh", "-F", hpc_testbed.ssh_config, "testbed", script],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"the bed's notebook environment: {done.stderr[-800:]}"
    return ENVIRONMENT


def notebook(*cells: str) -> dict[str, Any]:
    """An nbformat 4 notebook of code cells, the first tagged ``parameters``."""
    return {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {"tags": ["parameters"]} if i == 0 else {},
                "execution_count": None,
                "outputs": [],
                "source": source,
            }
            for i, source in enumerate(cells)
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


async def run_notebook(
    rpc: Any, runs: list[str], nb: dict[str, Any], parameters: dict[str, Any], environment: str
) -> dict[str, Any]:
    status, run = await rpc(
        "POST",
        "clusters",
        CLUSTER,
        "notebooks",
        body={
            "notebook": nb,
            "name": "analysis.ipynb",
            "parameters": parameters,
            "values": {"environment": environment},
        },
    )
    assert status == 201, run
    runs.extend(s["job_id"] for s in run["steps"])
    return dict(run)


async def test_a_notebook_runs_as_a_slurm_job_with_other_parameters(
    rpc: Any, runs: list[str], nbenv: str, hpc_testbed: HPCTestbed
) -> None:
    nb = notebook(
        "n = 2\nlabel = 'default'",
        "import os\nprint(f'{label}: {n * 21} in job {os.environ.get(\"SLURM_JOB_ID\")}')",
    )
    run = await run_notebook(rpc, runs, nb, {"n": 3, "label": "it's $(x)"}, nbenv)
    assert run["id"].startswith("nb-analysis-")
    done = await wait_run(rpc, run["id"], ENDED, timeout=180)
    assert done["state"] == "completed", done
    assert done["progress"] == {"done": 3, "total": 3}, done
    (output,) = [o for o in done["outputs"] if o["path"] == "out.ipynb"]
    status, model = await rpc("GET", "clusters", CLUSTER, "files", output["drive_path"])
    assert status == 200, model
    executed = model["content"]
    if isinstance(executed, str):
        executed = json.loads(executed)
    tags = [c["metadata"].get("tags", []) for c in executed["cells"]]
    assert tags[:2] == [["parameters"], ["injected-parameters"]]
    printed = "".join(executed["cells"][2]["outputs"][0]["text"])
    job_id = run["steps"][0]["job_id"]
    assert printed == f"it's $(x): 63 in job {job_id}\n", printed


async def test_a_failing_cell_is_reported_from_slurm(rpc: Any, runs: list[str], nbenv: str) -> None:
    nb = notebook("d = 1", "x = 1", "1 / (d - 1)", "print('never')")
    run = await run_notebook(rpc, runs, nb, {"d": 1}, nbenv)
    done = await wait_run(rpc, run["id"], ENDED, timeout=180)
    assert done["state"] == "failed", done
    tail = done["log_tail"]
    assert "code cell 4 of 5 failed: ZeroDivisionError: division by zero" in tail, tail
    assert done["progress"] == {"done": 4, "total": 5}, done
    # the notebook as far as it ran comes back too
    assert "out.ipynb" in [o["path"] for o in done["outputs"]], done["outputs"]


async def test_an_environment_without_nbclient_says_so(rpc: Any, runs: list[str]) -> None:
    run = await run_notebook(rpc, runs, notebook("n = 1"), {}, "")
    done = await wait_run(rpc, run["id"], ENDED, timeout=180)
    assert done["state"] == "failed", done
    assert "this environment cannot run notebooks" in done["log_tail"], done["log_tail"]
    assert "pip install nbclient ipykernel" in done["log_tail"]
