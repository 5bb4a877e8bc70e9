"""The local scheduler with real processes: queue, limits, arrays, files, restarts."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import pytest

from jupyter_rpc.errors import Conflict, InvalidRequest, NotFound
from jupyter_rpc.schedulers.base import JobSpec
from jupyter_rpc.schedulers.local import LocalScheduler, expand_pattern, parse_array


def read(path: str) -> str:
    return Path(path).read_text()


def exists(path: str | Path) -> bool:
    return Path(path).exists()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work dir"
    path.mkdir()
    return path


def make(tmp_path: Path, workdir: Path, **kwargs) -> LocalScheduler:
    kwargs.setdefault("max_running", 2)
    return LocalScheduler(
        tmp_path / "state", user="tester", default_workdir=workdir, kill_grace=1.0, **kwargs
    )


async def wait_state(
    scheduler: LocalScheduler, job_id: str, states: set[str], timeout: float = 20.0
):
    deadline = time.monotonic() + timeout
    while True:
        job = await scheduler.get_job(job_id)
        if job.state in states:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stayed {job.state}, wanted {states}")
        await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_submit_runs_with_env_and_writes_output_files(tmp_path, workdir):
    scheduler = make(tmp_path, workdir)
    try:
        script = '#!/bin/bash\necho "id=$JOB_ID slurm=$SLURM_JOB_ID name=$JOB_NAME greet=$GREETING pwd=$PWD"\necho oops >&2\n'
        job_id = await scheduler.submit(
            JobSpec(script=script, name="hello job", env={"GREETING": "a,b; $(x)"})
        )
        job = await wait_state(scheduler, job_id, {"completed", "failed"})
        assert job.state == "completed" and job.exit_code == 0 and job.signal == 0
        assert job.stdout == str(workdir / f"job-{job_id}.out") and job.stderr == str(
            workdir / f"job-{job_id}.err"
        )
        out = read(job.stdout)
        assert out == f"id={job_id} slurm={job_id} name=hello job greet=a,b; $(x) pwd={workdir}\n"
        assert read(job.stderr) == "oops\n"
        assert job.started is not None and job.ended >= job.started and job.partition == "local"
        assert await scheduler.job_script(job_id) == script
        listed = {j.id: j for j in await scheduler.list_jobs()}
        assert listed[job_id].state == "completed"
    finally:
        await scheduler.close()


@pytest.mark.asyncio
async def test_failure_exit_code_and_pattern_paths(tmp_path, workdir):
    scheduler = make(tmp_path, workdir)
    try:
        job_id = await scheduler.submit(
            JobSpec(
                script="echo out; exit 3\n",
                name="fails",
                stdout="logs-%x-%j.txt",
                stderr="logs-%x-%j.txt",
            )
        )
        job = await wait_state(scheduler, job_id, {"completed", "failed"})
        assert (job.state, job.exit_code, job.reason) == ("failed", 3, "NonZeroExitCode")
        assert job.stdout == job.stderr == str(workdir / f"logs-fails-{job_id}.txt")
        assert read(job.stdout) == "out\n"
        history = {j.id: j for j in await scheduler.history(days=1)}
        assert history[job_id].exit_code == 3
    finally:
        await scheduler.close()


@pytest.mark.asyncio
async def test_queue_beyond_max_running_and_cancel_kills_the_group(tmp_path, workdir):
    scheduler = make(tmp_path, workdir, max_running=1)
    try:
        marker = workdir / "child-alive"
        # the child process would create the marker after 3 s unless the group is killed
        first = await scheduler.submit(JobSpec(script=f"(sleep 3; touch '{marker}') &\nsleep 30\n"))
        second = await scheduler.submit(JobSpec(script="echo second\n"))
        await wait_state(scheduler, first, {"running"})
        waiting = await scheduler.get_job(second)
        assert waiting.state == "pending" and waiting.reason == "Resources"
        test = await scheduler.test_submit(JobSpec(script="true\n"))
        assert test["expected_start"] is None and "1 jobs running" in test["message"]
        await scheduler.cancel(first)
        cancelled = await scheduler.get_job(first)
        assert cancelled.state == "cancelled" and cancelled.signal == 15
        done = await wait_state(scheduler, second, {"completed"})
        assert read(done.stdout) == "second\n"
        await asyncio.sleep(3.5)
        assert not exists(marker)
        with pytest.raises(Conflict) as info:
            await scheduler.cancel(first)
        assert info.value.code == "job.finished"
        with pytest.raises(NotFound) as missing:
            await scheduler.cancel("999")
        assert missing.value.code == "job.not_found"
        now = await scheduler.test_submit(JobSpec(script="true\n"))
        assert now["expected_start"] is not None and now["message"] == "Would start now."
    finally:
        await scheduler.close()


@pytest.mark.asyncio
async def test_ended_jobs_report_cpu_time_and_peak_memory(tmp_path, workdir):
    """Like Slurm's accounting: what the job and its children used, once it ended; the
    exit status is the script's, a signal included."""
    scheduler = make(tmp_path, workdir)
    try:
        busy = (
            f"{sys.executable} -c '\n"
            "import time\nblock = bytearray(120 * 1024 * 1024)\n"
            "t = time.process_time()\nwhile time.process_time() - t < 0.6: pass\n'\n"
            "exit 4\n"
        )
        job_id = await scheduler.submit(JobSpec(script=busy, cpus=1, memory_mb=1000))
        job = await wait_state(scheduler, job_id, {"failed"})
        assert job.exit_code == 4 and job.signal == 0
        assert job.cpu_used is not None and 0.6 <= job.cpu_used < 5
        assert job.memory_peak_mb is not None and 120 <= job.memory_peak_mb < 400
        # The history (and a restarted scheduler) keep the figures.
        (listed,) = [j for j in await scheduler.history() if j.id == job_id]
        assert listed.cpu_used == job.cpu_used and listed.memory_peak_mb == job.memory_peak_mb
        killed = await scheduler.submit(JobSpec(script="kill -TERM $$\n"))
        dead = await wait_state(scheduler, killed, {"failed"})
        assert (
            dead.signal == 15 and dead.reason == "killed by signal 15" and dead.cpu_used is not None
        )
    finally:
        await scheduler.close()
    again = make(tmp_path, workdir)
    try:
        restored = await again.get_job(job_id)
        assert restored.cpu_used == job.cpu_used and restored.memory_peak_mb == job.memory_peak_mb
    finally:
        await again.close()


@pytest.mark.asyncio
async def test_hold_and_release(tmp_path, workdir):
    scheduler = make(tmp_path, workdir)
    try:
        job_id = await scheduler.submit(JobSpec(script="echo released\n", hold=True))
        await asyncio.sleep(0.3)
        held = await scheduler.get_job(job_id)
        assert held.state == "held" and held.reason == "JobHeldUser" and not exists(held.stdout)
        await scheduler.release(job_id)
        done = await wait_state(scheduler, job_id, {"completed"})
        assert read(done.stdout) == "released\n"
        other = await scheduler.submit(JobSpec(script="sleep 20\n"))
        await wait_state(scheduler, other, {"running"})
        with pytest.raises(Conflict) as info:
            await scheduler.hold(other)
        assert info.value.code == "job.not_pending"
        await scheduler.cancel(other)
    finally:
        await scheduler.close()


@pytest.mark.asyncio
async def test_time_limit_ends_in_timeout(tmp_path, workdir):
    scheduler = make(tmp_path, workdir, seconds_per_minute=1.0)
    try:
        # ignores SIGTERM, so it takes the SIGKILL after the grace time
        job_id = await scheduler.submit(
            JobSpec(script="trap '' TERM\necho start\nsleep 30\n", time_limit=1)
        )
        job = await wait_state(scheduler, job_id, {"timeout", "failed", "completed"}, timeout=15)
        assert job.state == "timeout" and job.reason == "TimeLimit" and job.signal == 9
        assert 1.0 <= job.elapsed < 10
    finally:
        await scheduler.close()


@pytest.mark.asyncio
async def test_array_tasks_get_their_index(tmp_path, workdir):
    scheduler = make(tmp_path, workdir, max_running=4)
    try:
        script = 'echo "$SLURM_ARRAY_JOB_ID $JOB_ARRAY_TASK_ID $SLURM_ARRAY_TASK_ID $JOB_ID"\n'
        job_id = await scheduler.submit(
            JobSpec(script=script, array="1-5:2%1", stdout="arr-%A_%a.out")
        )
        tasks = [j for j in await scheduler.list_jobs() if j.array_job_id == job_id]
        assert [t.id for t in tasks] == [f"{job_id}_1", f"{job_id}_3", f"{job_id}_5"]
        assert sum(t.state == "running" for t in tasks) <= 1  # the %1 throttle
        for index in (1, 3, 5):
            task = await wait_state(scheduler, f"{job_id}_{index}", {"completed"})
            assert task.stdout == str(workdir / f"arr-{job_id}_{index}.out")
            assert read(task.stdout) == f"{job_id} {index} {index} {job_id}_{index}\n"
    finally:
        await scheduler.close()


@pytest.mark.asyncio
async def test_restart_keeps_history_fails_unstarted_jobs_and_cancels_waiting_ones(
    tmp_path, workdir
):
    """A stop between a job's claim and its process start: that job is failed ('server
    stopped'), the one waiting for a slot cancelled, the ended one kept, ids go on. Jobs whose
    process runs outlive the stop and are re-adopted (tests/schedulers/test_local_readoption.py)."""
    scheduler = make(tmp_path, workdir, max_running=1)
    done = await scheduler.submit(JobSpec(script="exit 3\n"))
    await wait_state(scheduler, done, {"failed"})
    running = await scheduler.submit(JobSpec(script="sleep 30\n"))
    waiting = await scheduler.submit(JobSpec(script="true\n"))
    assert (await scheduler.get_job(running)).state == "running"  # claimed: the slot is its
    assert scheduler._tasks[running].pid is None, "its process started before the stop"
    await scheduler.close()
    stored = json.loads((tmp_path / "state" / running / "job.json").read_text())
    assert stored["records"][0]["state"] == "failed"

    again = make(tmp_path, workdir, max_running=1)
    try:
        jobs = {j.id: j for j in await again.history(days=1)}
        assert jobs[done].state == "failed" and jobs[done].exit_code == 3
        assert jobs[running].state == "failed" and jobs[running].reason == "server stopped"
        assert jobs[waiting].state == "cancelled" and jobs[waiting].reason == "server stopped"
        new_id = await again.submit(JobSpec(script="true\n"))
        assert int(new_id) > int(waiting)
        assert (await wait_state(again, new_id, {"completed"})).exit_code == 0
    finally:
        await again.close()


@pytest.mark.asyncio
async def test_server_restart_with_killed_state_marks_running_failed(tmp_path, workdir):
    """A server that died without close(): job.json still says running."""
    state = tmp_path / "state" / "7"
    state.mkdir(parents=True)
    record = {"id": "7", "name": "x", "state": "running", "started": time.time() - 5}
    (state / "job.json").write_text(json.dumps({"spec": {"script": "true"}, "records": [record]}))
    scheduler = make(tmp_path, workdir)
    try:
        job = await scheduler.get_job("7")
        assert job.state == "failed" and job.reason == "server stopped" and job.ended is not None
        assert int(await scheduler.submit(JobSpec(script="true\n"))) == 8
    finally:
        await scheduler.close()


@pytest.mark.asyncio
async def test_invalid_specs_name_the_field(tmp_path, workdir):
    scheduler = make(tmp_path, workdir)
    cases = [
        (JobSpec(), "script"),
        (JobSpec(script="x", name="a\nb"), "name"),
        (JobSpec(script="x", partition="gpu"), "partition"),
        (JobSpec(script="x", array="1-x"), "array"),
        (JobSpec(script="x", array="5-1"), "array"),
        (JobSpec(script="x", cpus=0), "cpus"),
        (JobSpec(script="x", workdir=str(workdir / "missing")), "workdir"),
        (JobSpec(script_path=str(workdir / "nope.sh")), "script_path"),
        (JobSpec(script="x", env={"A-B": "1"}), "env"),
    ]
    try:
        for spec, field in cases:
            with pytest.raises(InvalidRequest) as info:
                await scheduler.submit(spec)
            assert info.value.code == "job.invalid" and info.value.details["field"] == field, spec
        assert os.listdir(tmp_path / "state") == []
    finally:
        await scheduler.close()


@pytest.mark.asyncio
async def test_script_path_and_partitions(tmp_path, workdir):
    script = workdir / "run me.sh"
    script.write_text("echo from file $1\n")
    scheduler = make(tmp_path, workdir)
    try:
        job_id = await scheduler.submit(JobSpec(script_path=str(script), workdir=str(workdir)))
        job = await wait_state(scheduler, job_id, {"completed"})
        assert read(job.stdout) == "from file\n" and job.name == "run me.sh"
        (partition,) = await scheduler.partitions()
        assert (
            partition.name == "local"
            and partition.default
            and partition.max_cpus_per_node == os.cpu_count()
        )
        assert partition.max_memory_mb and partition.max_memory_mb > 0
    finally:
        await scheduler.close()


def test_array_and_pattern_helpers():
    assert parse_array("0-3,7,10-14:2%2") == ([0, 1, 2, 3, 7, 10, 12, 14], 2)
    with pytest.raises(InvalidRequest):
        parse_array("0-5000")
    path = expand_pattern(
        "%x-%A_%a-%j-%u-100%%", job_id="4_2", array_job_id="4", task_id="2", name="n", user="u"
    )
    assert path == "n-4_2-4_2-u-100%"


@pytest.mark.asyncio
async def test_cancel_sends_each_process_one_sigterm(tmp_path, workdir):
    """A job's processes get SIGTERM once on cancel, as from Slurm's scancel: the scheduler
    signals the process group and, besides, the processes that left it, never the group's
    twice. A second SIGTERM killed a bash job whose EXIT trap had reset its TERM trap while
    cleaning up (an interactive app's trap left its connection file behind)."""
    scheduler = make(tmp_path, workdir)
    try:
        count = workdir / "terms"
        child = workdir / "child-terms"
        ready = workdir / "ready"
        script = (
            "(trap 'echo x >> \"$CHILD\"' TERM; while :; do sleep 0.05; done) &\n"
            "trap 'echo x >> \"$COUNT\"' TERM\n"
            f"touch {str(ready)!r}\n"
            "for i in $(seq 200); do sleep 0.05; done\n"
        )
        job = await scheduler.submit(
            JobSpec(script=script, env={"COUNT": str(count), "CHILD": str(child)})
        )
        await wait_state(scheduler, job, {"running"})
        for _ in range(200):  # the traps are set
            if ready.exists():
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        await scheduler.cancel(job)
        ended = await scheduler.get_job(job)
        assert ended.state == "cancelled"
        assert read(count) == "x\n"  # the job's shell: once
        assert read(child) == "x\n"  # its background subshell: once
    finally:
        await scheduler.close()
