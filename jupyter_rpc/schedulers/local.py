"""The embedded scheduler: jobs are plain processes on this machine.

Each job (or array task) runs ``bash <script>`` in its own process group, in its work
directory, with its environment added and stdout/stderr in files (``job-%j.out`` /
``job-%j.err`` in the work directory by default, with Slurm's ``%j``, ``%x``, ``%A``,
``%a``, ``%u`` and ``%%``). At most ``max_running`` run at once; the rest wait as
``pending`` (reason ``Resources``). The time limit is enforced with SIGTERM, then SIGKILL
to the job's process group after ``kill_grace`` seconds (state ``timeout``); cancelling
does the same (state ``cancelled``), so a job that traps SIGTERM still ends.

State lives in ``state_dir/<id>/job.json`` (and the script text in ``script.sh``), so
finished jobs and history survive a restart. Ids increase across restarts
(``state_dir/next_id``).

Running jobs survive a server stop (a hub's idle culler stops servers; it must not kill a
user's long job): shutdown (:meth:`close`) only stops watching them. The next server on the
same state folder re-adopts each one it finds by PID *and* process start time
(``/proc/<pid>/stat`` field 22, so a reused PID is never adopted): it shows ``running``,
Cancel and the time limit work, and its end is recorded with the exit status that
measure.py wrote (the adopting server is not its parent). A job that ended while no server
ran gets that recorded status too; with none recorded it is ``failed`` ("ended while the
server was stopped; its exit status is unknown"). Jobs that were waiting are ``cancelled``.

Killing a job (cancel, time limit) signals its process group and every process of its
session or carrying its token (``JUPYTER_RPC_JOB_TOKEN`` in the environment), so what it
started in the background or under ``setsid`` ends with it; so do such leftovers when the
job itself ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Conflict, InvalidRequest, NotFound
from ..private import child_environment, private_dir, write_private
from ..tasks import TaskOwner
from .base import ACTIVE_STATES, Capabilities, JobInfo, JobSpec, Partition, Scheduler

if TYPE_CHECKING:
    from .registry import SchedulerContext

_ARRAY_RE = re.compile(r"^(\d+(-\d+(:\d+)?)?(,\d+(-\d+(:\d+)?)?)*)(%(\d+))?$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_MAX_ARRAY = 1001
_MEASURE = str(Path(__file__).with_name("measure.py"))
#: The environment variable that marks every process of a job (found again by a sweep).
TOKEN_VAR = "JUPYTER_RPC_JOB_TOKEN"
UNKNOWN_END = "ended while the server was stopped; its exit status is unknown"
#: Ended jobs stay in :meth:`LocalScheduler.list_jobs` this long (Slurm's MinJobAge).
KEEP_ENDED = 300.0


def _invalid(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, code="job.invalid", details={"field": field})


def parse_array(text: str) -> tuple[list[int], int | None]:
    """``"0-9"``, ``"1,3,5"``, ``"1-10:2%3"`` → (task indexes, throttle or ``None``)."""
    match = _ARRAY_RE.match(text.strip())
    if not match:
        raise _invalid("array", f"{text!r} is not an array range (like 0-9, 1,3,5 or 1-100%10).")
    indexes: set[int] = set()
    for part in match.group(1).split(","):
        bounds, _, step = part.partition(":")
        low, _, high = bounds.partition("-")
        start, stop = int(low), int(high or low)
        if stop < start or int(step or 1) < 1:
            raise _invalid("array", f"{part!r} is not an increasing range.")
        span = range(start, stop + 1, int(step or 1))
        if len(span) > _MAX_ARRAY:  # before making it: "0-99999999" must not fill the memory
            raise _invalid("array", f"An array may have at most {_MAX_ARRAY} tasks.")
        indexes.update(span)
        if len(indexes) > _MAX_ARRAY:
            raise _invalid("array", f"An array may have at most {_MAX_ARRAY} tasks.")
    throttle = int(match.group(8)) if match.group(8) else None
    if throttle == 0:
        raise _invalid("array", "The array throttle (%N) must be at least 1.")
    return sorted(indexes), throttle


def expand_pattern(
    pattern: str, *, job_id: str, array_job_id: str, task_id: str, name: str, user: str
) -> str:
    """Slurm's filename pattern letters: ``%j %x %A %a %u %%``."""
    values = {
        "j": job_id,
        "x": name,
        "A": array_job_id or job_id,
        "a": task_id or "4294967294",
        "u": user,
        "%": "%",
    }
    return re.sub(r"%([jxAau%])", lambda m: values[m.group(1)], pattern)


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3.. of ``/proc/<pid>/stat`` (after the command name), None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    return raw[raw.rfind(b")") + 2 :].decode("ascii", "replace").split()


def _process_group(pid: int) -> int | None:
    """The process's group (field 5), None if it is gone."""
    fields_ = _stat_fields(pid)
    if not fields_ or len(fields_) < 3:
        return None
    return int(fields_[2])


def _start_time(pid: int) -> int | None:
    """The process's start time (field 22), None if it is gone or a zombie."""
    fields_ = _stat_fields(pid)
    if not fields_ or len(fields_) < 20 or fields_[0] == "Z":
        return None
    return int(fields_[19])


def session_processes(leader: int) -> list[int]:
    """The processes of the session ``leader`` leads (what a shell or a job started, in any
    process group; not what left it with ``setsid``)."""
    return _job_processes(leader, "")


def _job_processes(leader: int, token: str) -> list[int]:
    """Processes of a job: in the leader's session, or carrying its token."""
    marker = f"{TOKEN_VAR}={token}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        pid = int(entry)
        fields_ = _stat_fields(pid)
        if not fields_ or len(fields_) < 4:
            continue
        if fields_[3] == str(leader):
            found.append(pid)
            continue
        if token:
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    env = f.read()
            except OSError:
                continue
            if marker + b"\0" in env or env.endswith(marker):
                found.append(pid)
    return found


class _Task:
    """One process to run: a job or an array task, with its record."""

    def __init__(self, info: JobInfo, spec: JobSpec, throttle: int | None = None) -> None:
        self.info = info
        self.spec = spec
        self.throttle = throttle
        self.process: subprocess.Popen[bytes] | None = None  # None once adopted
        self.pid: int | None = None
        self.pid_start: int | None = None  # /proc/<pid>/stat field 22
        self.token = ""
        self.adopted_code: int | None = None  # exit status of an adopted job, from measure.py
        self.watcher: asyncio.Task[None] | None = None
        self.stop_reason: str | None = None  # "cancelled", "timeout", "server stopped"
        self.after: list[str] = []  # jobs that must complete first (afterok)


class LocalScheduler(Scheduler):
    """Jobs as local processes, queued beyond ``max_running``; state in ``state_dir``."""

    kind = "local"
    capabilities = Capabilities(test_only=True, efficiency=True, dependencies=True)

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        *,
        max_running: int | None = None,
        user: str | None = None,
        default_workdir: str | os.PathLike[str] | None = None,
        kill_grace: float = 5.0,
        seconds_per_minute: float = 60.0,
    ) -> None:
        self.state_dir = Path(state_dir)
        if not self.state_dir.is_absolute():  # jobs never land relative to the cwd
            raise ValueError(f"the local scheduler's state folder must be absolute: {state_dir!r}")
        private_dir(self.state_dir)  # jobs' scripts and environments: the user's only
        self.max_running = max(1, max_running or os.cpu_count() or 1)
        self.user = user or getpass.getuser()
        self.default_workdir = Path(default_workdir or Path.home())
        self.kill_grace = kill_grace
        #: Length of a time-limit minute; tests shorten it to run timeouts in seconds.
        self.seconds_per_minute = seconds_per_minute
        self._tasks: dict[str, _Task] = {}
        self._order: list[str] = []  # submission order, for the queue
        self._owner = TaskOwner("LocalScheduler")
        self._closed = False
        self._adopt: list[_Task] = []  # running jobs of a previous server, not yet watched
        self._load()
        with contextlib.suppress(RuntimeError):  # no running loop: the first call watches
            asyncio.get_running_loop()
            self._watch_adopted()

    def _watch_adopted(self) -> None:
        while self._adopt and not self._closed:
            task = self._adopt.pop()
            task.watcher = self._owner.create_task(
                self._run(task), name=f"local-job-{task.info.id}"
            )

    # --- persistence ----------------------------------------------------------------

    def _job_dir(self, job_id: str) -> Path:
        return self.state_dir / job_id.split("_", 1)[0]

    def _load(self) -> None:
        """Read every job.json; active jobs of a stopped server end now."""
        for path in sorted(
            self.state_dir.glob("*/job.json"),
            key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        ):
            with contextlib.suppress(OSError):  # an older version's: 0755 and 0644
                private_dir(path.parent)
                os.chmod(path, 0o600)
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                spec = JobSpec(**data["spec"])
                names = {f.name for f in fields(JobInfo)}
                infos = [
                    JobInfo(**{k: v for k, v in record.items() if k in names})
                    for record in data["records"]
                ]
                procs = dict(data.get("procs") or {})
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a damaged file loses that job, not the scheduler
            changed = []
            for info in infos:
                task = _Task(info, spec, data.get("throttle"))
                task.after = [str(a) for a in data.get("after") or []]
                self._tasks[info.id] = task
                self._order.append(info.id)
                proc = procs.get(info.id)
                if info.state in ACTIVE_STATES:
                    if info.state == "running" and isinstance(proc, dict):
                        task.pid, task.pid_start = int(proc["pid"]), int(proc["start"])
                        task.token = str(proc.get("token", ""))
                        if _start_time(task.pid) == task.pid_start:
                            self._adopt.append(task)  # still running: watched again
                            continue
                        changed.append(task)  # ended while no server ran
                        continue
                    was_running = info.state in {"running", "completing", "suspended"}
                    info.state = "failed" if was_running else "cancelled"
                    info.raw_state = info.state.upper()
                    info.reason = "server stopped"
                    info.ended = info.ended or time.time()
                    self._save(info.id)
            for task in changed:
                self._ended(task)

    def _save(self, job_id: str) -> None:
        """Write the job's records atomically (small file; written on each state change)."""
        job_dir = self._job_dir(job_id)
        base = job_id.split("_", 1)[0]
        records = [t for i, t in self._tasks.items() if i.split("_", 1)[0] == base]
        if not records:
            return
        data = {
            "spec": asdict(records[0].spec),
            "throttle": records[0].throttle,
            "after": records[0].after,
            "records": [t.info.to_json() for t in records],
            # How the next server finds a running job again (PID and its start time).
            "procs": {
                t.info.id: {"pid": t.pid, "start": t.pid_start, "token": t.token}
                for t in records
                if t.pid is not None and t.pid_start is not None
            },
        }
        private_dir(job_dir)
        tmp = job_dir / "job.json.tmp"
        write_private(tmp, json.dumps(data, indent=1))
        os.replace(tmp, job_dir / "job.json")

    def _next_id(self) -> int:
        counter = self.state_dir / "next_id"
        try:
            stored = int(counter.read_text().strip())
        except (OSError, ValueError):
            stored = 1
        existing = [int(p.name) for p in self.state_dir.iterdir() if p.name.isdigit()]
        job_id = max([stored, *(n + 1 for n in existing)])
        write_private(counter, str(job_id + 1))
        return job_id

    # --- validation -----------------------------------------------------------------

    def _check(self, spec: JobSpec) -> tuple[Path, list[int] | None, int | None]:
        if bool(spec.script) == bool(spec.script_path):
            raise _invalid("script", "Give either a script text or a script path (exactly one).")
        if spec.script_path and not Path(os.path.expanduser(spec.script_path)).is_file():
            raise _invalid(
                "script_path", f"There is no script file {spec.script_path!r} on this machine."
            )
        if spec.name and _CONTROL_RE.search(spec.name):
            raise _invalid("name", "The name must not contain newlines or control characters.")
        if spec.partition not in (None, "", "local"):
            raise _invalid(
                "partition", f"This machine has only the partition 'local', not {spec.partition!r}."
            )
        for field_name in ("time_limit", "cpus", "memory_mb", "nodes", "ntasks"):
            value = getattr(spec, field_name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise _invalid(
                    field_name, f"The {field_name} must be a whole number of at least 1."
                )
        if spec.nodes not in (None, 1):
            raise _invalid("nodes", "Jobs on this machine run on one node.")
        if spec.gpus:
            raise _invalid("gpus", "The local scheduler does not allocate GPUs.")
        if spec.extra_args:
            raise _invalid("extra_args", "The local scheduler takes no extra arguments.")
        for key, value in spec.env.items():
            if not _ENV_NAME_RE.match(key) or not isinstance(value, str) or "\0" in value:
                raise _invalid(
                    "env", f"{key!r} is not a valid environment variable with a text value."
                )
        for field_name in ("workdir", "stdout", "stderr"):
            value = getattr(spec, field_name)
            if value and _CONTROL_RE.search(value):
                raise _invalid(
                    field_name, f"The {field_name} must not contain newlines or control characters."
                )
        workdir = Path(os.path.expanduser(spec.workdir)) if spec.workdir else self.default_workdir
        if not workdir.is_dir():
            raise _invalid("workdir", f"The work directory {str(workdir)!r} does not exist.")
        if spec.array:
            indexes, throttle = parse_array(spec.array)
            return workdir, indexes, throttle
        return workdir, None, None

    # --- submitting -----------------------------------------------------------------

    async def submit(self, spec: JobSpec) -> str:
        return await self.submit_after(spec, ())

    async def submit_after(self, spec: JobSpec, after: Sequence[str]) -> str:
        """Submit a job that waits until every job of ``after`` (all tasks of an array)
        completed; if one of them fails, is cancelled or times out, this one is cancelled
        (reason ``DependencyNeverSatisfied``) and so are those waiting for it."""
        self._watch_adopted()
        workdir, indexes, throttle = self._check(spec)
        after = [str(a).strip() for a in after]
        for other in after:
            self._matching(other)  # job.not_found for an id this scheduler never had
        number = self._next_id()
        job_dir = self.state_dir / str(number)
        private_dir(job_dir)
        if spec.script:
            write_private(job_dir / "script.sh", spec.script)
        name = spec.name or (Path(spec.script_path).name if spec.script_path else "script.sh")
        now = time.time()
        ids = (
            [(f"{number}_{i}", str(number), str(i)) for i in indexes]
            if indexes is not None
            else [(str(number), "", "")]
        )
        for job_id, array_job_id, task_id in ids:
            info = JobInfo(
                id=job_id,
                name=name,
                state="held" if spec.hold else "pending",
                raw_state="HELD" if spec.hold else "PENDING",
                user=self.user,
                partition="local",
                reason="JobHeldUser" if spec.hold else "Priority",
                submitted=now,
                time_limit=spec.time_limit * self.seconds_per_minute if spec.time_limit else None,
                num_nodes=1,
                cpus=spec.cpus or 1,
                memory_mb=spec.memory_mb,
                workdir=str(workdir),
                command=spec.script_path or str(job_dir / "script.sh"),
                array_job_id=array_job_id,
                array_task_id=task_id,
            )
            pattern = dict(
                job_id=job_id, array_job_id=array_job_id, task_id=task_id, name=name, user=self.user
            )
            info.stdout = str(workdir / expand_pattern(spec.stdout or "job-%j.out", **pattern))
            info.stderr = str(workdir / expand_pattern(spec.stderr or "job-%j.err", **pattern))
            task = _Task(info, spec, throttle)
            task.after = list(after)
            self._tasks[job_id] = task
            self._order.append(job_id)
        self._save(str(number))
        self._schedule()
        return str(number)

    async def test_submit(self, spec: JobSpec) -> dict[str, Any]:
        self._check(spec)
        running = sum(1 for t in self._tasks.values() if t.info.state == "running")
        waiting = sum(1 for t in self._tasks.values() if t.info.state == "pending")
        if running + waiting < self.max_running:
            return {"expected_start": time.time(), "message": "Would start now."}
        ahead = running + waiting - self.max_running + 1
        return {
            "expected_start": None,
            "message": f"Would wait: {running} jobs running, {waiting} waiting; starts after {ahead} of them end.",
        }

    # --- the queue ------------------------------------------------------------------

    def _schedule(self) -> None:
        """Start waiting tasks while there is room, in submission order."""
        if self._closed:
            return
        running = [t for t in self._tasks.values() if t.info.state == "running"]
        free = self.max_running - len(running)
        never = False
        for job_id in self._order:
            task = self._tasks[job_id]
            if task.after and task.info.state in {"pending", "held"}:
                met = self._dependency(task)
                if met is False:  # a job it waits for did not complete: it never starts
                    info = task.info
                    info.state, info.raw_state = "cancelled", "CANCELLED"
                    info.reason, info.ended = "DependencyNeverSatisfied", time.time()
                    self._save(job_id)
                    never = True
                    continue
                if met is None:
                    if task.info.state == "pending":
                        task.info.reason = "Dependency"
                    continue
            if task.info.state != "pending":
                continue
            if free <= 0:
                task.info.reason = "Resources"
                continue
            if task.throttle is not None and task.info.array_job_id:
                same = sum(1 for t in running if t.info.array_job_id == task.info.array_job_id)
                if same >= task.throttle:
                    task.info.reason = "JobArrayTaskLimit"
                    continue
            task.info.state = "running"  # claimed now; the process starts in the watcher
            task.info.raw_state = "RUNNING"
            task.info.reason = ""
            task.info.started = time.time()
            running.append(task)
            free -= 1
            self._save(job_id)
            task.watcher = self._owner.create_task(self._run(task), name=f"local-job-{job_id}")
        if never:  # those waiting for the jobs just cancelled
            self._schedule()

    def _dependency(self, task: _Task) -> bool | None:
        """Whether the jobs ``task`` waits for all completed (True), one of them ended
        otherwise or is unknown (False), or some are still to end (None)."""
        waiting = False
        for other in task.after:
            tasks = [t for i, t in self._tasks.items() if i.split("_", 1)[0] == other]
            if not tasks:
                return False
            for dep in tasks:
                if dep.info.state in ACTIVE_STATES:
                    waiting = True
                elif dep.info.state != "completed":
                    return False
        return None if waiting else True

    def _environment(self, task: _Task) -> dict[str, str]:
        info = task.info
        env = child_environment()  # the server's, minus its secrets (RPCApp.child_env_*)
        env.update(task.spec.env)
        env.update(
            JOB_ID=info.id,
            SLURM_JOB_ID=info.id,
            JOB_NAME=info.name,
            SLURM_JOB_NAME=info.name,
            SLURM_SUBMIT_DIR=info.workdir,
            SLURM_CPUS_PER_TASK=str(info.cpus or 1),
            SLURM_JOB_PARTITION="local",
        )
        if info.array_job_id:
            env.update(
                JOB_ARRAY_ID=info.array_job_id,
                SLURM_ARRAY_JOB_ID=info.array_job_id,
                JOB_ARRAY_TASK_ID=info.array_task_id,
                SLURM_ARRAY_TASK_ID=info.array_task_id,
            )
        return env

    async def _run(self, task: _Task) -> None:
        """Run one task (or watch an adopted one) to its end, enforce its time limit, record
        how it ended. Cancelled by a server shutdown: the job keeps running, recorded
        ``running`` for the next server to adopt; one being cancelled is still killed."""
        try:
            if task.pid is None:
                await self._start(task)
            await self._wait_end(task)
        except asyncio.CancelledError:
            if task.stop_reason in {"cancelled", "timeout"} and task.pid is not None:
                await asyncio.shield(self._kill(task))
                self._ended(task)
            raise

    def _gone(self, task: _Task) -> bool:
        if task.process is not None:
            return task.process.poll() is not None
        return task.pid is None or _start_time(task.pid) != task.pid_start

    async def _wait_gone(self, task: _Task, timeout: float | None) -> bool:
        """Wait until the job's process has ended (True) or ``timeout`` passed (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._gone(task):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.1)
        return True

    async def _wait_end(self, task: _Task) -> None:
        if task.pid is None:
            return  # it could not start (recorded already)
        if task.stop_reason:  # cancelled while it was starting
            await self._kill(task)
        limit = task.info.time_limit
        left = None if limit is None else max(0.0, (task.info.started or 0) + limit - time.time())
        if not await self._wait_gone(task, left):
            task.stop_reason = task.stop_reason or "timeout"
            await self._kill(task)
        self._ended(task)

    async def _start(self, task: _Task) -> None:
        info = task.info
        script = str(self._script_file(task))
        try:
            out_fd = os.open(info.stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            err_fd = (
                out_fd
                if info.stderr == info.stdout
                else os.open(info.stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            )
        except OSError as exc:
            self._finish(
                task, "failed", reason=f"cannot open output file: {exc.strerror}", exit_code=1
            )
            return
        try:
            usage = self._usage_file(task)
            usage.unlink(missing_ok=True)
            # measure.py writes it through '<usage>.tmp' (open 'w', then a rename): made
            # here 0600, it stays 0600; the job itself keeps the server's umask.
            write_private(f"{usage}.tmp", "")
            task.token = uuid.uuid4().hex
            env = self._environment(task)
            env[TOKEN_VAR] = task.token
            # A plain Popen (asyncio's transport kills its child when it is closed): the
            # job outlives this server, and the next one adopts it.
            task.process = subprocess.Popen(  # noqa: ASYNC220 - fork+exec is quick, as asyncio's is
                # Through measure.py (stdlib only: -I -S start fast), for CPU time, peak
                # memory and the exit status once it ends; the exit status passes through.
                [sys.executable, "-I", "-S", _MEASURE, str(usage), "--", "bash", script],
                cwd=info.workdir, env=env, stdin=subprocess.DEVNULL,
                stdout=out_fd, stderr=err_fd, start_new_session=True,
            )  # fmt: skip
            task.pid = task.process.pid
            task.pid_start = _start_time(task.pid)
        except OSError as exc:
            self._finish(task, "failed", reason=f"cannot start: {exc.strerror}", exit_code=1)
            return
        finally:
            os.close(out_fd)
            if err_fd != out_fd:
                os.close(err_fd)
        self._save(info.id)

    def _usage_file(self, task: _Task) -> Path:
        return self._job_dir(task.info.id) / f"usage-{task.info.id}.json"

    def _read_usage(self, task: _Task) -> None:
        """CPU time and peak memory that measure.py recorded (none if it was killed)."""
        try:
            usage = json.loads(self._usage_file(task).read_text(encoding="utf-8"))
            cpu, rss = float(usage["cpu_seconds"]), int(usage["max_rss_kb"])
        except (OSError, ValueError, KeyError, TypeError):
            return
        task.info.cpu_used = round(cpu, 3)
        task.info.memory_peak_mb = round(rss / 1024, 1)
        with contextlib.suppress(KeyError, ValueError, TypeError):
            task.adopted_code = int(usage["exit_status"])

    def _ended(self, task: _Task) -> None:
        self._read_usage(task)
        if task.pid is not None:  # leftovers it started in the background or setsid
            self._signal(task, signal.SIGKILL)
        if task.process is not None:
            code = task.process.returncode
        else:  # adopted: not our child; measure.py recorded the status (if it could)
            code = task.adopted_code
            if code is None and task.stop_reason is None:
                self._finish(task, "failed", reason=UNKNOWN_END)
                return
        exit_code, signum = (code, 0) if code is not None and code >= 0 else (0, -(code or 0))
        if task.stop_reason == "timeout":
            self._finish(task, "timeout", reason="TimeLimit", exit_code=exit_code, signum=signum)
        elif task.stop_reason == "cancelled":
            self._finish(
                task,
                "cancelled",
                reason="cancelled by the user",
                exit_code=exit_code,
                signum=signum,
            )
        elif task.stop_reason == "server stopped":
            self._finish(
                task, "failed", reason="server stopped", exit_code=exit_code, signum=signum
            )
        elif exit_code == 0 and signum == 0:
            self._finish(task, "completed", exit_code=0, signum=0)
        else:
            reason = "NonZeroExitCode" if signum == 0 else f"killed by signal {signum}"
            self._finish(task, "failed", reason=reason, exit_code=exit_code, signum=signum)

    def _signal(self, task: _Task, signum: int) -> None:
        """Signal the job's process group and every other process of its session or token,
        each process once (a second SIGTERM kills a shell whose trap is cleaning up)."""
        assert task.pid is not None
        grouped = False
        if not self._gone(task):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(task.pid, signum)
                grouped = True
        for pid in _job_processes(task.pid, task.token):
            if grouped and _process_group(pid) == task.pid:
                continue  # the group's signal reached it
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)

    async def _kill(self, task: _Task) -> None:
        """SIGTERM to the job's processes, SIGKILL after the grace time."""
        if task.pid is None:
            return
        if not self._gone(task):
            for signum, wait in ((signal.SIGTERM, self.kill_grace), (signal.SIGKILL, 5.0)):
                self._signal(task, signum)
                if await self._wait_gone(task, wait):
                    break
        self._signal(task, signal.SIGKILL)  # stragglers: the group, the session, the token

    def _finish(
        self,
        task: _Task,
        state: str,
        *,
        reason: str = "",
        exit_code: int | None = None,
        signum: int | None = None,
    ) -> None:
        info = task.info
        info.state = state  # type: ignore[assignment]
        info.raw_state = state.upper()
        info.reason = reason
        info.ended = time.time()
        if info.started is not None:
            info.elapsed = info.ended - info.started
        info.exit_code = exit_code
        info.signal = signum
        self._save(info.id)
        self._schedule()

    # --- reading --------------------------------------------------------------------

    def _view(self, task: _Task) -> JobInfo:
        info = JobInfo(**asdict(task.info))
        if info.state == "running" and info.started is not None:
            info.elapsed = time.time() - info.started
        return info

    def _matching(self, job_id: str) -> list[_Task]:
        job_id = str(job_id).strip()
        if job_id in self._tasks:
            return [self._tasks[job_id]]
        tasks = [t for i, t in self._tasks.items() if t.info.array_job_id == job_id]
        if not tasks:
            raise NotFound(f"There is no local job {job_id}.", code="job.not_found")
        return tasks

    async def list_jobs(self, *, all_users: bool = False) -> list[JobInfo]:
        self._watch_adopted()
        cutoff = time.time() - KEEP_ENDED
        return [
            self._view(t)
            for i in self._order
            if (t := self._tasks[i]).info.state in ACTIVE_STATES or (t.info.ended or 0) >= cutoff
        ]

    async def get_job(self, job_id: str, *, usage: bool = False) -> JobInfo:
        self._watch_adopted()
        # ``usage`` costs nothing here: measure.py recorded it when the job ended.
        return self._view(self._matching(job_id)[0])

    async def history(self, *, days: float = 7.0) -> list[JobInfo]:
        self._watch_adopted()
        cutoff = time.time() - float(days) * 86400
        return [
            self._view(t)
            for i in self._order
            if max((t := self._tasks[i]).info.submitted or 0, t.info.ended or 0) >= cutoff
        ]

    async def partitions(self) -> list[Partition]:
        try:
            memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
        except (ValueError, OSError, AttributeError):
            memory = None
        return [
            Partition(
                name="local",
                default=True,
                max_nodes=1,
                max_cpus_per_node=os.cpu_count(),
                max_memory_mb=memory,
            )
        ]

    def _script_file(self, task: _Task) -> Path:
        if task.spec.script_path:
            return Path(os.path.expanduser(task.spec.script_path))
        return self._job_dir(task.info.id) / "script.sh"

    async def job_script(self, job_id: str) -> str | None:
        path = self._script_file(self._matching(job_id)[0])
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    # --- changing -------------------------------------------------------------------

    def _active(self, job_id: str) -> list[_Task]:
        tasks = self._matching(job_id)
        active = [t for t in tasks if t.info.state in ACTIVE_STATES]
        if not active:
            raise Conflict(
                f"Job {job_id} has already ended ({tasks[0].info.state}).", code="job.finished"
            )
        return active

    async def cancel(self, job_id: str) -> None:
        """Pending and held tasks end at once; running ones get SIGTERM, and SIGKILL to
        their whole process group after ``kill_grace`` seconds (a job that ignores SIGTERM
        still ends). Returns once they have ended, so the answer shows ``cancelled``."""
        self._watch_adopted()
        running = []
        for task in self._active(job_id):
            if task.info.state in {"pending", "held"}:
                self._finish(task, "cancelled", reason="cancelled by the user")
            else:
                task.stop_reason = "cancelled"  # one still starting is killed once it has
                running.append(task)
        if not running:
            return
        # Owned tasks: a client that goes away does not stop the escalation halfway.
        kills = [self._owner.create_task(self._kill(t), name="local-job-kill") for t in running]
        watchers = [t.watcher for t in running if t.watcher is not None]
        await asyncio.wait([*kills, *watchers], timeout=self.kill_grace + 6)

    async def hold(self, job_id: str) -> None:
        tasks = [t for t in self._active(job_id) if t.info.state in {"pending", "held"}]
        if not tasks:
            raise Conflict(
                f"Job {job_id} is already running; only pending jobs can be held.",
                code="job.not_pending",
            )
        for task in tasks:
            task.info.state, task.info.raw_state, task.info.reason = "held", "HELD", "JobHeldUser"
            self._save(task.info.id)

    async def release(self, job_id: str) -> None:
        tasks = [t for t in self._active(job_id) if t.info.state == "held"]
        if not tasks:
            raise Conflict(f"Job {job_id} is not held.", code="job.not_held")
        for task in tasks:
            task.info.state, task.info.raw_state, task.info.reason = (
                "pending",
                "PENDING",
                "Priority",
            )
            self._save(task.info.id)
        self._schedule()

    async def close(self) -> None:
        """Stop watching: running jobs keep running (recorded with their PID and start
        time, the next server adopts them); ones being cancelled are still killed."""
        self._closed = True
        await self._owner.cancel_all(timeout=self.kill_grace + 6)
        for task in self._tasks.values():
            if task.info.state == "running" and task.pid is None:  # claimed, never started
                self._finish(task, "failed", reason="server stopped")
            elif task.process is not None and task.process.poll() is None:
                # Left running on purpose (the next server adopts it): not ours to wait
                # for any more, so Popen does not warn that it is "still running".
                task.process.returncode = 0
                task.process = None


def from_context(ctx: SchedulerContext) -> LocalScheduler:
    """The registry's factory (:mod:`jupyter_rpc.schedulers.registry`): jobs are processes
    of the Jupyter server, their state in the cluster's state folder; ``kill_grace`` from
    the cluster's config."""
    if ctx.kill_grace is None:
        return LocalScheduler(ctx.state_dir, user=ctx.user)
    return LocalScheduler(ctx.state_dir, user=ctx.user, kill_grace=ctx.kill_grace)
