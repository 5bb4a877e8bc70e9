"""Pure parsers for (Son of) Grid Engine output (no I/O; unit-tested on output recorded on
the test bed's Son of Grid Engine 8.1.9, ``tests/schedulers/recordings/sge``).

Machine-readable output where Grid Engine has it: ``qstat -r -xml`` (the job list, with
each job's requests), ``qstat -j ID -xml`` (one job's detail: times are epoch seconds).
``qacct -j`` (accounting) and ``qconf -sq`` (a queue) have no XML form; both print one
``key value`` per line, which is read by key, never by column. Times in ``qstat -r -xml``
(``2026-12-07T12:10:41``) and ``qacct`` (``Mon Dec  7 12:10:42 2026``) are the cluster's
local time, read in the time zone passed as ``tz`` (the login node's; default: this
machine's).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from datetime import datetime, tzinfo
from typing import Any

from .base import JobInfo, JobState, Partition

#: A job id as a user types it: ``12``, a task ``12.3``, tasks ``12.3-7:2`` or ``12.3,4``.
JOB_ID_RE = re.compile(
    r"^(\d{1,12})(?:\.(\d{1,9}(?:-\d{1,9}(?::\d{1,9})?)?(?:,\d{1,9}(?:-\d{1,9}(?::\d{1,9})?)?)*))?$"
)
#: Grid Engine's words for a job it does not know (qdel, qhold, qrls; qacct).
_UNKNOWN = re.compile(
    r'job "?\d+"? does not exist|job id \d+ not found|Following jobs do not exist'
)
_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGTP]?)B?s?$", re.IGNORECASE)
_UNITS = {"": 1.0, "K": 1024.0, "M": 1024.0**2, "G": 1024.0**3, "T": 1024.0**4, "P": 1024.0**5}
#: qstat's state letters (``man qstat``): d(eletion), E(rror), h(old), r(unning),
#: R(estarted), s/S (suspended: by the user or the queue), t(ransferring), T(hreshold),
#: w(aiting), q(ueued).


class ParseError(ValueError):
    """Output that is not what the command prints (the message says what was wrong)."""


def state_of(letters: str) -> JobState:
    """Our state for qstat's letters (``qw``, ``hqw``, ``r``, ``Rr``, ``dr``, ``Eqw``, ...).

    A job in error state (``E``) waits until an administrator or the user clears it
    (``qmod -cj``): it is kept as ``held``, with the letters in ``raw_state``."""
    if "d" in letters:
        return "completing"  # deletion under way
    if "E" in letters:
        return "held"
    if "s" in letters or "S" in letters or "T" in letters:
        return "suspended"
    if "r" in letters or "t" in letters:
        return "running"
    if "h" in letters:
        return "held"
    if "q" in letters or "w" in letters:
        return "pending"
    return "unknown"


def parse_time(value: str | None, tz: tzinfo | None = None) -> float | None:
    """``2026-12-07T12:10:41`` / ``Mon Dec  7 12:10:42 2026`` (local time) or epoch
    seconds → epoch seconds; ``None`` for empty or ``-/undefined``."""
    if not value:
        return None
    text = " ".join(value.split())
    if text.isdigit():
        return float(text) or None
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%a %b %d %H:%M:%S %Y", "%m/%d/%Y %H:%M:%S"):
        try:
            moment = datetime.strptime(text.split(".")[0], fmt)
        except ValueError:
            continue
        return moment.replace(tzinfo=tz).timestamp() if tz is not None else moment.timestamp()
    return None


def parse_seconds(value: str | None) -> float | None:
    """``600`` / ``1:00:00`` / ``11s`` / ``0.013s`` / ``INFINITY`` (None) → seconds."""
    if value is None:
        return None
    text = value.strip().rstrip("s")
    if not text or text.upper() in ("INFINITY", "NONE", "UNDEFINED"):
        return None
    parts = text.split(":")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    if len(numbers) > 3 or any(n < 0 or math.isnan(n) for n in numbers):
        return None
    seconds = 0.0
    for number in numbers:
        seconds = seconds * 60 + number
    return seconds


def parse_size(value: str | None) -> float | None:
    """A Grid Engine memory value → bytes: ``100M``, ``2G``, ``4.863MB``, ``0.000B``
    (binary multiples, as Grid Engine's own; ``k``/``m``/``g`` in requests are decimal,
    which qsub's users rarely mean, and are read like the capitals); None for
    ``INFINITY``."""
    if value is None:
        return None
    text = value.strip()
    if not text or text.upper() in ("INFINITY", "NONE", "UNDEFINED"):
        return None
    match = _SIZE_RE.match(text)
    if not match:
        return None
    number, prefix = match.groups()
    return float(number) * _UNITS[prefix.upper()]


def _mb(value: str | None) -> int | None:
    size = parse_size(value)
    return None if size is None else round(size / 1024**2)


#: A tag with a space in its name (``<job ids>``), which qstat -j -xml prints now and then
#: in its messages (recorded): not XML, so read as ``<job_ids>``. An attribute has ``=``,
#: and text cannot hold a bare ``<``, so nothing else matches.
_SPACED_TAG_RE = re.compile(r"<(/?)([A-Za-z_][A-Za-z0-9_]*) ([A-Za-z_][A-Za-z0-9_]*)>")


def _load_xml(text: str, what: str) -> ET.Element:
    # Grid Engine never prints a DTD: refusing one keeps entity expansion out entirely.
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ParseError(f"{what} printed XML with a document type declaration")
    text = _SPACED_TAG_RE.sub(r"<\1\2_\3>", text)
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise ParseError(f"{what} printed XML that cannot be read ({exc})") from None


def _text(element: ET.Element | None, tag: str) -> str:
    if element is None:
        return ""
    found = element.find(tag)
    return (found.text or "").strip() if found is not None and found.text else ""


def _int(value: str | None) -> int | None:
    if value and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def parse_qstat(
    text: str,
    tz: tzinfo | None = None,
    *,
    user: str | None = None,
    records: dict[str, JobInfo] | None = None,
) -> list[JobInfo]:
    """``qstat -r -xml [-u ...]``: one record per running task, one per pending group.

    A running array task is ``12.3`` (array ``12``, task ``3``); an array's tasks not
    started yet are one record ``12.4-9:1`` (or ``12.4,5``) with those tasks as its
    ``array_task_id``; a job that is not an array is ``12``. ``user``: only that owner's
    (qstat's ``-u`` already filters; this is for a listing asked with ``-u '*'``).

    ``records``: the last listing's records by their XML text, updated in place: a job
    whose ``<job_list>`` element is unchanged is the same object again, not parsed anew
    (most of a long listing's cost, and the server encodes an unchanged object once)."""
    if not text.strip():
        return []
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ParseError("qstat printed XML with a document type declaration")
    if not text.rstrip().endswith("</job_info>"):
        raise ParseError("qstat printed XML that cannot be read (it ends early)")
    spans = _records(text)
    if spans is None:
        raise ParseError("qstat printed XML that cannot be read (a job_list is not closed)")
    known = records if records is not None else {}
    fresh: dict[str, JobInfo] = {}
    jobs: list[JobInfo] = []
    for start, end in spans:
        chunk = text[start : end + len("</job_list>")]
        job = known.get(chunk)
        if job is None:
            try:
                job = _job_from_list(ET.fromstring(chunk), tz)
            except ET.ParseError as exc:
                raise ParseError(f"qstat printed XML that cannot be read ({exc})") from None
        fresh[chunk] = job
        if user is None or job.user == user:
            jobs.append(job)
    if records is not None:
        records.clear()
        records.update(fresh)
    return jobs


#: The first of the elements only ``qstat -r`` prints in a job's record (then its requests,
#: parallel environment, hard queue and predecessors, up to the record's end).
_R_FIRST = "<full_job_name>"
_KEY_RES = tuple(
    re.compile(rf"<{tag}>([^<]*)</{tag}>") for tag in ("JB_job_number", "tasks", "state", "JB_name")
)


def _records(text: str) -> list[tuple[int, int]] | None:
    """Where each ``<job_list ...>...</job_list>`` record of ``text`` starts and where its
    ``</job_list>`` is (str.find: a fifth of a regex's time); None when one is not closed
    before the next begins."""
    spans: list[tuple[int, int]] = []
    at = text.find("<job_list")
    while at >= 0:
        end = text.find("</job_list>", at)
        following = text.find("<job_list", at + 1)
        if end < 0 or 0 <= following < end:
            return None
        spans.append((at, end))
        at = following
    return spans


def _record_key(text: str, start: int, end: int) -> str | None:
    """A record's job number, tasks, state and name (None without a number): a record
    whose key is unchanged is the same job in the same state, with the same requests
    unless ``qalter`` changed them."""
    found = [r.search(text, start, end) for r in _KEY_RES]
    if found[0] is None:
        return None
    return "\x1f".join(m.group(1) if m else "" for m in found)


def requested_lines(text: str) -> dict[str, str] | None:
    """``qstat -r -xml``: each record's text that only ``-r`` prints (from after the
    element before ``<full_job_name>`` to ``</job_list>``), by the record's key; None when
    a record lacks it (a qstat that prints ``-r`` otherwise: every listing needs ``-r``)."""
    spans = _records(text)
    if spans is None:
        return None
    found: dict[str, str] = {}
    for start, end in spans:
        first = text.find(_R_FIRST, start, end)
        key = _record_key(text, start, first if first >= 0 else end)
        if first < 0 or key is None:
            return None
        found[key] = text[text.rfind(">", start, first) + 1 : end]
    return found


def with_requested(text: str, lines: Mapping[str, str]) -> str | None:
    """``qstat -xml`` as ``qstat -r -xml`` printed the same records: each given the text
    :func:`requested_lines` kept of it. None when a record is not kept as it is now (a new
    job, a task started, another state or name: ``-r`` tells what changed with it), when
    one already has ``-r``'s lines, or when one is not closed."""
    spans = _records(text)
    if spans is None:
        return None
    parts: list[str] = []
    done = 0
    for start, end in spans:
        if text.find(_R_FIRST, start, end) >= 0:
            return None
        key = _record_key(text, start, end)
        extra = lines.get(key) if key is not None else None
        if extra is None:
            return None
        last = text.rfind(">", start, end) + 1  # the record's last element (or its tag)
        parts += [text[done:last], extra]
        done = end
    parts.append(text[done:])
    return "".join(parts)


def _job_from_list(element: ET.Element, tz: tzinfo | None) -> JobInfo:
    number = _text(element, "JB_job_number")
    letters = _text(element, "state")
    tasks = _text(element, "tasks")
    requests: dict[str, str] = {}
    for request in element.findall("hard_request"):
        requests[request.get("name", "")] = (request.text or "").strip()
    pe = element.find("requested_pe")
    slots = _int(_text(element, "slots"))
    queue_instance = _text(element, "queue_name")
    queue = queue_instance.split("@", 1)[0] or _text(element, "hard_req_queue")
    host = queue_instance.split("@", 1)[1] if "@" in queue_instance else ""
    started = parse_time(_text(element, "JAT_start_time"), tz)
    submitted = parse_time(_text(element, "JB_submission_time"), tz)
    per_slot = parse_size(requests.get("h_vmem"))
    extra: dict[str, Any] = {"priority": _text(element, "JAT_prio")}
    if pe is not None:
        extra["parallel_environment"] = pe.get("name", "")
    if requests:
        extra["requests"] = requests
    return JobInfo(
        id=f"{number}.{tasks}" if tasks else number,
        name=_text(element, "full_job_name") or _text(element, "JB_name"),
        state=state_of(letters),
        raw_state=letters,
        user=_text(element, "JB_owner"),
        partition=queue,
        reason="error state: see the job's detail" if "E" in letters else "",
        submitted=submitted,
        started=started if "r" in letters or "t" in letters or "s" in letters.lower() else None,
        time_limit=parse_seconds(requests.get("h_rt")),
        nodes=host,
        num_nodes=1 if host else None,
        cpus=slots,
        memory_mb=round(per_slot * (slots or 1) / 1024**2) if per_slot is not None else None,
        array_job_id=number if tasks else "",
        array_task_id=tasks,
        extra=extra,
    )


def expand_path(
    path: str, *, job_id: str, name: str, task: str, user: str, home: str, cwd: str
) -> str:
    """An output path as Grid Engine writes it: its pseudo variables (``$JOB_ID``,
    ``$JOB_NAME``, ``$TASK_ID``, ``$USER``, ``$HOME``) filled in, relative to the job's
    working folder (or home)."""
    values = {
        "JOB_ID": job_id, "JOB_NAME": name, "TASK_ID": task or "undefined",
        "USER": user, "HOME": home,
    }  # fmt: skip
    for key, value in values.items():
        path = path.replace(f"${key}", value)
    if not path.startswith("/"):
        path = f"{(cwd or home).rstrip('/')}/{path}"
    return path


def _paths(element: ET.Element, tag: str) -> list[str]:
    found = element.find(tag)
    if found is None:
        return []
    return [(p.text or "").strip() for p in found.iter("PN_path") if p.text]


def parse_detail(text: str) -> dict[str, Any] | None:
    """``qstat -j ID -xml``: the detail the job list lacks (None: qstat does not know the
    job). Keys: ``name``, ``owner``, ``submitted`` (epoch), ``cwd``, ``home``, ``account``,
    ``stdout``/``stderr`` (path lists as given), ``merge``, ``script``, ``args``,
    ``queues``, ``requests``, ``pe``/``pe_slots``, ``tasks`` (the array's range),
    ``concurrency``, ``messages`` (the scheduler's, for a pending job)."""
    root = _load_xml(text, "qstat -j")
    if root.tag == "unknown_jobs" or root.find("djob_info") is None:
        return None
    element = root.find("djob_info/element")
    if element is None:
        return None
    env = {
        _text(item, "VA_variable"): _text(item, "VA_value")
        for item in element.iterfind("JB_env_list/job_sublist")
    }
    requests = {
        _text(item, "CE_name"): _text(item, "CE_stringval")
        for item in element.iterfind("JB_hard_resource_list/qstat_l_requests")
    }
    tasks = ""
    task_range = element.find("JB_ja_structure/task_id_range")
    is_array = _text(element, "JB_type") not in ("", "0") or (
        task_range is not None and _text(task_range, "RN_max") != _text(task_range, "RN_min")
    )
    if task_range is not None and is_array:
        tasks = f"{_text(task_range, 'RN_min')}-{_text(task_range, 'RN_max')}:{_text(task_range, 'RN_step')}"
    pe_range = element.find("JB_pe_range/ranges")
    errors = [(m.text or "").strip() for m in element.iter("QIM_message") if m.text]
    messages = errors + [
        (m.text or "").strip()
        for m in root.iterfind("messages/element/SME_message_list/element/MES_message")
        if m.text
    ]
    return {
        "number": _text(element, "JB_job_number"),
        "name": _text(element, "JB_job_name"),
        "owner": _text(element, "JB_owner"),
        "submitted": parse_time(_text(element, "JB_submission_time")),
        "cwd": _text(element, "JB_cwd"),
        "home": env.get("__SGE_PREFIX__O_HOME", ""),
        "account": _text(element, "JB_account"),
        "project": _text(element, "JB_project"),
        "stdout": _paths(element, "JB_stdout_path_list"),
        "stderr": _paths(element, "JB_stderr_path_list"),
        "merge": _text(element, "JB_merge_stderr") == "true",
        "script": _text(element, "JB_script_file"),
        "args": [(a.text or "") for a in element.iterfind("JB_job_args/element/ST_name")],
        "queues": [(q.text or "") for q in element.iter("QR_name")],
        "requests": requests,
        "pe": _text(element, "JB_pe"),
        "pe_slots": _int(_text(pe_range, "RN_max")) if pe_range is not None else None,
        "tasks": tasks,
        "concurrency": _int(_text(element, "JB_ja_task_concurrency")) or None,
        "messages": messages,
    }


def output_paths(detail: dict[str, Any], task: str) -> tuple[str, str]:
    """Where the job (or its array task ``task``) writes stdout and stderr."""
    number, name = detail["number"], detail["name"]
    home = detail["home"] or ""
    cwd = detail["cwd"] or home
    suffix = f".{task}" if task else ""

    def one(paths: list[str], letter: str) -> str:
        default = f"{name}.{letter}{number}{suffix}"
        if not paths:
            return f"{cwd.rstrip('/')}/{default}" if cwd else ""
        path = expand_path(
            paths[0], job_id=number, name=name, task=task, user=detail["owner"], home=home,
            cwd=cwd,
        )  # fmt: skip
        return f"{path}/{default}" if path.endswith("/") or path == cwd else path

    stdout = one(detail["stdout"], "o")
    stderr = stdout if detail["merge"] else one(detail["stderr"], "e")
    return stdout, stderr


def _blocks(text: str) -> Iterator[dict[str, str]]:
    """qacct's records: ``=====`` lines between blocks of ``key value``."""
    block: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("====="):
            if block:
                yield block
            block = {}
            continue
        key, _, value = line.partition(" ")
        if key and value and not line.startswith(" "):
            block[key] = value.strip()
    if block:
        yield block


def exit_state(failed: str, exit_status: int | None) -> tuple[JobState, int | None, int | None]:
    """(our state, exit code, signal) of a qacct record: ``failed`` is Grid Engine's own
    code (0: the job ran; ``100 : assumedly after job`` when qdel ended it); the exit
    status above 128 is a signal (``137``: killed)."""
    code = _int(failed.split(":", 1)[0].strip()) or 0
    if exit_status is None:
        return "unknown", None, None
    if exit_status > 128:
        signal = exit_status - 128
        if code == 100 or signal in (9, 15):
            return "cancelled", None, signal
        return "failed", None, signal
    if code not in (0, 100):
        return "failed", exit_status, None
    return ("completed" if exit_status == 0 else "failed"), exit_status, None


def parse_qacct(text: str, tz: tzinfo | None = None) -> list[JobInfo]:
    """``qacct -j [ID]`` (also ``-o USER -d DAYS``): one record per job or array task.

    A job that failed to start (an error state: ``failed 28 : changing into working
    directory``) and ran later has a record for each attempt, in the order they ended:
    the last one is the job's (``extra["attempts"]`` counts them)."""
    jobs: dict[str, JobInfo] = {}
    attempts: dict[str, int] = {}
    for block in _blocks(text):
        number = block.get("jobnumber", "").strip()
        if not number.isdigit():
            continue
        task = block.get("taskid", "undefined").strip()
        task = "" if task in ("undefined", "0") else task
        exit_status = _int(
            block.get("exit_status", "").split()[0] if block.get("exit_status") else None
        )
        state, exit_code, signal = exit_state(block.get("failed", "0"), exit_status)
        category = block.get("category", "NONE")
        h_rt = re.search(r"h_rt=([0-9:]+)", category)
        time_limit = parse_seconds(h_rt.group(1)) if h_rt else None
        elapsed = parse_seconds(block.get("ru_wallclock"))
        if (
            state == "cancelled" and time_limit and elapsed is not None
            and elapsed >= time_limit - 1 and "100" not in block.get("failed", "")
        ):  # fmt: skip
            state = "timeout"
        rss = parse_size(block.get("ru_maxrss"))  # kilobytes printed as bytes: see below
        slots = _int(block.get("slots"))
        extra: dict[str, Any] = {
            key: block[key]
            for key in ("failed", "granted_pe", "project", "department", "category", "maxvmem")
            if key in block
        }
        job_id = f"{number}.{task}" if task else number
        attempts[job_id] = attempts.get(job_id, 0) + 1
        if attempts[job_id] > 1:
            extra["attempts"] = attempts[job_id]
        jobs.pop(job_id, None)  # the later attempt, in its place in the order
        jobs[job_id] = JobInfo(
            id=job_id,
            name=block.get("jobname", ""),
            state=state,
            raw_state=f"failed={block.get('failed', '')}, exit_status={block.get('exit_status', '')}",
            user=block.get("owner", ""),
            partition=block.get("qname", ""),
            reason=block.get("failed", "") if not block.get("failed", "0").startswith("0") else "",
            submitted=parse_time(block.get("qsub_time"), tz),
            started=parse_time(block.get("start_time"), tz),
            ended=parse_time(block.get("end_time"), tz),
            elapsed=elapsed,
            time_limit=time_limit,
            nodes=block.get("hostname", ""),
            num_nodes=1 if block.get("hostname") else None,
            cpus=slots,
            account=block.get("account", ""),
            exit_code=exit_code,
            signal=signal,
            cpu_used=parse_seconds(block.get("cpu")),
            # ru_maxrss is getrusage's kilobytes, which qacct formats as if bytes
            # ("87.891KB" for 90,000 KiB): times 1024, in MiB.
            memory_peak_mb=round(rss * 1024 / 1024**2, 3) if rss is not None else None,
            array_job_id=number if task else "",
            array_task_id=task,
            extra=extra,
        )
    return list(jobs.values())


def parse_queue(text: str) -> dict[str, str]:
    """``qconf -sq QUEUE``: its settings (a long value continued with ``\\``, joined)."""
    settings: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if line.startswith((" ", "\t")) and key:
            settings[key] = (settings[key].rstrip("\\").rstrip() + " " + line.strip()).strip()
            continue
        key, _, value = line.strip().partition(" ")
        if key:
            settings[key] = value.strip()
    return settings


def queue_partition(name: str, settings: dict[str, str]) -> Partition:
    """A queue as the submit form shows it: ``h_rt`` (its time limit), ``slots`` (per
    host: the most CPUs a job gets on one host), ``h_vmem`` (per slot, times the slots)."""
    max_time = parse_seconds(settings.get("h_rt"))
    slots = _first_int(settings.get("slots", ""))
    per_slot = parse_size(_first_value(settings.get("h_vmem", "")))
    memory = per_slot * (slots or 1) / 1024**2 if per_slot is not None else None
    return Partition(
        name=name,
        max_time=int(max_time // 60) if max_time is not None else None,
        max_nodes=1,
        max_cpus_per_node=slots,
        max_memory_mb=round(memory) if memory is not None else None,
    )


def _first_value(value: str) -> str:
    """A queue setting's default value: ``2G,[host=4G]`` → ``2G``."""
    return value.split(",", 1)[0].strip()


def _first_int(value: str) -> int | None:
    return _int(_first_value(value))


def pe_list(settings: dict[str, str]) -> list[str]:
    """The parallel environments a queue offers (``pe_list``; ``NONE``: none)."""
    names = _first_value(settings.get("pe_list", "NONE")).replace(",", " ").split()
    return [n for n in names if n != "NONE"]


def parse_qsub_id(stdout: str) -> str | None:
    """``qsub -terse``: ``12`` (an array: ``12.1-4:1``) → ``12``."""
    for line in stdout.splitlines():
        match = re.match(r"^(\d+)(\.\S+)?$", line.strip())
        if match:
            return match.group(1)
    return None


def clean_error(stderr: str) -> str:
    """Grid Engine's own words without qsub's trailing ``Exiting.``:
    ``Unable to run job: Job was rejected because job requests unknown queue "x.q"``."""
    lines = [
        line.strip() for line in stderr.splitlines() if line.strip() and line.strip() != "Exiting."
    ]
    return " ".join(lines)[:1000]


def no_accounting_yet(text: str) -> bool:
    """qacct's answer (exit status 1) when no job has ended since the cell was made:
    there is no accounting file yet, so there is no history (not an error)."""
    return "no jobs running since startup" in text.lower()


def is_unknown_job(text: str) -> bool:
    """``denied: job "12" does not exist`` (qdel/qhold/qrls), ``error: job id 12 not
    found`` (qacct)."""
    return bool(_UNKNOWN.search(text))
