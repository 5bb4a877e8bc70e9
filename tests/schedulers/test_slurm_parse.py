"""Slurm parsers on real output recorded on the Slurm 22.05 test bed (tests/data/slurm)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from jupyter_rpc.errors import InvalidRequest
from jupyter_rpc.schedulers import slurm_parse as sp
from jupyter_rpc.schedulers.base import JobSpec, Partition
from jupyter_rpc.schedulers.forms import apply_overrides, check_overrides, check_spec, submit_schema
from jupyter_rpc.schedulers.slurm import check_job_id, sbatch_argv
from tests.fixtures import DATA

DATA = DATA / "slurm"
UTC = timezone.utc


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def by_id(jobs):
    return {job.id: job for job in jobs}


# --- squeue -------------------------------------------------------------------------


def test_squeue_one_line_per_array_task_with_states_and_times():
    jobs = by_id(sp.parse_squeue(read("squeue-sep.txt")))
    assert set(jobs) == {"14_1", "14_2", "14_3", "13", "9", "15"}
    running = jobs["9"]
    assert (running.state, running.name, running.partition, running.account) == (
        "running",
        "rec-run",
        "debug",
        "research",
    )
    assert running.started == 1795449583.0 and running.expected_start is None
    assert running.time_limit == 60 and running.elapsed == 6
    assert running.nodes == "vm" and running.cpus == 1 and running.memory_mb == 100
    assert running.workdir == "/home/hpcuser/jrpc-sched" and running.command == ""
    assert running.ended is None and running.array_job_id == "" and running.array_task_id == ""
    task = jobs["14_1"]
    assert (task.state, task.array_job_id, task.array_task_id) == ("running", "14", "1")
    waiting = jobs["14_3"]
    assert (waiting.state, waiting.reason, waiting.array_task_id) == (
        "pending",
        "JobArrayTaskLimit",
        "3",
    )
    assert waiting.started is None and waiting.nodes == ""
    assert jobs["13"].state == "held" and jobs["13"].reason == "JobHeldUser"
    big = jobs["15"]
    assert (big.state, big.partition, big.account, big.cpus, big.memory_mb) == (
        "pending",
        "long",
        "teamb",
        2,
        200,
    )
    assert big.expected_start == 1795449647.0
    assert big.reason.startswith("Nodes required for job are DOWN, DRAINED")


def test_squeue_pending_array_as_one_record():
    jobs = by_id(sp.parse_squeue(read("squeue-sep-no-r.txt")))
    meta = jobs["14_[2-3%1]"]
    assert (meta.array_job_id, meta.array_task_id, meta.state) == ("14", "2-3%1", "pending")


def test_squeue_name_with_pipe_tab_unicode_and_key_like_text():
    (job,) = sp.parse_squeue(read("squeue-sep-weird-name.txt"))
    assert job.name == "weird | name ünï\twith tab Key=x UserId=me(1) GroupId=x"
    assert job.id == "18" and job.state == "held"


def test_squeue_record_with_newline_in_name_and_missing_fields():
    fields = [
        "7",
        "7",
        "N/A",
        "PENDING",
        "Priority",
        "u",
        "debug",
        "a",
        "normal",
        "1700000000",
        "N/A",
        "N/A",
        "UNLIMITED",
        "0:00",
        "1",
        "4",
        "2G",
        "gres/gpu:2",
        "",
        "/w d",
        "/w d/run.sh x",
        "two\nlines",
    ]
    text = sp.SEP.join(fields) + sp.REC + "\n" + "broken" + sp.SEP + "record" + sp.REC + "\n"
    (job,) = sp.parse_squeue(text)
    assert job.name == "two\nlines" and job.memory_mb == 2048 and job.time_limit is None
    assert job.command == "/w d/run.sh x" and job.gpus == "gres/gpu:2"


# --- scontrol -----------------------------------------------------------------------


def test_scontrol_multiline_sample_with_spaces_in_command():
    text = " ".join(line.strip() for line in read("scontrol-show-job.txt").splitlines())
    (job,) = sp.parse_scontrol_jobs(text, UTC)
    assert job.command == "/home/hpcuser/jobs/sleep.sh 60"
    assert job.stdout == "/home/hpcuser/jobs/chk-run-12.out"
    assert job.workdir == "/home/hpcuser/jobs"
    assert job.time_limit == 300 and job.elapsed == 6
    assert job.started == datetime(2026, 11, 22, 20, 40, 51, tzinfo=UTC).timestamp()
    assert job.user == "hpcuser" and job.state == "running" and job.exit_code is None


def test_scontrol_array_oneliner_iso_times_and_reason():
    (job,) = sp.parse_scontrol_jobs(read("scontrol-show-job-array-oneliner.txt"), UTC)
    assert job.id == "14_[1-3%1]" and job.array_job_id == "14" and job.array_task_id == "1-3%1"
    assert job.reason.startswith("Nodes required for job are DOWN, DRAINED")
    assert job.expected_start is None and job.memory_mb == 50
    assert job.command == "/home/hpcuser/jobs/sleep.sh 2"


def test_scontrol_epoch_records_exit_codes_and_arrays():
    jobs = by_id(sp.parse_scontrol_jobs(read("scontrol-show-job-epoch.txt")))
    assert jobs["11"].state == "failed" and jobs["11"].exit_code == 3 and jobs["11"].signal == 0
    assert jobs["11"].reason == "NonZeroExitCode"
    assert (
        jobs["10"].state == "completed"
        and jobs["10"].exit_code == 0
        and jobs["10"].name == "rec done"
    )
    assert jobs["12"].name == "rec | pipe ünï  Key=x UserId=me(1) spaces"
    assert jobs["12"].state == "cancelled" and jobs["12"].stdout.endswith(
        "/rec | pipe ünï  Key=x UserId=me(1) spaces-12.out"
    )
    assert jobs["13"].state == "held"
    assert (
        jobs["14_1"].state == "running"
        and jobs["14_1"].stdout == "/home/hpcuser/jrpc-sched/arr-14_1.out"
    )
    assert jobs["14_[2-3%1]"].state == "pending"
    assert jobs["9"].ended is None and jobs["9"].started == 1795449583.0


def test_scontrol_name_containing_userid_groupid_text():
    (job,) = sp.parse_scontrol_jobs(read("scontrol-show-job-weird-name.txt"))
    assert job.name == "weird | name ünï\twith tab Key=x UserId=me(1) GroupId=x"
    assert job.user == "hpcuser" and job.state == "held"


def test_key_values_keep_unknown_keys_inside_values():
    fields = sp.parse_key_values(
        "JobId=5 JobName=x UserId=u(1) GroupId=g(1) Command=/bin/run a=b c WorkDir=/tmp/a b"
    )
    assert fields["Command"] == "/bin/run a=b c" and fields["WorkDir"] == "/tmp/a b"


# --- sacct --------------------------------------------------------------------------


#: The field order sacct-sep.txt was recorded with (active jobs; the name last).
RECORDED_ORDER = (
    "JobID",
    "JobIDRaw",
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
    "WorkDir",
    "JobName",
)


def test_sacct_exit_codes_cancelled_by_and_names():
    jobs = by_id(sp.parse_sacct(read("sacct-sep.txt"), fields=RECORDED_ORDER))
    assert jobs["11"].exit_code == 3 and jobs["11"].state == "failed"
    assert (
        jobs["10"].state == "completed"
        and jobs["10"].exit_code == 0
        and jobs["10"].ended == 1795449583.0
    )
    cancelled = jobs["12"]
    assert cancelled.state == "cancelled" and cancelled.raw_state == "CANCELLED"
    assert cancelled.reason == "cancelled by uid 1001" and cancelled.started is None
    assert cancelled.name == "rec | pipe ünï  Key=x UserId=me(1) spaces" and cancelled.nodes == ""
    assert jobs["13"].state == "held"
    assert jobs["9"].state == "running" and jobs["9"].exit_code is None and jobs["9"].ended is None
    assert jobs["14_[1-3%1]"].array_task_id == "1-3%1"
    assert jobs["15"].account == "teamb" and jobs["15"].memory_mb == 200


#: The field order sacct-sep-ended.txt was recorded with (before TotalCPU and MaxRSS).
ENDED_ORDER = tuple(f for f in sp.SACCT_FIELDS if f not in ("TotalCPU", "MaxRSS"))


def test_sacct_current_field_order_after_the_jobs_ended():
    jobs = by_id(sp.parse_sacct(read("sacct-sep-ended.txt"), fields=ENDED_ORDER))
    assert (
        jobs["9"].state == "cancelled"
        and jobs["9"].elapsed == 6
        and jobs["9"].ended == 1795449589.0
    )
    assert jobs["11"].exit_code == 3 and jobs["10"].name == "rec done"
    assert jobs["12"].name == "rec | pipe ünï  Key=x UserId=me(1) spaces"


def test_sacct_pipe_sample_with_steps_skipped():
    fields = (
        "JobID",
        "JobName",
        "State",
        "ExitCode",
        "Start",
        "End",
        "Elapsed",
        "AllocCPUS",
        "ReqMem",
        "MaxRSS",
    )
    text = "\n".join(line.replace("|", sp.SEP) for line in read("sacct.txt").splitlines()[1:])
    jobs = by_id(sp.parse_sacct(text, UTC, fields))
    assert set(jobs) == {"12", "16", "17"}
    assert jobs["17"].exit_code == 3 and jobs["12"].reason == "cancelled by uid 1001"
    assert (
        jobs["12"].elapsed == 8
        and jobs["16"].started == datetime(2026, 11, 22, 20, 40, 59, tzinfo=UTC).timestamp()
    )


def test_sacct_usage_cpu_time_from_the_job_and_memory_peak_from_its_steps():
    """Recorded with the current fields, steps included (no -X): job 6425 ran a 60 MB
    batch part for 12 s, then an srun step of 150 MB for 11 s, and exited 2; 6426 slept
    1 s (shorter than JobAcctGatherFrequency: no MaxRSS sample)."""
    jobs = by_id(sp.parse_sacct(read("sacct-sep-usage.txt")))
    assert set(jobs) == {"6425", "6426"}  # step lines are not jobs
    usage = jobs["6425"]
    assert (usage.state, usage.exit_code, usage.name) == ("failed", 2, "rec-usage")
    assert usage.cpu_used == 23.186  # TotalCPU of the job line: all its steps
    assert usage.memory_peak_mb == round(161680 / 1024, 1)  # the srun step's, the largest
    assert (usage.elapsed, usage.cpus, usage.memory_mb) == (23, 1, 300)
    short = jobs["6426"]
    assert short.cpu_used == 0.003 and short.memory_peak_mb is None


def test_cpu_time_and_memory_used_formats():
    assert sp.parse_cpu_time("00:23.186") == 23.186
    assert sp.parse_cpu_time("01:02:03") == 3723
    assert sp.parse_cpu_time("1-02:03:04") == 93784
    assert sp.parse_cpu_time("12:00.5") == 720.5
    assert sp.parse_cpu_time("") is None and sp.parse_cpu_time("INVALID") is None
    assert sp.parse_memory_used_mb("72200K") == 70.5
    assert sp.parse_memory_used_mb("1.50G") == 1536.0
    assert sp.parse_memory_used_mb("2048") == 0.0  # bytes
    assert sp.parse_memory_used_mb("") is None and sp.parse_memory_used_mb("0") is None


def test_sacct_newline_in_name_joins_lines():
    row = dict.fromkeys(sp.SACCT_FIELDS, "") | {
        "JobID": "5",
        "State": "COMPLETED",
        "ExitCode": "0:0",
        "JobName": "a\nb",
    }
    (job,) = sp.parse_sacct(sp.SEP.join(row.values()) + "\n")
    assert job.name == "a\nb"


# --- sbatch -------------------------------------------------------------------------


def test_test_only_iso_and_epoch():
    iso = sp.parse_test_only(read("sbatch-test-only.txt"), UTC)
    assert (
        iso["expected_start"] == datetime(2026, 11, 22, 20, 48, 51, tzinfo=UTC).timestamp()
        and iso["partition"] == "debug"
        and iso["cpus"] == 2
    )
    epoch = sp.parse_test_only(read("sbatch-test-only-epoch.stderr"))
    assert epoch["expected_start"] == 1795449707.0 and "partition debug" in epoch["message"]


def test_sbatch_errors_are_cleaned():
    text = sp.clean_slurm_error(read("sbatch-bad-partition.stderr"))
    assert (
        text
        == "invalid partition specified: nosuch; Batch job submission failed: Invalid partition name specified"
    )
    assert sp.parse_sbatch_id("42\n") == "42" and sp.parse_sbatch_id("42;cluster\n") == "42"
    assert sp.parse_sbatch_id("Submitted batch job 42") is None


# --- partitions ---------------------------------------------------------------------


def test_partitions_with_node_sizes():
    nodes = sp.parse_sinfo_nodes(read("sinfo-nodes-sep.txt"))
    parts = {p.name: p for p in sp.parse_partitions(read("scontrol-show-partition-o.txt"), nodes)}
    debug, long = parts["debug"], parts["long"]
    assert debug.default and not long.default
    assert (debug.max_time, debug.default_time, long.max_time, long.default_time) == (
        60,
        10,
        7 * 24 * 60,
        60,
    )
    assert (debug.max_cpus_per_node, debug.max_memory_mb, debug.max_nodes, debug.gpus) == (
        2,
        2000,
        1,
        None,
    )
    assert debug.state == "up"
    assert sp.parse_partitions(read("scontrol-show-partition.txt"))[0].max_cpus_per_node is None


def test_gres_gpus():
    assert sp.parse_gpus("gpu:a100:4(S:0-1)") == 4
    assert sp.parse_gpus("gpu:2,gpu:v100:1") == 3
    assert sp.parse_gpus("gres/gpu=2") == 2
    assert sp.parse_gpus("(null)") is None


# --- times, durations ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1-02:03:04", 93784),
        ("02:03:04", 7384),
        ("05:00", 300),
        ("1:00", 60),
        ("7-00:00:00", 604800),
        ("2-12", 216000),
        ("1-00:30", 88200),
        ("00:00:08.123", 8.123),
        ("30", 1800),
        ("UNLIMITED", None),
        ("INVALID", None),
        ("N/A", None),
        ("", None),
        ("junk", None),
    ],
)
def test_durations(text, seconds):
    assert sp.parse_duration(text) == (pytest.approx(seconds) if seconds else seconds)


@pytest.mark.parametrize("text", ["N/A", "Unknown", "None", "", "0"])
def test_unset_times(text):
    assert sp.parse_time(text) is None


def test_times_in_the_login_nodes_zone():
    from datetime import timedelta

    plus_two = timezone(timedelta(hours=2))
    assert (
        sp.parse_time("2026-11-22T20:40:51", UTC) - sp.parse_time("2026-11-22T20:40:51", plus_two)
        == 7200
    )
    assert sp.parse_time("1795449583") == 1795449583.0


@pytest.mark.parametrize(
    ("raw", "reason", "state"),
    [
        ("PENDING", "Priority", "pending"),
        ("PENDING", "JobHeldAdmin", "held"),
        ("RUNNING", "", "running"),
        ("CANCELLED by 1001", "", "cancelled"),
        ("CANCELLED+", "", "cancelled"),
        ("TIMEOUT", "", "timeout"),
        ("OUT_OF_MEMORY", "", "failed"),
        ("NODE_FAIL", "", "failed"),
        ("COMPLETING", "", "completing"),
        ("SUSPENDED", "", "suspended"),
        ("WHATEVER", "", "unknown"),
    ],
)
def test_states(raw, reason, state):
    assert sp.map_state(raw, reason) == state


# --- argv building ------------------------------------------------------------------


def test_sbatch_argv_every_option_as_one_argument():
    spec = JobSpec(
        script="#!/bin/bash\n",
        name="a b;$(x)",
        partition="debug",
        time_limit=5,
        cpus=2,
        memory_mb=300,
        gpus=1,
        nodes=1,
        ntasks=2,
        account="research",
        qos="normal",
        array="1-3%1",
        workdir="/w d",
        stdout="%x-%j.out",
        stderr="e.err",
        hold=True,
        env={"FOO": "a,b\nc"},
    )
    assert sbatch_argv(spec) == [
        "sbatch",
        "--parsable",
        "--job-name=a b;$(x)",
        "--partition=debug",
        "--account=research",
        "--qos=normal",
        "--time=5",
        "--cpus-per-task=2",
        "--mem=300M",
        "--gpus=1",
        "--nodes=1",
        "--ntasks=2",
        "--array=1-3%1",
        "--chdir=/w d",
        "--output=%x-%j.out",
        "--error=e.err",
        "--hold",
        "--export=ALL",
    ]
    assert sbatch_argv(JobSpec(script_path="/home/u/run me.sh"))[-1] == "/home/u/run me.sh"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (JobSpec(script="x", name="a\nb"), "name"),
        (JobSpec(script="x", partition="debug;rm"), "partition"),
        (JobSpec(script="x", account="a b"), "account"),
        (JobSpec(script="x", qos="$(q)"), "qos"),
        (JobSpec(script="x", array="1-3;x"), "array"),
        (JobSpec(script="x", cpus=0), "cpus"),
        (JobSpec(script="x", time_limit=True), "time_limit"),
        (JobSpec(script="x", workdir="-rf"), "workdir"),
        (JobSpec(script="x", stdout="a\nb"), "stdout"),
        (JobSpec(script="x", env={"A B": "1"}), "env"),
        (JobSpec(script="x", env={"SBATCH_PARTITION": "x"}), "env"),
        (JobSpec(script="x", env={"PATH": "/x"}), "env"),
        (JobSpec(), "script"),
        (JobSpec(script="x", script_path="/y"), "script"),
        (JobSpec(script="x", extra_args=["--wrap=x"]), "extra_args"),
    ],
)
def test_sbatch_argv_refuses_with_the_field(spec, field):
    with pytest.raises(InvalidRequest) as info:
        sbatch_argv(spec)
    assert info.value.code == "job.invalid" and info.value.details["field"] == field


def test_job_ids():
    assert check_job_id(" 12_3 ") == "12_3" and check_job_id("12_[4-6%2]") == "12_[4-6%2]"
    with pytest.raises(InvalidRequest):
        check_job_id("12; rm -rf")


# --- submit form (schema from the test bed's partitions) -----------------------------


def testbed_partitions():
    nodes = sp.parse_sinfo_nodes(read("sinfo-nodes-sep.txt"))
    return sp.parse_partitions(read("scontrol-show-partition-o.txt"), nodes)


def test_submit_schema_bounds_and_defaults_from_partitions():
    form = submit_schema(testbed_partitions(), kind="slurm")
    schema, ui = form["schema"], form["ui_schema"]
    props = schema["properties"]
    assert (
        props["partition"]["enum"] == ["debug", "long"] and props["partition"]["default"] == "debug"
    )
    assert props["time_limit"]["maximum"] == 7 * 24 * 60 and props["time_limit"]["default"] == 10
    assert "debug: 60 min" in props["time_limit"]["description"]
    assert props["cpus"]["maximum"] == 2 and props["memory_mb"]["maximum"] == 2000
    assert "gpus" not in props  # no partition has GPUs
    assert ui["script"]["ui:widget"] == "textarea"
    assert props["env"]["additionalProperties"] == {"type": "string"}
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(schema)
    validator.check_schema(schema)
    assert validator.is_valid(
        {"script": "#!/bin/bash\n", "partition": "long", "time_limit": 600, "array": "1-3%1"}
    )
    assert not validator.is_valid({"script": "x", "time_limit": 7 * 24 * 60 + 1})
    assert not validator.is_valid({"script": "x", "array": "1-3;rm"})
    assert not validator.is_valid({"script": "x", "env": {"A": 1}})
    assert not validator.is_valid({"script": "x", "partition": "nosuch"})
    assert not validator.is_valid({"time_limit": 5})  # neither script nor script_path


def test_submit_schema_site_overrides_and_local_kind():
    overrides = {
        "account": {"const": "bb1234"},
        "partition": {"enum": ["long"], "default": "long"},
        "time_limit": {"maximum": 120},
        "qos": {"hidden": True},
    }
    form = submit_schema(testbed_partitions(), overrides=overrides)
    props, ui = form["schema"]["properties"], form["ui_schema"]
    assert props["account"]["const"] == "bb1234" and ui["account"]["ui:readonly"] is True
    assert props["partition"]["enum"] == ["long"] and props["partition"]["default"] == "long"
    assert props["time_limit"]["maximum"] == 120
    assert ui["qos"]["ui:widget"] == "hidden"
    local = submit_schema(
        [Partition(name="local", default=True, max_cpus_per_node=4)], kind="local"
    )
    assert (
        "account" not in local["schema"]["properties"]
        and local["schema"]["properties"]["cpus"]["maximum"] == 4
    )
    with pytest.raises(ValueError):
        check_overrides({"acount": {"const": "x"}})
    with pytest.raises(ValueError):
        check_overrides({"account": {"fixed": "x"}})
    check_overrides(overrides)


def test_apply_overrides_enforces_them_on_the_server():
    overrides = {
        "account": {"const": "bb1234"},
        "partition": {"enum": ["debug", "long"], "default": "debug"},
        "time_limit": {"maximum": 120, "minimum": 5},
        "qos": {"hidden": True},
    }
    filled = apply_overrides({"script": "x", "time_limit": 30}, overrides)
    assert filled == {"script": "x", "time_limit": 30, "account": "bb1234", "partition": "debug"}
    refusals = [
        ({"account": "other"}, "account"),
        ({"partition": "gpu"}, "partition"),
        ({"time_limit": 121}, "time_limit"),
        ({"time_limit": 1}, "time_limit"),
        ({"time_limit": "9"}, "time_limit"),
        ({"qos": "high"}, "qos"),
    ]
    for spec, field in refusals:
        with pytest.raises(InvalidRequest) as info:
            apply_overrides({"script": "x", **spec}, overrides)
        assert info.value.code == "job.invalid" and info.value.details["field"] == field


def test_check_spec_against_partition_limits():
    partitions = testbed_partitions()
    assert check_spec(JobSpec(script="x", time_limit=60), partitions).name == "debug"
    assert (
        check_spec(JobSpec(script="x", partition="long", time_limit=600), partitions).name == "long"
    )
    refusals = [
        (JobSpec(script="x", time_limit=61), "time_limit"),
        (JobSpec(script="x", partition="long", cpus=3), "cpus"),
        (JobSpec(script="x", memory_mb=2001), "memory_mb"),
        (JobSpec(script="x", nodes=2), "nodes"),
        (JobSpec(script="x", gpus=1), "gpus"),
        (JobSpec(script="x", partition="nosuch"), "partition"),
    ]
    for spec, field in refusals:
        with pytest.raises(InvalidRequest) as info:
            check_spec(spec, partitions)
        assert info.value.details["field"] == field and field in str(info.value.details)


def test_squeue_unchanged_records_are_not_parsed_again():
    text = read("squeue-sep.txt")
    cache: dict = {}
    first = sp.parse_squeue(text, UTC, cache)
    assert len(cache) == len(first) > 2
    # The next listing: one job changed (its record differs), one ended (gone).
    records = [r for r in text.split(sp.REC) if r.strip("\n")]
    changed = records[0].replace(first[0].name, "renamed", 1)
    second = sp.parse_squeue(sp.REC.join([changed, *records[1:-1]]) + sp.REC, UTC, cache)
    assert second[0].name == "renamed" and second[0] is not first[0]
    assert all(a is b for a, b in zip(second[1:], first[1:-1], strict=True))  # reused as they were
    assert len(cache) == len(second)  # the ended job is forgotten
    assert [j.to_json() for j in second[1:]] == [
        j.to_json() for j in sp.parse_squeue(sp.REC.join(records[1:-1]) + sp.REC, UTC)
    ]
