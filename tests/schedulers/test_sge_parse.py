"""Grid Engine parsers and qsub's argv, on output recorded from the test bed's Son of Grid
Engine 8.1.9 (tests/schedulers/recordings/sge; its README says how and when)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from jupyter_rpc.errors import InvalidRequest
from jupyter_rpc.schedulers import sge_parse as gp
from jupyter_rpc.schedulers.base import JobSpec
from jupyter_rpc.schedulers.sge import check_job_id, qsub_argv

RECORDINGS = Path(__file__).parent / "recordings" / "sge"
UTC = timezone.utc


def read(name: str) -> str:
    return (RECORDINGS / name).read_text(encoding="utf-8")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_the_listing_has_running_tasks_apart_and_pending_tasks_grouped():
    jobs = {job.id: job for job in gp.parse_qstat(read("qstat-r-xml-u-all.xml"), UTC)}
    assert list(jobs) == ["1", "3.1", "3.2", "4", "2", "3.3,4"]
    running = jobs["1"]
    assert (running.state, running.raw_state, running.name, running.user) == (
        "running", "r", "rec-run", "hpcuser",
    )  # fmt: skip
    assert (running.partition, running.nodes, running.cpus, running.time_limit) == (
        "short.q", "vm", 1, 600.0,
    )  # fmt: skip
    assert running.started == at("2026-12-07T12:10:41") and running.submitted is None
    # the array: two running tasks in two queues, the others one pending record
    assert [(jobs[i].array_job_id, jobs[i].array_task_id, jobs[i].partition) for i in ("3.1", "3.2")] == [
        ("3", "1", "short.q"), ("3", "2", "long.q"),
    ]  # fmt: skip
    group = jobs["3.3,4"]
    assert (group.state, group.array_job_id, group.array_task_id, group.started) == (
        "pending", "3", "3,4", None,
    )  # fmt: skip
    # slots of a parallel environment, memory per slot times slots
    pe = jobs["4"]
    assert (pe.state, pe.cpus, pe.memory_mb, pe.time_limit) == ("pending", 2, 200, 7200.0)
    assert pe.extra["parallel_environment"] == "smp"
    assert pe.submitted == at("2026-12-07T12:10:42")
    held = jobs["2"]
    assert (held.state, held.raw_state, held.partition) == ("held", "hqw", "short.q")


def test_only_the_users_own_and_an_empty_listing():
    text = read("qstat-r-xml-u-all.xml")
    assert gp.parse_qstat(text, UTC, user="someone") == []
    assert len(gp.parse_qstat(text, UTC, user="hpcuser")) == 6
    empty = "<?xml version='1.0'?>\n<job_info>\n  <queue_info>\n  </queue_info>\n  <job_info>\n  </job_info>\n</job_info>\n"
    assert gp.parse_qstat(empty, UTC) == []


@pytest.mark.parametrize(
    ("letters", "state"),
    [("qw", "pending"), ("hqw", "held"), ("hRwq", "held"), ("r", "running"), ("t", "running"),
     ("Rr", "running"), ("dr", "completing"), ("Eqw", "held"), ("s", "suspended"),
     ("S", "suspended"), ("T", "suspended"), ("", "unknown")],
)  # fmt: skip
def test_state_letters(letters, state):
    assert gp.state_of(letters) == state


def test_broken_or_hostile_xml_names_the_command():
    with pytest.raises(gp.ParseError, match="qstat printed XML that cannot be read"):
        gp.parse_qstat(read("qstat-r-xml-u-all.xml")[:300], UTC)
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><job_info>&a;</job_info>'
    with pytest.raises(gp.ParseError, match="document type declaration"):
        gp.parse_qstat(bomb, UTC)


def test_detail_of_a_running_job_in_its_cwd_with_default_output_names():
    detail = gp.parse_detail(read("qstat-j-running.xml"))
    assert detail is not None
    assert (detail["number"], detail["name"], detail["owner"], detail["cwd"]) == (
        "1", "rec-run", "hpcuser", "/home/hpcuser/sgerec",
    )  # fmt: skip
    assert detail["requests"] == {"h_rt": "600"}
    assert gp.output_paths(detail, "") == (
        "/home/hpcuser/sgerec/rec-run.o1", "/home/hpcuser/sgerec/rec-run.e1",
    )  # fmt: skip


def test_detail_paths_pseudo_variables_merged_stderr_and_tasks():
    merged = gp.parse_detail(read("qstat-j-running-merged.xml"))
    assert merged is not None and merged["merge"]
    path = "/home/hpcuser/sgerec/rec-kill.9.out"
    assert gp.output_paths(merged, "") == (path, path)
    assert merged["args"] == ["120"] and merged["script"] == "job.sh"
    held = gp.parse_detail(read("qstat-j-held-queue-paths.xml"))
    assert held is not None and held["cwd"] == ""  # no -cwd: the home folder
    assert held["queues"] == ["short.q"] and held["account"] == "proj1"
    assert gp.output_paths(held, "") == ("/home/hpcuser/out.txt", "/home/hpcuser/err.txt")
    array = gp.parse_detail(read("qstat-j-array.xml"))
    assert array is not None and (array["tasks"], array["concurrency"]) == ("1-4:1", 2)
    assert gp.output_paths(array, "3")[0] == "/home/hpcuser/sgerec/rec-arr.o3.3"
    assert "not all array tasks may be started due to 'max_aj_instances'" in array["messages"]
    pending = gp.parse_detail(read("qstat-j-pe-pending.xml"))
    assert pending is not None
    assert (pending["pe"], pending["pe_slots"]) == ("smp", 2)
    assert pending["requests"] == {"h_rt": "7200", "h_vmem": "100M"}


def test_an_error_state_says_why_and_an_unknown_job_is_none():
    detail = gp.parse_detail(read("qstat-j-error-state.xml"))
    assert detail is not None
    assert "can't chdir to sgerec: No such file or directory" in detail["messages"][0]
    assert gp.parse_detail(read("qstat-j-unknown.xml")) is None


def test_qstat_j_with_grid_engines_spaced_tag_is_still_read():
    detail = gp.parse_detail(read("qstat-j-broken-job-ids-tag.xml"))
    assert detail is not None and detail["number"] == "31"
    assert detail["cwd"] == "/tmp/no such dir"


def test_accounting_exit_codes_kills_usage_and_tasks():
    [python] = gp.parse_qacct(read("qacct-j-exit3-python.txt"), UTC)
    assert (python.id, python.state, python.exit_code, python.signal) == ("10", "failed", 3, None)
    assert python.cpu_used == pytest.approx(3.016)
    assert python.memory_peak_mb == pytest.approx(87.891, abs=0.01)  # 80 MiB held + python
    assert (python.elapsed, python.partition, python.nodes) == (3.0, "short.q", "vm")
    assert python.ended == at("2026-12-07T12:12:17")
    [deleted] = gp.parse_qacct(read("qacct-j-deleted.txt"), UTC)
    assert (deleted.state, deleted.exit_code, deleted.signal) == ("cancelled", None, 9)
    assert deleted.reason == "100 : assumedly after job"
    [ok] = gp.parse_qacct(read("qacct-j-exit3.txt"), UTC)
    assert (ok.state, ok.exit_code) == ("completed", 0)  # binary mode lost the quotes
    tasks = gp.parse_qacct(read("qacct-j-array.txt"), UTC)
    assert sorted(t.id for t in tasks) == ["3.1", "3.2", "3.3", "3.4"]
    assert {t.array_job_id for t in tasks} == {"3"} and {t.state for t in tasks} == {"completed"}


def test_a_job_that_ran_after_its_error_state_is_its_last_attempt():
    [job] = gp.parse_qacct(read("qacct-j-retried-after-error.txt"), UTC)
    assert (job.id, job.state, job.exit_code, job.extra["attempts"]) == ("37", "completed", 0, 2)


def test_queues_with_their_limits_and_parallel_environments():
    short = gp.parse_queue(read("qconf-sq-short.q.txt"))
    long = gp.parse_queue(read("qconf-sq-long.q.txt"))
    assert gp.pe_list(short) == ["smp"]
    one = gp.queue_partition("short.q", short)
    assert (one.max_time, one.max_cpus_per_node, one.max_memory_mb, one.max_nodes) == (
        60, 2, 4096, 1,
    )  # fmt: skip
    other = gp.queue_partition("long.q", long)
    assert (other.max_time, other.max_memory_mb) == (7 * 24 * 60, None)
    assert gp.parse_queue(read("qconf-sp-smp.txt"))["allocation_rule"] == "$pe_slots"
    assert read("qconf-sql.txt").split() == ["long.q", "short.q"]


def test_qsub_answers_and_refusals_in_grid_engines_words():
    assert gp.parse_qsub_id("12\n") == "12" and gp.parse_qsub_id("3.1-4:1\n") == "3"
    assert gp.parse_qsub_id("") is None
    assert gp.clean_error(read("qsub-unknown-queue.stderr")) == (
        'Unable to run job: Job was rejected because job requests unknown queue "nosuch.q"'
    )
    assert gp.clean_error(read("qsub-w-e-too-long.stderr")) == (
        "Unable to run job: error: no suitable queues"
    )
    answers = read("qhold-qrls-qdel-qacct-answers.txt")
    assert gp.is_unknown_job(answers.splitlines()[0])
    assert gp.is_unknown_job("error: job id 99999 not found")
    assert not gp.is_unknown_job("modified hold of job 2")
    # a fresh cell: no job has ended, no accounting file, qacct exits 1
    assert gp.no_accounting_yet(read("qacct-no-accounting-file.stdout"))
    assert not gp.no_accounting_yet(read("qacct-no-accounting-file.stderr"))


def test_qsub_argv_every_value_one_item():
    spec = JobSpec(
        script="#!/bin/bash\necho hi\n", name="a$(b);c", partition="long.q", account="proj1",
        time_limit=90, cpus=2, ntasks=2, memory_mb=1000, array="1-10%2", workdir="~/w d",
        stdout="out-%j.%a.txt", hold=True, env={"INJ": "a,b"},
    )  # fmt: skip
    argv = qsub_argv(spec, pe="smp", home="/home/u")
    assert argv == [
        "qsub", "-terse", "-w", "e", "-N", "a$(b);c", "-q", "long.q", "-A", "proj1",
        "-l", "h_rt=1:30:00", "-l", "h_vmem=250M", "-pe", "smp", "4", "-t", "1-10", "-tc", "2",
        "-wd", "/home/u/w d", "-o", "out-$JOB_ID.$TASK_ID.txt", "-j", "y", "-h",
        "-S", "/bin/bash", "-V",
    ]  # fmt: skip
    assert "-wd" not in qsub_argv(JobSpec(script="true", workdir="~"))


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("name", "a/b", "without spaces and without"),
        ("name", "a b", "without spaces"),
        ("name", "ünï", "printable ASCII"),
        ("name", "9lives", "start with a digit"),
        ("qos", "high", "no QOS"),
        ("gpus", 1, "no standard GPU"),
        ("nodes", 2, "one host"),
        ("array", "1,3,5", "no lists"),
        ("array", "0-9", "start at 1"),
        ("stdout", "/tmp/a,b", "separators"),
        ("stderr", "host:/tmp/x", "separators"),
        ("env", {"SGE_ROOT": "/x"}, "Grid Engine sets it"),
        ("workdir", "~root/x", "another user"),
    ],
)
def test_qsub_argv_refuses_in_words_naming_the_field(field, value, words):
    spec = JobSpec(script="true", **{field: value})
    with pytest.raises(InvalidRequest) as info:
        qsub_argv(spec, pe="smp", home="/home/u")
    assert info.value.code == "job.invalid" and info.value.details["field"] == field
    assert words in info.value.message


def test_several_slots_need_a_parallel_environment_and_job_ids_are_checked():
    with pytest.raises(InvalidRequest, match="no parallel environment"):
        qsub_argv(JobSpec(script="true", cpus=2), pe=None)
    for good in ("12", "12.3", "12.4-9:1", "3.3,4"):
        assert check_job_id(good) == good
    for bad in ("12;id", "12_3", "-1", "12.", "a"):
        with pytest.raises(InvalidRequest):
            check_job_id(bad)


def test_an_unchanged_job_is_the_same_record_again_not_parsed_anew():
    text = read("qstat-r-xml-u-all.xml")
    records: dict = {}
    first = gp.parse_qstat(text, UTC, records=records)
    again = gp.parse_qstat(text, UTC, records=records)
    assert all(a is b for a, b in zip(first, again, strict=True)) and len(records) == 6
    # job 2 released: its element changed, so it alone is a new record; job 1 is gone
    changed = text.replace("<state>hqw</state>", "<state>qw</state>")
    changed = changed.replace(
        "<JB_job_number>1</JB_job_number>", "<JB_job_number>7</JB_job_number>"
    )
    third = {job.id: job for job in gp.parse_qstat(changed, UTC, records=records)}
    assert third["2"].state == "pending" and third["2"] is not again[4]
    assert third["4"] is again[3] and "1" not in third and third["7"] is not again[0]
    assert len(records) == 6


# --- qstat -xml made into qstat -r -xml (the listing without -r) ---------------------------

PLAIN = "qstat-xml-u-all-plain.xml"  # recorded a moment before the next, of the same jobs
WITH_R = "qstat-r-xml-u-all-same-jobs.xml"


def test_plain_qstat_with_the_kept_lines_is_what_qstat_r_prints() -> None:
    """The text only ``-r`` prints, kept per record (job number, tasks, state and name),
    turns ``qstat -xml`` into the very text ``qstat -r -xml`` printed of the same jobs (a
    running job, an array's running and pending tasks, a PE job, held ones with a hard
    queue, a successor with ``-hold_jid``, soft requests, a 42-character name): byte for
    byte, so the listing and its records are the same whichever command ran."""
    plain, with_r = read(PLAIN), read(WITH_R)
    lines = gp.requested_lines(with_r)
    assert lines is not None and len(lines) == 9
    assert {key.split("\x1f")[0] for key in lines} == {str(n) for n in range(4005, 4012)}
    assert gp.with_requested(plain, lines) == with_r
    jobs = {job.id: job for job in gp.parse_qstat(with_r, UTC)}
    assert (jobs["4007"].time_limit, jobs["4007"].extra["parallel_environment"]) == (7200, "smp")
    assert jobs["4008"].partition == "short.q"  # a held job's hard queue: only -r says it
    # without the kept lines, qstat -xml lacks them
    bare = {job.id: job for job in gp.parse_qstat(plain, UTC)}
    assert (bare["4007"].time_limit, bare["4008"].partition) == (None, "")


def _swap(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def test_a_record_not_kept_as_it_is_now_asks_for_qstat_r() -> None:
    """A new job, a task that started, a job that left its hold, one renamed (``qalter
    -N``, or its number reused): not kept as it is now, so the listing asks ``-r``."""
    plain, with_r = read(PLAIN), read(WITH_R)
    lines = gp.requested_lines(with_r) or {}
    for changed in (
        _swap(plain, "<JB_job_number>4011<", "<JB_job_number>4012<"),  # new
        _swap(plain, "<tasks>3,4</tasks>", "<tasks>4</tasks>"),  # task 3 started
        _swap(plain, "<state>hqw</state>", "<state>qw</state>"),  # released
        _swap(plain, "<JB_name>soft</JB_name>", "<JB_name>other</JB_name>"),  # renamed
    ):
        assert gp.with_requested(changed, lines) is None
    assert gp.with_requested(plain[: plain.rindex("</job_list>")], lines) is None  # cut short
    assert gp.with_requested(with_r, lines) is None  # already -r's: not doubled
    # no jobs: nothing to add; a job that ended meanwhile is simply not listed
    empty = plain[: plain.index("<job_list")] + plain[plain.rindex("</job_list>") + 11 :]
    assert gp.with_requested(empty, lines) == empty
    assert gp.requested_lines(empty) == {}


def test_a_record_on_one_line_keeps_every_request() -> None:
    """Kept and put back by characters, not lines: a qstat that prints a record on one
    line (8.1.9 does not) loses none of its requests."""
    plain, with_r = read(PLAIN), read(WITH_R)

    def one_line(text: str) -> str:
        return re.sub(r">\s+<", "><", text)

    lines = gp.requested_lines(one_line(with_r)) or {}
    rebuilt = gp.with_requested(one_line(plain), lines)
    assert rebuilt == one_line(with_r)
    jobs = {job.id: job for job in gp.parse_qstat(rebuilt or "", UTC)}
    assert (jobs["4005"].time_limit, jobs["4008"].partition) == (600, "short.q")


def test_a_qstat_r_record_without_the_lines_is_not_kept() -> None:
    """A qstat that prints ``-r`` otherwise (no ``<full_job_name>``): nothing is kept, so
    every listing asks with ``-r``."""
    with_r = read(WITH_R)
    assert gp.requested_lines(with_r.replace("<full_job_name>", "<other_name>", 1)) is None
    assert gp.requested_lines(with_r[: with_r.rindex("</job_list>")]) is None
