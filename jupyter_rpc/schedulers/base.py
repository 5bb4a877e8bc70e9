"""The scheduler interface and the job models every implementation returns.

A scheduler adapter knows *what* to run (argv lists) and how to read the answer; a
:class:`~jupyter_rpc.ssh.runner.CommandRunner` knows *where*. Everything here is plain
asyncio: no tornado, usable from a CLI or a notebook client.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from ..errors import InvalidRequest

#: Our states. ``raw_state`` keeps the scheduler's own word.
JobState = Literal[
    "pending",  # waiting for resources / priority / dependency
    "held",  # pending and held (by the user or an admin)
    "running",
    "completing",
    "suspended",
    "completed",  # ended with exit code 0
    "failed",  # ended with a non-zero exit code, node failure, out of memory, ...
    "cancelled",
    "timeout",  # hit its time limit
    "unknown",
]
ACTIVE_STATES: frozenset[str] = frozenset({"pending", "held", "running", "completing", "suspended"})
OUTPUT_STREAMS = ("stdout", "stderr")


@dataclass
class JobInfo:
    """One job (or one task of an array job) as the jobs browser shows it.

    Times are POSIX timestamps (float seconds) or ``None``; durations are seconds.
    """

    id: str  # "123", or "123_4" for an array task, or "123_[5-9%2]" for pending tasks
    name: str
    state: JobState
    raw_state: str = ""
    user: str = ""
    partition: str = ""
    reason: str = ""  # why pending (or how it ended), in the scheduler's words
    submitted: float | None = None
    started: float | None = None
    ended: float | None = None
    expected_start: float | None = None
    elapsed: float | None = None
    time_limit: float | None = None
    nodes: str = ""  # node list when running
    num_nodes: int | None = None
    cpus: int | None = None
    memory_mb: int | None = None
    gpus: str = ""
    account: str = ""
    qos: str = ""
    workdir: str = ""
    stdout: str = ""  # absolute, expanded paths where the scheduler knows them
    stderr: str = ""
    exit_code: int | None = None
    signal: int | None = None
    # What the job used, where the scheduler measured it (an ended job's accounting):
    # CPU time (user + system, seconds, all its processes) and its peak resident memory.
    # With ``elapsed`` × ``cpus`` and ``memory_mb`` these give its efficiency.
    cpu_used: float | None = None
    memory_peak_mb: float | None = None
    command: str = ""
    array_job_id: str = ""  # the array's id, for every task of an array
    array_task_id: str = ""  # "4", or "5-9%2" for tasks not started yet
    extra: dict[str, Any] = field(default_factory=dict)  # more detail for the detail view

    def to_json(self) -> dict[str, Any]:
        # Not dataclasses.asdict: that deep-copies, and is most of the cost of a
        # 2,000-job listing.
        model = {name: getattr(self, name) for name in _JOB_FIELDS}
        model["extra"] = dict(self.extra)
        return model


_JOB_FIELDS = tuple(f.name for f in fields(JobInfo) if f.name != "extra")


@dataclass
class JobSpec:
    """What the submit form sends. ``None`` / empty means: the scheduler's default."""

    script: str | None = None  # the batch script's text, or
    script_path: str | None = None  # a file on the cluster
    name: str | None = None
    partition: str | None = None
    time_limit: int | None = None  # minutes
    cpus: int | None = None  # per task
    memory_mb: int | None = None  # per node
    gpus: int | None = None
    nodes: int | None = None
    ntasks: int | None = None
    account: str | None = None
    qos: str | None = None
    array: str | None = None  # "0-9", "1,3,5", "1-100%10"
    workdir: str | None = None
    stdout: str | None = None
    stderr: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    hold: bool = False
    extra_args: list[str] = field(default_factory=list)  # admin-allowed only


@dataclass
class Partition:
    """A queue a job can go to, with the limits the submit form enforces."""

    name: str
    default: bool = False
    state: str = "up"
    max_time: int | None = None  # minutes; None = unlimited
    default_time: int | None = None
    max_nodes: int | None = None
    max_cpus_per_node: int | None = None
    max_memory_mb: int | None = None  # per node
    gpus: int | None = None  # GPUs per node, if any

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class OutputChunk:
    """A piece of a job's stdout or stderr, read from ``offset``."""

    path: str
    offset: int  # where ``data`` starts
    next_offset: int  # ask from here next time
    size: int  # the file's size now
    data: (
        str  # decoded text (invalid UTF-8 replaced; a cut multi-byte char waits for the next read)
    )
    exists: bool = True

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Capabilities:
    """What a scheduler can do, as data: the server returns it with the cluster
    (``GET /clusters``) so panels and the notebook client can hide or explain what a
    cluster lacks. ``docs/schedulers.md`` has the table."""

    #: Hold a pending job and release it.
    hold: bool = True
    #: Submit array jobs (``JobSpec.array``).
    arrays: bool = True
    #: Jobs that ended (``history``), from the scheduler's accounting.
    history: bool = True
    #: Ask when a job would start without submitting it (``test_submit``).
    test_only: bool = False
    #: What an ended job used (CPU time, memory peak), for its efficiency.
    efficiency: bool = False
    #: Queues with their limits (``partitions``), for the submit form.
    queues: bool = True
    #: A working folder for the job (``JobSpec.workdir``).
    workdir: bool = True
    #: Jobs that wait for others to complete successfully (afterok): workflows' steps.
    dependencies: bool = False

    def to_json(self) -> dict[str, bool]:
        return asdict(self)


class Scheduler(abc.ABC):
    """One cluster's batch scheduler. Long-lived and shared by all requests."""

    kind: str = "abstract"
    #: What it can do (override in a subclass).
    capabilities: Capabilities = Capabilities()

    @abc.abstractmethod
    async def submit(self, spec: JobSpec) -> str:
        """Submit a job; return its id. Bad specs raise ``InvalidRequest`` with a clear message."""

    @abc.abstractmethod
    async def test_submit(self, spec: JobSpec) -> dict[str, Any]:
        """Check a spec without submitting: ``{"expected_start": float|None, "message": str}``."""

    @abc.abstractmethod
    async def list_jobs(self, *, all_users: bool = False) -> list[JobInfo]:
        """Jobs the scheduler knows now (the user's own unless ``all_users``), one per
        array task once started; active and recently ended ones."""

    @abc.abstractmethod
    async def get_job(self, job_id: str, *, usage: bool = False) -> JobInfo:
        """Full detail of one job (falls back to history for ended jobs); ``NotFound`` if
        unknown. ``usage``: also what an ended job used (``cpu_used``, ``memory_peak_mb``)
        where that costs the scheduler another query (the detail view asks for it; callers
        that only need paths or the state do not)."""

    @abc.abstractmethod
    async def history(self, *, days: float = 7.0) -> list[JobInfo]:
        """The user's jobs that started or ended in the last ``days`` days (accounting)."""

    @abc.abstractmethod
    async def cancel(self, job_id: str) -> None:
        """Cancel a job; ``NotFound`` if unknown, ``Conflict`` if it already ended."""

    @abc.abstractmethod
    async def hold(self, job_id: str) -> None:
        """Hold a pending job."""

    @abc.abstractmethod
    async def release(self, job_id: str) -> None:
        """Release a held job."""

    @abc.abstractmethod
    async def partitions(self) -> list[Partition]:
        """Partitions (queues) with their limits."""

    async def submit_after(self, spec: JobSpec, after: Sequence[str]) -> str:
        """Submit a job that starts once every job of ``after`` completed successfully
        (all tasks of an array); if one of them fails, the job never starts (the scheduler
        cancels it, or its dependency is never met). ``scheduler.unsupported`` where the
        scheduler cannot chain jobs (``Capabilities.dependencies``). The schedulers driven
        by command-line tools chain a workflow's steps in one remote script instead
        (``CommandScheduler.dependency_args``)."""
        if not after:
            return await self.submit(spec)
        raise InvalidRequest(
            f"The {self.kind} scheduler cannot make a job wait for others.",
            code="scheduler.unsupported",
            details={"capability": "dependencies"},
        )

    async def job_script(self, job_id: str) -> str | None:
        """The batch script a job was submitted with, if the scheduler still has it."""
        return None

    async def close(self) -> None:  # noqa: B027 (optional hook, not abstract)
        """Stop background work (the local scheduler's processes)."""
        return None
