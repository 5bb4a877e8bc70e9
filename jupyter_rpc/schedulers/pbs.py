"""PBS Pro / OpenPBS over any :class:`~jupyter_rpc.ssh.runner.CommandRunner` (SSH or local).

Like Slurm: argv lists only (the runner quotes them once), machine-readable output only
(``qstat -F json``, parsed by :mod:`.pbs_parse`), errors in PBS's own words.

- **list**: ``qstat -f -F json -t`` (every job and array subjob the server has; qstat's
  full listing takes no ``-u``, so the user's own are picked by ``Job_Owner``).
- **detail**: ``qstat -x -f -F json -t <id>`` (``-x``: finished jobs too, where the
  server keeps job history).
- **history**: ``qstat -x -f -F json -t``, the finished (``F``/``X``) ones of the window.
- **submit**: ``qsub`` with the script on stdin; resources as ``-l select=N:ncpus=C:mem=MMb``
  and ``-l walltime=H:MM:00``; the job's environment is the qsub process's (``-V``), set by
  the runner, so no value is ever split at commas (``qsub -v`` would).
- **cancel / hold / release**: ``qdel``, ``qhold``, ``qrls``.
- **queues**: ``qstat -Q -f -F json``.

PBS's qsub has no working-folder option (the job starts in the home folder, with
``PBS_O_WORKDIR`` set to where qsub ran), so a ``workdir`` is refused with that reason
rather than silently ignored; ``capabilities.workdir`` says so.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from ..errors import Conflict, NotFound
from ..ssh.runner import Completed
from . import command as cmd
from . import pbs_parse as pp
from .base import ACTIVE_STATES, Capabilities, JobInfo, JobSpec, Partition
from .command import CommandScheduler

_QUEUE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}(@[A-Za-z0-9_.-]{1,253})?$")
#: PBS Pro arrays: ``X-Y[:Z]`` with an optional ``%max`` running at once (no lists).
_ARRAY_RE = re.compile(r"^\d+-\d+(:\d+)?(%\d+)?$")
_RESERVED_ENV = re.compile(r"^(PBS_|LD_|PATH$|HOME$|USER$|SHELL$|LOGNAME$)")
#: A full listing as JSON, array subjobs included.
_JSON_ARGS = ["-f", "-F", "json", "-t"]


def check_job_id(job_id: str) -> str:
    """A PBS job id (``123``, ``123.server``, ``123[].server``, ``123[4].server``)."""
    job_id = str(job_id).strip()
    if not pp.JOB_ID_RE.match(job_id):
        raise cmd.invalid(
            "job_id", f"{job_id!r} is not a PBS job id (like 123.server or 123[4].server)."
        )
    return job_id


def qsub_argv(spec: JobSpec, *, allow_extra_args: bool = False) -> list[str]:
    """The ``qsub`` argv for ``spec`` (a script text goes on stdin); every value checked,
    refusals are ``job.invalid`` naming the field."""
    cmd.check_one_script(spec)
    argv = ["qsub"]
    if spec.name:
        cmd.check_text("name", spec.name)
        if len(spec.name) > 236:
            raise cmd.invalid("name", "The job name is longer than 236 characters (PBS's limit).")
        argv += ["-N", spec.name]
    argv += cmd.queue_args(spec, label="PBS", queue_re=_QUEUE_RE)
    time_limit = cmd.positive("time_limit", spec.time_limit, 10**6)
    if time_limit is not None:
        argv += ["-l", f"walltime={cmd.hms(time_limit)}"]
    cpus = cmd.positive("cpus", spec.cpus, 100000)
    memory = cmd.positive("memory_mb", spec.memory_mb, 10**9)
    gpus = cmd.positive("gpus", spec.gpus, 10000)
    nodes = cmd.positive("nodes", spec.nodes, 100000)
    ntasks = cmd.positive("ntasks", spec.ntasks, 10**6)
    if any(v is not None for v in (cpus, memory, gpus, nodes, ntasks)):
        chunks = nodes or 1
        per_chunk = -(-(ntasks or chunks) // chunks)  # tasks per node, rounded up
        select = f"{chunks}:ncpus={(cpus or 1) * per_chunk}"
        if ntasks:
            select += f":mpiprocs={per_chunk}"
        if memory:
            select += f":mem={memory}mb"
        if gpus:
            select += f":ngpus={gpus}"
        argv += ["-l", f"select={select}"]
    if spec.array:
        if not _ARRAY_RE.match(spec.array):
            raise cmd.invalid(
                "array",
                f"{spec.array!r} is not a PBS array range (like 0-9, 1-100:2 or 1-100%10; "
                "PBS takes no lists).",
            )
        argv += ["-J", spec.array]
    if spec.workdir and spec.workdir not in ("~", "~/"):
        raise cmd.invalid(
            "workdir",
            "PBS's qsub has no working-folder option: the job starts in your home folder "
            '(cd "$PBS_O_WORKDIR" or a folder of your choice in the script).',
        )
    for field, flag in (("stdout", "-o"), ("stderr", "-e")):
        value = getattr(spec, field)
        if value:
            argv += [flag, cmd.check_path(field, value)]
    if spec.hold:
        argv += ["-h"]
    cmd.check_env(spec, _RESERVED_ENV, "PBS sets it")
    argv.append("-V")
    argv += cmd.extra_args(spec, allowed=allow_extra_args, command="qsub")
    return argv + cmd.script_args(spec)


class PBSScheduler(CommandScheduler):
    """PBS Pro / OpenPBS through its command-line tools, run by ``runner``."""

    kind = "pbs"
    label = "PBS"
    capabilities = Capabilities(test_only=False, efficiency=True, workdir=False, dependencies=True)
    submitted_id_sed = r"/^[0-9][^ ]*$/p"  # qsub: "40.pbs", an array "41[].pbs"

    def _words(self, text: str) -> str:
        return pp.clean_error(text)

    def _parse(self, done: Completed, what: str, *, user: str | None = None) -> list[JobInfo]:
        try:
            return pp.parse_jobs(done.stdout, self.tz, user=user)
        except pp.ParseError as exc:
            raise self._unreadable(exc) from None

    # --- reading ------------------------------------------------------------------

    async def list_jobs(self, *, all_users: bool = False) -> list[JobInfo]:
        done = await self._run(["qstat", *_JSON_ARGS])
        if not done.ok:
            raise self._failed(done, "qstat")
        return self._parse(done, "qstat", user=None if all_users else await self._owner())

    async def _jobs(self, job_id: str) -> list[JobInfo]:
        done = await self._run(["qstat", "-x", *_JSON_ARGS, job_id])
        if not done.ok:
            if pp.is_unknown_job(done.stderr):
                return []
            raise self._failed(done, "qstat")
        return self._parse(done, "qstat")

    async def get_job(self, job_id: str, *, usage: bool = False) -> JobInfo:
        job_id = check_job_id(job_id)
        jobs = _matching(await self._jobs(job_id), job_id)
        if not jobs:
            raise NotFound(
                f"PBS on {self.runner.where} knows no job {job_id}.", code="job.not_found"
            )
        return _pick(jobs, job_id)

    async def history(self, *, days: float = 7.0) -> list[JobInfo]:
        done = await self._run(["qstat", "-x", *_JSON_ARGS])
        if not done.ok:
            raise self._failed(done, "qstat -x")
        since = time.time() - float(days) * 86400
        jobs = self._parse(done, "qstat -x", user=await self._owner())
        return [
            job
            for job in jobs
            if job.raw_state in ("F", "X") and (job.ended or job.submitted or 0) >= since
        ]

    async def partitions(self) -> list[Partition]:
        done = await self._run(["qstat", "-Q", "-f", "-F", "json"])
        if not done.ok:
            raise self._failed(done, "qstat -Q")
        try:
            return pp.parse_queues(done.stdout)
        except pp.ParseError as exc:
            raise self._unreadable(exc) from None

    # --- changing -----------------------------------------------------------------

    async def submit(self, spec: JobSpec) -> str:
        argv = qsub_argv(spec, allow_extra_args=self.allow_extra_args)
        return await self._submitted(argv, spec, pp.parse_qsub_id)

    async def submit_argv(self, spec: JobSpec) -> list[str]:
        return qsub_argv(spec, allow_extra_args=self.allow_extra_args)

    def dependency_args(self, ids: Sequence[str]) -> list[str]:
        return ["-W", f"depend=afterok:{':'.join(ids)}"]

    async def test_submit(self, spec: JobSpec) -> dict[str, Any]:
        qsub_argv(spec, allow_extra_args=self.allow_extra_args)  # the same checks
        self._test_unsupported()

    async def _active(self, job_id: str) -> list[JobInfo]:
        job_id = check_job_id(job_id)
        jobs = _matching(await self._jobs(job_id), job_id)
        if not jobs:
            raise NotFound(
                f"PBS on {self.runner.where} knows no job {job_id}.", code="job.not_found"
            )
        active = [job for job in jobs if job.state in ACTIVE_STATES]
        if not active:
            job = _pick(jobs, job_id)
            raise Conflict(f"Job {job_id} has already ended ({job.state}).", code="job.finished")
        return active

    async def cancel(self, job_id: str) -> None:
        await self._active(job_id)
        done = await self._run(["qdel", job_id])
        if not done.ok:
            raise self._failed(done, "qdel")

    async def hold(self, job_id: str) -> None:
        cmd.hold_checked(await self._active(job_id), job_id)
        await self._control("qhold", "hold", job_id)

    async def release(self, job_id: str) -> None:
        cmd.release_checked(await self._active(job_id), job_id)
        await self._control("qrls", "release", job_id)

    async def _control(self, command: str, verb: str, job_id: str) -> None:
        done = await self._run([command, job_id])
        if not done.ok:
            words = self._said(done) or f"exit status {done.exit_status}"
            raise self._control_failed(done, verb, job_id, words)


def _matching(jobs: list[JobInfo], job_id: str) -> list[JobInfo]:
    """The records of ``job_id`` among what qstat printed (``123`` is ``123.server``; an
    array's ``123[]`` takes in its subjobs): a state is never taken from another job."""
    base = job_id.split(".", 1)[0]
    return [
        job
        for job in jobs
        if job.id == job_id
        or job.id.split(".", 1)[0] == base
        or (job.array_job_id and job.array_job_id.split(".", 1)[0] == base)
    ]


def _pick(jobs: list[JobInfo], job_id: str) -> JobInfo:
    """The record for ``job_id`` (``123`` finds ``123.server``), else the first."""
    for job in jobs:
        if job.id == job_id or job.id.split(".", 1)[0] == job_id:
            return job
    return jobs[0]


#: The registry's factory (:mod:`jupyter_rpc.schedulers.registry`).
from_context = PBSScheduler.from_context
