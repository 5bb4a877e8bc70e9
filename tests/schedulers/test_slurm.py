"""The Slurm scheduler against the real Slurm 22.05 of the test bed, over SSH (SSHRunner).

Every job is short (``--time=1``, sleeps of at most 20 s) and cancelled by its id in the
test's teardown; nothing here touches jobs the test did not submit.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from jupyter_rpc.errors import Conflict, InvalidRequest, NotFound
from jupyter_rpc.schedulers.base import JobSpec
from jupyter_rpc.schedulers.forms import check_spec
from jupyter_rpc.schedulers.slurm import SlurmScheduler
from jupyter_rpc.ssh import SSHPool, SSHRunner
from tests.fixtures.hpc import HPCTestbed
from tests.schedulers.bed import PAYLOADS, BedJobs, target

#: A scheduler on the bed and the jobs a test submitted (tests/schedulers/bed.py).
Slurm = BedJobs[SlurmScheduler]


@pytest_asyncio.fixture
async def slurm(hpc_testbed: HPCTestbed) -> AsyncIterator[Slurm]:
    pool = SSHPool()
    runner = SSHRunner(pool, target(hpc_testbed))
    which = await runner.run(["sh", "-c", "command -v sbatch"])
    if not which.ok:
        pytest.skip("the test bed's login node has no sbatch")
    workdir = f"/home/{hpc_testbed.user}/jrpc-slurm-tests/{uuid.uuid4().hex[:10]}"
    assert (await runner.run(["mkdir", "-p", workdir])).ok
    scheduler = SlurmScheduler(runner, user=hpc_testbed.user, command_timeout=30)
    helper = Slurm(scheduler, workdir, {"time_limit": 1, "memory_mb": 20, "cpus": 1})
    try:
        yield helper
    finally:
        for job_id in helper.submitted:  # only ours, by id
            await runner.run(["scancel", job_id])
        await runner.run(["rm", "-rf", "--", workdir])
        await pool.close()


@pytest.mark.asyncio
async def test_submit_with_resources_list_detail_log_and_cancel(slurm: Slurm) -> None:
    script = '#!/bin/bash\nfor i in $(seq 1 20); do echo "line $i $FOO"; sleep 1; done\n'
    spec = slurm.spec(
        script, name="jrpc run one", partition="debug", account="teamb", memory_mb=50,
        stdout="%x-%j.out", env={"FOO": "a,b c"},
    )  # fmt: skip
    job_id = await slurm.submit(spec)
    listed = {job.id: job for job in await slurm.scheduler.list_jobs()}
    job = listed[job_id]
    assert (job.name, job.partition, job.account, job.user) == (
        "jrpc run one",
        "debug",
        "teamb",
        "hpcuser",
    )
    assert (job.cpus, job.memory_mb, job.time_limit, job.workdir) == (1, 50, 60, slurm.workdir)
    assert (
        job.state in {"pending", "running"}
        and job.submitted
        and abs(job.submitted - time.time()) < 120
    )

    running = await slurm.wait(job_id, {"running"})
    assert running.stdout == f"{slurm.workdir}/jrpc run one-{job_id}.out" == running.stderr
    assert running.started and running.nodes and running.exit_code is None
    await asyncio.sleep(2)
    first = await slurm.read(running.stdout)
    await asyncio.sleep(2.5)
    second = await slurm.read(running.stdout)
    assert first.startswith("line 1 a,b c\n") and len(second) > len(first)

    await slurm.scheduler.cancel(job_id)
    ended = await slurm.wait(job_id, {"cancelled"}, timeout=30)
    assert ended.ended and ended.state == "cancelled"
    with pytest.raises(Conflict) as info:
        await slurm.scheduler.cancel(job_id)
    assert info.value.code == "job.finished"


@pytest.mark.asyncio
async def test_hold_release_and_array_of_three(slurm: Slurm) -> None:
    script = "#!/bin/bash\necho task $SLURM_ARRAY_TASK_ID\n"
    array_id = await slurm.submit(slurm.spec(script, name="jrpc-arr", array="1-3", hold=True))
    tasks = [job for job in await slurm.scheduler.list_jobs() if job.array_job_id == array_id]
    assert sorted(t.array_task_id for t in tasks) == ["1", "2", "3"]
    assert {t.id for t in tasks} == {f"{array_id}_{i}" for i in (1, 2, 3)}
    assert {t.state for t in tasks} == {"held"} and {t.reason for t in tasks} == {"JobHeldUser"}
    assert await slurm.scheduler.job_script(array_id) == script

    for _attempt in range(5):
        held_id = await slurm.submit(slurm.spec("#!/bin/bash\nsleep 20\n", name="jrpc-hold"))
        try:
            await slurm.scheduler.hold(held_id)
            break
        except Conflict:  # it started before the hold reached slurmctld (an idle node)
            await slurm.scheduler.cancel(held_id)
    else:
        pytest.fail("every job started before it could be held")
    assert (await slurm.scheduler.get_job(held_id)).state == "held"
    await slurm.scheduler.release(held_id)
    assert (await slurm.scheduler.get_job(held_id)).state in {"pending", "running"}
    await slurm.scheduler.release(array_id)
    for index in (1, 2, 3):
        task = await slurm.wait(f"{array_id}_{index}", {"completed", "failed"})
        assert task.state == "completed" and task.array_task_id == str(index)
        assert await slurm.read(task.stdout) == f"task {index}\n"


@pytest.mark.asyncio
async def test_history_shows_an_ended_job_with_its_exit_code(slurm: Slurm) -> None:
    job_id = await slurm.submit(slurm.spec("#!/bin/bash\necho bye\nexit 3\n", name="jrpc-exit3"))
    ended = await slurm.wait(job_id, {"completed", "failed"})
    assert (ended.state, ended.exit_code, ended.signal) == ("failed", 3, 0)
    deadline = time.monotonic() + 30
    while True:  # slurmdbd gets the end record a moment after slurmctld
        history = {job.id: job for job in await slurm.scheduler.history(days=1)}
        if job_id in history and history[job_id].state == "failed":
            break
        assert time.monotonic() < deadline, f"job {job_id} not in sacct history as failed"
        await asyncio.sleep(1)
    past = history[job_id]
    assert (past.exit_code, past.name, past.partition) == (3, "jrpc-exit3", "debug")
    assert past.started and past.ended and past.ended >= past.started
    with pytest.raises(Conflict):
        await slurm.scheduler.hold(job_id)


@pytest.mark.asyncio
async def test_detail_and_history_report_cpu_time_and_memory_peak(slurm: Slurm) -> None:
    """sacct's TotalCPU and the steps' MaxRSS (sampled every JobAcctGatherFrequency=10 s,
    so the job runs a little longer than that) reach the detail and the history. The job
    spins until it has used 12 s of CPU (not 12 s of wall time, which a busy machine
    stretches), so the figure it must report is known whatever else the machine does."""
    script = (
        "#!/bin/bash\npython3 -c '\nimport time\nblock = bytearray(80 * 1024 * 1024)\n"
        "while time.process_time() < 12: pass\n'\n"
    )
    job_id = await slurm.submit(slurm.spec(script, name="jrpc-usage", memory_mb=400))
    await slurm.wait(job_id, {"completed", "failed"}, timeout=90)
    deadline = time.monotonic() + 30
    while True:  # the step's record reaches slurmdbd a moment after the job ends
        job = await slurm.scheduler.get_job(job_id, usage=True)
        if job.cpu_used is not None and job.memory_peak_mb is not None:
            break
        assert time.monotonic() < deadline, f"no usage for job {job_id}: {job}"
        await asyncio.sleep(1)
    assert job.state == "completed" and job.elapsed and job.elapsed >= 12
    # 12 s in the loop, plus the interpreter's and the batch shell's start; one CPU, so
    # never more than elapsed
    assert 12 <= job.cpu_used <= min(14, job.elapsed + 1), (job.cpu_used, job.elapsed)
    assert 80 <= job.memory_peak_mb < 400 and job.memory_mb == 400
    history = {j.id: j for j in await slurm.scheduler.history(days=1)}
    past = history[job_id]
    assert (past.cpu_used, past.memory_peak_mb) == (job.cpu_used, job.memory_peak_mb)


@pytest.mark.asyncio
async def test_test_submit_partitions_and_clear_errors(slurm: Slurm) -> None:
    answer = await slurm.scheduler.test_submit(slurm.spec("#!/bin/bash\ntrue\n"))
    assert answer["expected_start"] is not None
    assert time.time() - 120 < answer["expected_start"] < time.time() + 7 * 86400
    assert "partition debug" in answer["message"]

    partitions = {p.name: p for p in await slurm.scheduler.partitions()}
    assert partitions["debug"].default and partitions["debug"].max_time == 60
    assert partitions["long"].max_time == 7 * 24 * 60 and partitions["debug"].max_cpus_per_node
    with pytest.raises(InvalidRequest) as over:
        check_spec(JobSpec(script="x", time_limit=61), list(partitions.values()))
    assert over.value.details["field"] == "time_limit"

    for call in (slurm.scheduler.submit, slurm.scheduler.test_submit):
        with pytest.raises(InvalidRequest) as info:
            await call(slurm.spec("#!/bin/bash\ntrue\n", partition="nosuch"))
        assert info.value.code == "cluster.command_failed"
        assert "invalid partition specified: nosuch" in info.value.message
    with pytest.raises(NotFound) as missing:
        await slurm.scheduler.get_job("987654321")
    assert missing.value.code == "job.not_found"
    with pytest.raises(NotFound):
        await slurm.scheduler.cancel("987654321")


@pytest.mark.asyncio
async def test_injection_corpus_arrives_literally_or_is_refused(slurm: Slurm) -> None:
    marker = f"/tmp/jrpc-slurm-marker-{uuid.uuid4().hex}"
    payloads = [p.format(m=marker) for p in PAYLOADS]
    # a work directory whose name is made of the payloads (created literally by argv)
    odd_dir = f"{slurm.workdir}/dir {payloads[1]} {payloads[3]}"
    assert (await slurm.runner.run(["mkdir", "-p", "--", odd_dir])).ok
    script = '#!/bin/bash\nprintf "%s\\n" "$SLURM_JOB_NAME"\nprintf "%s" "$INJ"\n'
    env_value = "\n".join(payloads) + "\nwith,comma=and newline"
    names = []
    for index, payload in enumerate(payloads):
        name = f"inj{index} {payload}".replace("/", "_")
        names.append(name)
        job_id = await slurm.submit(
            slurm.spec(
                script,
                name=name,
                workdir=odd_dir,
                env={"INJ": env_value},
                stdout=f"out-{index}-%j.txt",
            )
        )
        job = await slurm.wait(job_id, {"completed", "failed"})
        assert job.state == "completed", job
        assert job.workdir == odd_dir and job.name == name
        assert job.stdout == f"{odd_dir}/out-{index}-{job_id}.txt"
        assert await slurm.read(job.stdout) == f"{name}\n{env_value}"
    for bad in ("x\n; touch " + marker, "tab\there"):
        with pytest.raises(InvalidRequest) as info:
            await slurm.submit(slurm.spec(script, name=bad))
        assert info.value.code == "job.invalid" and info.value.details["field"] == "name"
    with pytest.raises(InvalidRequest) as info:
        await slurm.submit(slurm.spec(script, partition=f"debug; touch {marker}"))
    assert info.value.details["field"] == "partition"
    with pytest.raises(InvalidRequest) as info:
        await slurm.submit(slurm.spec(script, stdout=f"a\n$(touch {marker})"))
    assert info.value.details["field"] == "stdout"
    assert not await slurm.exists(marker)
