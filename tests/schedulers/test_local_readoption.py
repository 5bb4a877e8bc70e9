"""Local jobs survive a server stop and stay the user's (issue 13 item 2).

A hub's idle culler stops a user's server with SIGINT; a local job must keep running, and
the next server on the same state folder must show it ``running``, cancel it, and record
its real exit status. Real ``jupyter server`` processes, real jobs.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

from jupyter_rpc.schedulers.base import JobSpec
from jupyter_rpc.schedulers.local import LocalScheduler
from tests.hardening.conftest import ServerProcess, ServerStarter, jupyter_server_process

__all__ = ["jupyter_server_process"]  # the fixture, used here from the hardening suite


def _pids_with(word: str) -> list[int]:
    """PIDs whose command line contains ``word`` (a unique sleep length)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if word in cmd and state != "Z" and int(entry) != os.getpid():
            found.append(int(entry))
    return found


def _wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


def _job(server: ServerProcess, job_id: str) -> dict[str, Any]:
    reply = server.request("GET", f"clusters/local/jobs/{job_id}")
    assert reply.status == 200, reply.body
    return dict(reply.json())


def _stop_with_sigint(server: ServerProcess) -> None:
    server.stopped = True  # stopped here, as the idle culler does: its job may outlive it
    os.kill(server.pid, signal.SIGINT)
    server.proc.wait(timeout=30)


def test_a_job_outlives_a_server_stop_and_the_next_server_adopts_it(
    jupyter_server_process: ServerStarter, tmp_path: Path
) -> None:
    state = tmp_path / "shared-state"
    long_word = str(300 + random.randint(1, 600) + 0.25)
    first = jupyter_server_process(None, rpc_config={"state_dir": str(state)})
    try:
        reply = first.request(
            "POST", "clusters/local/jobs", {"script": f"sleep {long_word}; echo done\n"}
        )
        assert reply.status == 201, reply.body
        long_id = reply.json()["id"]
        reply = first.request("POST", "clusters/local/jobs", {"script": "sleep 1.5; exit 7\n"})
        assert reply.status == 201, reply.body
        short_id = reply.json()["id"]
        _wait(lambda: _job(first, long_id)["state"] == "running", 10, "the job runs")
        _wait(lambda: _pids_with(long_word), 10, "the job's sleep runs")
        _stop_with_sigint(first)

        time.sleep(0.5)
        assert _pids_with(long_word), "the job was killed with the server"
        time.sleep(1.5)  # the short job ends (status 7) while no server runs

        second = jupyter_server_process(None, rpc_config={"state_dir": str(state)})
        job = _job(second, long_id)
        assert job["state"] == "running", job
        short = _wait(
            lambda: (j := _job(second, short_id))["state"] != "running" and j, 10, "short ends"
        )
        assert short["state"] == "failed" and short["exit_code"] == 7, short

        started = time.monotonic()
        reply = second.request("DELETE", f"clusters/local/jobs/{long_id}")
        assert reply.status == 200, reply.body
        assert reply.json()["state"] == "cancelled", reply.body
        assert time.monotonic() - started < 10
        _wait(lambda: not _pids_with(long_word), 5, "the job's processes end")
        assert _job(second, long_id)["state"] == "cancelled"
    finally:
        for pid in _pids_with(long_word):
            os.kill(pid, signal.SIGKILL)


async def test_cancel_ends_what_the_job_started_under_setsid(tmp_path: Path) -> None:
    word = str(300 + random.randint(1, 600) + 0.5)
    scheduler = LocalScheduler(tmp_path / "state", default_workdir=tmp_path, kill_grace=1.0)
    try:
        job_id = await scheduler.submit(JobSpec(script=f"setsid sleep {word} &\nsleep 30\n"))
        for _ in range(100):
            if _pids_with(word):
                break
            await asyncio.sleep(0.1)
        assert _pids_with(word), "the setsid sleep did not start"
        await scheduler.cancel(job_id)
        assert (await scheduler.get_job(job_id)).state == "cancelled"
        for _ in range(30):
            if not _pids_with(word):
                break
            await asyncio.sleep(0.1)
        assert not _pids_with(word), "the setsid child outlived the cancelled job"
    finally:
        await scheduler.close()
        for pid in _pids_with(word):
            os.kill(pid, signal.SIGKILL)


def _running_record(state: Path, job_id: str, pid: int, start: int) -> None:
    folder = state / job_id
    folder.mkdir(parents=True)
    record = {"id": job_id, "name": "x", "state": "running", "started": time.time() - 5}
    data = {
        "spec": {"script": "true"},
        "records": [record],
        "procs": {job_id: {"pid": pid, "start": start, "token": ""}},
    }
    (folder / "job.json").write_text(json.dumps(data))


async def test_a_reused_pid_is_not_adopted_and_an_unknown_end_says_so(tmp_path: Path) -> None:
    state = tmp_path / "state"
    # This test's own PID, with another start time: the job's PID now names another process.
    _running_record(state, "3", os.getpid(), 1)
    scheduler = LocalScheduler(state, default_workdir=tmp_path)
    try:
        job = await scheduler.get_job("3")
        assert job.state == "failed" and job.exit_code is None, job
        assert job.reason == "ended while the server was stopped; its exit status is unknown"
    finally:
        await scheduler.close()


async def test_an_adopted_job_that_ends_records_its_exit_status(tmp_path: Path) -> None:
    first = LocalScheduler(tmp_path / "state", default_workdir=tmp_path)
    job_id = await first.submit(JobSpec(script="sleep 1; exit 5\n"))
    for _ in range(50):
        if (await first.get_job(job_id)).state == "running":
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)  # its process starts
    await first.close()  # the job keeps running
    second = LocalScheduler(tmp_path / "state", default_workdir=tmp_path)
    try:
        assert (await second.get_job(job_id)).state == "running"
        for _ in range(50):
            job = await second.get_job(job_id)
            if job.state != "running":
                break
            await asyncio.sleep(0.1)
        assert job.state == "failed" and job.exit_code == 5, job
        assert job.reason == "NonZeroExitCode"
    finally:
        await second.close()
