"""PBS Pro parsers and qsub's argv on output recorded on real PBS servers
(tests/schedulers/recordings/pbs; its README cites each source)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from jupyter_rpc.errors import InvalidRequest
from jupyter_rpc.schedulers import pbs_parse as pp
from jupyter_rpc.schedulers.base import JobSpec
from jupyter_rpc.schedulers.pbs import check_job_id, qsub_argv

RECORDINGS = Path(__file__).parent / "recordings" / "pbs"
UTC = timezone.utc


def read(name: str) -> str:
    return (RECORDINGS / name).read_text(encoding="utf-8")


def test_a_finished_job_from_qstat_x_with_times_usage_and_paths():
    [job] = pp.parse_jobs(read("qstat-x-f-F-json-finished.json"), UTC)
    assert (job.id, job.name, job.user, job.partition) == (
        "40.pbs",
        "pbs_sleep",
        "pbsuser",
        "workq",
    )
    assert (job.state, job.raw_state, job.exit_code, job.signal) == ("completed", "F", 0, None)
    stamp = datetime(2021, 3, 17, 20, 36, 48, tzinfo=UTC).timestamp()
    assert (job.submitted, job.started) == (stamp, stamp)
    assert job.ended == stamp + 10  # mtime: no obittime in PBS 19
    assert (job.elapsed, job.time_limit, job.cpus, job.num_nodes) == (10.0, 120.0, 1, 1)
    assert job.nodes == "pbs"
    assert job.cpu_used == 0.0
    assert job.memory_peak_mb == pytest.approx(5620 / 1024, abs=1e-3)
    # the host prefix of Output_Path/Error_Path is dropped; the folder qsub ran in
    assert job.stdout.endswith("/stage/pbs_sleep.o40") and job.stdout.startswith("/tmp/")
    assert job.stderr.endswith("/stage/pbs_sleep.e40")
    assert job.workdir.endswith("/pbs_sleep/3/stage")
    assert job.reason == "Job run at Wed Mar 17 at 20:36 on (pbs:ncpus=1) and finished"
    assert job.extra["select"] == "1:ncpus=1"
    assert (job.array_job_id, job.array_task_id) == ("", "")


def test_the_users_own_jobs_are_picked_by_owner():
    text = read("qstat-x-f-F-json-finished.json")
    assert [j.id for j in pp.parse_jobs(text, UTC, user="pbsuser")] == ["40.pbs"]
    assert pp.parse_jobs(text, UTC, user="someone") == []


def test_no_jobs_is_an_empty_answer_and_broken_json_names_the_command():
    assert pp.parse_jobs("", UTC) == []
    with pytest.raises(pp.ParseError, match="qstat printed JSON that cannot be read"):
        pp.parse_jobs(read("qstat-x-f-F-json-finished.json")[:200], UTC)


def test_time_zone_is_the_login_nodes():
    from datetime import timedelta

    plus_two = timezone(timedelta(hours=2))
    [job] = pp.parse_jobs(read("qstat-x-f-F-json-finished.json"), plus_two)
    assert job.submitted == datetime(2021, 3, 17, 18, 36, 48, tzinfo=UTC).timestamp()


def test_exit_status_kinds():
    assert pp.exit_state(0) == ("completed", 0, None)
    assert pp.exit_state(1) == ("failed", 1, None)
    assert pp.exit_state(271) == ("cancelled", None, 15)  # qdel's SIGTERM: 256 + 15
    assert pp.exit_state(265) == ("cancelled", None, 9)
    assert pp.exit_state(267) == ("failed", None, 11)
    assert pp.exit_state(-29) == ("failed", -29, None)  # PBS ended it itself


def test_array_ids():
    assert pp.array_ids("123[].pbs") == ("123[].pbs", "")
    assert pp.array_ids("123[4].pbs") == ("123[].pbs", "4")
    assert pp.array_ids("40.pbs") == ("", "")


def test_units():
    assert pp.parse_memory_mb("235gb") == 235 * 1024
    assert pp.parse_memory_mb("692tb") == 692 * 1024**2
    assert pp.parse_memory_mb("0kb") == 0
    assert pp.parse_memory_mb("[u:PBS_GENERIC=470gb]") is None
    assert pp.parse_duration("01:00:00") == 3600
    assert pp.parse_duration("1:00:00:00") == 86400
    assert pp.parse_duration("x") is None


def test_one_queue():
    [queue] = pp.parse_queues(read("qstat-Q-f-F-json-workq.json"))
    assert (queue.name, queue.state, queue.max_time, queue.max_cpus_per_node) == (
        "workq",
        "up",
        None,
        None,
    )


def test_queues_of_a_large_site_with_routes_and_limits():
    queues = {q.name: q for q in pp.parse_queues(read("qstat-Q-f-F-json-derecho.json"))}
    # execution queues reached only through a route queue are not offered
    assert set(queues) == {"system", "main", "preempt", "develop", "repair", "jhub", "tutorial"}
    main = queues["main"]
    assert (main.max_cpus_per_node, main.max_memory_mb, main.gpus) == (323712, 692 * 1024**2, 328)
    assert queues["develop"].max_cpus_per_node == 3200
    assert (queues["repair"].default_time, queues["repair"].max_time) == (60, None)
    assert all(q.state == "up" for q in queues.values())


def test_qsub_answer_and_errors_in_pbs_words():
    assert pp.parse_qsub_id(read("qsub.stdout")) == "40.pbs"
    assert pp.parse_qsub_id("qsub: Unknown queue\n") is None
    stderr = read("qstat-unknown-job.stderr")
    assert pp.is_unknown_job(stderr)
    assert pp.clean_error(stderr) == "qstat: Unknown Job Id job_id"


def test_job_ids():
    for good in ("40", "40.pbs", "123[].desched1.hsn.de.hpc.ucar.edu", "123[4].pbs"):
        assert check_job_id(good) == good
    for bad in ("40;rm", "-1", "40.pbs x", "$(id)", "40[a]"):
        with pytest.raises(InvalidRequest):
            check_job_id(bad)


HOSTILE = "x; touch /tmp/pwned $(id) `id` 'q' \"d\""


def test_qsub_argv_one_item_per_value():
    spec = JobSpec(
        script="#!/bin/bash\necho hi\n", name=HOSTILE, partition="workq", time_limit=90,
        cpus=4, memory_mb=2048, gpus=1, nodes=2, ntasks=4, account="proj1", array="1-10%2",
        stdout="/tmp/o;$(id)", stderr="/tmp/e 'x'", hold=True, env={"ANSWER": "a,b\nc;$(id)"},
    )  # fmt: skip
    argv = qsub_argv(spec)
    assert argv[:3] == ["qsub", "-N", HOSTILE]
    assert ["-q", "workq"] == argv[3:5] and ["-A", "proj1"] == argv[5:7]
    assert "walltime=1:30:00" in argv
    assert "select=2:ncpus=8:mpiprocs=2:mem=2048mb:ngpus=1" in argv
    assert argv[argv.index("-J") + 1] == "1-10%2"
    assert argv[argv.index("-o") + 1] == "/tmp/o;$(id)"
    assert "-h" in argv and argv[-1] == "-V"  # the environment goes to qsub's process


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("array", "1,3,5", "PBS takes no lists"),
        ("workdir", "/scratch/x", "no working-folder option"),
        ("qos", "high", "PBS has no QOS"),
        ("name", "a\nb", "newlines"),
        ("partition", "q;x", "not a queue name"),
        ("stdout", "-x", "must not start with '-'"),
        ("env", {"PBS_O_WORKDIR": "/x"}, "PBS sets it"),
    ],
)
def test_qsub_refusals_name_the_field(field, value, words):
    spec = JobSpec(script="echo\n", **{field: value})
    with pytest.raises(InvalidRequest, match=words) as info:
        qsub_argv(spec)
    assert info.value.code == "job.invalid"
    assert info.value.details["field"] == field


def test_a_running_job_on_two_nodes():
    [job] = pp.parse_jobs(read("qstat-xf-F-json-running-two-nodes.json"), UTC)
    assert (job.id, job.state, job.raw_state, job.user) == (
        "12860476.meta-pbs.metacentrum.cz", "running", "R", "jan_brezina",
    )  # fmt: skip
    assert (job.nodes, job.num_nodes, job.cpus, job.memory_mb) == ("charon24,charon21", 2, 4, 8192)
    # "Tue Oct  4": a day padded with a space
    assert job.submitted == datetime(2022, 10, 4, 21, 23, 20, tzinfo=UTC).timestamp()
    assert job.started == datetime(2022, 10, 4, 21, 23, 33, tzinfo=UTC).timestamp()
    assert (job.ended, job.exit_code, job.elapsed, job.cpu_used) == (None, None, None, None)
    assert job.time_limit == 60
    assert job.stdout.startswith("/storage/liberec3-tul/") and job.stdout.endswith(".o12860476")


def test_a_listing_of_two_running_jobs_with_an_odd_value():
    jobs = {j.id: j for j in pp.parse_jobs(read("qstat-f-F-json-two-running.json"), UTC)}
    assert set(jobs) == {"1006.qot-calc0", "1007.qot-calc0"}
    first = jobs["1006.qot-calc0"]
    assert (first.state, first.partition, first.cpus, first.num_nodes) == ("running", "atom", 5, 5)
    assert (first.nodes, first.elapsed, first.time_limit) == ("qot-calc0", 110.0, 14400.0)
    assert first.memory_peak_mb == pytest.approx(12272 / 1024, abs=1e-3)
    assert jobs["1007.qot-calc0"].partition == "linopt-sim"
    assert [
        j.id for j in pp.parse_jobs(read("qstat-f-F-json-two-running.json"), UTC, user="x")
    ] == []


def test_a_queued_and_a_system_held_job():
    jobs = {
        j.id.split(".")[0]: j
        for j in pp.parse_jobs(read("qstat-f-F-json-queued-and-held.json"), UTC)
    }
    queued, held = jobs["359322"], jobs["412020"]
    assert (queued.state, queued.raw_state, queued.account, queued.partition) == (
        "pending", "Q", "transformer_eval", "debug",
    )  # fmt: skip
    assert queued.reason == "Not Running: Job is requesting an exclusive node and node is in use"
    assert (queued.started, queued.ended, queued.cpus, queued.gpus) == (None, None, 64, "8")
    assert queued.submitted == datetime(2022, 12, 3, 20, 25, 38, tzinfo=UTC).timestamp()
    # held after 21 failed starts: still held, not ended, whatever its Exit_status says
    assert (held.state, held.raw_state, held.exit_code, held.ended) == ("held", "H", None, None)
    assert held.extra["Exit_status"] == -3 and held.extra["Hold_Types"] == "s"
    assert held.reason == "job held, too many failed attempts to run"
    assert held.stdout == "/home/shiyanglai/system_log/std_out/"
