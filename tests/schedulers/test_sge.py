"""The Grid Engine scheduler against the test bed's real Son of Grid Engine 8.1.9
(tests/hpc/testbed/sge_up.sh), over SSH: the scheduler itself (SSHRunner), and a cluster
through the REST API of a real Jupyter server.

Every job is short (``h_rt`` of a few minutes, sleeps of at most 20 s) and deleted by its
id in the test's teardown; nothing here touches jobs the test did not submit. Outside CI
the tests skip, saying why, when the bed has no Grid Engine; with ``CI=true`` they fail.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from jupyter_rpc.backend import gate
from jupyter_rpc.errors import Conflict, InvalidRequest, NotFound
from jupyter_rpc.schedulers.sge import SGEScheduler
from jupyter_rpc.ssh import SSHPool, SSHRunner
from jupyter_rpc.ssh.runner import Completed, gate_refusal, shell_join
from tests.fixtures.hpc import HPCTestbed
from tests.schedulers.bed import PAYLOADS, BedJobs, server_config, target

SLEEP = "#!/bin/bash\nsleep 20\n"
START = "sudo tests/hpc/testbed/sge_up.sh (after up.sh)"


async def _need_grid_engine(runner: SSHRunner) -> None:
    """Skip (fail in CI) unless qsub exists and qstat reaches a qmaster."""
    which = await runner.run(["sh", "-c", "command -v qsub && command -v qacct"])
    reason = None
    if not which.ok:
        reason = "the test bed's login node has no qsub/qacct (Grid Engine is not installed)"
    else:
        answer = await runner.run(["qstat", "-xml"])
        if not answer.ok:
            said = " ".join(answer.stderr.split())[:200]
            reason = f"qstat does not reach a Grid Engine master: {said}"
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"Grid Engine required in CI: {reason} ({START})")
    pytest.skip(f"Grid Engine absent: {reason} (start it with: {START})")


#: A scheduler on the bed and the jobs a test submitted (tests/schedulers/bed.py).
SGE = BedJobs[SGEScheduler]


@pytest_asyncio.fixture
async def sge(hpc_testbed: HPCTestbed) -> AsyncIterator[SGE]:
    pool = SSHPool()
    runner = SSHRunner(pool, target(hpc_testbed))
    try:
        await _need_grid_engine(runner)
        workdir = f"/home/{hpc_testbed.user}/jrpc-sge-tests/{uuid.uuid4().hex[:10]}"
        assert (await runner.run(["mkdir", "-p", workdir])).ok
        helper = SGE(SGEScheduler(runner, command_timeout=30), workdir, {"time_limit": 5})
        try:
            yield helper
        finally:
            for job_id in helper.submitted:  # only ours, by id
                await runner.run(["qdel", job_id])
            await runner.run(["rm", "-rf", "--", workdir])
    finally:
        await pool.close()


@pytest.mark.asyncio
async def test_submit_with_resources_list_detail_tail_and_cancel(sge: SGE) -> None:
    script = '#!/bin/bash\nfor i in $(seq 1 20); do echo "line $i $FOO"; sleep 1; done\n'
    spec = sge.spec(
        script, name="jrpc-run-one", partition="short.q", cpus=2, memory_mb=400,
        stdout="%x-%j.out", env={"FOO": "a,b c"}, account="proj1",
    )  # fmt: skip
    job_id = await sge.submit(spec)
    listed = {job.id: job for job in await sge.scheduler.list_jobs()}
    job = listed[job_id]
    assert (job.name, job.user, job.cpus, job.memory_mb, job.time_limit) == (
        "jrpc-run-one", "hpcuser", 2, 400, 300.0,
    )  # fmt: skip
    assert job.state in {"pending", "running"} and job.extra["parallel_environment"] == "smp"

    running = await sge.wait(job_id, {"running"})
    assert running.stdout == f"{sge.workdir}/jrpc-run-one-{job_id}.out" == running.stderr
    assert (running.partition, running.workdir, running.account) == (
        "short.q", sge.workdir, "proj1",
    )  # fmt: skip
    assert running.started and running.nodes and running.exit_code is None
    await asyncio.sleep(2)
    first = await sge.read(running.stdout)
    await asyncio.sleep(2.5)
    second = await sge.read(running.stdout)
    assert first.startswith("line 1 a,b c\n") and len(second) > len(first)

    await sge.scheduler.cancel(job_id)
    ended = await sge.wait(job_id, {"cancelled"}, timeout=30)
    assert ended.ended and ended.signal == 9 and ended.partition == "short.q"
    # accounting has no output paths: those seen while it ran are kept
    assert ended.stdout == running.stdout
    with pytest.raises(Conflict) as info:
        await sge.scheduler.cancel(job_id)
    assert info.value.code == "job.finished"
    # a job that ends between the check and qdel (a workflow's step, as its run is
    # cancelled) gets the same answer from qdel's 'does not exist', not a 502
    for verb, command in (("cancel", "qdel"), ("hold", "qhold"), ("release", "qrls")):
        with pytest.raises(Conflict) as info:
            await sge.scheduler._control(command, verb, job_id)
        assert info.value.code == "job.finished", (verb, info.value)
        assert f"Job {job_id} has already ended" in str(info.value)


@pytest.mark.asyncio
async def test_hold_release_and_an_array_of_three_grouped_until_it_runs(sge: SGE) -> None:
    script = "#!/bin/bash\necho task $SGE_TASK_ID\n"
    array_id = await sge.submit(sge.spec(script, name="jrpc-arr", array="1-3", hold=True))
    records = [job for job in await sge.scheduler.list_jobs() if job.array_job_id == array_id]
    assert [(r.id, r.state, r.array_task_id) for r in records] == [
        (f"{array_id}.1-3:1", "held", "1-3:1")
    ]
    task = await sge.scheduler.get_job(f"{array_id}.2")
    assert (task.id, task.state, task.array_task_id) == (f"{array_id}.2", "held", "2")
    assert task.stdout == f"{sge.workdir}/jrpc-arr.o{array_id}.2"

    # short.q has two slots: while a two-slot job runs there, the next one pends
    blocker = await sge.submit(sge.spec(SLEEP, name="jrpc-block", partition="short.q", cpus=2))
    await sge.wait(blocker, {"running"})
    held_id = await sge.submit(sge.spec(SLEEP, name="jrpc-hold", partition="short.q", cpus=2))
    assert (await sge.scheduler.get_job(held_id)).state == "pending"
    await sge.scheduler.hold(held_id)
    held = await sge.scheduler.get_job(held_id)
    assert (held.state, held.raw_state) == ("held", "hqw")
    with pytest.raises(Conflict) as info:
        await sge.scheduler.hold(blocker)
    assert info.value.code == "job.not_pending"
    with pytest.raises(NotFound) as info:
        await sge.scheduler.hold(f"{array_id}.9")
    assert f"Job {array_id} on testbed has no task 9." == info.value.message
    await sge.scheduler.release(held_id)
    assert (await sge.scheduler.get_job(held_id)).state in {"pending", "running"}
    with pytest.raises(Conflict) as info:
        await sge.scheduler.release(held_id)
    assert info.value.code in {"job.not_held", "job.finished"}

    await sge.scheduler.release(array_id)
    for index in (1, 2, 3):
        done = await sge.wait(f"{array_id}.{index}", {"completed", "failed"})
        assert done.state == "completed" and done.array_task_id == str(index), done
        assert done.array_job_id == array_id
        assert await sge.read(f"{sge.workdir}/jrpc-arr.o{array_id}.{index}") == f"task {index}\n"


class Seen:
    """The bed's SSH runner, noting each argv it ran (to tell which qstat a listing used);
    ``old_gate``: answers ``qstat -xml`` without ``-r`` as a jupyter-rpc-gate from before
    it was allowed does (the real gate's refusal line, through the runner's reading)."""

    def __init__(self, runner: Any, *, old_gate: bool = False) -> None:
        self.runner, self.where, self.old_gate = runner, runner.where, old_gate
        self.argvs: list[list[str]] = []

    async def run(self, argv: Any, **kw: Any) -> Any:
        self.argvs.append(list(argv))
        if self.old_gate and argv[:2] == ["qstat", "-xml"]:
            command = shell_join(argv)
            why = "qstat needs -r (not a form of qstat this key allows)"
            line = gate.refusal_line(command, why) + "\n"
            refused = gate_refusal(Completed(list(argv), gate.REFUSED, "", line), self.where)
            assert refused is not None
            raise refused
        return await self.runner.run(argv, **kw)

    def qstats(self) -> list[str]:
        found = [" ".join(a[:3]) for a in self.argvs if a[0] == "qstat" and "-j" not in a]
        self.argvs.clear()
        return found


def _mine(jobs: list[Any], job_id: str) -> tuple[str, str, float | None]:
    [job] = [j for j in jobs if j.id == job_id]
    return (job.state, job.partition, job.time_limit)


@pytest.mark.asyncio
async def test_a_listing_keeps_the_requests_of_qstat_r_until_a_job_is_new_or_a_minute_old(
    sge: SGE,
) -> None:
    """Requests (time, memory, hard queue, PE) are only in ``qstat -r``, a third slower
    than ``qstat -xml`` for 2,000 jobs. The next listings ask without -r and show the same
    requests; one with a new job asks again with -r; a ``qalter`` made elsewhere shows
    once the kept requests are REQUESTS_MAX_AGE old."""
    seen = Seen(sge.scheduler.runner)
    sge.scheduler.runner = seen
    first = await sge.submit(
        sge.spec(SLEEP, name="jrpc-kept", partition="short.q", time_limit=5, hold=True)
    )
    assert _mine(await sge.scheduler.list_jobs(), first) == ("held", "short.q", 300)
    assert seen.qstats() == ["qstat -r -xml"]  # nothing kept yet
    assert _mine(await sge.scheduler.list_jobs(), first) == ("held", "short.q", 300)
    assert seen.qstats() == ["qstat -xml -u"]  # the same, without -r
    second = await sge.submit(
        sge.spec(SLEEP, name="jrpc-kept-2", partition="long.q", time_limit=90, hold=True)
    )
    seen.qstats()
    jobs = await sge.scheduler.list_jobs()
    assert (_mine(jobs, first), _mine(jobs, second)) == (
        ("held", "short.q", 300), ("held", "long.q", 5400),
    )  # fmt: skip
    assert seen.qstats() == ["qstat -xml -u", "qstat -r -xml"]  # a new job: asked again
    altered = await seen.runner.run(["qalter", "-l", "h_rt=0:07:00", first])
    assert altered.ok, altered.stderr
    assert _mine(await sge.scheduler.list_jobs(), first)[2] == 300  # kept for up to a minute
    assert seen.qstats() == ["qstat -xml -u"]
    sge.scheduler.REQUESTS_MAX_AGE = 0.0
    assert _mine(await sge.scheduler.list_jobs(), first) == ("held", "short.q", 420)
    assert seen.qstats() == ["qstat -r -xml"]


@pytest.mark.asyncio
async def test_through_an_older_gate_every_listing_asks_with_r(sge: SGE) -> None:
    """A cluster whose restricted key runs a jupyter-rpc-gate from before ``qstat -xml``
    without ``-r`` was allowed: the refusal is not shown to the user; the listing asks
    with -r from then on."""
    seen = Seen(sge.scheduler.runner, old_gate=True)
    sge.scheduler.runner = seen
    job_id = await sge.submit(sge.spec(SLEEP, name="jrpc-old-gate", time_limit=5, hold=True))
    for _ in range(3):
        assert _mine(await sge.scheduler.list_jobs(), job_id)[::2] == ("held", 300)
    assert seen.qstats() == ["qstat -r -xml", "qstat -xml -u", "qstat -r -xml", "qstat -r -xml"]


@pytest.mark.asyncio
async def test_history_shows_an_ended_job_with_its_exit_code_and_usage(sge: SGE) -> None:
    script = (
        "#!/bin/bash\npython3 -c '\nimport time\nblock = bytearray(60 * 1024 * 1024)\n"
        "while time.process_time() < 2: pass\n'\nexit 3\n"
    )
    job_id = await sge.submit(sge.spec(script, name="jrpc-exit3"))
    ended = await sge.wait(job_id, {"completed", "failed"}, timeout=60)
    assert (ended.state, ended.exit_code, ended.signal) == ("failed", 3, None)
    assert ended.cpu_used is not None and ended.cpu_used >= 1.9
    assert ended.memory_peak_mb is not None and 60 <= ended.memory_peak_mb < 200
    history = {job.id: job for job in await sge.scheduler.history(days=1)}
    past = history[job_id]
    assert (past.state, past.exit_code, past.name, past.time_limit) == (
        "failed", 3, "jrpc-exit3", 300.0,
    )  # fmt: skip
    assert past.started and past.ended and past.ended >= past.started
    with pytest.raises(Conflict):
        await sge.scheduler.hold(job_id)
    with pytest.raises(NotFound) as info:
        await sge.scheduler.get_job("999999")
    assert info.value.code == "job.not_found" and "999999" in info.value.message


@pytest.mark.asyncio
async def test_a_job_that_fits_one_queue_only_and_refusals_in_grid_engines_words(
    sge: SGE,
) -> None:
    partitions = {p.name: p for p in await sge.scheduler.partitions()}
    assert (partitions["short.q"].max_time, partitions["long.q"].max_time) == (60, 7 * 24 * 60)
    long_id = await sge.submit(sge.spec("#!/bin/bash\nsleep 1\n", time_limit=120, hold=True))
    assert (await sge.scheduler.get_job(long_id)).time_limit == 7200.0
    # two hours fit long.q only: asked for short.q, qsub -w e refuses it at once
    with pytest.raises(InvalidRequest) as info:
        await sge.submit(sge.spec("true", time_limit=120, partition="short.q"))
    assert info.value.code == "cluster.command_failed"
    assert "Grid Engine refused the job: Unable to run job: error: no suitable queues" in (
        info.value.message
    )
    with pytest.raises(InvalidRequest) as info:
        await sge.submit(sge.spec("true", partition="nosuch.q"))
    assert 'unknown queue "nosuch.q"' in info.value.message
    # what qsub -w v says, without submitting
    fits = await sge.scheduler.test_submit(sge.spec("true", time_limit=120))
    assert fits["expected_start"] is None and "suitable queue" in fits["message"]
    with pytest.raises(InvalidRequest):
        await sge.scheduler.test_submit(sge.spec("true", time_limit=120, partition="short.q"))


@pytest.mark.asyncio
async def test_an_error_state_says_why_and_release_clears_it(sge: SGE) -> None:
    later = f"{sge.workdir}/made later"
    job_id = await sge.submit(
        sge.spec("#!/bin/bash\necho ran in $PWD\n", workdir=later, stdout=f"{sge.workdir}/e.out")
    )
    deadline = time.monotonic() + 30
    while True:  # Grid Engine tries to start it, cannot enter the folder: Eqw
        job = await sge.scheduler.get_job(job_id)
        if "E" in job.raw_state:
            break
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.5)
    assert job.state == "held"
    assert f"can't chdir to {later}: No such file or directory" in job.reason
    assert (await sge.runner.run(["mkdir", "-p", "--", later])).ok
    await sge.scheduler.release(job_id)
    # (between the job's end and its accounting record, the record of the failed attempt
    # is all qacct has: a moment's "failed")
    done = await sge.wait(job_id, {"completed"})
    assert done.extra["attempts"] == 2, done
    assert await sge.read(f"{sge.workdir}/e.out") == f"ran in {later}\n"


@pytest.mark.asyncio
async def test_injection_corpus_arrives_literally_or_is_refused(sge: SGE) -> None:
    marker = f"/tmp/jrpc-sge-marker-{uuid.uuid4().hex}"
    payloads = [p.format(m=marker) for p in PAYLOADS]
    odd_dir = f"{sge.workdir}/dir {payloads[1]} {payloads[3]}"
    assert (await sge.runner.run(["mkdir", "-p", "--", odd_dir])).ok
    script = '#!/bin/bash\nprintf "%s\\n" "$JOB_NAME"\nprintf "%s" "$INJ"\n'
    env_value = "\n".join(payloads) + "\nwith,comma=and newline"
    jobs = []
    for index, payload in enumerate(payloads):
        # a job name is printable ASCII without spaces, '/', ':' or '@' (Grid Engine's
        # rule): the payload's spaces and the marker's slashes become '_'
        name = f"inj{index}_{payload}".replace("/", "_").replace(" ", "_")
        if not name.isascii():
            name = f"inj{index}"
        job_id = await sge.submit(
            sge.spec(
                script, name=name, workdir=odd_dir, env={"INJ": env_value},
                stdout=f"out-{index}-%j.txt",
            )
        )  # fmt: skip
        jobs.append((job_id, name, index))
    for job_id, name, index in jobs:
        job = await sge.wait(job_id, {"completed", "failed"})
        assert job.state == "completed", job
        assert job.name == name and job.workdir == odd_dir
        assert job.stdout == f"{odd_dir}/out-{index}-{job_id}.txt"
        assert await sge.read(job.stdout) == f"{name}\n{env_value}"
    for bad in ("x\n; touch " + marker, f"a{marker}", f"a ;touch {marker}", "ünï"):
        with pytest.raises(InvalidRequest) as info:
            await sge.submit(sge.spec(script, name=bad))
        assert info.value.code == "job.invalid" and info.value.details["field"] == "name"
    with pytest.raises(InvalidRequest) as info:
        await sge.submit(sge.spec(script, partition=f"short.q; touch {marker}"))
    assert info.value.details["field"] == "partition"
    with pytest.raises(InvalidRequest) as info:
        await sge.submit(sge.spec(script, stdout=f"a\n$(touch {marker})"))
    assert info.value.details["field"] == "stdout"
    with pytest.raises(InvalidRequest) as info:
        await sge.scheduler.cancel(f"1;touch {marker}")
    assert info.value.details["field"] == "job_id"
    assert not await sge.exists(marker)


# --- the whole path: a Jupyter server's REST API, its SSH pool, the bed's Grid Engine ---


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], hpc_testbed: HPCTestbed, tmp_path):
    return server_config(jp_server_config, hpc_testbed, tmp_path, "grid", scheduler="sge")


def _run_as(user: str, argv: list[str], stdin: str = "") -> str | None:
    """What ``argv`` printed, run as another user of the bed (as root on the bed's own
    machine); None if it failed."""
    done = subprocess.run(
        ["runuser", "-u", user, "--", *argv],
        input=stdin, capture_output=True, text=True, check=False, cwd="/tmp",
    )  # fmt: skip
    return done.stdout.strip() if done.returncode == 0 else None


def _submit_as(user: str) -> str | None:
    """A held job of another user of the bed, or None."""
    out = _run_as(user, ["qsub", "-terse", "-h", "-N", "jrpc-other", "-l", "h_rt=60"], "true\n")
    return out if out and out.isdigit() else None


async def test_grid_engine_cluster_over_rest(rpc, sge: SGE, hpc_testbed: HPCTestbed) -> None:
    status, listing = await rpc("GET", "clusters")
    assert status == 200
    [grid] = [c for c in listing["clusters"] if c["name"] == "grid"]
    assert grid["scheduler"] == "sge"
    assert grid["capabilities"] == {
        "hold": True, "arrays": True, "history": True, "test_only": False,
        "efficiency": True, "queues": True, "workdir": True, "dependencies": True,
    }  # fmt: skip
    status, form = await rpc("GET", "clusters", "grid", "submit-schema")
    assert status == 200, form
    assert {p["name"] for p in form["partitions"]} == {"short.q", "long.q"}
    assert form["schema"]["properties"]["time_limit"]["maximum"] == 7 * 24 * 60
    assert {"qos", "nodes", "gpus"}.isdisjoint(form["schema"]["properties"])
    body = {
        "script": "echo hello from $JOB_NAME; sleep 3; echo bye", "name": "jrpc-rest",
        "partition": "short.q", "time_limit": 5, "workdir": sge.workdir, "stdout": "%x.%j.log",
    }  # fmt: skip
    status, job = await rpc("POST", "clusters", "grid", "jobs", body=body)
    assert status == 201, job
    sge.submitted.append(job["id"])
    status, jobs = await rpc("GET", "clusters", "grid", "jobs")
    assert status == 200 and job["id"] in {j["id"] for j in jobs["jobs"]}
    assert {j["user"] for j in jobs["jobs"]} == {hpc_testbed.user}
    # another user's held job (as root, on the bed's own machine, as CI runs)
    root = os.geteuid() == 0
    other = await asyncio.to_thread(_submit_as, hpc_testbed.jump_user) if root else None
    assert other is not None or not root, f"qsub as {hpc_testbed.jump_user} failed"
    try:
        if other is not None:  # only in everyone's list
            status, everyone = await rpc(
                "GET", "clusters", "grid", "jobs", params={"all_users": "true"}
            )
            assert status == 200
            users = {j["id"]: j["user"] for j in everyone["jobs"]}
            assert users[other] == hpc_testbed.jump_user and users[job["id"]] == hpc_testbed.user
            status, own = await rpc("GET", "clusters", "grid", "jobs")
            assert other not in {j["id"] for j in own["jobs"]}
            status, theirs = await rpc("GET", "clusters", "grid", "jobs", other)
            assert status == 200 and (theirs["user"], theirs["state"]) == (
                hpc_testbed.jump_user, "held",
            )  # fmt: skip
    finally:
        if other is not None:
            await asyncio.to_thread(_run_as, hpc_testbed.jump_user, ["qdel", other])
    deadline = time.monotonic() + 30
    text = ""
    while "bye" not in text:
        assert time.monotonic() < deadline, text
        status, chunk = await rpc(
            "GET", "clusters", "grid", "jobs", job["id"], "output", params={"stream": "stdout"}
        )
        assert status == 200, chunk
        text = chunk["data"]
        await asyncio.sleep(0.5)
    assert text == "hello from jrpc-rest\nbye\n"
    assert chunk["path"] == f"{sge.workdir}/jrpc-rest.{job['id']}.log"
    deadline = time.monotonic() + 30
    while True:  # ended: from accounting
        status, after = await rpc("GET", "clusters", "grid", "jobs", job["id"])
        if after["state"] == "completed":
            break
        assert time.monotonic() < deadline, after
        await asyncio.sleep(0.5)
    status, history = await rpc("GET", "clusters", "grid", "history", params={"days": 1})
    assert status == 200 and job["id"] in {j["id"] for j in history["jobs"]}
    status, err = await rpc(
        "POST", "clusters", "grid", "jobs", body={**body, "partition": "nosuch.q"}
    )
    assert (status, err["code"]) == (400, "job.invalid"), err  # not one of its queues
    status, err = await rpc("POST", "clusters", "grid", "jobs", body={**body, "array": "1,3"})
    assert (status, err["code"]) == (400, "job.invalid") and "no lists" in err["message"]
    # would it fit? (qsub -w v): two hours fit long.q only
    check = {"script": "true", "time_limit": 120}
    status, fits = await rpc("POST", "clusters", "grid", "jobs", "test", body=check)
    assert status == 200 and fits["expected_start"] is None, fits
    assert "suitable queue" in fits["message"]
    status, err = await rpc(
        "POST", "clusters", "grid", "jobs", "test", body={**check, "partition": "long.q"}
    )
    assert status == 200, err
    status, err = await rpc(
        "POST",
        "clusters",
        "grid",
        "jobs",
        "test",
        body={**check, "cpus": 2, "partition": "long.q", "time_limit": 20000},
    )
    assert (status, err["code"]) == (400, "job.invalid"), err  # beyond long.q's 7 days
    # within the form's bound (2 slots x 2G) but over short.q's h_vmem for one slot: Grid
    # Engine's own refusal, in its words
    status, err = await rpc("POST", "clusters", "grid", "jobs", body={**body, "memory_mb": 3000})
    assert (status, err["code"]) == (400, "cluster.command_failed"), err
    assert err["message"] == (
        "Grid Engine refused the job: Unable to run job: error: no suitable queues"
    )
