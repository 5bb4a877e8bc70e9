"""What the scheduler tests on the HPC test bed share: the SSH target of the bed's login
node, a helper that submits (and remembers what, to delete it by id at the end), waits
for a state and reads the job's files, and a Jupyter server's config with one cluster on
the bed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Generic, TypeVar

from jupyter_rpc.schedulers.base import JobInfo, JobSpec
from jupyter_rpc.schedulers.command import CommandScheduler
from jupyter_rpc.ssh import SSHTarget
from tests.fixtures.hpc import HPCTestbed

S = TypeVar("S", bound=CommandScheduler)

#: What a job's name, folder and variables are made of in the injection tests (``{m}``: a
#: marker file that must never appear): each must arrive literally or be refused.
PAYLOADS = [
    "; touch {m}",
    "$(touch {m})",
    "`touch {m}`",
    "' ; touch {m}; '",
    '" ; touch {m}; "',
    "&& touch {m} || touch {m} | x > y < z",
    "ünï ✓ 🚀 | pipe",
]


def target(tb: HPCTestbed) -> SSHTarget:
    """The bed's login node, with the bed's key and known_hosts only."""
    return SSHTarget(
        "127.0.0.1", tb.port, tb.user, label="testbed", identity_files=(tb.key,), agent=False,
        config_files=(), known_hosts=(tb.known_hosts,), connect_timeout=10,
    )  # fmt: skip


class BedJobs(Generic[S]):
    """A scheduler on the test bed plus the ids this test submitted (the fixture deletes
    them by id at the end); ``defaults``: every spec's values unless a test says others."""

    def __init__(self, scheduler: S, workdir: str, defaults: dict[str, object]) -> None:
        self.scheduler = scheduler
        self.runner = scheduler.runner
        self.workdir = workdir
        self.defaults = defaults
        self.submitted: list[str] = []

    async def submit(self, spec: JobSpec) -> str:
        job_id = await self.scheduler.submit(spec)
        self.submitted.append(job_id)
        return job_id

    def spec(self, script: str, **kw: object) -> JobSpec:
        values = {**self.defaults, "workdir": self.workdir, **kw}
        return JobSpec(script=script, **values)  # type: ignore[arg-type]

    async def wait(self, job_id: str, states: set[str], timeout: float = 60.0) -> JobInfo:
        deadline = time.monotonic() + timeout
        while True:
            job = await self.scheduler.get_job(job_id)
            if job.state in states:
                return job
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"job {job_id} stayed {job.state} ({job.raw_state}: {job.reason}), wanted {states}"
                )
            await asyncio.sleep(0.5)

    async def read(self, path: str) -> str:
        done = await self.runner.run(["cat", "--", path])
        assert done.ok, done.stderr
        return done.stdout

    async def exists(self, path: str) -> bool:
        return (await self.runner.run(["test", "-e", path])).ok


def server_config(
    jp_server_config: dict[str, Any],
    tb: HPCTestbed,
    tmp_path: Path,
    name: str,
    **cluster: Any,
) -> dict[str, Any]:
    """A Jupyter server's config with one cluster ``name`` on the bed (``cluster``: its
    scheduler and more keys), a state folder of the test's own and no listing cache."""
    reach = {
        "host": "127.0.0.1", "port": tb.port, "user": tb.user, "identity_file": tb.key,
        "known_hosts": tb.known_hosts, "ssh_config": False,
    }  # fmt: skip
    return {
        **jp_server_config,
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {name: {**reach, **cluster}},
            "state_dir": str(tmp_path / "state"),
            "jobs_refresh_min": 0.0,
        },
    }
