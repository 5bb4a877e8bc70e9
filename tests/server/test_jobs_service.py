"""The jobs service (jupyter_rpc.services.jobs) called directly, without tornado, on a real
local cluster: our defaults (interpreter line, working folder), the site's fixed values,
submit, hold, release, cancel, resubmit, output and history."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from jupyter_rpc.errors import RPCError
from jupyter_rpc.schedulers.base import JobInfo
from jupyter_rpc.services.clusters import Cluster, ClusterRegistry
from jupyter_rpc.services.jobs import JobsService, job_spec

pytestmark = pytest.mark.asyncio


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest_asyncio.fixture
async def clusters(tmp_path: Path, home: Path) -> AsyncIterator[ClusterRegistry]:
    roots = {"home": str(home)}
    registry = ClusterRegistry(
        {
            "local": {"scheduler": "local", "roots": roots, "workdir": str(home)},
            "fixed": {
                "scheduler": "local",
                "roots": roots,
                "submit": {"name": {"const": "site-job"}, "time_limit": {"default": 5}},
            },
            "plain": {"scheduler": "none", "roots": roots},
        },
        state_dir=tmp_path / "state",
        refresh_min=0.0,
    )
    yield registry
    await registry.close()


@pytest.fixture
def local(clusters: ClusterRegistry) -> Cluster:
    return clusters.get("local")


async def ended(jobs: JobsService, cluster: Cluster, job_id: str) -> JobInfo:
    deadline = time.monotonic() + 20
    while True:
        job = await jobs.get(cluster, job_id)
        if job.state in ("completed", "failed", "cancelled", "timeout"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} is still {job.state}"
        await asyncio.sleep(0.05)


async def test_defaults_and_the_sites_fixed_values(
    clusters: ClusterRegistry, local: Cluster, home: Path
) -> None:
    spec = await job_spec(local, {"script": "echo hi"})
    assert spec.script == "#!/bin/bash\necho hi"  # a typed command gets an interpreter
    assert spec.workdir == str(home)  # the cluster's working folder
    spec = await job_spec(local, {"script": "#!/bin/sh\necho hi", "workdir": "/elsewhere"})
    assert (spec.script, spec.workdir) == ("#!/bin/sh\necho hi", "/elsewhere")
    fixed = clusters.get("fixed")
    spec = await job_spec(fixed, {"script": "true"})
    assert (spec.name, spec.time_limit) == ("site-job", 5)
    assert spec.workdir is None  # none configured: the scheduler's own default
    with pytest.raises(RPCError) as info:
        await job_spec(fixed, {"script": "true", "name": "mine"})
    assert info.value.code == "job.invalid" and "fixed to 'site-job'" in info.value.message


async def test_submit_output_history_and_resubmit(local: Cluster) -> None:
    jobs = JobsService()
    job = await jobs.submit(local, {"script": "echo hello from $JOB_NAME", "name": "greet"})
    assert job.name == "greet"
    done = await ended(jobs, local, job.id)
    assert done.state == "completed"
    out = await jobs.output(local, job.id, "stdout", 0, 65536)
    assert out.data == "hello from greet\n" and out.next_offset == len(out.data)
    tail = await jobs.output(local, job.id, "stdout", out.next_offset, 65536)
    assert tail.data == ""
    assert job.id in [j.id for j in await jobs.history(local, 1.0)]
    listing = await jobs.listing(local)
    assert f'"id": "{job.id}"' in listing and '"user": ' in listing

    again = await jobs.resubmit(local, job.id)
    assert again.id != job.id and again.name == "greet"
    assert (await ended(jobs, local, again.id)).state == "completed"
    out = await jobs.output(local, again.id, "stdout", 0, 65536)
    assert out.data == "hello from greet\n"


async def test_hold_release_cancel(local: Cluster) -> None:
    jobs = JobsService()
    job = await jobs.submit(local, {"script": "sleep 30", "hold": True})
    assert (await jobs.get(local, job.id)).state == "held"
    released = await jobs.release(local, job.id)
    assert released.state in ("pending", "running")
    held_again = await jobs.submit(local, {"script": "sleep 30"})
    cancelled = await jobs.cancel(local, job.id)
    assert cancelled.state == "cancelled"
    assert (await jobs.cancel(local, held_again.id)).state == "cancelled"


async def test_test_submit_and_the_submit_form(clusters: ClusterRegistry) -> None:
    jobs = JobsService()
    fixed = clusters.get("fixed")
    assert (await jobs.test(fixed, {"script": "true"}))["message"] == "Would start now."
    with pytest.raises(RPCError) as info:  # the site's values are checked as for a submit
        await jobs.test(fixed, {"script": "true", "name": "mine"})
    assert info.value.code == "job.invalid"
    form = await jobs.submit_form(fixed)
    assert [p["name"] for p in form["partitions"]] == ["local"]
    fields = form["schema"]["properties"]
    assert fields["name"]["const"] == "site-job" and fields["time_limit"]["default"] == 5


async def test_a_cluster_without_a_scheduler(clusters: ClusterRegistry) -> None:
    jobs = JobsService()
    plain = clusters.get("plain")
    for aw in (jobs.submit(plain, {"script": "true"}), jobs.history(plain, 1.0)):
        with pytest.raises(RPCError) as info:
            await aw
        assert info.value.code == "cluster.no_scheduler" and info.value.status == 404
