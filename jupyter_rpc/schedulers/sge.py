"""(Son of) Grid Engine over any :class:`~jupyter_rpc.ssh.runner.CommandRunner` (SSH or
local).

Like the others: argv lists only (the runner quotes them once), machine-readable output
where Grid Engine has it (parsed by :mod:`.sge_parse`), errors in Grid Engine's own words.
Checked on the test bed's Son of Grid Engine 8.1.9 (``tests/hpc/testbed/sge_up.sh``).

- **list**: ``qstat -r -xml -u <user>`` (``-u '*'``: everyone's); one record per running
  array task (``12.3``), one per array's tasks not started yet (``12.4-9:1``). While no
  record is new or changed and the requests are under a minute old, ``qstat -xml`` with
  the requests kept from the last ``-r`` (see ``_listing``).
- **detail**: that job's records of the list, with ``qstat -j <id> -xml`` (working folder,
  output paths, requests, the scheduler's messages); a job qstat no longer knows comes
  from accounting (``qacct -j <id>``).
- **history**: ``qacct -o <user> -d <days> -j`` (the accounting file).
- **submit**: ``qsub -terse -w e`` with the script on stdin: ``-N -q -A -l h_rt=H:MM:SS
  -l h_vmem=<per slot> -pe <pe> <slots> -t range -tc n -wd -o -e -j y -h -S <shell> -V``.
  ``-w e`` makes qsub refuse a job no queue could ever run (instead of a job pending for
  ever). The job's environment is the qsub process's (``-V``; the runner sets the
  variables), never ``-v NAME=value,...``, which Grid Engine splits at commas.
- **cancel / hold / release**: ``qdel``, ``qhold``, ``qrls`` (a task: ``12.3``); a job in
  error state (``Eqw``: a working folder that is missing, ...) is released with
  ``qmod -cj``, once its cause is fixed.
- **queues**: ``qconf -sql``, then ``qconf -sq <queue>`` each (``h_rt``, ``slots``,
  ``h_vmem``, ``pe_list``).

Several CPUs (``cpus`` × ``ntasks``) are slots of a parallel environment on one host: the
first of the queue's ``pe_list`` (of any queue's when none is chosen) whose
``allocation_rule`` is ``$pe_slots``. Memory is ``h_vmem``, per slot (the job's memory
divided by its slots). Grid Engine has no working-folder default other than the home
folder, no QOS, no standard GPU resource and no way to tell when a job would start
(``qsub -w v`` only says whether a queue fits; ``test_submit`` answers that).
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar

from ..errors import Conflict, NotFound, RPCError
from ..ssh.runner import CommandRunner, Completed
from . import command as cmd
from . import sge_parse as gp
from .base import ACTIVE_STATES, Capabilities, JobInfo, JobSpec, Partition
from .command import CommandScheduler

#: ``n[-m[:s]]`` with an optional ``%max`` at once (``-tc``); task ids start at 1.
_ARRAY_RE = re.compile(r"^(\d+)(?:-(\d+)(?::(\d+))?)?(?:%(\d+))?$")
#: What would change qsub itself, and what Grid Engine sets for the job.
_RESERVED_ENV = re.compile(
    r"^(SGE_|LD_|PATH$|HOME$|USER$|SHELL$|LOGNAME$|JOB_ID$|JOB_NAME$|JOB_SCRIPT$|NSLOTS$|"
    r"NHOSTS$|NQUEUES$|QUEUE$|PE$|PE_HOSTFILE$|TMPDIR$|TMP$|HOSTNAME$|REQUEST$|RESTARTED$|"
    r"ENVIRONMENT$|ARC$)"
)
#: What a job name may be: printable ASCII without ``/ : @ \ * ?`` (``man sge_types``);
#: the qmaster also refuses spaces and other characters (qsub then says only "Error
#: reading answer list from qmaster", checked on 8.1.9).
_NAME_RE = re.compile(r"^[!-~]+$")
_NAME_FORBIDDEN = re.compile(r"[/:@\\*?]")
#: Slurm's placeholders in an output path (what the form describes) → Grid Engine's.
_PLACEHOLDERS = {"%j": "$JOB_ID", "%x": "$JOB_NAME", "%a": "$TASK_ID", "%A": "$JOB_ID"}
_SHEBANG_RE = re.compile(r"^#!(/[^\s]+)[ \t]*$")


def check_job_id(job_id: str) -> str:
    """A Grid Engine job id (``12``), an array task (``12.3``) or tasks (``12.4-9:1``)."""
    job_id = str(job_id).strip()
    if not gp.JOB_ID_RE.match(job_id):
        raise cmd.invalid(
            "job_id", f"{job_id!r} is not a Grid Engine job id (like 123, or 123.4 for a task)."
        )
    return job_id


def _output_path(field: str, value: str) -> str:
    cmd.check_path(field, value)
    if "," in value or ":" in value:
        raise cmd.invalid(
            field,
            f"Grid Engine reads ',' and ':' in the {field} path as separators (of paths, of "
            "a host name); choose a path without them.",
        )
    text = value.replace("%%", "\0")
    for slurm, sge in _PLACEHOLDERS.items():
        text = text.replace(slurm, sge)
    return text.replace("\0", "%")


def _workdir(value: str, home: str | None) -> str | None:
    """``-wd``'s value, absolute (Grid Engine keeps a relative one as given and the job
    then fails to start in it): ``~/x`` and ``x`` are in the home folder; None for the home
    folder itself (Grid Engine's default)."""
    cmd.check_path("workdir", value)
    if value in ("~", "~/"):
        return None
    if value.startswith("~") and not value.startswith("~/"):
        raise cmd.invalid("workdir", "A working folder of another user (~name) cannot be used.")
    if value.startswith("/"):
        return value
    if not home:
        raise cmd.invalid("workdir", "Give the working folder as an absolute path.")
    relative = value[2:] if value.startswith("~/") else value
    return f"{home.rstrip('/')}/{relative}"


def slots_of(spec: JobSpec) -> int:
    """How many slots the job needs (``cpus`` per task × ``ntasks``)."""
    cpus = cmd.positive("cpus", spec.cpus, 100000) or 1
    ntasks = cmd.positive("ntasks", spec.ntasks, 10**6) or 1
    return cpus * ntasks


def qsub_argv(
    spec: JobSpec,
    *,
    pe: str | None = None,
    home: str | None = None,
    allow_extra_args: bool = False,
) -> list[str]:
    """The ``qsub`` argv for ``spec`` (a script text goes on stdin); every value checked,
    refusals are ``job.invalid`` naming the field. ``pe``: the parallel environment for a
    job of several slots; ``home``: the login user's home folder (for a relative
    working folder)."""
    cmd.check_one_script(spec)
    argv = ["qsub", "-terse", "-w", "e"]
    if spec.name:
        cmd.check_text("name", spec.name)
        if not _NAME_RE.match(spec.name) or _NAME_FORBIDDEN.search(spec.name):
            raise cmd.invalid(
                "name",
                "A Grid Engine job name is printable ASCII without spaces and without "
                "/ : @ \\ * ?.",
            )
        if spec.name[0].isdigit():
            raise cmd.invalid("name", "A Grid Engine job name cannot start with a digit.")
        if len(spec.name) > 200:
            raise cmd.invalid("name", "The job name is longer than 200 characters.")
        argv += ["-N", spec.name]
    argv += cmd.queue_args(spec, label="Grid Engine")
    if spec.gpus:
        raise cmd.invalid(
            "gpus", "Grid Engine has no standard GPU resource; ask the site which to request."
        )
    nodes = cmd.positive("nodes", spec.nodes, 100000)
    if nodes is not None and nodes > 1:
        raise cmd.invalid(
            "nodes", "A Grid Engine job here runs on one host (its slots: cpus × tasks)."
        )
    time_limit = cmd.positive("time_limit", spec.time_limit, 10**6)
    if time_limit is not None:
        argv += ["-l", f"h_rt={cmd.hms(time_limit)}"]
    slots = slots_of(spec)
    memory = cmd.positive("memory_mb", spec.memory_mb, 10**9)
    if memory is not None:
        argv += ["-l", f"h_vmem={math.ceil(memory / slots)}M"]
    if slots > 1:
        if not pe:
            raise cmd.invalid(
                "cpus",
                "This cluster has no parallel environment that keeps a job's slots on one "
                "host ($pe_slots), so a job gets one CPU.",
            )
        argv += ["-pe", pe, str(slots)]
    if spec.array:
        match = _ARRAY_RE.match(spec.array)
        if not match:
            raise cmd.invalid(
                "array",
                f"{spec.array!r} is not a Grid Engine task range (like 1-10, 1-100:2 or "
                "1-100%10; no lists).",
            )
        first, last, step, limit = match.groups()
        if int(first) < 1 or (last is not None and int(last) < int(first)):
            raise cmd.invalid("array", "Grid Engine's task ids start at 1 (like 1-10).")
        argv += ["-t", spec.array.split("%", 1)[0]]
        if limit is not None:
            argv += ["-tc", str(int(limit))]
    if spec.workdir:
        workdir = _workdir(spec.workdir, home)
        if workdir is not None:
            argv += ["-wd", workdir]
    if spec.stdout:
        argv += ["-o", _output_path("stdout", spec.stdout)]
        if not spec.stderr:
            argv += ["-j", "y"]  # like Slurm: errors go with the output unless asked apart
    if spec.stderr:
        argv += ["-e", _output_path("stderr", spec.stderr)]
    if spec.hold:
        argv += ["-h"]
    cmd.check_env(spec, _RESERVED_ENV, "Grid Engine sets it")
    if spec.script:
        if "\0" in spec.script:
            raise cmd.invalid("script", "The script contains a NUL character.")
        # The queue's shell_start_mode may run a script with the queue's shell (often
        # csh): ask for the one its first line names.
        shebang = _SHEBANG_RE.match(spec.script.split("\n", 1)[0])
        if shebang:
            argv += ["-S", shebang.group(1)]
    argv.append("-V")
    argv += cmd.extra_args(spec, allowed=allow_extra_args, command="qsub")
    return argv + cmd.script_args(spec)


class SGEScheduler(CommandScheduler):
    """(Son of) Grid Engine through its command-line tools, run by ``runner``."""

    kind = "sge"
    label = "Grid Engine"
    capabilities = Capabilities(test_only=False, efficiency=True, dependencies=True)
    submitted_id_sed = r"s/^\([0-9][0-9]*\).*/\1/p"  # qsub -terse: "12", an array "12.1-4:1"
    #: Seconds the jobs' requests from the last ``qstat -r`` are used (see ``_listing``).
    REQUESTS_MAX_AGE: ClassVar[float] = 60.0

    def __init__(self, runner: CommandRunner, **options: Any) -> None:
        super().__init__(runner, **options)
        #: the last listing's records by their XML (per ``-u``), not parsed again
        self._listed: dict[str, dict[str, JobInfo]] = {}
        #: job number -> its last ``qstat -j`` detail (output paths after the job ended)
        self._seen: dict[str, dict[str, Any]] = {}
        #: queue name -> its parallel environments (from the last ``partitions``)
        self._queue_pes: dict[str, list[str]] = {}
        self._pe_rules: dict[str, str] = {}
        #: per ``-u``: when, and each record's text only ``qstat -r`` prints (``_listing``)
        self._requested: dict[str, tuple[float, dict[str, str]]] = {}
        self._plain_allowed = True

    def _words(self, text: str) -> str:
        return gp.clean_error(text)

    def _said(self, done: Completed) -> str:
        # Grid Engine says some things on stdout only (a command whose stderr is empty)
        return gp.clean_error(done.stderr or done.stdout)

    # --- reading ------------------------------------------------------------------

    async def _listing(self, user: str) -> str:
        """What ``qstat -r -xml -u user`` prints now, as far as jupyter_rpc reads it.

        The text only ``-r`` adds to a record (requests, parallel environment, hard queue)
        changes with the record's state or by ``qalter``. Kept per record (job number,
        tasks, state, name) from the last ``-r`` listing, it makes ``qstat -xml`` (a third
        faster, a third less to read) into the same records. ``-r`` is asked when a record
        is not kept as it is now, and at least every ``REQUESTS_MAX_AGE`` seconds (what a
        ``qalter`` outside jupyter_rpc waits for); always, through a jupyter-rpc-gate
        older than ``qstat -xml`` without ``-r``."""
        kept = self._requested.get(user)
        if (
            self._plain_allowed
            and kept is not None
            and time.monotonic() - kept[0] < self.REQUESTS_MAX_AGE
        ):
            try:
                done: Completed | None = await self._run(["qstat", "-xml", "-u", user])
            except RPCError as exc:
                if exc.code != "cluster.command_refused":
                    raise
                self._plain_allowed = False  # the key's gate knows only -r: ask with it
                done = None
            if done is not None:
                if not done.ok:
                    raise self._failed(done, "qstat")
                text = gp.with_requested(done.stdout, kept[1])
                if text is not None:
                    return text
        done = await self._run(["qstat", "-r", "-xml", "-u", user])
        if not done.ok:
            raise self._failed(done, "qstat")
        lines = gp.requested_lines(done.stdout)
        if lines is None:
            self._requested.pop(user, None)
        else:
            self._requested[user] = (time.monotonic(), lines)
        return done.stdout

    async def _qstat(self, user: str, records: dict[str, JobInfo] | None = None) -> list[JobInfo]:
        text = await self._listing(user)
        try:
            jobs = gp.parse_qstat(text, self.tz, records=records)
        except gp.ParseError as exc:
            raise self._unreadable(exc) from None
        now = time.time()
        for index, job in enumerate(jobs):
            if job.started is not None and job.state in ("running", "suspended", "completing"):
                # its own copy: the record kept for the next listing stays unchanged
                jobs[index] = replace(job, elapsed=max(0.0, now - job.started))
        return jobs

    async def list_jobs(self, *, all_users: bool = False) -> list[JobInfo]:
        user = "*" if all_users else await self._owner()
        return await self._qstat(user, self._listed.setdefault(user, {}))

    async def _detail(self, number: str) -> dict[str, Any] | None:
        done = await self._run(["qstat", "-j", number, "-xml"])
        if not done.ok:
            if gp.is_unknown_job(done.stderr + done.stdout):
                return None
            raise self._failed(done, "qstat -j")
        try:
            detail = gp.parse_detail(done.stdout)
        except gp.ParseError as exc:
            raise self._unreadable(exc) from None
        if detail is not None:
            # Grid Engine forgets a job the moment it ends, and accounting has no output
            # paths: keep them, so an ended job's output can still be read.
            self._seen[number] = detail
            while len(self._seen) > 1024:
                self._seen.pop(next(iter(self._seen)))
        return detail

    async def _qacct(self, argv: list[str]) -> list[JobInfo]:
        done = await self._run(["qacct", *argv])
        if not done.ok:
            said = done.stderr + done.stdout
            if gp.is_unknown_job(said) or gp.no_accounting_yet(said):
                return []
            raise self._failed(done, "qacct")
        return gp.parse_qacct(done.stdout, self.tz)

    async def _records(self, job_id: str) -> tuple[list[JobInfo], dict[str, Any] | None]:
        """Every record of the job that ``job_id`` is (or is a task of), active or ended:
        from qstat while Grid Engine runs it (with its detail), else from accounting."""
        number = job_id.split(".", 1)[0]
        # both at once (each is a round trip to the qmaster): the detail, and the list of
        # the user's own jobs, where the job most likely is
        mine = await self._owner()
        detail, own = await asyncio.gather(
            self._detail(number), self._qstat(mine, self._listed.setdefault(mine, {}))
        )
        if detail is not None:
            owner = detail["owner"] or "*"
            if owner != mine:  # another user's job (the all-users view)
                own = await self._qstat(owner, self._listed.setdefault(owner, {}))
            listed = [
                _copy(job)  # the listing's records stay as they are
                for job in own
                if job.id.split(".", 1)[0] == number
            ]
            if listed:
                for job in listed:
                    _enrich(job, detail)
                return listed, detail
        ended = await self._qacct(["-j", number])
        seen = self._seen.get(number)
        if seen is not None:
            for job in ended:
                task = job.array_task_id if job.array_task_id.isdigit() else ""
                job.stdout, job.stderr = gp.output_paths(seen, task)
                job.workdir = seen["cwd"] or seen["home"]
        return ended, None

    async def get_job(self, job_id: str, *, usage: bool = False) -> JobInfo:
        job_id = check_job_id(job_id)
        jobs, detail = await self._records(job_id)
        if not jobs:
            raise NotFound(
                f"Grid Engine on {self.runner.where} knows no job {job_id}.", code="job.not_found"
            )
        job = _pick(jobs, job_id)
        if detail is not None and job.id == job_id and job.array_task_id.isdigit():
            job.stdout, job.stderr = gp.output_paths(detail, job.array_task_id)
        return job

    async def history(self, *, days: float = 7.0) -> list[JobInfo]:
        whole_days = max(1, math.ceil(float(days)))
        jobs = await self._qacct(["-o", await self._owner(), "-d", str(whole_days), "-j"])
        since = time.time() - float(days) * 86400
        return [job for job in jobs if (job.ended or job.submitted or 0) >= since]

    async def partitions(self) -> list[Partition]:
        done = await self._run(["qconf", "-sql"])
        if not done.ok:
            raise self._failed(done, "qconf -sql")
        names = [line.strip() for line in done.stdout.splitlines() if line.strip()]
        answers = await asyncio.gather(*(self._run(["qconf", "-sq", name]) for name in names))
        result, pes = [], {}
        for name, answer in zip(names, answers, strict=True):
            if not answer.ok:
                raise self._failed(answer, f"qconf -sq {name}")
            settings = gp.parse_queue(answer.stdout)
            pes[name] = gp.pe_list(settings)
            result.append(gp.queue_partition(name, settings))
        self._queue_pes = pes
        return result

    async def _pe_for(self, spec: JobSpec) -> str | None:
        """The parallel environment for a job of several slots: the first of its queue's
        (of any queue's) whose allocation rule keeps the slots on one host."""
        if not self._queue_pes:
            await self.partitions()
        if spec.partition:
            candidates = self._queue_pes.get(spec.partition, [])
        else:
            candidates = [pe for pes in self._queue_pes.values() for pe in pes]
        for pe in dict.fromkeys(candidates):
            if pe not in self._pe_rules:
                done = await self._run(["qconf", "-sp", pe])
                rule = gp.parse_queue(done.stdout).get("allocation_rule", "") if done.ok else ""
                self._pe_rules[pe] = rule
            if self._pe_rules[pe] == "$pe_slots":
                return pe
        return None

    # --- changing -----------------------------------------------------------------

    async def _argv(self, spec: JobSpec) -> list[str]:
        pe = await self._pe_for(spec) if slots_of(spec) > 1 else None
        home = None
        if spec.workdir and not spec.workdir.startswith("/") and spec.workdir not in ("~", "~/"):
            home = await self._home()
        return qsub_argv(spec, pe=pe, home=home, allow_extra_args=self.allow_extra_args)

    async def submit(self, spec: JobSpec) -> str:
        job_id = await self._submitted(await self._argv(spec), spec, gp.parse_qsub_id)
        try:  # its output paths, remembered for when only accounting knows the job
            await self._detail(job_id)
        except RPCError:
            pass
        return job_id

    async def submit_argv(self, spec: JobSpec) -> list[str]:
        return await self._argv(spec)

    def dependency_args(self, ids: Sequence[str]) -> list[str]:
        # -hold_jid waits for the jobs to end, not to succeed: the workflow service cancels
        # the dependents of a step that failed when it sees the failure.
        return ["-hold_jid", ",".join(ids)]

    async def test_submit(self, spec: JobSpec) -> dict[str, Any]:
        """Whether a queue fits the job (``qsub -w v``: nothing is submitted). Grid Engine
        cannot tell when it would start: ``expected_start`` is None."""
        argv = await self._argv(spec)
        argv[argv.index("-w") + 1] = "v"
        done = await self._run(
            argv, input=spec.script if spec.script else None, env=dict(spec.env) or None
        )
        words = gp.clean_error(done.stderr + "\n" + done.stdout)
        if not done.ok or "no suitable queues" in words:
            raise self._refusal(
                f"Grid Engine would refuse the job: {words or f'exit status {done.exit_status}'}",
                done,
            )
        return {
            "expected_start": None,
            "message": f"{words} (Grid Engine cannot tell when it would start).",
        }

    async def _active(self, job_id: str) -> list[JobInfo]:
        job_id = check_job_id(job_id)
        jobs, _ = await self._records(job_id)
        if not jobs:
            raise NotFound(
                f"Grid Engine on {self.runner.where} knows no job {job_id}.", code="job.not_found"
            )
        mine = [job for job in jobs if _covers(job, job_id)]
        if not mine and "." in job_id:  # tasks that ended are in accounting only
            number = job_id.split(".", 1)[0]
            mine = [job for job in await self._qacct(["-j", number]) if _covers(job, job_id)]
        if not mine:
            raise NotFound(
                f"Job {job_id.split('.', 1)[0]} on {self.runner.where} has no task "
                f"{job_id.split('.', 1)[1]}.",
                code="job.not_found",
            )
        active = [job for job in mine if job.state in ACTIVE_STATES]
        if not active:
            job = _pick(mine, job_id)
            raise Conflict(f"Job {job_id} has already ended ({job.state}).", code="job.finished")
        return active

    async def cancel(self, job_id: str) -> None:
        await self._active(job_id)
        await self._control("qdel", "cancel", job_id)

    async def hold(self, job_id: str) -> None:
        cmd.hold_checked(await self._active(job_id), job_id)
        await self._control("qhold", "hold", job_id)

    async def release(self, job_id: str) -> None:
        jobs = await self._active(job_id)
        cmd.release_checked(jobs, job_id)
        if any("E" in job.raw_state for job in jobs):
            # an error state (its reason in the detail: a working folder missing, ...)
            # is cleared with qmod -cj, after which the job is scheduled again
            await self._control("qmod", "release", job_id, "-cj")
        if any("h" in job.raw_state for job in jobs):
            await self._control("qrls", "release", job_id)

    async def _control(self, command: str, verb: str, job_id: str, *options: str) -> None:
        number, _, tasks = job_id.partition(".")
        # a list of tasks (12.3,5) is one argument per range (qdel 12.3 12.5)
        ids = [f"{number}.{t}" for t in tasks.split(",")] if tasks else [number]
        done = await self._run([command, *options, *ids])
        # qmod -cj exits non-zero even when it did clear the state (8.1.9)
        if not done.ok and "cleared error state" not in done.stdout + done.stderr:
            if gp.is_unknown_job(done.stdout + done.stderr):
                # it ended after _active saw it (a workflow's step, as its run is cancelled)
                raise Conflict(f"Job {job_id} has already ended.", code="job.finished")
            if verb == "cancel":
                raise self._failed(done, "qdel")
            words = self._said(done) or f"exit status {done.exit_status}"
            raise self._control_failed(done, verb, job_id, words)


def _copy(job: JobInfo) -> JobInfo:
    extra = {k: dict(v) if isinstance(v, dict) else v for k, v in job.extra.items()}
    return replace(job, extra=extra)


def _enrich(job: JobInfo, detail: dict[str, Any]) -> None:
    """A listed record with what only ``qstat -j`` tells."""
    task = job.array_task_id if job.array_task_id.isdigit() else ""
    job.stdout, job.stderr = gp.output_paths(detail, task)
    job.workdir = detail["cwd"] or detail["home"]
    job.account = detail["account"]
    if detail["submitted"]:
        job.submitted = detail["submitted"]
    job.command = " ".join([detail["script"], *detail["args"]]).strip()
    if job.state in ("pending", "held") and detail["messages"]:
        # the scheduler's words (an error state's reason first) for the list's placeholder
        job.reason = "; ".join(detail["messages"])[:1000]
    extra = job.extra
    if detail["pe"]:
        extra["parallel_environment"] = detail["pe"]
    if detail["tasks"]:
        extra["tasks"] = detail["tasks"]
        job.array_job_id = job.array_job_id or detail["number"]
    if detail["concurrency"]:
        extra["tasks_at_once"] = detail["concurrency"]
    if detail["project"]:
        extra["project"] = detail["project"]
    for key, value in detail["requests"].items():
        extra.setdefault("requests", {})[key] = value


def _task_numbers(tasks: str) -> set[int]:
    """``3,4`` / ``5-9:2`` / ``7`` → the task numbers."""
    numbers: set[int] = set()
    for part in tasks.split(","):
        match = re.match(r"^(\d+)(?:-(\d+)(?::(\d+))?)?$", part)
        if not match:
            continue
        first = int(match.group(1))
        last = int(match.group(2) or first)
        step = int(match.group(3) or 1)
        if last - first > 100000 * step:
            continue
        numbers.update(range(first, last + 1, step))
    return numbers


def _covers(job: JobInfo, job_id: str) -> bool:
    """Is ``job`` (a record) the job or one of the tasks ``job_id`` names?"""
    number, _, tasks = job_id.partition(".")
    if job.id.split(".", 1)[0] != number:
        return False
    if not tasks or job.id == job_id:
        return True
    return bool(_task_numbers(tasks) & _task_numbers(job.array_task_id))


def _pick(jobs: list[JobInfo], job_id: str) -> JobInfo:
    """The record for ``job_id``: itself, the pending group holding that task (as that
    task), else the first of the job's records."""
    for job in jobs:
        if job.id == job_id:
            return job
    number, _, task = job_id.partition(".")
    if task.isdigit():
        for job in jobs:
            if _covers(job, job_id):
                job.id, job.array_task_id = job_id, task
                return job
    return jobs[0]


#: The registry's factory (:mod:`jupyter_rpc.schedulers.registry`).
from_context = SGEScheduler.from_context
