"""Slurm over any :class:`~jupyter_rpc.ssh.runner.CommandRunner` (SSH or local).

Only argv lists are built here; the runner quotes them once. Output is parsed by the
pure functions of :mod:`.slurm_parse`. Facts of Slurm 22.05 this relies on (checked on
the test bed): ``squeue --json`` ignores filters, so plain ``squeue -o`` is used;
``scontrol`` has no ``--json``; ``sacct --json`` reports wrong exit codes, so text
``sacct`` is used; ``sbatch --test-only`` answers on stderr; ``scancel`` of an unknown id
exits 0, so a job's existence is checked first.

Environment variables for the job (``JobSpec.env``) are *not* passed with
``--export=ALL,NAME=value``: Slurm splits that list at commas, so a value with a comma
would be misread. They go into the environment of the ``sbatch`` process itself (the
runner sets them, quoted once at the SSH boundary), and ``--export=ALL`` hands that whole
environment to the job: any value arrives literally, commas and newlines included.
Names that would change ``sbatch`` itself (``SBATCH_*``, ``SLURM_*``, ``PATH``, ``LD_*``)
are refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import Conflict, NotFound, RPCError
from ..ssh.runner import CommandRunner
from . import command as cmd
from . import slurm_parse as sp
from .base import ACTIVE_STATES, Capabilities, JobInfo, JobSpec, Partition
from .command import CommandScheduler

if TYPE_CHECKING:
    from .registry import SchedulerContext

#: Ask every Slurm command for epoch seconds: no time-zone guessing.
_TIME_ENV = {"SLURM_TIME_FORMAT": "%s"}

_PARTITION_RE = re.compile(
    r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}(,[A-Za-z0-9_][A-Za-z0-9_.-]{0,63})*$"
)
_ARRAY_RE = re.compile(r"^\d+(-\d+(:\d+)?)?(,\d+(-\d+(:\d+)?)?)*(%\d+)?$")
_JOB_ID_RE = re.compile(r"^\d+(_(\d+|\[[0-9,%:-]+\]))?$")
_RESERVED_ENV = re.compile(r"^(SBATCH_|SLURM_|SALLOC_|SRUN_|LD_|PATH$|HOME$|USER$|SHELL$)")


def check_job_id(job_id: str) -> str:
    """A job id as Slurm prints it (``12``, ``12_3``, ``12_[4-6]``), else ``job.invalid``."""
    job_id = str(job_id).strip()
    if not _JOB_ID_RE.match(job_id):
        raise cmd.invalid("job_id", f"{job_id!r} is not a Slurm job id (like 123 or 123_4).")
    return job_id


def sbatch_argv(spec: JobSpec, *, allow_extra_args: bool = False) -> list[str]:
    """The ``sbatch --parsable`` argv for ``spec`` (script text goes on stdin); every value
    checked, refusals are ``job.invalid`` naming the field."""
    cmd.check_one_script(spec)
    argv = ["sbatch", "--parsable"]
    if spec.name is not None and spec.name != "":
        cmd.check_text("name", spec.name)
        if len(spec.name) > 200:
            raise cmd.invalid("name", "The job name is longer than 200 characters.")
        argv.append(f"--job-name={spec.name}")
    if spec.partition:
        if not _PARTITION_RE.match(spec.partition):
            raise cmd.invalid("partition", f"{spec.partition!r} is not a partition name.")
        argv.append(f"--partition={spec.partition}")
    for field, flag in (("account", "--account"), ("qos", "--qos")):
        value = getattr(spec, field)
        if value:
            if not cmd.NAME_RE.match(value):
                raise cmd.invalid(field, f"{value!r} is not a valid {field} name.")
            argv.append(f"{flag}={value}")
    numbers = (
        ("time_limit", "--time", 10**6),
        ("cpus", "--cpus-per-task", 100000),
        ("memory_mb", "--mem", 10**9),
        ("gpus", "--gpus", 10000),
        ("nodes", "--nodes", 100000),
        ("ntasks", "--ntasks", 10**6),
    )
    for field, flag, upper in numbers:
        value = cmd.positive(field, getattr(spec, field), upper)
        if value is not None:
            argv.append(f"{flag}={value}M" if field == "memory_mb" else f"{flag}={value}")
    if spec.array:
        if not _ARRAY_RE.match(spec.array):
            raise cmd.invalid(
                "array", f"{spec.array!r} is not an array range (like 0-9, 1,3,5 or 1-100%10)."
            )
        argv.append(f"--array={spec.array}")
    for field, flag in (("workdir", "--chdir"), ("stdout", "--output"), ("stderr", "--error")):
        value = getattr(spec, field)
        if value:
            argv.append(f"{flag}={cmd.check_path(field, value)}")
    if spec.hold:
        argv.append("--hold")
    cmd.check_env(spec, _RESERVED_ENV, "it would change sbatch itself")
    argv.append("--export=ALL")
    argv += cmd.extra_args(
        spec, allowed=allow_extra_args, command="sbatch", prefix="--", shape="a --option=value"
    )
    return argv + cmd.script_args(spec)


#: sacct's end states: cancelled, completed, failed, timeout, node fail, out of memory,
#: preempted, deadline, boot fail.
_ENDED_STATES = "CA,CD,F,TO,NF,OOM,PR,DL,BF"
_Slurm = TypeVar("_Slurm", bound="SlurmScheduler")


class SlurmScheduler(CommandScheduler):
    """Slurm through its command-line tools, run by ``runner`` (SSH or local).

    ``user`` selects whose jobs are listed (default: the login user, ``--me``);
    ``command_timeout`` bounds every command; ``tz`` is the login node's time zone, used
    only if times come back as text despite ``SLURM_TIME_FORMAT``.
    """

    kind = "slurm"
    label = "Slurm"
    capabilities = Capabilities(test_only=True, efficiency=True, dependencies=True)
    user_re = cmd.NAME_RE
    # sbatch --parsable prints "id" or "id;cluster"
    submitted_id_sed = r"s/^\([0-9][0-9]*\).*/\1/p"

    def __init__(self, runner: CommandRunner, **options: Any) -> None:
        super().__init__(runner, **options)
        # The last listing's records, so unchanged jobs are not parsed again.
        self._records: dict[bool, dict[str, JobInfo]] = {False: {}, True: {}}

    @classmethod
    def from_context(cls: type[_Slurm], ctx: SchedulerContext) -> _Slurm:
        """As the others', but Slurm's commands are on the login PATH (no ``scheduler_bin``)."""
        if ctx.command_timeout is None:
            return cls(ctx.runner, user=ctx.user)
        return cls(ctx.runner, user=ctx.user, command_timeout=ctx.command_timeout)

    def _words(self, text: str) -> str:
        return sp.clean_slurm_error(text)

    def _user_args(self, flag: str = "--user") -> list[str]:
        user = self._checked_user()
        if user:
            return [f"{flag}={user}"]
        return ["--me"] if flag == "--user" else []

    # --- reading --------------------------------------------------------------------

    async def list_jobs(self, *, all_users: bool = False) -> list[JobInfo]:
        argv = ["squeue", "-h", "--noconvert", "-r", f"--format={sp.squeue_format()}"]
        if not all_users:
            argv += self._user_args()
        done = await self._run(argv, env=_TIME_ENV)
        if not done.ok:
            raise self._failed(done, "squeue")
        return sp.parse_squeue(done.stdout, self.tz, self._records[all_users])

    async def _scontrol_jobs(self, job_id: str) -> list[JobInfo]:
        done = await self._run(["scontrol", "show", "job", "-o", job_id], env=_TIME_ENV)
        if not done.ok:
            if "Invalid job id" in done.stderr:
                return []
            raise self._failed(done, "scontrol show job")
        return sp.parse_scontrol_jobs(done.stdout, self.tz)

    async def _sacct_jobs(
        self, extra: list[str], *, steps: bool = False, timeout: float | None = None
    ) -> list[JobInfo]:
        """Jobs from accounting; ``steps`` also reads their steps' lines, for the memory
        peak (``MaxRSS`` is measured per step)."""
        argv = [
            "sacct", "-n", *([] if steps else ["-X"]), "-P", f"--delimiter={sp.SEP}",
            f"--format={','.join(sp.SACCT_FIELDS)}", *extra,
        ]  # fmt: skip
        done = await self._run(argv, env=_TIME_ENV, timeout=timeout)
        if not done.ok:
            raise self._failed(done, "sacct")
        return sp.parse_sacct(done.stdout, self.tz)

    async def get_job(self, job_id: str, *, usage: bool = False) -> JobInfo:
        job_id = check_job_id(job_id)
        jobs = await self._scontrol_jobs(job_id)
        if jobs:
            job = _pick(jobs, job_id)
            if usage and job.state not in ACTIVE_STATES:
                await self._add_usage(job)
            return job
        history = await self._sacct_jobs([f"--jobs={job_id}"], steps=usage)
        if history:
            return _pick(history, job_id)
        raise NotFound(f"Slurm on {self.runner.where} knows no job {job_id}.", code="job.not_found")

    async def _add_usage(self, job: JobInfo) -> None:
        """CPU time and memory peak of an ended job that scontrol still shows (scontrol
        does not report them), from accounting if the cluster has it."""
        try:
            # Briefly: a slurmdbd that does not answer must not hold up the detail.
            recorded = await self._sacct_jobs(
                [f"--jobs={job.id}"], steps=True, timeout=min(10.0, self.command_timeout)
            )
        except RPCError:
            return  # no accounting (or it is down): the detail shows what scontrol knows
        for other in recorded:
            if other.id == job.id:
                job.cpu_used, job.memory_peak_mb = other.cpu_used, other.memory_peak_mb

    async def history(self, *, days: float = 7.0) -> list[JobInfo]:
        minutes = max(1, round(float(days) * 24 * 60))
        # With --state, sacct lists jobs that were in an end state during the window,
        # including ones that never became eligible (a held job cancelled): without it
        # those are missing from the history.
        extra = [f"--starttime=now-{minutes}minutes", "--endtime=now", f"--state={_ENDED_STATES}"]
        if self.user:
            extra += self._user_args()
        return await self._sacct_jobs(extra, steps=True)

    async def partitions(self) -> list[Partition]:
        done = await self._run(["scontrol", "show", "partition", "-o"])
        if not done.ok:
            raise self._failed(done, "scontrol show partition")
        nodes = await self._run(["sinfo", "-h", f"--format=%R{sp.SEP}%c{sp.SEP}%m{sp.SEP}%G"])
        per_node = sp.parse_sinfo_nodes(nodes.stdout) if nodes.ok else {}
        return sp.parse_partitions(done.stdout, per_node)

    async def job_script(self, job_id: str) -> str | None:
        job_id = check_job_id(job_id)
        done = await self._run(["scontrol", "write", "batch_script", job_id, "-"])
        if not done.ok:
            return None
        return done.stdout

    # --- changing -------------------------------------------------------------------

    async def submit(self, spec: JobSpec) -> str:
        argv = sbatch_argv(spec, allow_extra_args=self.allow_extra_args)
        return await self._submitted(argv, spec, sp.parse_sbatch_id)

    async def submit_argv(self, spec: JobSpec) -> list[str]:
        return sbatch_argv(spec, allow_extra_args=self.allow_extra_args)

    def dependency_args(self, ids: Sequence[str]) -> list[str]:
        # Slurm itself cancels a job whose dependency can never be met (a step failed).
        return [f"--dependency=afterok:{':'.join(ids)}", "--kill-on-invalid-dep=yes"]

    async def test_submit(self, spec: JobSpec) -> dict[str, Any]:
        argv = sbatch_argv(spec, allow_extra_args=self.allow_extra_args)
        argv.insert(1, "--test-only")
        env = {**spec.env, **_TIME_ENV}
        done = await self._run(argv, input=spec.script if spec.script else None, env=env)
        if not done.ok:
            raise self._refusal(
                f"Slurm would refuse the job: {sp.clean_slurm_error(done.stderr)}", done
            )
        return sp.parse_test_only(done.stderr, self.tz)

    async def _active(self, job_id: str) -> list[JobInfo]:
        """The job's records while it is active; ``job.finished`` / ``job.not_found`` else."""
        job_id = check_job_id(job_id)
        jobs = await self._scontrol_jobs(job_id)
        active = [job for job in jobs if job.state in ACTIVE_STATES]
        if active:
            return active
        if not jobs:
            jobs = await self._sacct_jobs([f"--jobs={job_id}"])
        if not jobs:
            raise NotFound(
                f"Slurm on {self.runner.where} knows no job {job_id}.", code="job.not_found"
            )
        job = _pick(jobs, job_id)
        raise Conflict(f"Job {job_id} has already ended ({job.state}).", code="job.finished")

    async def cancel(self, job_id: str) -> None:
        await self._active(job_id)
        done = await self._run(["scancel", job_id])
        if not done.ok:
            raise self._failed(done, "scancel")

    async def hold(self, job_id: str) -> None:
        cmd.hold_checked(await self._active(job_id), job_id)
        await self._control("hold", job_id)

    async def release(self, job_id: str) -> None:
        await self._active(job_id)
        await self._control("release", job_id)

    async def _control(self, verb: str, job_id: str) -> None:
        done = await self._run(["scontrol", verb, job_id])
        if not done.ok:
            raise self._control_failed(done, verb, job_id, sp.clean_slurm_error(done.stderr))


def _pick(jobs: list[JobInfo], job_id: str) -> JobInfo:
    """The record for ``job_id`` among an array's records (else the first)."""
    for job in jobs:
        if job.id == job_id:
            return job
    for job in jobs:
        if job.extra.get("job_id_raw") == job_id:
            return job
    return jobs[0]


#: The registry's factory (:mod:`jupyter_rpc.schedulers.registry`).
from_context = SlurmScheduler.from_context
