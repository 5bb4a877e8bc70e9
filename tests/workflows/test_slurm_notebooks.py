"""Notebooks as Slurm jobs on the HPC test bed (issue 24: "a notebook with a parameters
cell runs as a Slurm job with other parameters and comes back executed with the new
values in its outputs; one with a failing cell reports the cell"): the REST route the
panel and the notebook client use, real Slurm, real nbclient and ipykernel in a venv of
the bed's user (``~/nbenv``, the versions of requirements/dev.txt)."""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.hpc import HPCTestbed
from tests.workflows import bed
from tests.workflows.bed import ENDED

CLUSTER = "testbed"
#: What the bed user's notebook environment holds (pinned as requirements/dev.txt pins them).
PACKAGES = ("nbclient==0.11.0", "nbformat==5.11.1", "ipykernel==7.4.0", "jupyter-client==8.10.0")
ENVIRONMENT = "source ~/nbenv/bin/activate"

wait_run = functools.partial(bed.wait_run, cluster=CLUSTER)


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


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], hpc_testbed: HPCTestbed, tmp_path: Path, runs_dir: str
) -> dict[str, Any]:
    return bed.server_config(jp_server_config, hpc_testbed, tmp_path, runs_dir, CLUSTER, "slurm")


@pytest.fixture
def runs(hpc_testbed: HPCTestbed, runs_dir: str) -> Any:
    yield from bed.made_runs(hpc_testbed, runs_dir, "scancel")


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
