"""Notebooks as cluster jobs (issue 24, the stretch): a notebook with a ``parameters``
cell runs headless as a job of the local cluster (real processes, a real kernel) with
other values and comes back executed with them in its outputs; one with a failing cell
names the cell and its error; parameters that are not Python names are refused before
anything is submitted."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import jupyter_rpc
from jupyter_rpc.notebook.client import RemoteError
from jupyter_rpc.notebook.workflows import WorkflowFailed

#: The job's environment: this test's Python (it has nbclient and ipykernel).
ENVIRONMENT = f"export PATH={Path(sys.executable).parent}:$PATH"


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], with_local_cluster: Any, home: Path
) -> dict[str, Any]:
    return with_local_cluster(jp_server_config, home, jobs_refresh_min=0.0)


def notebook(path: Path, *cells: str, tagged: int = 0) -> str:
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nb.cells[tagged].metadata["tags"] = ["parameters"]
    nbformat.write(nb, path)
    return str(path)


async def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kwargs)


async def test_a_notebook_runs_with_other_parameters_and_comes_back_executed(
    server_url: tuple[str, str], tmp_path: Path
) -> None:
    url, token = server_url
    path = notebook(
        tmp_path / "analysis.ipynb",
        "n = 2\nlabel = 'default'",
        "print(f'{label}: {n * 21}')",
    )
    hpc = await in_thread(jupyter_rpc.cluster, "local", url=url, token=token)
    run = await in_thread(
        hpc.run_notebook, path, {"n": 3, "label": "it's $(x)"}, environment=ENVIRONMENT
    )
    assert run.id.startswith("nb-analysis-")
    await in_thread(run.wait, timeout=120, poll=0.5)
    target = await in_thread(run.fetch_notebook, str(tmp_path / "executed.ipynb"))
    executed = json.loads(Path(target).read_text())  # noqa: ASYNC240 - a test
    tags = [c["metadata"].get("tags", []) for c in executed["cells"]]
    assert tags[:2] == [["parameters"], ["injected-parameters"]]
    assert 'label = "it\'s $(x)"' in "".join(executed["cells"][1]["source"])
    printed = "".join(executed["cells"][2]["outputs"][0]["text"])
    assert printed == "it's $(x): 63\n"


async def test_progress_counts_the_cells_run_while_it_runs(
    server_url: tuple[str, str], tmp_path: Path
) -> None:
    """The run says how many of its code cells have run (the issue's "cells done of
    total while it runs"): a cell waits for a file the test writes into the run folder."""
    url, token = server_url
    path = notebook(
        tmp_path / "slow.ipynb",
        "n = 1",
        "import os, time\nwhile not os.path.exists('go'):\n    time.sleep(0.1)",
        "print(n)",
    )
    hpc = await in_thread(jupyter_rpc.cluster, "local", url=url, token=token)
    run = await in_thread(hpc.run_notebook, path, {"n": 2}, environment=ENVIRONMENT)
    go = Path(run.folder) / "go"
    try:
        end = asyncio.get_running_loop().time() + 60
        while True:  # the parameters cell and the injected one ran; the third waits
            await in_thread(run.refresh)
            if run.progress == (2, 4):
                break
            assert run.progress in (None, (0, 4), (1, 4)), run.info
            assert asyncio.get_running_loop().time() < end, run.info
            await asyncio.sleep(0.3)
        assert run.info["state"] == "running", run.info
    finally:
        go.write_text("")  # noqa: ASYNC240 - a test; the job ends, whatever was seen
    await in_thread(run.wait, timeout=120, poll=0.5)
    await in_thread(run.refresh)
    assert run.progress == (4, 4), run.info


async def test_a_failing_cell_is_named(server_url: tuple[str, str], tmp_path: Path) -> None:
    url, token = server_url
    path = notebook(tmp_path / "broken.ipynb", "d = 1", "x = 1", "1 / (d - 1)", "print('never')")
    hpc = await in_thread(jupyter_rpc.cluster, "local", url=url, token=token)
    run = await in_thread(hpc.run_notebook, path, {"d": 1}, environment=ENVIRONMENT)
    with pytest.raises(WorkflowFailed) as failed:
        await in_thread(run.wait, timeout=120, poll=0.5)
    text = str(failed.value)
    assert "code cell 4 of 5 failed: ZeroDivisionError: division by zero" in text, text
    await in_thread(run.refresh)
    assert run.progress == (4, 5), run.info  # the failing cell ran too
    # the notebook as far as it ran comes back too
    saved = await in_thread(run.fetch_notebook, str(tmp_path / "b.ipynb"))
    executed = json.loads(Path(saved).read_text())  # noqa: ASYNC240 - a test
    assert executed["cells"][3]["outputs"][0]["ename"] == "ZeroDivisionError"
    with pytest.raises(RemoteError) as refused:
        await in_thread(hpc.run_notebook, path, {"not a name": 1})
    assert refused.value.code == "request.schema" and "not a name" in str(refused.value)
