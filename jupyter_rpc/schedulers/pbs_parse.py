"""Pure parsers for PBS Pro / OpenPBS output (no I/O; unit-tested on recorded output in
``tests/schedulers/recordings/pbs``, whose README cites where each was recorded).

Only machine-readable output is read: ``qstat -f -F json`` (jobs, ``-x`` with finished
ones, ``-t`` with array subjobs) and ``qstat -Q -f -F json`` (queues). Times in that JSON
are text in the server's local time (``"Wed Mar 17 20:36:48 2021"``), read in the time
zone passed as ``tz`` (the login node's; default: this machine's). Durations are
``HH:MM:SS``, sizes carry PBS units (``5620kb``, ``235gb``).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, tzinfo
from typing import Any

from .base import JobInfo, JobState, Partition

#: qstat's job states (the ``job_state`` letter), from the qstat manual page. Only ``F``
#: is checked against a recording so far (the README lists what is not recorded).
_STATES: dict[str, JobState] = {
    "Q": "pending",  # queued
    "W": "pending",  # waiting for its execution time
    "T": "pending",  # being moved
    "M": "pending",  # moved to another server
    "H": "held",
    "R": "running",
    "B": "running",  # an array job with at least one subjob started
    "E": "completing",  # exiting after having run
    "S": "suspended",
    "U": "suspended",  # suspended: the workstation is busy
}
_ENDED = frozenset({"F", "X"})  # finished (history), a finished subjob

#: ``123.server``, ``123[].server`` (an array), ``123[4].server`` (one of its subjobs);
#: the server part may be left out when a user types an id.
JOB_ID_RE = re.compile(r"^(\d+)(\[(\d*)\])?(\.[A-Za-z0-9][A-Za-z0-9.-]{0,252})?$")
_MEMORY_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?)(b|w)?$", re.IGNORECASE)
_UNITS = {"": 1 / 1024**2, "k": 1 / 1024, "m": 1.0, "g": 1024.0, "t": 1024.0**2, "p": 1024.0**3}


class ParseError(ValueError):
    """Output that is not what the command prints (the message says what was wrong)."""


def load_json(text: str, what: str) -> dict[str, Any]:
    """The JSON object a ``-F json`` command printed. Raises :class:`ParseError` naming the
    command when it is not JSON (some PBS versions print invalid JSON for values with
    quotes or control characters: the error then says where)."""
    try:
        data = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        raise ParseError(f"{what} printed JSON that cannot be read ({exc})") from None
    if not isinstance(data, dict):
        raise ParseError(f"{what} printed {type(data).__name__}, not a JSON object")
    return data


def parse_time(value: Any, tz: tzinfo | None = None) -> float | None:
    """``"Wed Mar 17 20:36:48 2021"`` (server local time) or epoch seconds → epoch seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if value > 0 else None
    if not isinstance(value, str) or not value.strip():
        return None
    text = " ".join(value.split())
    if text.isdigit():
        return float(text) or None
    try:
        moment = datetime.strptime(text, "%a %b %d %H:%M:%S %Y")
    except ValueError:
        return None
    if tz is not None:
        return moment.replace(tzinfo=tz).timestamp()
    return moment.timestamp()  # this machine's local time


def parse_duration(value: Any) -> float | None:
    """``"00:02:00"`` / ``"1:00:00:00"`` / ``"90"`` (seconds) → seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str) or not value.strip():
        return None
    parts = value.strip().split(":")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    if len(numbers) > 4 or any(n < 0 for n in numbers):
        return None
    seconds = 0.0
    for factor, number in zip((1, 60, 3600, 86400), reversed(numbers), strict=False):
        seconds += factor * number
    return seconds


def parse_memory_mb(value: Any) -> float | None:
    """``"5620kb"`` / ``"235gb"`` / ``"0kb"`` / a number of bytes → MiB (``w`` words are
    8 bytes)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) / 1024**2
    if not isinstance(value, str):
        return None
    match = _MEMORY_RE.match(value.strip())
    if not match:
        return None
    number, prefix, unit = match.groups()
    result = float(number) * _UNITS[prefix.lower()]
    return result * 8 if (unit or "").lower() == "w" else result


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _path(value: Any) -> str:
    """``"host:/path"`` (Output_Path, Error_Path) → ``/path``."""
    if not isinstance(value, str):
        return ""
    host, sep, path = value.partition(":")
    return path if sep and path.startswith("/") and "/" not in host else value


def _nodes(exec_host: Any) -> list[str]:
    """``"pbs/0"`` / ``"n1/0*8+n2/0*8"`` → the hosts, once each, in order."""
    if not isinstance(exec_host, str) or not exec_host:
        return []
    hosts: list[str] = []
    for part in exec_host.split("+"):
        host = part.split("/", 1)[0]
        if host and host not in hosts:
            hosts.append(host)
    return hosts


def array_ids(job_id: str) -> tuple[str, str]:
    """(the array's id, the subjob's index) for ``123[4].server`` / ``123[].server``;
    ``("", "")`` for a job that is not part of an array."""
    match = JOB_ID_RE.match(job_id)
    if not match or match.group(2) is None:
        return "", ""
    number, _, index, server = match.groups()
    return f"{number}[]{server or ''}", index or ""


def exit_state(status: int | None) -> tuple[JobState, int | None, int | None]:
    """(our state, exit code, signal) of a finished job's ``Exit_status``: 0 ran fine;
    above 256 the job was killed by signal ``status - 256`` (``qdel`` sends SIGTERM, then
    SIGKILL); below 0 PBS itself ended it (it could not start, or it exceeded a limit)."""
    if status is None:
        return "unknown", None, None
    if status == 0:
        return "completed", 0, None
    if status > 256:
        signal = status - 256
        return ("cancelled" if signal in (9, 15) else "failed"), None, signal
    return "failed", status, None


def job_from_record(job_id: str, record: dict[str, Any], tz: tzinfo | None = None) -> JobInfo:
    """One job of ``qstat -f -F json``'s ``Jobs`` object."""
    raw = str(record.get("job_state", ""))
    resources = record.get("Resource_List") or {}
    used = record.get("resources_used") or {}
    variables = record.get("Variable_List") or {}
    if not isinstance(resources, dict):
        resources = {}
    if not isinstance(used, dict):
        used = {}
    if not isinstance(variables, dict):
        variables = {}
    exit_code: int | None = None
    signal: int | None = None
    status = _int(record.get("Exit_status"))
    if raw in _ENDED:
        state, exit_code, signal = exit_state(status)
    else:
        state = _STATES.get(raw, "unknown")
    owner = str(record.get("Job_Owner", ""))
    array_job_id, array_task_id = array_ids(job_id)
    if not array_job_id and record.get("array") in (True, "True"):
        array_job_id, array_task_id = job_id, str(record.get("array_indices_submitted", ""))
    hosts = _nodes(record.get("exec_host"))
    ended = None
    if raw in _ENDED:
        ended = parse_time(record.get("obittime") or record.get("mtime"), tz)
    memory = parse_memory_mb(resources.get("mem"))
    peak = parse_memory_mb(used.get("mem"))
    time_limit = parse_duration(resources.get("walltime"))
    extra: dict[str, Any] = {
        key: record[key]
        for key in (
            "Submit_arguments", "Hold_Types", "Join_Path", "Keep_Files", "Priority",
            "project", "run_count", "substate", "exec_vnode", "server", "history_timestamp",
        )
        if key in record
    }  # fmt: skip
    if "select" in resources:
        extra["select"] = resources["select"]
    if "place" in resources:
        extra["place"] = resources["place"]
    if status is not None:
        extra["Exit_status"] = status
    return JobInfo(
        id=job_id,
        name=str(record.get("Job_Name", "")),
        state=state,
        raw_state=raw,
        user=owner.split("@", 1)[0],
        partition=str(record.get("queue", "")),
        reason=str(record.get("comment", "")),
        submitted=parse_time(record.get("ctime"), tz),
        started=parse_time(record.get("stime"), tz),
        ended=ended,
        expected_start=parse_time(record.get("estimated", {}).get("start_time"), tz)
        if isinstance(record.get("estimated"), dict)
        else None,
        elapsed=parse_duration(used.get("walltime")),
        time_limit=time_limit,
        nodes=",".join(hosts),
        num_nodes=_int(resources.get("nodect")),
        cpus=_int(resources.get("ncpus")),
        memory_mb=round(memory) if memory is not None else None,
        gpus=str(resources.get("ngpus", "") or ""),
        account=str(record.get("Account_Name", "")),
        workdir=str(variables.get("PBS_O_WORKDIR", "") or record.get("jobdir", "")),
        stdout=_path(record.get("Output_Path")),
        stderr=_path(record.get("Error_Path")),
        exit_code=exit_code,
        signal=signal,
        cpu_used=parse_duration(used.get("cput")),
        memory_peak_mb=round(peak, 3) if peak is not None else None,
        array_job_id=array_job_id,
        array_task_id=array_task_id,
        extra=extra,
    )


def parse_jobs(text: str, tz: tzinfo | None = None, *, user: str | None = None) -> list[JobInfo]:
    """``qstat [-x] -f -F json [-t]``: every job (``user``: only that owner's)."""
    if not text.strip():
        return []  # qstat prints nothing when there are no jobs
    data = load_json(text, "qstat")
    jobs = data.get("Jobs") or {}
    if not isinstance(jobs, dict):
        raise ParseError("qstat's 'Jobs' is not an object")
    result = []
    for job_id, record in jobs.items():
        if not isinstance(record, dict):
            continue
        job = job_from_record(str(job_id), record, tz)
        if user is None or job.user == user:
            result.append(job)
    return result


def _minutes(value: Any) -> int | None:
    seconds = parse_duration(value)
    return None if seconds is None else int(seconds // 60)


def parse_queues(text: str) -> list[Partition]:
    """``qstat -Q -f -F json``: the queues a job can be sent to, with their limits.

    Route queues are kept (users submit to them; the server routes on), execution queues
    a user cannot submit to directly (``from_route_only``) are left out. A queue is ``up``
    when it is both enabled and started."""
    data = load_json(text, "qstat -Q")
    queues = data.get("Queue") or {}
    if not isinstance(queues, dict):
        raise ParseError("qstat -Q's 'Queue' is not an object")
    result = []
    for name, queue in queues.items():
        if not isinstance(queue, dict):
            continue
        if str(queue.get("from_route_only", "False")) == "True":
            continue
        maximum = queue.get("resources_max") or {}
        default = queue.get("resources_default") or {}
        enabled = str(queue.get("enabled", "True")) == "True"
        started = str(queue.get("started", "True")) == "True"
        memory = parse_memory_mb(maximum.get("mem"))
        gpus = _int(maximum.get("ngpus"))
        result.append(
            Partition(
                name=str(name),
                state="up" if enabled and started else ("inactive" if enabled else "down"),
                max_time=_minutes(maximum.get("walltime")),
                default_time=_minutes(default.get("walltime")),
                max_nodes=_int(maximum.get("nodect")),
                max_cpus_per_node=_int(maximum.get("ncpus")),
                max_memory_mb=round(memory) if memory is not None else None,
                gpus=gpus or None,
            )
        )
    return result


def parse_qsub_id(stdout: str) -> str | None:
    """``qsub``'s answer: the new job's id (``40.pbs``, ``123[].server``)."""
    for line in stdout.splitlines():
        line = line.strip()
        if JOB_ID_RE.match(line):
            return line
    return None


def clean_error(stderr: str) -> str:
    """PBS's own words, without blank lines: ``qstat: Unknown Job Id 41.pbs``."""
    return " ".join(line.strip() for line in stderr.splitlines() if line.strip())[:1000]


def is_unknown_job(stderr: str) -> bool:
    """qstat/qdel/qhold/qrls say ``Unknown Job Id <id>`` for a job the server does not
    know (or no longer keeps in its history)."""
    return "Unknown Job Id" in stderr
