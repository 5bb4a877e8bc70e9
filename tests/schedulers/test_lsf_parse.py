"""LSF parsers and bsub's argv on output recorded on real LSF clusters
(tests/schedulers/recordings/lsf; its README cites each source)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from jupyter_rpc.errors import InvalidRequest
from jupyter_rpc.schedulers import lsf_parse as lp
from jupyter_rpc.schedulers.base import JobSpec
from jupyter_rpc.schedulers.lsf import bsub_argv, check_job_id

RECORDINGS = Path(__file__).parent / "recordings" / "lsf"
UTC = timezone.utc
#: A moment after the recordings (LSF prints no year: the parser picks the last one).
NOW = datetime(2018, 6, 1, 12, 0, tzinfo=UTC)


def read(name: str) -> str:
    return (RECORDINGS / name).read_text(encoding="utf-8")


def test_a_done_job_with_usage_hosts_and_the_finish_flag():
    [job], errors = lp.parse_bjobs(read("bjobs-json-done.json"), UTC, now=NOW)
    assert errors == []
    assert (job.id, job.name, job.user, job.partition, job.account) == (
        "22005", "ls -l", "otptest", "short-dmg", "default",
    )  # fmt: skip
    assert (job.state, job.raw_state, job.exit_code) == ("completed", "DONE", 0)
    at = datetime(2017, 12, 28, 19, 56, tzinfo=UTC).timestamp()  # the year before NOW
    assert (job.submitted, job.started, job.ended) == (at, at, at)
    assert job.extra["finish_time_flag"] == "L"
    assert (job.elapsed, job.cpu_used, job.time_limit) == (1.0, 1.0, 600.0)
    assert job.memory_peak_mb == pytest.approx(5.2 * 1024)
    assert (job.nodes, job.num_nodes, job.cpus) == ("tbi-cn019", 1, 1)
    assert job.workdir == "/home/otptest"  # \/ in the JSON
    assert job.command == "ls -l"
    assert job.extra["dependency"] == "done(22004)"


def test_a_done_record_with_a_non_zero_exit_code_is_failed():
    [job], _ = lp.parse_bjobs(read("bjobs-json-exit-code.json"), UTC, now=NOW)
    assert (job.state, job.raw_state, job.exit_code) == ("failed", "DONE", 1)
    assert job.memory_peak_mb == 522
    assert job.stdout == "/sequencing/whole_genome_sequencing/coveragePlotSingle.o30060"
    assert job.reason == "Job dependency condition not satisfied"


def test_a_held_job_without_a_jobid_column_takes_the_asked_id():
    [job], _ = lp.parse_bjobs(read("bjobs-json-psusp.json"), UTC, job_id="58652", now=NOW)
    assert (job.id, job.state, job.raw_state, job.name) == ("58652", "held", "PSUSP", "hold_job")
    assert job.submitted == datetime(2018, 5, 28, 12, 45, tzinfo=UTC).timestamp()
    assert (job.started, job.ended, job.exit_code) == (None, None, None)
    assert (job.stdout, job.stderr) == ("hold_job.out", "hold_job.err")
    assert job.nodes == "" and job.num_nodes is None


def test_times_without_a_year_are_in_the_past():
    jan = datetime(2019, 1, 2, tzinfo=UTC)
    assert (
        lp.parse_time("Dec 28 19:56", UTC, jan)
        == datetime(2018, 12, 28, 19, 56, tzinfo=UTC).timestamp()
    )
    assert (
        lp.parse_time("Jan  1 10:00 L", UTC, jan)
        == datetime(2019, 1, 1, 10, tzinfo=UTC).timestamp()
    )
    assert lp.parse_time("", UTC, jan) is None
    assert lp.parse_time("03/31-14:46:42", UTC, jan) is None  # not the -o format


def test_units_and_durations():
    assert lp.parse_memory_mb("0 Mbytes") == 0
    assert lp.parse_memory_mb("5.2 Gbytes") == pytest.approx(5324.8)
    assert lp.parse_duration("16038 second(s)") == 16038
    assert lp.parse_duration("000:00:00.03") == pytest.approx(0.03)
    assert lp.parse_limit_minutes("1440.0") == 86400


def test_errors_and_empty_answers():
    assert lp.parse_bjobs("", UTC) == ([], [])
    jobs, errors = lp.parse_bjobs('{"COMMAND":"bjobs","JOBS":0,"RECORDS":[]}', UTC)
    assert (jobs, errors) == ([], [])
    with pytest.raises(lp.ParseError, match="bjobs printed JSON"):
        lp.parse_bjobs("No job found", UTC)


def test_bsub_answer():
    assert lp.parse_bsub_id(read("bsub.stdout")) == "542935"
    assert lp.parse_bsub_id("Job not submitted.") is None


def test_job_ids():
    assert check_job_id("542935") == "542935" and check_job_id("12[3]") == "12[3]"
    for bad in ("1;2", "$(id)", "-1", "12[a]"):
        with pytest.raises(InvalidRequest):
            check_job_id(bad)


HOSTILE = "x; touch /tmp/pwned $(id) `id` 'q' \"d\""


def test_bsub_argv_one_item_per_value():
    spec = JobSpec(
        script="echo\n", name=HOSTILE, partition="short", time_limit=90, cpus=2, ntasks=4,
        nodes=2, memory_mb=2048, gpus=1, account="proj", workdir="/w;$(id)",
        stdout="/o 'x'", stderr="/e", hold=True, env={"A": "a,b\n$(id)"},
    )  # fmt: skip
    argv = bsub_argv(spec)
    assert argv[:3] == ["bsub", "-J", HOSTILE]
    assert argv[argv.index("-W") + 1] == "90"
    assert argv[argv.index("-n") + 1] == "8"
    assert "span[ptile=4]" in argv and "rusage[mem=2048]" in argv
    assert argv[argv.index("-cwd") + 1] == "/w;$(id)"
    assert argv[-1] == "-H"


def test_bsub_array_goes_into_the_name():
    argv = bsub_argv(JobSpec(script="echo\n", name="sweep", array="1-10%2"))
    assert argv[1:3] == ["-J", "sweep[1-10]%2"]
    with pytest.raises(InvalidRequest, match=r"cannot contain \[") as info:
        bsub_argv(JobSpec(script="echo\n", name="a[1]", array="1-3"))
    assert info.value.details["field"] == "name"


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("qos", "high", "LSF has no QOS"),
        ("env", {"LSB_JOBNAME": "x"}, "LSF sets it"),
        ("partition", "a b", "not a queue name"),
        ("workdir", "-x", "must not start"),
    ],
)
def test_bsub_refusals_name_the_field(field, value, words):
    with pytest.raises(InvalidRequest, match=words) as info:
        bsub_argv(JobSpec(script="echo\n", **{field: value}))
    assert info.value.details["field"] == field


def test_queues_names_and_states():
    queues = lp.parse_queues(read("bqueues-o-queue_name-status-json.json"))
    assert [(q.name, q.state, q.max_time) for q in queues] == [
        ("batch", "up", None),
        ("test", "up", None),
    ]
    closed = (
        '{"COMMAND":"bqueues","QUEUES":1,"RECORDS":[{"QUEUE_NAME":"x","STATUS":"Closed:Inact"}]}'
    )
    assert lp.parse_queues(closed)[0].state == "closed inact"


# --- bhist -l: a job LSF's bjobs no longer remembers (recorded at EMBL-EBI) -------------------


def test_bhist_long_a_job_done_successfully():
    [job] = lp.parse_bhist_long(read("bhist-l-done.txt"), UTC)
    assert (job.id, job.user, job.state, job.raw_state, job.exit_code) == (
        "872795", "rasko", "completed", "DONE", 0,
    )  # fmt: skip
    assert job.name == "echo hello"  # no -J: LSF names a job by its command
    assert job.partition == "research-rh74"  # unwrapped from two lines
    assert job.workdir == "$HOME"
    assert job.nodes == "hx-noah-05-14"
    # Sun Jan 10: the year whose Jan 10 is a Sunday, before now (2021)
    assert job.submitted == datetime(2021, 1, 10, 17, 47, 38, tzinfo=UTC).timestamp()
    assert job.started == datetime(2021, 1, 10, 17, 47, 39, tzinfo=UTC).timestamp()
    assert job.ended == job.started
    assert (job.cpu_used, job.elapsed) == (0.0, 0.0)
    assert job.extra["pend_seconds"] == 1


def test_bhist_long_a_job_that_exited_with_a_code():
    [job] = lp.parse_bhist_long(read("bhist-l-exit-code.txt"), UTC)
    assert (job.id, job.state, job.raw_state, job.exit_code) == ("873209", "failed", "EXIT", 127)
    assert job.name == "fdfs" and job.nodes == "hx-noah-10-04"
    assert job.cpu_used == 0.0  # "second\n   s;" read as one word


def test_bhist_long_without_a_job():
    assert lp.parse_bhist_long("") == []
    assert lp.parse_bhist_long("No matching job found\n") == []
