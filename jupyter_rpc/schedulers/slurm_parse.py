"""Pure parsers for Slurm 22.05 command output (no I/O; unit-tested on recorded output).

Every command is asked for machine-readable text: ``squeue -o`` and ``sacct -P`` with
the ASCII unit separator ``\\x1f`` between fields (it cannot be typed into a job name, a
path or a reason, unlike ``|`` or spaces), ``scontrol show ... -o`` one-liners, and
``SLURM_TIME_FORMAT=%s`` so times come back as epoch seconds whatever the login node's
time zone is. ISO times (recorded samples, or a runner that drops the environment) are
read in the time zone passed as ``tz`` (the login node's; default: this machine's).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from datetime import datetime, tzinfo
from itertools import pairwise
from typing import Any

from .base import JobInfo, JobState, Partition

#: Field separator for ``squeue -o`` and ``sacct --delimiter``: a control character no
#: job name, path, command or reason can contain (we refuse it at submission too).
SEP = "\x1f"
#: Record terminator for ``squeue -o`` (a job name may contain a newline).
REC = "\x1e"

#: (squeue ``-o`` code, our key), in output order.
SQUEUE_FIELDS: tuple[tuple[str, str], ...] = (
    ("%i", "id"),
    ("%F", "array_job_id"),
    ("%K", "array_task_id"),
    ("%T", "state"),
    ("%r", "reason"),
    ("%u", "user"),
    ("%P", "partition"),
    ("%a", "account"),
    ("%q", "qos"),
    ("%V", "submitted"),
    ("%S", "start"),
    ("%e", "end"),
    ("%l", "time_limit"),
    ("%M", "elapsed"),
    ("%D", "num_nodes"),
    ("%C", "cpus"),
    ("%m", "memory"),
    ("%b", "gres"),
    ("%N", "nodes"),
    ("%Z", "workdir"),
    ("%o", "command"),
    ("%j", "name"),
)

#: sacct ``-o`` fields, in output order.
#: A job name may contain a newline, so the last field is one that cannot (``JobIDRaw``):
#: a record whose fields are not all there yet continues on the next line.
SACCT_FIELDS: tuple[str, ...] = (
    "JobID",
    "State",
    "ExitCode",
    "User",
    "Partition",
    "Account",
    "QOS",
    "Submit",
    "Start",
    "End",
    "Elapsed",
    "Timelimit",
    "NNodes",
    "AllocCPUS",
    "ReqMem",
    "AllocTRES",
    "NodeList",
    "Reason",
    "TotalCPU",
    "MaxRSS",
    "JobName",
    "WorkDir",
    "JobIDRaw",
)

_UNSET = {"", "N/A", "n/a", "NONE", "None", "none", "Unknown", "UNKNOWN", "(null)", "0"}
_NO_LIMIT = {
    "UNLIMITED",
    "INFINITE",
    "INVALID",
    "NOT_SET",
    "N/A",
    "NONE",
    "None",
    "",
    "Partition_Limit",
}

_STATES: dict[str, JobState] = {
    "PENDING": "pending",
    "CONFIGURING": "pending",
    "REQUEUED": "pending",
    "REQUEUE_FED": "pending",
    "REQUEUE_HOLD": "held",
    "RESV_DEL_HOLD": "held",
    "RUNNING": "running",
    "RESIZING": "running",
    "SIGNALING": "running",
    "COMPLETING": "completing",
    "STAGE_OUT": "completing",
    "SUSPENDED": "suspended",
    "STOPPED": "suspended",
    "COMPLETED": "completed",
    "FAILED": "failed",
    "NODE_FAIL": "failed",
    "BOOT_FAIL": "failed",
    "OUT_OF_MEMORY": "failed",
    "DEADLINE": "failed",
    "SPECIAL_EXIT": "failed",
    "CANCELLED": "cancelled",
    "PREEMPTED": "cancelled",
    "REVOKED": "cancelled",
    "TIMEOUT": "timeout",
}
_HELD_REASONS = {"JobHeldUser", "JobHeldAdmin", "job_requeued_in_held_state", "RequeueHold"}


def map_state(raw: str, reason: str = "") -> JobState:
    """Our state for Slurm's word (``CANCELLED by 1001`` and ``CANCELLED+`` included)."""
    word = raw.split(" ", 1)[0].rstrip("+").upper()
    state = _STATES.get(word, "unknown")
    if state == "pending" and reason.strip() in _HELD_REASONS:
        return "held"
    return state


def _finite(value: float) -> float | None:
    """``None`` for a figure a double cannot hold (``1e999`` digits, in odd output):
    every number we report must stay finite, or the job list is no longer JSON."""
    return value if math.isfinite(value) else None


def parse_time(value: str, tz: tzinfo | None = None) -> float | None:
    """Epoch seconds from ``1795449417`` or ``2026-11-22T20:40:51`` (local time of ``tz``);
    ``None`` for ``N/A``, ``Unknown``, ``None``, ``0``."""
    value = value.strip()
    if value in _UNSET:
        return None
    if value.isdigit():
        return _finite(float(value))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz) if tz is not None else moment.astimezone()
    return moment.timestamp()


_DURATION = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+(?:\.\d+)?))?$")


def parse_duration(value: str) -> float | None:
    """Seconds from Slurm's ``[D-]HH:MM:SS``, ``MM:SS``, ``D-HH``, ``D-HH:MM``; ``None``
    for ``UNLIMITED``, ``INVALID``, ``N/A`` and the like."""
    value = value.strip()
    if value in _NO_LIMIT:
        return None
    match = _DURATION.match(value)
    if not match:
        return None
    days, first, second, third = match.groups()
    if days is not None:
        # D-HH, D-HH:MM, D-HH:MM:SS
        hours, minutes, seconds = int(first), int(second or 0), float(third or 0)
    elif third is not None:
        hours, minutes, seconds = int(first), int(second), float(third)
    elif second is not None:
        hours, minutes, seconds = 0, int(first), float(second)
    else:
        # a bare number is minutes in Slurm's time syntax
        hours, minutes, seconds = 0, int(first), 0.0
    try:
        return _finite((int(days or 0) * 24 + hours) * 3600 + minutes * 60 + seconds)
    except OverflowError:  # more hours than a double holds
        return None


def parse_minutes(value: str) -> int | None:
    """A Slurm time limit as whole minutes (``01:00:00`` → 60), ``None`` if unlimited."""
    seconds = parse_duration(value)
    return None if seconds is None else int(seconds // 60)


_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)([KMGTP]?)(?:[nc])?$", re.IGNORECASE)
_MEMORY_FACTOR = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024**2, "P": 1024**3}


def parse_memory_mb(value: str) -> int | None:
    """MB from ``100M``, ``2G``, ``2000`` (MB), ``100Mc`` (sacct per-CPU suffix)."""
    match = _MEMORY.match(value.strip())
    if not match or value.strip() in _UNSET:
        return None
    megabytes = _finite(float(match.group(1)) * _MEMORY_FACTOR[match.group(2).upper()])
    return None if megabytes is None else int(megabytes)


_CPU_TIME = re.compile(r"^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$")


def parse_cpu_time(value: str) -> float | None:
    """Seconds from sacct's ``TotalCPU``: ``[D-][HH:]MM:SS[.mmm]`` (``00:00.002``,
    ``01:02:03``, ``1-02:03:04``)."""
    match = _CPU_TIME.match(value.strip())
    if not match:
        return None
    days, hours, minutes, seconds = match.groups()
    try:
        return _finite(
            ((int(days or 0) * 24 + int(hours or 0)) * 60 + int(minutes)) * 60 + float(seconds)
        )
    except OverflowError:  # more minutes than a double holds
        return None


def parse_memory_used_mb(value: str) -> float | None:
    """MB (one decimal) from sacct's ``MaxRSS`` (``4988K``, ``1.50G``); ``None`` if empty."""
    match = _MEMORY.match(value.strip())
    if not match or value.strip() in _UNSET:
        return None
    # A bare number is bytes here (unlike ReqMem, whose default unit is MB).
    factor = _MEMORY_FACTOR[match.group(2).upper()] if match.group(2) else 1 / 1024**2
    return _finite(round(float(match.group(1)) * factor, 1))


def parse_int(value: str) -> int | None:
    """``2`` → 2, ``2+`` → 2, ``N/A`` / ``UNLIMITED`` → ``None``."""
    match = re.match(r"^\s*(\d+)", value)
    return int(match.group(1)) if match else None


def parse_exit_code(value: str) -> tuple[int | None, int | None]:
    """``3:0`` → (3, 0); ``0:15`` → (0, 15): exit status and the signal that ended it."""
    match = re.match(r"^\s*(\d+):(\d+)\s*$", value)
    if not match:
        return None, None
    return int(match.group(1)), int(match.group(2))


def parse_gpus(value: str) -> int | None:
    """GPUs per node from a Gres/TRES string: ``gpu:a100:4(S:0-1)``, ``gres/gpu=2``."""
    total = 0
    found = False
    for part in re.split(r",(?![^()]*\))", value):
        part = part.strip()
        match = re.match(r"^(?:gres/|gres:)?gpu(?::[\w.-]+)*?[:=](\d+)", part)
        if match:
            total += int(match.group(1))
            found = True
    return total if found else None


def _clean(value: str) -> str:
    return "" if value.strip() in {"(null)", "N/A", "None"} else value


def _records(text: str, width: int, terminator: str | None) -> Iterator[list[str]]:
    """Split output into records of ``width`` fields. With a terminator, records end at
    it; without one (sacct), a line with too few fields is joined with the next (a
    newline inside a job name)."""
    if terminator is not None:
        for chunk in text.split(terminator):
            chunk = chunk.lstrip("\n")
            if chunk:
                fields = chunk.split(SEP)
                if len(fields) == width:
                    yield fields
        return
    pending = ""
    for line in text.split("\n"):
        pending = f"{pending}\n{line}" if pending else line
        count = pending.count(SEP) + 1
        if count >= width:
            fields = pending.split(SEP)
            if len(fields) == width:
                yield fields
            pending = ""


def squeue_format() -> str:
    """The ``squeue -o`` argument matching :func:`parse_squeue`."""
    return SEP.join(code for code, _ in SQUEUE_FIELDS) + REC


def _array_ids(job_id: str, array_job_id: str, task: str) -> tuple[str, str]:
    """(array_job_id, array_task_id) from squeue's ``%i``/``%F``/``%K``."""
    task = task.strip()
    if task in {"", "N/A", "(null)"}:
        match = re.match(r"^(\d+)_\[?([^\]]+)\]?$", job_id)
        if match:
            return match.group(1), match.group(2)
        return "", ""
    return array_job_id, task.strip("[]")


def parse_squeue(
    text: str, tz: tzinfo | None = None, cache: dict[str, JobInfo] | None = None
) -> list[JobInfo]:
    """Jobs from ``squeue -h --noconvert -r -o`` with :func:`squeue_format`.

    With ``cache`` (record text → job, from the previous call), records that did not
    change since (most of a big queue: pending jobs) are not parsed again; the cache is
    updated to hold this output's records only.
    """
    keys = [key for _, key in SQUEUE_FIELDS]
    jobs: list[JobInfo] = []
    seen: dict[str, JobInfo] = {}
    for fields in _records(text, len(keys), REC):
        if cache is not None:
            record = SEP.join(fields)
            known = cache.get(record)
            if known is not None:
                jobs.append(known)
                seen[record] = known
                continue
        row = dict(zip(keys, fields, strict=True))
        raw_state = row["state"].strip()
        reason = "" if row["reason"] in {"None", "(null)"} else row["reason"]
        state = map_state(raw_state, reason)
        array_job_id, array_task_id = _array_ids(
            row["id"], row["array_job_id"], row["array_task_id"]
        )
        start = parse_time(row["start"], tz)
        pending = state in {"pending", "held"}
        jobs.append(
            JobInfo(
                id=row["id"],
                name=row["name"],
                state=state,
                raw_state=raw_state,
                user=row["user"],
                partition=row["partition"],
                reason=reason,
                submitted=parse_time(row["submitted"], tz),
                started=None if pending else start,
                ended=parse_time(row["end"], tz)
                if state not in {"pending", "held", "running", "completing", "suspended"}
                else None,
                expected_start=start if pending else None,
                elapsed=parse_duration(row["elapsed"]),
                time_limit=parse_duration(row["time_limit"]),
                nodes="" if pending else _clean(row["nodes"]),
                num_nodes=parse_int(row["num_nodes"]),
                cpus=parse_int(row["cpus"]),
                memory_mb=parse_memory_mb(row["memory"]),
                gpus=_clean(row["gres"]),
                account=_clean(row["account"]),
                qos=_clean(row["qos"]),
                workdir=_clean(row["workdir"]),
                command=_clean(row["command"]),
                array_job_id=array_job_id,
                array_task_id=array_task_id,
            )
        )
        if cache is not None:
            seen[record] = jobs[-1]
    if cache is not None:
        cache.clear()
        cache.update(seen)
    return jobs


# --- scontrol -o -----------------------------------------------------------------

#: Keys ``scontrol show job -o`` prints in 22.05 (and a few of later versions). A value
#: runs until the next `` Key=`` of this set, so spaces inside values survive.
_JOB_KEYS = frozenset(
    """JobId ArrayJobId ArrayTaskId ArrayTaskThrottle HetJobId HetJobOffset HetJobIdSet JobName
    UserId GroupId MCS_label Priority Nice Account QOS WCKey JobState Reason Dependency Requeue
    Restarts BatchFlag Reboot ExitCode DerivedExitCode RunTime TimeLimit TimeMin SubmitTime
    EligibleTime AccrueTime StartTime EndTime Deadline PreemptEligibleTime PreemptTime SuspendTime
    SecsPreSuspend LastSchedEval Scheduler Partition AllocNode:Sid ReqNodeList ExcNodeList NodeList
    BatchHost NumNodes NumCPUs NumTasks CPUs/Task ReqB:S:C:T TRES Socks/Node NtasksPerN:B:S:C
    CoreSpec MinCPUsNode MinMemoryNode MinMemoryCPU MinTmpDiskNode Features DelayBoot
    OverSubscribe Contiguous Licenses Network Command WorkDir StdErr StdIn StdOut Power
    TresPerNode TresPerJob TresPerTask TresPerSocket CpusPerTres MemPerTres Comment AdminComment
    Reservation MailUser MailType NtasksPerTRES Container CronJob CrontabSpec Gres Account
    ResvPorts KillOInInvalidDependent Exclusive LicensesAlloc SystemComment ClusterFeatures
    JobAcctGatherFrequency Profile NodeListExc Nodes CPU_IDs Mem GRES Array Socks TresBind
    ThreadSpec CPUs MinCPUs ReqCores""".split()
)
_PARTITION_KEYS = frozenset(
    """PartitionName AllowGroups AllowAccounts DenyAccounts AllowQos DenyQos AllocNodes Default QoS
    DefaultTime DisableRootJobs ExclusiveUser GraceTime Hidden MaxNodes MaxTime MinNodes LLN
    MaxCPUsPerNode MaxCPUsPerSocket Nodes PriorityJobFactor PriorityTier RootOnly ReqResv
    OverSubscribe OverTimeLimit PreemptMode State TotalCPUs TotalNodes SelectTypeParameters
    JobDefaults DefMemPerNode DefMemPerCPU MaxMemPerNode MaxMemPerCPU TRES TRESBillingWeights
    ResumeTimeout SuspendTimeout SuspendTime PowerDownOnIdle Alternate Qos""".split()
)
_KEY_AT = re.compile(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_/:]*)=")


def parse_key_values(line: str, keys: frozenset[str] = _JOB_KEYS) -> dict[str, str]:
    """``Key=Value`` pairs of one ``scontrol -o`` line; values keep their spaces.

    A new pair starts only at `` Key=`` with a known key, so ``Command=/x/run.sh a=b``
    stays one value. ``JobName`` ends at the ``UserId=user(uid) GroupId=`` that follows
    it, so a name containing `` UserId=`` or ``Key=`` text is kept whole.
    """
    line = line.rstrip("\n")
    result: dict[str, str] = {}
    protected: list[tuple[int, int]] = []
    if "JobName=" in line:
        start = line.index("JobName=") + len("JobName=")
        ends = [
            m.start()
            for m in re.finditer(r" UserId=\S*\(\d+\) GroupId=", line)
            if m.start() >= start - 1
        ]
        if ends:
            protected.append((start, ends[-1]))
    protected += _tail_spans(line)
    starts: list[tuple[int, int, str]] = []  # (key start, value start, key)
    for match in _KEY_AT.finditer(line):
        key = match.group(1)
        if key not in keys or any(low <= match.start(1) < high for low, high in protected):
            continue
        starts.append((match.start(1), match.end(), key))
    for index, (_, value_start, key) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(line)
        result.setdefault(key, line[value_start:end].rstrip(" "))
    return result


#: Free-text values near the end of a job record, in print order, and the key after them.
_TAIL_CHAIN = ("Command", "WorkDir", "StdErr", "StdIn", "StdOut", "Power")


def _tail_spans(line: str) -> list[tuple[int, int]]:
    """Spans of the free-text tail values (paths, command), found from the right: each
    key is the last `` Key=`` before the next one, so a path containing `` UserId=`` or
    any other key text stays whole."""
    positions: dict[str, int] = {}
    limit = len(line)
    for key in reversed(_TAIL_CHAIN):
        index = line.rfind(f" {key}=", 0, limit)
        if index >= 0:
            positions[key] = index + 1
            limit = index
    spans = []
    for key, after in pairwise(_TAIL_CHAIN):
        if key in positions and after in positions:
            spans.append((positions[key] + len(key) + 1, positions[after] - 1))
    return spans


def _user_name(value: str) -> str:
    return value.split("(", 1)[0]


def job_from_scontrol(fields: dict[str, str], tz: tzinfo | None = None) -> JobInfo:
    """A :class:`JobInfo` from one parsed ``scontrol show job -o`` record."""
    raw_state = fields.get("JobState", "")
    reason = (
        _clean(fields.get("Reason", "")).replace("_", " ")
        if fields.get("Reason") not in {"None"}
        else ""
    )
    state = map_state(raw_state, fields.get("Reason", ""))
    array_job_id = fields.get("ArrayJobId", "")
    array_task_id = fields.get("ArrayTaskId", "")
    job_id = fields.get("JobId", "")
    if array_job_id and array_task_id:
        job_id = (
            f"{array_job_id}_{array_task_id}"
            if array_task_id.isdigit()
            else f"{array_job_id}_[{array_task_id}]"
        )
    exit_code, signal = parse_exit_code(fields.get("ExitCode", ""))
    active = state in {"pending", "held", "running", "completing", "suspended"}
    start = parse_time(fields.get("StartTime", ""), tz)
    pending = state in {"pending", "held"}
    memory = fields.get("MinMemoryNode") or ""
    memory_mb = parse_memory_mb(memory) if memory else None
    if memory_mb is None and fields.get("MinMemoryCPU"):
        per_cpu = parse_memory_mb(fields["MinMemoryCPU"])
        cpus = parse_int(fields.get("NumCPUs", "")) or 1
        memory_mb = per_cpu * cpus if per_cpu is not None else None
    tres = fields.get("TRES", "")
    gres = _clean(fields.get("TresPerNode", "")) or ",".join(
        part for part in tres.split(",") if part.startswith("gres/")
    )
    extra = {
        key: fields[key]
        for key in (
            "Priority",
            "Dependency",
            "TRES",
            "BatchHost",
            "EligibleTime",
            "Restarts",
            "Requeue",
            "Comment",
        )
        if fields.get(key) and fields[key] not in {"(null)", "N/A"}
    }
    return JobInfo(
        id=job_id,
        name=fields.get("JobName", ""),
        state=state,
        raw_state=raw_state,
        user=_user_name(fields.get("UserId", "")),
        partition=fields.get("Partition", ""),
        reason=reason,
        submitted=parse_time(fields.get("SubmitTime", ""), tz),
        started=None if pending else start,
        ended=None if active else parse_time(fields.get("EndTime", ""), tz),
        expected_start=start if pending else None,
        elapsed=parse_duration(fields.get("RunTime", "")),
        time_limit=parse_duration(fields.get("TimeLimit", "")),
        nodes=_clean(fields.get("NodeList", "")),
        num_nodes=parse_int(fields.get("NumNodes", "")),
        cpus=parse_int(fields.get("NumCPUs", "")),
        memory_mb=memory_mb,
        gpus=gres,
        account=_clean(fields.get("Account", "")),
        qos=_clean(fields.get("QOS", "")),
        workdir=_clean(fields.get("WorkDir", "")),
        stdout=_clean(fields.get("StdOut", "")),
        stderr=_clean(fields.get("StdErr", "")),
        exit_code=None if active else exit_code,
        signal=None if active else signal,
        command=_clean(fields.get("Command", "")),
        array_job_id=array_job_id,
        array_task_id=array_task_id,
        extra=extra,
    )


def parse_scontrol_jobs(text: str, tz: tzinfo | None = None) -> list[JobInfo]:
    """Jobs from ``scontrol show job -o`` (one line per job or array task)."""
    return [
        job_from_scontrol(parse_key_values(line), tz)
        for line in text.splitlines()
        if line.startswith("JobId=")
    ]


# --- sacct -----------------------------------------------------------------------


def parse_sacct(
    text: str, tz: tzinfo | None = None, fields: Sequence[str] = SACCT_FIELDS
) -> list[JobInfo]:
    """Jobs from ``sacct -n -P --delimiter=\\x1f -o <fields>``. Exit codes come from the
    text ``ExitCode`` (``3:0``): sacct's JSON reports 0 for every job in 22.05.

    Step lines (``12.batch``, ``12.0``, ``12_3.extern``) are not jobs; what they measured
    goes to their job: the peak ``MaxRSS`` of any step (sacct leaves it empty on the job's
    own line). ``TotalCPU`` is read from the job's line, which sums its steps.
    """
    jobs: list[JobInfo] = []
    by_id: dict[str, JobInfo] = {}
    steps: list[dict[str, str]] = []
    for values in _records(text, len(fields), None):
        row = dict(zip(fields, values, strict=True))
        job_id = row.get("JobID", "")
        if "." in job_id:
            steps.append(row)
            continue
        raw = row.get("State", "")
        state = map_state(raw, row.get("Reason", ""))
        reason = ""
        if raw.startswith("CANCELLED by "):
            reason = f"cancelled by uid {raw.split(' by ', 1)[1]}"
        elif row.get("Reason") not in {None, "", "None"}:
            reason = row["Reason"]
        exit_code, signal = parse_exit_code(row.get("ExitCode", ""))
        array_job_id, array_task_id = "", ""
        match = re.match(r"^(\d+)_\[?([^\]]+)\]?$", job_id)
        if match:
            array_job_id, array_task_id = match.groups()
        active = state in {"pending", "held", "running", "completing", "suspended"}
        tres = row.get("AllocTRES", "")
        jobs.append(
            JobInfo(
                id=job_id,
                name=row.get("JobName", ""),
                state=state,
                raw_state=raw.split(" ", 1)[0].rstrip("+"),
                user=row.get("User", ""),
                partition=row.get("Partition", ""),
                reason=reason,
                submitted=parse_time(row.get("Submit", ""), tz),
                started=parse_time(row.get("Start", ""), tz),
                ended=None if active else parse_time(row.get("End", ""), tz),
                elapsed=parse_duration(row.get("Elapsed", "")),
                time_limit=parse_duration(row.get("Timelimit", "")),
                nodes=_clean(row.get("NodeList", "")).replace("None assigned", ""),
                num_nodes=parse_int(row.get("NNodes", "")),
                cpus=parse_int(row.get("AllocCPUS", "")) or None,
                memory_mb=parse_memory_mb(row.get("ReqMem", "")),
                gpus=",".join(p for p in tres.split(",") if p.startswith("gres/")),
                account=row.get("Account", ""),
                qos=row.get("QOS", ""),
                workdir=row.get("WorkDir", ""),
                exit_code=None if active else exit_code,
                signal=None if active else signal,
                array_job_id=array_job_id,
                array_task_id=array_task_id,
                cpu_used=None if active else parse_cpu_time(row.get("TotalCPU", "")),
                memory_peak_mb=parse_memory_used_mb(row.get("MaxRSS", "")),
                extra={"source": "accounting", "job_id_raw": row.get("JobIDRaw", "")},
            )
        )
        by_id[job_id] = jobs[-1]
    for row in steps:
        job = by_id.get(row["JobID"].split(".", 1)[0])
        peak = parse_memory_used_mb(row.get("MaxRSS", ""))
        if job is not None and peak is not None:
            job.memory_peak_mb = max(peak, job.memory_peak_mb or 0.0)
    return jobs


# --- sbatch ----------------------------------------------------------------------

_TEST_ONLY = re.compile(
    r"Job (\d+) to start at (\S+) using (\d+) processors on nodes (\S+) in partition (\S+)"
)


def parse_test_only(stderr: str, tz: tzinfo | None = None) -> dict[str, Any]:
    """``{"expected_start", "message"}`` from ``sbatch --test-only``'s stderr line."""
    for line in stderr.splitlines():
        match = _TEST_ONLY.search(line)
        if match:
            _, when, cpus, nodes, partition = match.groups()
            expected = parse_time(when, tz)
            return {
                "expected_start": expected,
                "message": f"Would start using {cpus} CPUs on {nodes} in partition {partition}.",
                "partition": partition,
                "nodes": nodes,
                "cpus": int(cpus),
            }
    text = clean_slurm_error(stderr) or "Slurm accepted the job but gave no start estimate."
    return {"expected_start": None, "message": text}


def parse_sbatch_id(stdout: str) -> str | None:
    """The job id printed by ``sbatch --parsable`` (``N`` or ``N;cluster``)."""
    for line in stdout.splitlines():
        match = re.match(r"^\s*(\d+)(?:;\S+)?\s*$", line)
        if match:
            return match.group(1)
    return None


def clean_slurm_error(stderr: str) -> str:
    """Slurm's own message without the ``sbatch: error:`` prefixes, one line per fact."""
    lines = []
    for line in stderr.splitlines():
        line = re.sub(
            r"^(?:sbatch|scontrol|scancel|squeue|sacct|sinfo): (?:error: )?", "", line.strip()
        )
        if line and line not in lines:
            lines.append(line)
    return "; ".join(lines)


# --- partitions ------------------------------------------------------------------


def parse_sinfo_nodes(text: str) -> dict[str, dict[str, int | None]]:
    """Per partition, the largest node's CPUs, memory (MB) and GPUs, from
    ``sinfo -h -o '%R<SEP>%c<SEP>%m<SEP>%G'``."""
    result: dict[str, dict[str, int | None]] = {}
    for line in text.splitlines():
        fields = line.split(SEP)
        if len(fields) != 4:
            continue
        name, cpus, memory, gres = fields
        entry = result.setdefault(name, {"cpus": None, "memory_mb": None, "gpus": None})
        for key, value in (
            ("cpus", parse_int(cpus)),
            ("memory_mb", parse_int(memory)),
            ("gpus", parse_gpus(gres)),
        ):
            if value is not None and (entry[key] is None or value > (entry[key] or 0)):
                entry[key] = value
    return result


def parse_partitions(
    text: str, nodes: dict[str, dict[str, int | None]] | None = None
) -> list[Partition]:
    """Partitions from ``scontrol show partition -o``, completed with per-node sizes from
    :func:`parse_sinfo_nodes` where the partition sets no limit of its own."""
    nodes = nodes or {}
    partitions: list[Partition] = []
    for line in text.splitlines():
        if not line.startswith("PartitionName="):
            continue
        fields = parse_key_values(line, _PARTITION_KEYS)
        name = fields.get("PartitionName", "")
        node = nodes.get(name, {})
        max_cpus = parse_int(fields.get("MaxCPUsPerNode", ""))
        max_memory = parse_memory_mb(fields.get("MaxMemPerNode", "UNLIMITED"))
        if max_cpus is None:
            max_cpus = node.get("cpus")
        if max_memory is None:
            max_memory = node.get("memory_mb")
        partitions.append(
            Partition(
                name=name,
                default=fields.get("Default", "NO") == "YES",
                state=fields.get("State", "UP").lower(),
                max_time=parse_minutes(fields.get("MaxTime", "UNLIMITED")),
                default_time=parse_minutes(fields.get("DefaultTime", "NONE")),
                max_nodes=parse_int(fields.get("MaxNodes", ""))
                or parse_int(fields.get("TotalNodes", "")),
                max_cpus_per_node=max_cpus,
                max_memory_mb=max_memory,
                gpus=node.get("gpus"),
            )
        )
    return partitions
