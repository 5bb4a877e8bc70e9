"""Pure parsers for IBM Spectrum LSF output (no I/O; unit-tested on recorded output in
``tests/schedulers/recordings/lsf``, whose README cites where each was recorded).

Only machine-readable output is read: ``bjobs -o "<fields>" -json`` (one record per job
or array element, every value a string). LSF prints times without a year
(``"Dec 28 19:56"``, and a finished job's ``"Dec 28 19:56 L"``): the year is the one that
puts the time in the past (within the last year), read in the time zone ``tz`` (the login
node's; default: this machine's).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, tzinfo
from typing import Any

from .base import JobInfo, JobState, Partition

#: The ``bjobs -o`` fields asked for (each is a key of the recorded records, upper-cased).
FIELDS: tuple[str, ...] = (
    "jobid", "jobindex", "job_name", "stat", "user", "queue", "proj_name", "exit_code",
    "from_host", "exec_host", "submit_time", "start_time", "finish_time", "cpu_used",
    "run_time", "max_mem", "runtimelimit", "slots", "sub_cwd", "exec_cwd", "pend_reason",
    "output_file", "error_file", "command",
)  # fmt: skip

#: bjobs' STAT values (the bjobs manual page). Recorded: DONE, PSUSP.
_STATES: dict[str, JobState] = {
    "PEND": "pending",
    "WAIT": "pending",  # a chunk job member waiting to run
    "PROV": "pending",  # its hosts are being provisioned
    "PSUSP": "held",  # suspended while pending (bsub -H, bstop)
    "RUN": "running",
    "USUSP": "suspended",
    "SSUSP": "suspended",
    "DONE": "completed",
    "EXIT": "failed",
    "ZOMBI": "failed",
    "UNKWN": "unknown",
}
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
)}  # fmt: skip
_TIME_RE = re.compile(
    r"^([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s+(\d{4}))?(?:\s+([A-Z]))?$"
)
_MEMORY_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:bytes?|B)?$", re.IGNORECASE)
_UNITS = {"": 1.0, "k": 1 / 1024, "m": 1.0, "g": 1024.0, "t": 1024.0**2, "p": 1024.0**3}
_SUBMITTED_RE = re.compile(r"Job <(\d+)> is submitted")
#: ``123`` or ``123[4]`` (an array element).
JOB_ID_RE = re.compile(r"^(\d+)(\[(\d+)\])?$")
_DAY = timedelta(days=1)


class ParseError(ValueError):
    """Output that is not what bjobs prints."""


def parse_time(value: str, tz: tzinfo | None = None, now: datetime | None = None) -> float | None:
    """``"Dec 28 19:56"`` / ``"Dec 28 19:56 L"`` / ``"May 28 12:45:07 2021"`` → epoch seconds.

    Without a year: this year's date, or last year's if that would be more than a day
    ahead of ``now``."""
    match = _TIME_RE.match(" ".join((value or "").split()))
    if not match or match.group(1) not in _MONTHS:
        return None
    month, day, hour, minute, second, year, _flag = match.groups()
    reference = now or (datetime.now(tz) if tz is not None else datetime.now())
    candidates = [int(year)] if year else [reference.year, reference.year - 1]
    for candidate in candidates:
        try:
            moment = datetime(
                candidate, _MONTHS[month], int(day), int(hour), int(minute), int(second or 0)
            )
        except ValueError:  # Feb 29 in a year without it
            continue
        moment = moment.replace(tzinfo=tz) if tz is not None else moment
        stamp = moment.timestamp()
        reference_stamp = reference.timestamp()
        if year or stamp <= reference_stamp + 86400:
            return stamp
    return None


def time_flag(value: str) -> str:
    """The letter after a bjobs time (``"Dec 28 19:56 L"`` → ``L``), else ``""``."""
    match = _TIME_RE.match(" ".join((value or "").split()))
    return (match.group(7) or "") if match else ""


def parse_duration(value: str) -> float | None:
    """``"00:00:01"``, ``"000:00:00.00"``, ``"16038 second(s)"`` → seconds."""
    text = (value or "").strip()
    if not text or text in ("-", "N/A"):
        return None
    if text.endswith("second(s)"):
        text = text[: -len("second(s)")].strip()
        try:
            return float(text)
        except ValueError:
            return None
    try:
        numbers = [float(p) for p in text.split(":")]
    except ValueError:
        return None
    if len(numbers) > 3:
        return None
    seconds = 0.0
    for factor, number in zip((1, 60, 3600), reversed(numbers), strict=False):
        seconds += factor * number
    return seconds


def parse_limit_minutes(value: str) -> float | None:
    """``RUNTIMELIMIT``: ``"00:10:00"`` (H:M:S) or ``"1440.0"`` (minutes) → seconds."""
    text = (value or "").strip()
    if ":" in text:
        return parse_duration(text)
    try:
        return float(text) * 60 if text else None
    except ValueError:
        return None


def parse_memory_mb(value: str) -> float | None:
    """``"5.2 Gbytes"``, ``"522 MBytes"``, ``"0 Mbytes"`` → MiB."""
    match = _MEMORY_RE.match((value or "").strip())
    if not match:
        return None
    number, prefix = match.groups()
    return float(number) * _UNITS[prefix.lower()]


def _hosts(exec_host: str) -> list[str]:
    """``"tbi-cn019:tbi-cn019"`` / ``"4*n1:2*n2"`` → the hosts, once each."""
    hosts: list[str] = []
    for part in (exec_host or "").split(":"):
        host = part.split("*", 1)[-1].strip()
        if host and host not in hosts:
            hosts.append(host)
    return hosts


def _int(value: str) -> int | None:
    text = (value or "").strip()
    return int(text) if text.lstrip("-").isdigit() else None


def job_from_record(
    record: dict[str, Any],
    tz: tzinfo | None = None,
    *,
    job_id: str = "",
    now: datetime | None = None,
) -> JobInfo:
    """One record of ``bjobs -o ... -json`` (``job_id`` for a record without ``JOBID``)."""
    values = {str(k).upper(): ("" if v is None else str(v)) for k, v in record.items()}
    number = values.get("JOBID") or job_id
    index = values.get("JOBINDEX", "")
    identifier = f"{number}[{index}]" if index and index != "0" and "[" not in number else number
    raw = values.get("STAT", "")
    state = _STATES.get(raw, "unknown")
    exit_code = _int(values.get("EXIT_CODE", ""))
    if raw == "DONE":
        exit_code = 0 if exit_code is None else exit_code
        if exit_code != 0:
            # Recorded: a DONE record with EXIT_CODE 1. Trust the exit code.
            state = "failed"
    hosts = _hosts(values.get("EXEC_HOST", ""))
    peak = parse_memory_mb(values.get("MAX_MEM", ""))
    finish = values.get("FINISH_TIME", "")
    ended = (
        parse_time(finish, tz, now)
        if state not in ("pending", "held", "running", "suspended")
        else None
    )
    extra: dict[str, Any] = {
        key.lower(): values[key]
        for key in ("FROM_HOST", "SUB_CWD", "SLOTS", "PIDS", "DEPENDENCY", "EFFECTIVE_RESREQ")
        if values.get(key)
    }
    if time_flag(finish):
        extra["finish_time_flag"] = time_flag(finish)
    return JobInfo(
        id=identifier,
        name=values.get("JOB_NAME", ""),
        state=state,
        raw_state=raw,
        user=values.get("USER", ""),
        partition=values.get("QUEUE", ""),
        reason=values.get("PEND_REASON", "").rstrip(";").strip(),
        submitted=parse_time(values.get("SUBMIT_TIME", ""), tz, now),
        started=parse_time(values.get("START_TIME", ""), tz, now),
        ended=ended,
        elapsed=parse_duration(values.get("RUN_TIME", "")),
        time_limit=parse_limit_minutes(values.get("RUNTIMELIMIT", "")),
        nodes=",".join(hosts),
        num_nodes=len(hosts) or None,
        cpus=_int(values.get("SLOTS", "")),
        account=values.get("PROJ_NAME", ""),
        workdir=values.get("EXEC_CWD", ""),
        stdout=values.get("OUTPUT_FILE", ""),
        stderr=values.get("ERROR_FILE", ""),
        exit_code=exit_code,
        cpu_used=parse_duration(values.get("CPU_USED", "")),
        memory_peak_mb=round(peak, 3) if peak is not None else None,
        command=values.get("COMMAND", ""),
        array_job_id=f"{number}" if index and index != "0" else "",
        array_task_id=index if index and index != "0" else "",
        extra=extra,
    )


def parse_bjobs(
    text: str, tz: tzinfo | None = None, *, job_id: str = "", now: datetime | None = None
) -> tuple[list[JobInfo], list[str]]:
    """``bjobs -o ... -json``: (the jobs, the errors its records carry instead of a job,
    in LSF's words)."""
    if not text.strip():
        return [], []
    try:
        data = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        raise ParseError(f"bjobs printed JSON that cannot be read ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("RECORDS", []), list):
        raise ParseError("bjobs printed JSON without a RECORDS list")
    jobs, errors = [], []
    for record in data.get("RECORDS", []):
        if not isinstance(record, dict):
            continue
        if "ERROR" in record and "STAT" not in record:
            errors.append(str(record["ERROR"]))
            continue
        jobs.append(job_from_record(record, tz, job_id=job_id, now=now))
    return jobs, errors


# --- bhist -l: the event history of a job bjobs no longer remembers --------------------------

#: bhist -l wraps its lines at 80 columns; a continuation starts with 21 spaces.
_CONTINUATION = " " * 21
_EVENT_RE = re.compile(
    r"^([A-Z][a-z]{2}) ([A-Z][a-z]{2})\s+(\d{1,2}) (\d{2}):(\d{2}):(\d{2}): (.*)$"
)
_FIELD_RE = re.compile(r"([A-Za-z][A-Za-z ]*?) <([^<>]*)>")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_CPU_RE = re.compile(r"The CPU time used is ([0-9.]+) seconds")
_EXIT_RE = re.compile(r"^Exited with exit code (\d+)")
_DISPATCHED_RE = re.compile(r"^Dispatched to (?:\d+ Hosts/Processors )?<([^<>]*)>")


def _event_time(
    weekday: str,
    month: str,
    day: int,
    clock: tuple[int, int, int],
    tz: tzinfo | None,
    now: datetime | None,
) -> float | None:
    """bhist prints no year: the latest year, up to now, whose date falls on ``weekday``."""
    reference = now or (datetime.now(tz) if tz is not None else datetime.now())
    for year in range(reference.year, reference.year - 28, -1):
        try:
            moment = datetime(year, _MONTHS[month], day, *clock, tzinfo=tz)
        except ValueError:  # Feb 29
            continue
        if _WEEKDAYS[moment.weekday()] == weekday and moment <= reference + _DAY:
            return moment.timestamp()
    return None


def _unwrapped(text: str) -> list[str]:
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith(_CONTINUATION) and lines:
            lines[-1] += line[len(_CONTINUATION) :]
        else:
            lines.append(line)
    return lines


def parse_bhist_long(
    text: str, tz: tzinfo | None = None, *, now: datetime | None = None
) -> list[JobInfo]:
    """``bhist -l``: each job's record from its events (jobs apart by a line of dashes).
    Nothing when it printed no ``Job <...>`` header (``No matching job found``)."""
    jobs: list[JobInfo] = []
    blocks = re.split(r"\n-{20,}\n", text)
    for block in blocks:
        lines = _unwrapped(block)
        header = next((line for line in lines if line.startswith("Job <")), None)
        if header is None:
            continue
        fields = dict(_FIELD_RE.findall(header))
        job_id = fields.get("Job", "")
        if not JOB_ID_RE.match(job_id):
            continue
        info: dict[str, Any] = {"state": "unknown", "raw_state": ""}
        extra: dict[str, Any] = {}
        for i, line in enumerate(lines):
            match = _EVENT_RE.match(line)
            if not match:
                if line.strip().startswith("PEND") and i + 1 < len(lines):
                    names, values = line.split(), lines[i + 1].split()
                    spent = {n: _int(v) for n, v in zip(names, values, strict=False)}
                    if spent.get("RUN") is not None:
                        info["elapsed"] = float(spent["RUN"] or 0)
                    if spent.get("PEND") is not None:
                        extra["pend_seconds"] = spent["PEND"]
                continue
            weekday, month, day, hh, mm, ss, event = match.groups()
            stamp = _event_time(weekday, month, int(day), (int(hh), int(mm), int(ss)), tz, now)
            said = dict(_FIELD_RE.findall(event))
            if event.startswith("Submitted from host"):
                info["submitted"] = stamp
                info["partition"] = said.get("to Queue", "")
                info["workdir"] = said.get("CWD", "")
                info["stdout"] = said.get("Output File", "")
                info["stderr"] = said.get("Error File", "")
            elif (dispatched := _DISPATCHED_RE.match(event)) is not None:
                info["nodes"] = ",".join(_hosts(dispatched.group(1)))
            elif event.startswith("Starting"):
                info["started"] = stamp
            elif event.startswith("Done successfully"):
                info.update(state="completed", raw_state="DONE", exit_code=0, ended=stamp)
            elif (exited := _EXIT_RE.match(event)) is not None:
                code = int(exited.group(1))
                info.update(state="failed", raw_state="EXIT", exit_code=code, ended=stamp)
            cpu = _CPU_RE.search(event)
            if cpu:
                info["cpu_used"] = float(cpu.group(1))
        array = JOB_ID_RE.match(job_id)
        jobs.append(
            JobInfo(
                id=job_id,
                name=fields.get("Job Name") or fields.get("Command", ""),
                user=fields.get("User", ""),
                account=fields.get("Project", ""),
                array_job_id=array.group(1) if array and array.group(2) else "",
                array_task_id=(array.group(3) or "") if array else "",
                extra=extra,
                **info,
            )
        )
    return jobs


def parse_queues(text: str) -> list[Partition]:
    """``bqueues -o "queue_name status" -json``: the queues, ``up`` when ``Open:Active``
    (``Open:Inact``: jobs are taken but not started; ``Closed:...``: none taken)."""
    try:
        data = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        raise ParseError(f"bqueues printed JSON that cannot be read ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("RECORDS", []), list):
        raise ParseError("bqueues printed JSON without a RECORDS list")
    result = []
    for record in data.get("RECORDS", []):
        if not isinstance(record, dict) or not record.get("QUEUE_NAME"):
            continue
        status = str(record.get("STATUS", ""))
        state = "up" if status == "Open:Active" else status.lower().replace(":", " ") or "unknown"
        result.append(Partition(name=str(record["QUEUE_NAME"]), state=state))
    return result


def parse_bsub_id(stdout: str) -> str | None:
    """``Job <542935> is submitted to queue <short>.`` → ``542935``."""
    match = _SUBMITTED_RE.search(stdout)
    return match.group(1) if match else None


def clean_error(stderr: str) -> str:
    """LSF's own words on one line."""
    return " ".join(line.strip() for line in stderr.splitlines() if line.strip())[:1000]
