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
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from ..errors import Conflict, InvalidRequest, NotFound, RemoteFailed, RPCError
from ..ssh.runner import CommandRunner, Completed
from . import pbs_parse as pp
from .base import ACTIVE_STATES, Capabilities, JobInfo, JobSpec, Partition, Scheduler
from .slurm import _invalid, _path, _positive, _text

if TYPE_CHECKING:
    from .registry import SchedulerContext

_QUEUE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}(@[A-Za-z0-9_.-]{1,253})?$")
_ACCOUNT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}$")
_USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
#: PBS Pro arrays: ``X-Y[:Z]`` with an optional ``%max`` running at once (no lists).
_ARRAY_RE = re.compile(r"^\d+-\d+(:\d+)?(%\d+)?$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED_ENV = re.compile(r"^(PBS_|LD_|PATH$|HOME$|USER$|SHELL$|LOGNAME$)")
#: A full listing as JSON, array subjobs included.
_JSON_ARGS = ["-f", "-F", "json", "-t"]


def check_job_id(job_id: str) -> str:
    """A PBS job id (``123``, ``123.server``, ``123[].server``, ``123[4].server``)."""
    job_id = str(job_id).strip()
    if not pp.JOB_ID_RE.match(job_id):
        raise _invalid(
            "job_id", f"{job_id!r} is not a PBS job id (like 123.server or 123[4].server)."
        )
    return job_id


def _hms(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}:00"


def qsub_argv(spec: JobSpec, *, allow_extra_args: bool = False) -> list[str]:
    """The ``qsub`` argv for ``spec`` (a script text goes on stdin); every value checked,
    refusals are ``job.invalid`` naming the field."""
    if bool(spec.script) == bool(spec.script_path):
        raise _invalid("script", "Give either a script text or a script path (exactly one).")
    argv = ["qsub"]
    if spec.name:
        _text("name", spec.name)
        if len(spec.name) > 236:
            raise _invalid("name", "The job name is longer than 236 characters (PBS's limit).")
        argv += ["-N", spec.name]
    if spec.partition:
        if not _QUEUE_RE.match(spec.partition):
            raise _invalid("partition", f"{spec.partition!r} is not a queue name.")
        argv += ["-q", spec.partition]
    if spec.account:
        if not _ACCOUNT_RE.match(spec.account):
            raise _invalid("account", f"{spec.account!r} is not a valid account name.")
        argv += ["-A", spec.account]
    if spec.qos:
        raise _invalid("qos", "PBS has no QOS; choose a queue instead.")
    time_limit = _positive("time_limit", spec.time_limit, 10**6)
    if time_limit is not None:
        argv += ["-l", f"walltime={_hms(time_limit)}"]
    cpus = _positive("cpus", spec.cpus, 100000)
    memory = _positive("memory_mb", spec.memory_mb, 10**9)
    gpus = _positive("gpus", spec.gpus, 10000)
    nodes = _positive("nodes", spec.nodes, 100000)
    ntasks = _positive("ntasks", spec.ntasks, 10**6)
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
            raise _invalid(
                "array",
                f"{spec.array!r} is not a PBS array range (like 0-9, 1-100:2 or 1-100%10; "
                "PBS takes no lists).",
            )
        argv += ["-J", spec.array]
    if spec.workdir and spec.workdir not in ("~", "~/"):
        raise _invalid(
            "workdir",
            "PBS's qsub has no working-folder option: the job starts in your home folder "
            '(cd "$PBS_O_WORKDIR" or a folder of your choice in the script).',
        )
    for field, flag in (("stdout", "-o"), ("stderr", "-e")):
        value = getattr(spec, field)
        if value:
            argv += [flag, _path(field, value)]
    if spec.hold:
        argv += ["-h"]
    for key, value in (spec.env or {}).items():
        if not _ENV_NAME_RE.match(key):
            raise _invalid("env", f"{key!r} is not an environment variable name.")
        if _RESERVED_ENV.match(key):
            raise _invalid(
                "env", f"{key} cannot be set for a job here (PBS sets it); set it in the script."
            )
        if not isinstance(value, str) or "\0" in value:
            raise _invalid("env", f"The value of {key} must be text without NUL characters.")
    argv.append("-V")
    if spec.extra_args:
        if not allow_extra_args:
            raise _invalid("extra_args", "Extra qsub arguments are not allowed on this cluster.")
        for arg in spec.extra_args:
            _text("extra_args", arg)
            if not arg.startswith("-"):
                raise _invalid("extra_args", f"Extra argument {arg!r} must be an option.")
            argv.append(arg)
    if spec.script_path:
        argv.append(_path("script_path", spec.script_path))
    elif spec.script is not None and "\0" in spec.script:
        raise _invalid("script", "The script contains a NUL character.")
    return argv


class PBSScheduler(Scheduler):
    """PBS Pro / OpenPBS through its command-line tools, run by ``runner``."""

    kind = "pbs"
    capabilities = Capabilities(test_only=False, efficiency=True, workdir=False)

    def __init__(
        self,
        runner: CommandRunner,
        *,
        user: str | None = None,
        command_timeout: float = 60,
        tz: tzinfo | None = None,
        allow_extra_args: bool = False,
        commands_dir: str | None = None,
    ) -> None:
        self.runner = runner
        #: Where the scheduler's commands are (``scheduler_bin``); None: the login PATH.
        self.commands_dir = commands_dir.rstrip("/") if commands_dir else None
        self.user = user
        self.command_timeout = command_timeout
        self.tz = tz
        self.allow_extra_args = allow_extra_args
        self._login_user: str | None = None

    async def _run(
        self, argv: list[str], *, input: str | None = None, env: dict[str, str] | None = None
    ) -> Completed:
        if self.commands_dir and argv[0] != "id":
            argv = [f"{self.commands_dir}/{argv[0]}", *argv[1:]]
        return await self.runner.run(argv, input=input, env=env, timeout=self.command_timeout)

    def _failed(self, done: Completed, what: str) -> RPCError:
        message = pp.clean_error(done.stderr) or f"exit status {done.exit_status}"
        return RemoteFailed(
            f"{what} failed on {self.runner.where}: {message}",
            code="cluster.command_failed",
            details={
                "stderr": done.stderr[-4000:],
                "exit_status": done.exit_status,
                "command": done.argv[0],
            },
        )

    def _parse(self, done: Completed, what: str, *, user: str | None = None) -> list[JobInfo]:
        try:
            return pp.parse_jobs(done.stdout, self.tz, user=user)
        except pp.ParseError as exc:
            raise RemoteFailed(
                f"{exc} on {self.runner.where}.", code="cluster.command_failed"
            ) from None

    async def _owner(self) -> str:
        """Whose jobs are the user's own: the configured user, else the login user."""
        if self.user:
            if not _USER_RE.match(self.user):
                raise InvalidRequest(
                    f"{self.user!r} is not a user name.", code="cluster.invalid_user"
                )
            return self.user
        if self._login_user is None:
            done = await self._run(["id", "-un"])
            if not done.ok or not done.stdout.strip():
                raise self._failed(done, "id -un")
            self._login_user = done.stdout.strip()
        return self._login_user

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
            raise RemoteFailed(
                f"{exc} on {self.runner.where}.", code="cluster.command_failed"
            ) from None

    # --- changing -----------------------------------------------------------------

    async def submit(self, spec: JobSpec) -> str:
        argv = qsub_argv(spec, allow_extra_args=self.allow_extra_args)
        done = await self._run(
            argv, input=spec.script if spec.script else None, env=dict(spec.env) or None
        )
        if not done.ok:
            raise InvalidRequest(
                f"PBS refused the job: {pp.clean_error(done.stderr) or done.stdout.strip()}",
                code="cluster.command_failed",
                details={"stderr": done.stderr[-4000:], "exit_status": done.exit_status},
            )
        job_id = pp.parse_qsub_id(done.stdout)
        if job_id is None:
            raise RemoteFailed(
                f"qsub on {self.runner.where} printed no job id: {done.stdout.strip()[:200]!r}",
                code="cluster.command_failed",
            )
        return job_id

    async def test_submit(self, spec: JobSpec) -> dict[str, Any]:
        qsub_argv(spec, allow_extra_args=self.allow_extra_args)  # the same checks
        raise InvalidRequest(
            "PBS cannot tell when a job would start without submitting it.",
            code="scheduler.unsupported",
            details={"capability": "test_only"},
        )

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
        jobs = await self._active(job_id)
        if not any(job.state in {"pending", "held"} for job in jobs):
            raise Conflict(
                f"Job {job_id} is already running; only pending jobs can be held.",
                code="job.not_pending",
            )
        await self._control("qhold", "hold", job_id)

    async def release(self, job_id: str) -> None:
        jobs = await self._active(job_id)
        if not any(job.state == "held" for job in jobs):
            raise Conflict(f"Job {job_id} is not held.", code="job.not_held")
        await self._control("qrls", "release", job_id)

    async def _control(self, command: str, verb: str, job_id: str) -> None:
        done = await self._run([command, job_id])
        if not done.ok:
            raise Conflict(
                f"PBS could not {verb} job {job_id}: {pp.clean_error(done.stderr) or f'exit status {done.exit_status}'}",
                code=f"job.{verb}_failed",
                details={"stderr": done.stderr[-4000:]},
            )


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


def from_context(ctx: SchedulerContext) -> PBSScheduler:
    """The registry's factory (:mod:`jupyter_rpc.schedulers.registry`)."""
    return PBSScheduler(
        ctx.runner,
        user=ctx.user,
        command_timeout=60 if ctx.command_timeout is None else ctx.command_timeout,
        commands_dir=ctx.commands_dir,
    )
