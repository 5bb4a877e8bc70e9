"""Runs are found again after a restart (issue 24): a new service (a restarted server,
its memory empty) reads the runs' run.json from the cluster's runs folder and shows them
with their steps, states and outputs; a damaged run.json loses that run only. Tornado-
free, as the services are (docs/architecture.md)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from jupyter_rpc.errors import NotFound
from jupyter_rpc.services.clusters import ClusterRegistry
from jupyter_rpc.services.workflow_runs import WorkflowService
from jupyter_rpc.services.workflows import WorkflowCatalog

DEMO = Path(__file__).resolve().parents[2] / "demo" / "workflows"


def service(tmp_path: Path) -> WorkflowService:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    clusters = ClusterRegistry(
        {"local": {"scheduler": "local", "roots": {"home": str(home)}, "workdir": str(home)}},
        state_dir=tmp_path / "state",
        refresh_min=0.0,
    )
    return WorkflowService(clusters, WorkflowCatalog({}, [str(DEMO)]), poll=0)


@pytest.mark.asyncio
async def test_a_restarted_server_finds_its_runs(tmp_path: Path) -> None:
    first = service(tmp_path)
    cluster = first.clusters.get("local")
    try:
        run = await first.submit(cluster, "three-steps", {"label": "before"})
        deadline = time.monotonic() + 60
        while (await first.get(cluster, run["id"]))["state"] not in {"completed", "failed"}:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.3)
    finally:
        await first.close()
        await first.clusters.close()
    (Path(run["folder"]).parent / "damaged-20260101-000000-abcd").mkdir()
    (Path(run["folder"]).parent / "damaged-20260101-000000-abcd" / "run.json").write_text("{")

    again = service(tmp_path)
    cluster = again.clusters.get("local")
    try:
        listed = await again.listing(cluster)
        assert [r["id"] for r in listed] == [run["id"]]
        found = await again.get(cluster, run["id"])
        assert found["state"] == "completed", found
        assert [s["job_id"] for s in found["steps"]] == [s["job_id"] for s in run["steps"]]
        assert found["inputs"]["label"] == "before"
        assert "results/summary.txt" in [o["path"] for o in found["outputs"]]
        with pytest.raises(NotFound):
            await again.get(cluster, "damaged-20260101-000000-abcd")
    finally:
        await again.close()
        await again.clusters.close()


@pytest.mark.asyncio
async def test_a_cancelled_run_says_so_after_a_restart(tmp_path: Path) -> None:
    first = service(tmp_path)
    cluster = first.clusters.get("local")
    try:
        run = await first.submit(cluster, "three-steps", {"label": "c", "seconds": 60})
        cancelled = await first.cancel(cluster, run["id"])
        assert cancelled["state"] == "cancelled", cancelled
    finally:
        await first.close()
        await first.clusters.close()
    record = json.loads((Path(run["folder"]) / "run.json").read_text())
    assert record["cancelled"] is True
    assert [s["job_id"] for s in record["steps"]] == [s["job_id"] for s in run["steps"]]
    again = service(tmp_path)
    cluster = again.clusters.get("local")
    try:
        found = await again.get(cluster, run["id"])
        assert found["state"] == "cancelled", found
        assert found["message"] == "The run was cancelled."
    finally:
        await again.close()
        await again.clusters.close()
