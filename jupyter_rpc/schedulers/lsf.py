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
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from ..errors import Conflict, InvalidRequest, NotFound, RemoteFailed, RPCError
from ..ssh.runner import CommandRunner, Completed
from . import lsf_parse as lp
from .base import ACTIVE_STATES, Capabilities, JobInfo, JobSpec, Partition, Scheduler
from .slurm import _invalid, _path, _positive, _text

if TYPE_CHECKING:
    from .registry import SchedulerContext

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}$")
_USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
#: LSF arrays: ``1-10``, ``1-10:2``, ``1,3,5`` and a ``%`` limit.
_ARRAY_RE = re.compile(r"^(\d+(-\d+(:\d+)?)?)(,\d+(-\d+(:\d+)?)?)*(%\d+)?$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED_ENV = re.compile(r"^(LSB_|LSF_|LD_|PATH$|HOME$|USER$|SHELL$|LOGNAME$)")
_OUTPUT = ["-o", " ".join(lp.FIELDS), "-json"]


def check_job_id(job_id: str) -> str:
    """An LSF job id (``123`` or ``123[4]``)."""
    job_id = str(job_id).strip()
    if not lp.JOB_ID_RE.match(job_id):
        raise _invalid("job_id", f"{job_id!r} is not an LSF job id (like 123 or 123[4]).")
    return job_id


def bsub_argv(spec: JobSpec, *, allow_extra_args: bool = False) -> list[str]:
    """The ``bsub`` argv for ``spec`` (a script text goes on stdin)."""
    if bool(spec.script) == bool(spec.script_path):
        raise _invalid("script", "Give either a script text or a script path (exactly one).")
    argv = ["bsub"]
    name = spec.name or ""
    if name:
        _text("name", name)
        if len(name) > 4000:
            raise _invalid("name", "The job name is longer than 4000 characters.")
    if spec.array:
        if not _ARRAY_RE.match(spec.array):
            raise _invalid(
                "array", f"{spec.array!r} is not an array range (like 0-9, 1,3,5 or 1-100%10)."
            )
        if "[" in name or "]" in name:
            raise _invalid("name", "An array job's name cannot contain [ or ] (LSF uses them).")
        indices, _, limit = spec.array.partition("%")
        argv += ["-J", f"{name or 'array'}[{indices}]" + (f"%{limit}" if limit else "")]
    elif name:
        argv += ["-J", name]
    if spec.partition:
        if not _NAME_RE.match(spec.partition):
            raise _invalid("partition", f"{spec.partition!r} is not a queue name.")
        argv += ["-q", spec.partition]
    if spec.account:
        if not _NAME_RE.match(spec.account):
            raise _invalid("account", f"{spec.account!r} is not a valid project name.")
        argv += ["-P", spec.account]
    if spec.qos:
        raise _invalid("qos", "LSF has no QOS; choose a queue instead.")
    time_limit = _positive("time_limit", spec.time_limit, 10**6)
    if time_limit is not None:
        argv += ["-W", str(time_limit)]
    cpus = _positive("cpus", spec.cpus, 100000)
    ntasks = _positive("ntasks", spec.ntasks, 10**6)
    nodes = _positive("nodes", spec.nodes, 100000)
    memory = _positive("memory_mb", spec.memory_mb, 10**9)
    gpus = _positive("gpus", spec.gpus, 10000)
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
        argv += ["-cwd", _path("workdir", spec.workdir)]
    for field, flag in (("stdout", "-o"), ("stderr", "-e")):
        value = getattr(spec, field)
        if value:
            argv += [flag, _path(field, value)]
    if spec.hold:
        argv.append("-H")
    for key, value in (spec.env or {}).items():
        if not _ENV_NAME_RE.match(key):
            raise _invalid("env", f"{key!r} is not an environment variable name.")
        if _RESERVED_ENV.match(key):
            raise _invalid(
                "env", f"{key} cannot be set for a job here (LSF sets it); set it in the script."
            )
        if not isinstance(value, str) or "\0" in value:
            raise _invalid("env", f"The value of {key} must be text without NUL characters.")
    if spec.extra_args:
        if not allow_extra_args:
            raise _invalid("extra_args", "Extra bsub arguments are not allowed on this cluster.")
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


class LSFScheduler(Scheduler):
    """IBM Spectrum LSF through its command-line tools, run by ``runner``."""

    kind = "lsf"
    capabilities = Capabilities(test_only=False, efficiency=True)

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

    async def _run(
        self, argv: list[str], *, input: str | None = None, env: dict[str, str] | None = None
    ) -> Completed:
        if self.commands_dir and argv[0] != "id":
            argv = [f"{self.commands_dir}/{argv[0]}", *argv[1:]]
        return await self.runner.run(argv, input=input, env=env, timeout=self.command_timeout)

    def _failed(self, done: Completed, what: str) -> RPCError:
        message = lp.clean_error(done.stderr) or f"exit status {done.exit_status}"
        return RemoteFailed(
            f"{what} failed on {self.runner.where}: {message}",
            code="cluster.command_failed",
            details={
                "stderr": done.stderr[-4000:],
                "exit_status": done.exit_status,
                "command": done.argv[0],
            },
        )

    def _user_args(self, all_users: bool) -> list[str]:
        if all_users:
            return ["-u", "all"]
        if self.user:
            if not _USER_RE.match(self.user):
                raise InvalidRequest(
                    f"{self.user!r} is not a user name.", code="cluster.invalid_user"
                )
            return ["-u", self.user]
        return []  # bjobs lists the login user's jobs

    async def _bjobs(self, extra: list[str], *, job_id: str = "") -> list[JobInfo]:
        done = await self._run(["bjobs", *extra, *_OUTPUT, *([job_id] if job_id else [])])
        try:
            jobs, errors = lp.parse_bjobs(done.stdout, self.tz, job_id=job_id)
        except lp.ParseError as exc:
            if not done.ok:
                raise self._failed(done, "bjobs") from None
            raise RemoteFailed(
                f"{exc} on {self.runner.where}.", code="cluster.command_failed"
            ) from None
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
        return _pick(await self._bjobs(["-a"], job_id=job_id), job_id)

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
            raise RemoteFailed(
                f"{exc} on {self.runner.where}.", code="cluster.command_failed"
            ) from None

    # --- changing -----------------------------------------------------------------

    async def submit(self, spec: JobSpec) -> str:
        argv = bsub_argv(spec, allow_extra_args=self.allow_extra_args)
        done = await self._run(
            argv, input=spec.script if spec.script else None, env=dict(spec.env) or None
        )
        job_id = lp.parse_bsub_id(done.stdout)
        if not done.ok or job_id is None:
            words = lp.clean_error(done.stderr) or done.stdout.strip()[:1000]
            raise InvalidRequest(
                f"LSF refused the job: {words or f'exit status {done.exit_status}'}",
                code="cluster.command_failed",
                details={"stderr": done.stderr[-4000:], "exit_status": done.exit_status},
            )
        return job_id

    async def test_submit(self, spec: JobSpec) -> dict[str, Any]:
        bsub_argv(spec, allow_extra_args=self.allow_extra_args)
        raise InvalidRequest(
            "LSF cannot tell when a job would start without submitting it.",
            code="scheduler.unsupported",
            details={"capability": "test_only"},
        )

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
        jobs = await self._active(job_id)
        if not any(job.state in {"pending", "held"} for job in jobs):
            raise Conflict(
                f"Job {job_id} is already running; only pending jobs can be held.",
                code="job.not_pending",
            )
        await self._control("bstop", "hold", job_id)

    async def release(self, job_id: str) -> None:
        jobs = await self._active(job_id)
        if not any(job.state == "held" for job in jobs):
            raise Conflict(f"Job {job_id} is not held.", code="job.not_held")
        await self._control("bresume", "release", job_id)

    async def _control(self, command: str, verb: str, job_id: str) -> None:
        done = await self._run([command, job_id])
        if not done.ok:
            raise Conflict(
                f"LSF could not {verb} job {job_id}: {lp.clean_error(done.stderr) or f'exit status {done.exit_status}'}",
                code=f"job.{verb}_failed",
                details={"stderr": done.stderr[-4000:]},
            )


def _no_jobs(stderr: str) -> bool:
    """bjobs says so on stderr (and exits non-zero) when the user has no jobs."""
    return "No job found" in stderr or "No unfinished job found" in stderr


def _pick(jobs: list[JobInfo], job_id: str) -> JobInfo:
    for job in jobs:
        if job.id == job_id:
            return job
    return jobs[0]


def from_context(ctx: SchedulerContext) -> LSFScheduler:
    """The registry's factory (:mod:`jupyter_rpc.schedulers.registry`)."""
    return LSFScheduler(
        ctx.runner,
        user=ctx.user,
        command_timeout=60 if ctx.command_timeout is None else ctx.command_timeout,
        commands_dir=ctx.commands_dir,
    )
