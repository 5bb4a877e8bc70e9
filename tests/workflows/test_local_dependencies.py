"""The local scheduler's dependencies (afterok), which a workflow's steps use there: a
job waits until the jobs it names completed, and is cancelled (and so are the jobs
waiting for it) when one of them fails; the chain survives the scheduler's state file."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from jupyter_rpc.errors import NotFound
from jupyter_rpc.schedulers.base import JobInfo, JobSpec
from jupyter_rpc.schedulers.local import LocalScheduler


def make(tmp_path: Path) -> LocalScheduler:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return LocalScheduler(tmp_path / "state", user="tester", default_workdir=work, max_running=4)


async def wait_state(
    scheduler: LocalScheduler, job_id: str, states: set[str], timeout: float = 20.0
) -> JobInfo:
    deadline = time.monotonic() + timeout
    while True:
        job = await scheduler.get_job(job_id)
        if job.state in states:
            return job
        assert time.monotonic() < deadline, f"job {job_id} stayed {job.state}, wanted {states}"
        await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_a_job_starts_only_after_the_jobs_it_waits_for_completed(tmp_path: Path) -> None:
    scheduler = make(tmp_path)
    try:
        first = await scheduler.submit(JobSpec(script="#!/bin/bash\nsleep 1\n"))
        array = await scheduler.submit_after(
            JobSpec(script="#!/bin/bash\nsleep 0.5\n", array="1-3"), [first]
        )
        last = await scheduler.submit_after(JobSpec(script="#!/bin/bash\ntrue\n"), [array])
        waiting = await scheduler.get_job(last)
        assert waiting.state == "pending" and waiting.reason == "Dependency"
        done = await wait_state(scheduler, last, {"completed", "failed", "cancelled"})
        assert done.state == "completed"
        first_job = await scheduler.get_job(first)
        tasks = [await scheduler.get_job(f"{array}_{i}") for i in (1, 2, 3)]
        assert first_job.ended is not None and done.started is not None
        assert all(t.started is not None and t.started >= first_job.ended for t in tasks)
        assert done.started >= max(t.ended or 0 for t in tasks)
    finally:
        await scheduler.close()


@pytest.mark.asyncio
async def test_a_failed_job_cancels_the_chain_waiting_for_it(tmp_path: Path) -> None:
    scheduler = make(tmp_path)
    try:
        first = await scheduler.submit(JobSpec(script="#!/bin/bash\nexit 3\n"))
        second = await scheduler.submit_after(JobSpec(script="#!/bin/bash\ntouch ran\n"), [first])
        third = await scheduler.submit_after(JobSpec(script="#!/bin/bash\ntouch ran\n"), [second])
        for job_id in (second, third):
            job = await wait_state(scheduler, job_id, {"cancelled", "completed", "failed"})
            assert job.state == "cancelled" and job.reason == "DependencyNeverSatisfied"
        assert (await scheduler.get_job(first)).state == "failed"
        assert not (tmp_path / "work" / "ran").exists()
        with pytest.raises(NotFound):
            await scheduler.submit_after(JobSpec(script="#!/bin/bash\ntrue\n"), ["999"])
    finally:
        await scheduler.close()


@pytest.mark.asyncio
async def test_the_dependency_is_kept_in_the_state_file(tmp_path: Path) -> None:
    scheduler = make(tmp_path)
    first = await scheduler.submit(JobSpec(script="#!/bin/bash\ntrue\n", hold=True))
    second = await scheduler.submit_after(JobSpec(script="#!/bin/bash\ntrue\n"), [first])
    await scheduler.close()
    again = make(tmp_path)  # a restarted server: pending jobs of the old one end
    try:
        assert again._tasks[second].after == [first]
        assert (await again.get_job(second)).state == "cancelled"
    finally:
        await again.close()
