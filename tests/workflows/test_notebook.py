"""Workflows from notebook code (issue 24): ``hpc.workflows()``, ``hpc.run_workflow``,
``run.wait()``, ``run.outputs``, ``run.cancel()``, blocking and with
``asynchronous=True``, against a real server with the local cluster's real processes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import jupyter_rpc
from jupyter_rpc.notebook.client import RemoteError
from jupyter_rpc.notebook.workflows import WorkflowFailed, WorkflowRun

DEMO = Path(__file__).resolve().parents[2] / "demo" / "workflows"
SLEEPER = {
    "steps": [
        {"name": "first", "script": "#!/bin/bash\nsleep 60\n"},
        {"name": "second", "after": ["first"], "script": "#!/bin/bash\nsleep 60\n"},
    ]
}


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], with_local_cluster: Any, home: Path
) -> dict[str, Any]:
    return with_local_cluster(
        jp_server_config,
        home,
        jobs_refresh_min=0.0,
        workflow_dirs=[str(DEMO)],
        workflows={"sleeper": SLEEPER},
    )


async def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    # The client blocks (notebook code); the server under test runs on this test's loop.
    return await asyncio.to_thread(fn, *args, **kwargs)


async def test_run_wait_outputs_and_a_failure_from_python(server_url: tuple[str, str]) -> None:
    url, token = server_url
    hpc = await in_thread(jupyter_rpc.cluster, "local", url=url, token=token)
    names = (await in_thread(hpc.workflows)).names
    assert "three-steps" in names and "sleeper" in names
    run = await in_thread(hpc.run_workflow, "three-steps", label="from python", scale=2, hours=0.5)
    assert isinstance(run, WorkflowRun) and run.workflow == "three-steps"
    assert run.inputs["hours"] == 0.5
    done = await in_thread(run.wait, timeout=60, poll=0.3)
    assert done is run and run.info["state"] == "completed"
    outputs = await in_thread(lambda: run.outputs)
    assert "results/summary.txt" in outputs.paths
    summary = next(o for o in outputs if o["path"] == "results/summary.txt")
    text = await in_thread(hpc.files.read_text, summary["drive_path"])
    assert text == "label: from python\nmembers: 4\ntotal: 20\n"
    assert run.id in [r.id for r in await in_thread(hpc.runs)]

    bad = await in_thread(hpc.run_workflow, "three-steps", label="x", fail_member=1)
    with pytest.raises(WorkflowFailed) as failed:
        await in_thread(bad.wait, timeout=60, poll=0.3)
    assert failed.value.details["step"] == "simulate"
    assert "Step 'simulate' failed (exit code 3); 'collect' was cancelled." in str(failed.value)
    assert "member 1: failing on purpose" in str(failed.value)

    with pytest.raises(RemoteError) as refused:
        await in_thread(hpc.run_workflow, "three-steps", label="x", scale=101)
    assert refused.value.code == "request.schema" and "scale" in str(refused.value)


async def test_asynchronous_runs_and_cancel(server_url: tuple[str, str]) -> None:
    url, token = server_url
    hpc = await in_thread(jupyter_rpc.cluster, "local", url=url, token=token, asynchronous=True)
    runs = await asyncio.gather(
        *(hpc.run_workflow("three-steps", label=f"run {i}") for i in range(2))
    )
    done = await asyncio.gather(*(r.wait(timeout=90, poll=0.3) for r in runs))
    assert [r.info["state"] for r in done] == ["completed", "completed"]
    sleeper = await hpc.run_workflow("sleeper")
    waiting = asyncio.ensure_future(sleeper.wait(poll=0.2))
    await asyncio.sleep(1.0)
    waiting.cancel()  # stops waiting at once; the run goes on
    with pytest.raises(asyncio.CancelledError):
        await waiting
    cancelled = await sleeper.cancel()
    assert cancelled.info["state"] == "cancelled"
    assert [s["state"] for s in cancelled.steps] == ["cancelled", "cancelled"]
