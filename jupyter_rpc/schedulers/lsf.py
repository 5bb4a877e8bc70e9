"""IBM Spectrum LSF over any :class:`~jupyter_rpc.ssh.runner.CommandRunner` (SSH or local).

Like Slurm: argv lists only (the runner quotes them once), machine-readable output only
(``bjobs -o "<fields>" -json``, parsed by :mod:`.lsf_parse`), errors in LSF's own words.

- **list**: ``bjobs -a -o "<fields>" -json`` (``-u all`` for everyone's; ``-a``: also the
  jobs that ended within LSF's ``CLEAN_PERIOD``).
- **detail**: ``bjobs -a -o "<fields>" -json <id>``.
- **history**: ``bjobs -d -o "<fields>" -json``: the ended jobs LSF still remembers
  (``CLEAN_PERIOD``, an hour by default). ``bhist``/``bacct`` are not read yet: there is
  no recording of their output to build a parser on.
- **submit**: ``bsub`` with the script on stdin; ``-J name[range]%limit`` for arrays,
  ``-W`` minutes, ``-n`` slots, ``-R rusage[mem=N]`` (N in the cluster's
  ``LSF_UNIT_FOR_LIMITS``, MB by default), ``-cwd``, ``-o``/``-e``, ``-H`` to hold. bsub
  hands the job its own environment, which the runner sets: values arrive literally.
- **cancel / hold / release**: ``bkill``, ``bstop`` (a pending job becomes ``PSUSP``),
  ``bresume``.
- **queues**: ``bqueues -o "queue_name status" -json``: names and whether they are open
  and active; their limits are not read yet (no recording of those columns).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from ..errors import Conflict, NotFound
from . import command as cmd
from . import lsf_parse as lp
from .base import ACTIVE_STATES, Capabilities, JobInfo, JobSpec, Partition
from .command import CommandScheduler

#: LSF arrays: ``1-10``, ``1-10:2``, ``1,3,5`` and a ``%`` limit.
_ARRAY_RE = re.compile(r"^(\d+(-\d+(:\d+)?)?)(,\d+(-\d+(:\d+)?)?)*(%\d+)?$")
_RESERVED_ENV = re.compile(r"^(LSB_|LSF_|LD_|PATH$|HOME$|USER$|SHELL$|LOGNAME$)")
_OUTPUT = ["-o", " ".join(lp.FIELDS), "-json"]


def check_job_id(job_id: str) -> str:
    """An LSF job id (``123`` or ``123[4]``)."""
    job_id = str(job_id).strip()
    if not lp.JOB_ID_RE.match(job_id):
        raise cmd.invalid("job_id", f"{job_id!r} is not an LSF job id (like 123 or 123[4]).")
    return job_id


def bsub_argv(spec: JobSpec, *, allow_extra_args: bool = False) -> list[str]:
    """The ``bsub`` argv for ``spec`` (a script text goes on stdin)."""
    cmd.check_one_script(spec)
    argv = ["bsub"]
    name = spec.name or ""
    if name:
        cmd.check_text("name", name)
        if len(name) > 4000:
            raise cmd.invalid("name", "The job name is longer than 4000 characters.")
    if spec.array:
        if not _ARRAY_RE.match(spec.array):
            raise cmd.invalid(
                "array", f"{spec.array!r} is not an array range (like 0-9, 1,3,5 or 1-100%10)."
            )
        if "[" in name or "]" in name:
            raise cmd.invalid("name", "An array job's name cannot contain [ or ] (LSF uses them).")
        indices, _, limit = spec.array.partition("%")
        argv += ["-J", f"{name or 'array'}[{indices}]" + (f"%{limit}" if limit else "")]
    elif name:
        argv += ["-J", name]
    argv += cmd.queue_args(
        spec, label="LSF", queue_re=cmd.NAME_RE, account_flag="-P", account="project"
    )
    time_limit = cmd.positive("time_limit", spec.time_limit, 10**6)
    if time_limit is not None:
        argv += ["-W", str(time_limit)]
    cpus = cmd.positive("cpus", spec.cpus, 100000)
    ntasks = cmd.positive("ntasks", spec.ntasks, 10**6)
    nodes = cmd.positive("nodes", spec.nodes, 100000)
    memory = cmd.positive("memory_mb", spec.memory_mb, 10**9)
    gpus = cmd.positive("gpus", spec.gpus, 10000)
    if cpus or ntasks:
        argv += ["-n", str((cpus or 1) * (ntasks or 1))]
    if nodes:
        slots = (cpus or 1) * (ntasks or 1)
        argv += ["-R", f"span[ptile={-(-slots // nodes)}]"]
    if memory:
        argv += ["-R", f"rusage[mem={memory}]"]
    if gpus:
        argv += ["-gpu", f"num={gpus}"]
    if spec.workdir and spec.workdir not in ("~", "~/"):
        argv += ["-cwd", cmd.check_path("workdir", spec.workdir)]
    for field, flag in (("stdout", "-o"), ("stderr", "-e")):
        value = getattr(spec, field)
        if value:
            argv += [flag, cmd.check_path(field, value)]
    if spec.hold:
        argv.append("-H")
    cmd.check_env(spec, _RESERVED_ENV, "LSF sets it")
    argv += cmd.extra_args(spec, allowed=allow_extra_args, command="bsub")
    return argv + cmd.script_args(spec)


class LSFScheduler(CommandScheduler):
    """IBM Spectrum LSF through its command-line tools, run by ``runner``."""

    kind = "lsf"
    label = "LSF"
    capabilities = Capabilities(test_only=False, efficiency=True, dependencies=True)
    submitted_id_sed = (
        r"s/^Job <\([0-9][0-9]*\)>.*/\1/p"  # "Job <542935> is submitted to queue <short>."
    )

    def _words(self, text: str) -> str:
        return lp.clean_error(text)

    def _user_args(self, all_users: bool) -> list[str]:
        if all_users:
            return ["-u", "all"]
        user = self._checked_user()
        if user:
            return ["-u", user]
        return []  # bjobs lists the login user's jobs

    async def _bjobs(self, extra: list[str], *, job_id: str = "") -> list[JobInfo]:
        done = await self._run(["bjobs", *extra, *_OUTPUT, *([job_id] if job_id else [])])
        try:
            jobs, errors = lp.parse_bjobs(done.stdout, self.tz, job_id=job_id)
        except lp.ParseError as exc:
            if not done.ok:
                raise self._failed(done, "bjobs") from None
            raise self._unreadable(exc) from None
        if job_id and not jobs:
            words = "; ".join(errors) or lp.clean_error(done.stderr)
            raise NotFound(
                f"LSF on {self.runner.where} knows no job {job_id}"
                + (f": {words}" if words else "."),
                code="job.not_found",
            )
        if not done.ok and not jobs and not _no_jobs(done.stderr):
            raise self._failed(done, "bjobs")
        return jobs

    # --- reading ------------------------------------------------------------------

    async def list_jobs(self, *, all_users: bool = False) -> list[JobInfo]:
        return await self._bjobs(["-a", *self._user_args(all_users)])

    async def get_job(self, job_id: str, *, usage: bool = False) -> JobInfo:
        job_id = check_job_id(job_id)
        try:
            return _pick(await self._bjobs(["-a"], job_id=job_id), job_id)
        except NotFound:
            # bjobs forgets a job CLEAN_PERIOD after it ended; bhist reads the event log
            old = await self._bhist(job_id)
            if old is None:
                raise
            return old

    async def _bhist(self, job_id: str) -> JobInfo | None:
        """The job's record from ``bhist -l`` (its events), or None when LSF has none."""
        done = await self._run(["bhist", "-l", job_id])
        jobs = lp.parse_bhist_long(done.stdout, self.tz) if done.ok else []
        return next((job for job in jobs if job.id == job_id), None)

    async def history(self, *, days: float = 7.0) -> list[JobInfo]:
        since = time.time() - float(days) * 86400
        jobs = await self._bjobs(["-d", *self._user_args(False)])
        return [job for job in jobs if (job.ended or job.submitted or 0) >= since]

    async def partitions(self) -> list[Partition]:
        done = await self._run(["bqueues", "-o", "queue_name status", "-json"])
        if not done.ok:
            raise self._failed(done, "bqueues")
        try:
            return lp.parse_queues(done.stdout)
        except lp.ParseError as exc:
            raise self._unreadable(exc) from None

    # --- changing -----------------------------------------------------------------

    async def submit(self, spec: JobSpec) -> str:
        argv = bsub_argv(spec, allow_extra_args=self.allow_extra_args)
        done = await self._run(
            argv, input=spec.script if spec.script else None, env=dict(spec.env) or None
        )
        job_id = lp.parse_bsub_id(done.stdout)
        if not done.ok or job_id is None:
            words = lp.clean_error(done.stderr) or done.stdout.strip()[:1000]
            raise self._refusal(
                f"LSF refused the job: {words or f'exit status {done.exit_status}'}", done
            )
        return job_id

    async def submit_argv(self, spec: JobSpec) -> list[str]:
        return bsub_argv(spec, allow_extra_args=self.allow_extra_args)

    def dependency_args(self, ids: Sequence[str]) -> list[str]:
        return ["-w", " && ".join(f"done({i})" for i in ids)]

    async def test_submit(self, spec: JobSpec) -> dict[str, Any]:
        bsub_argv(spec, allow_extra_args=self.allow_extra_args)  # the same checks
        self._test_unsupported()

    async def _active(self, job_id: str) -> list[JobInfo]:
        job_id = check_job_id(job_id)
        jobs = await self._bjobs(["-a"], job_id=job_id)
        active = [job for job in jobs if job.state in ACTIVE_STATES]
        if not active:
            job = _pick(jobs, job_id)
            raise Conflict(f"Job {job_id} has already ended ({job.state}).", code="job.finished")
        return active

    async def cancel(self, job_id: str) -> None:
        await self._active(job_id)
        done = await self._run(["bkill", job_id])
        if not done.ok:
            raise self._failed(done, "bkill")

    async def hold(self, job_id: str) -> None:
        cmd.hold_checked(await self._active(job_id), job_id)
        await self._control("bstop", "hold", job_id)

    async def release(self, job_id: str) -> None:
        cmd.release_checked(await self._active(job_id), job_id)
        await self._control("bresume", "release", job_id)

    async def _control(self, command: str, verb: str, job_id: str) -> None:
        done = await self._run([command, job_id])
        if not done.ok:
            words = self._said(done) or f"exit status {done.exit_status}"
            raise self._control_failed(done, verb, job_id, words)


def _no_jobs(stderr: str) -> bool:
    """bjobs says so on stderr (and exits non-zero) when the user has no jobs."""
    return "No job found" in stderr or "No unfinished job found" in stderr


def _pick(jobs: list[JobInfo], job_id: str) -> JobInfo:
    for job in jobs:
        if job.id == job_id:
            return job
    return jobs[0]


#: The registry's factory (:mod:`jupyter_rpc.schedulers.registry`).
from_context = LSFScheduler.from_context
