"""A PBS cluster through the REST API of a real Jupyter server, over real SSH to the HPC
test bed, where replay scripts named qstat, qsub, qdel, qhold and qrls answer from the
recordings (tests/schedulers/recordings) and log the argv they got: so the whole path is
exercised, quoting included, without a PBS server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.fixtures.hpc import HPCTestbed
from tests.schedulers.bed import server_config
from tests.schedulers.recordings.replay import Replay, installed, recording

COMMANDS = ["qstat", "qsub", "qdel", "qhold", "qrls"]
MARKER = f"/tmp/jrpc-pbs-marker-{uuid.uuid4().hex}"
RUNNING = "12860476.meta-pbs.metacentrum.cz"
QUEUED = "359322.polaris-pbs-01.hsn.cm.polaris.alcf.anl.gov"
HELD = "412020.polaris-pbs-01.hsn.cm.polaris.alcf.anl.gov"
HOSTILE = f"a; touch {MARKER} $(touch {MARKER}) `touch {MARKER}` 'q' \"d\""


def answers(user: str) -> dict[str, Any]:
    # The recorded job belongs to 'pbsuser'; the login user owns it here.
    finished = recording("pbs/qstat-x-f-F-json-finished.json", **{"pbsuser@pbs": f"{user}@pbs"})
    unknown = recording("pbs/qstat-unknown-job.stderr", job_id="99999.pbs")
    polaris = recording("pbs/qstat-f-F-json-queued-and-held.json")
    running = recording("pbs/qstat-f-F-json-two-running.json", **{"qoot@qot-calc0": f"{user}@pbs"})
    return {
        "stdin_of": ["qsub"],
        "log_env": ["INJ"],
        "rules": {
            "qstat": [
                {"when": ["-Q"], "stdout": recording("pbs/qstat-Q-f-F-json-derecho.json")},
                {"when": ["99999.pbs"], "stderr": unknown, "exit": 153},
                {
                    "when": [RUNNING],
                    "stdout": recording("pbs/qstat-xf-F-json-running-two-nodes.json"),
                },
                {"when": [QUEUED], "stdout": polaris},
                {"when": [HELD], "stdout": polaris},
                {"when": ["-x"], "stdout": finished},
                {"when": [], "stdout": running},  # qstat -f -F json -t: the active jobs
            ],
            "qsub": [{"when": [], "stdout": recording("pbs/qsub.stdout")}],
            # qdel prints nothing when it succeeds (not recorded: nothing is printed here)
            "qdel": [{"when": [RUNNING]}],
            "qhold": [{"when": [QUEUED]}],  # and so do qhold and qrls
            "qrls": [{"when": [HELD]}],
        },
    }


@pytest.fixture
def replay(hpc_testbed: HPCTestbed):
    with installed(hpc_testbed, COMMANDS, answers(hpc_testbed.user)) as r:
        yield r


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], hpc_testbed: HPCTestbed, replay: Replay, tmp_path
) -> dict[str, Any]:
    return server_config(
        jp_server_config, hpc_testbed, tmp_path, "pbs", scheduler="pbs",
        scheduler_bin=replay.bin,
    )  # fmt: skip


async def test_pbs_cluster_capabilities_and_form_from_its_queues(rpc, replay):
    status, listing = await rpc("GET", "clusters")
    assert status == 200
    [pbs] = [c for c in listing["clusters"] if c["name"] == "pbs"]
    assert pbs["scheduler"] == "pbs"
    assert pbs["capabilities"] == {
        "hold": True, "arrays": True, "history": True, "test_only": False,
        "efficiency": True, "queues": True, "workdir": False, "dependencies": True,
    }  # fmt: skip
    status, form = await rpc("GET", "clusters", "pbs", "submit-schema")
    assert status == 200, form
    names = {p["name"] for p in form["partitions"]}
    assert names == {"system", "main", "preempt", "develop", "repair", "jhub", "tutorial"}
    assert [c["argv"] for c in await replay.calls("qstat")] == [["-Q", "-f", "-F", "json"]]


async def test_pbs_submit_arrives_as_one_argv_item_per_value(rpc, replay):
    script = '#!/bin/bash\necho "$INJ"\n'
    env_value = f"x,y=z\n$(touch {MARKER}); `touch {MARKER}`"
    spec = {
        "script": script, "name": HOSTILE, "partition": "main", "time_limit": 90, "cpus": 4,
        "memory_mb": 2048, "array": "1-10%2", "stdout": f"/tmp/o;$(touch {MARKER})",
        "stderr": "/tmp/e 'x' \"y\"", "hold": True, "env": {"INJ": env_value},
    }  # fmt: skip
    status, job = await rpc("POST", "clusters", "pbs", "jobs", body=spec)
    assert status == 201, job
    assert job["id"] == "40.pbs"  # qsub's recorded answer, then its recorded record
    [call] = await replay.calls("qsub")
    assert call["argv"] == [
        "-N", HOSTILE, "-q", "main", "-l", "walltime=1:30:00", "-l", "select=1:ncpus=4:mem=2048mb",
        "-J", "1-10%2", "-o", f"/tmp/o;$(touch {MARKER})", "-e", "/tmp/e 'x' \"y\"", "-h", "-V",
    ]  # fmt: skip
    assert call["stdin"] == script
    assert call["env"] == {"INJ": env_value}
    assert not await replay.exists(MARKER)


async def test_pbs_list_detail_history_cancel_hold_release(rpc, replay, hpc_testbed):
    status, listing = await rpc("GET", "clusters", "pbs", "jobs")
    assert status == 200, listing
    assert {j["id"]: j["state"] for j in listing["jobs"]} == {
        "1006.qot-calc0": "running", "1007.qot-calc0": "running",
    }  # fmt: skip
    status, job = await rpc("GET", "clusters", "pbs", "jobs", "40.pbs")
    assert status == 200, job
    assert (job["state"], job["raw_state"], job["exit_code"], job["user"]) == (
        "completed", "F", 0, hpc_testbed.user,
    )  # fmt: skip
    assert (job["elapsed"], job["time_limit"], job["cpu_used"]) == (10.0, 120.0, 0.0)
    assert job["stdout"].endswith("/pbs_sleep.o40")
    status, history = await rpc("GET", "clusters", "pbs", "history", params={"days": 366})
    assert status == 200 and history["jobs"] == []  # the recorded job ended in 2021
    for method, parts in (
        ("DELETE", ()),
        ("POST", ("hold",)),
        ("POST", ("release",)),
    ):
        body = {} if method == "POST" else None
        status, err = await rpc(method, "clusters", "pbs", "jobs", "40.pbs", *parts, body=body)
        assert (status, err["code"]) == (409, "job.finished"), err
        assert "already ended (completed)" in err["message"]
    status, err = await rpc("GET", "clusters", "pbs", "jobs", "99999.pbs")
    assert (status, err["code"]) == (404, "job.not_found") and "99999.pbs" in err["message"]
    status, err = await rpc("GET", "clusters", "pbs", "jobs", "40;id")
    assert (status, err["code"]) == (400, "job.invalid")
    qstat = [c["argv"] for c in await replay.calls("qstat")]
    assert qstat[0] == ["-f", "-F", "json", "-t"]
    assert ["-x", "-f", "-F", "json", "-t", "40.pbs"] in qstat
    assert ["-x", "-f", "-F", "json", "-t"] in qstat
    assert not await replay.calls("qdel") and not await replay.calls("qhold")
    # a running job: hold and release are refused in words, cancel calls qdel with its id
    status, job = await rpc("GET", "clusters", "pbs", "jobs", RUNNING)
    assert status == 200 and (job["state"], job["nodes"]) == ("running", "charon24,charon21")
    status, err = await rpc("POST", "clusters", "pbs", "jobs", RUNNING, "hold", body={})
    assert (status, err["code"]) == (409, "job.not_pending"), err
    status, err = await rpc("POST", "clusters", "pbs", "jobs", RUNNING, "release", body={})
    assert (status, err["code"]) == (409, "job.not_held"), err
    status, after = await rpc("DELETE", "clusters", "pbs", "jobs", RUNNING)
    assert status == 200, after
    assert [c["argv"] for c in await replay.calls("qdel")] == [[RUNNING]]
    assert not await replay.calls("qhold") and not await replay.calls("qrls")
    # a queued job is held with qhold, a held one released with qrls (recorded at Polaris;
    # qstat answers for either id with both records, as the recording has them together)
    status, after = await rpc("POST", "clusters", "pbs", "jobs", QUEUED, "hold", body={})
    assert status == 200 and after["state"] == "pending", after
    status, after = await rpc("POST", "clusters", "pbs", "jobs", HELD, "release", body={})
    assert status == 200 and after["state"] == "held", after
    status, err = await rpc("POST", "clusters", "pbs", "jobs", QUEUED, "release", body={})
    assert (status, err["code"]) == (409, "job.not_held"), err
    assert [c["argv"] for c in await replay.calls("qhold")] == [[QUEUED]]
    assert [c["argv"] for c in await replay.calls("qrls")] == [[HELD]]


async def test_pbs_refuses_what_it_cannot_do_in_words(rpc, replay):
    status, err = await rpc(
        "POST", "clusters", "pbs", "jobs", "test", body={"script": "true", "time_limit": 1}
    )
    assert (status, err["code"]) == (400, "scheduler.unsupported"), err
    assert err["details"]["capability"] == "test_only"
    status, err = await rpc(
        "POST", "clusters", "pbs", "jobs", body={"script": "true", "workdir": "/scratch/x"}
    )
    assert (status, err["code"]) == (400, "job.invalid"), err
    assert "no working-folder option" in err["message"]
    status, err = await rpc(
        "POST", "clusters", "pbs", "jobs", body={"script": "true", "array": "1,3,5"}
    )
    assert (status, err["code"]) == (400, "job.invalid") and "PBS takes no lists" in err["message"]
    assert not await replay.calls("qsub")


async def test_pbs_form_and_notebook_client_follow_its_capabilities(rpc, replay, server_url):
    """PBS cannot set a working folder nor say when a job would start (its capabilities):
    the submit form offers no working folder, and the notebook client refuses both before
    asking the server, naming the capability (issue 15)."""
    status, form = await rpc("GET", "clusters", "pbs", "submit-schema")
    assert status == 200, form
    fields = set(form["schema"]["properties"])
    assert "workdir" not in fields and {"hold", "array", "script"} <= fields, fields
    assert "workdir" not in form["ui_schema"]["ui:order"]

    import asyncio

    import jupyter_rpc
    from jupyter_rpc.notebook.clusters import Unsupported

    url, token = server_url
    pbs = await asyncio.to_thread(jupyter_rpc.cluster, "pbs", url=url, token=token)
    with pytest.raises(Unsupported) as refused:
        await asyncio.to_thread(pbs.submit, "true", workdir="/scratch/x")
    assert refused.value.capability == "workdir"
    assert refused.value.code == "scheduler.unsupported"
    message = str(refused.value)
    assert "cannot set a job's working folder" in message and "'workdir'" in message, message
    with pytest.raises(Unsupported) as refused:
        await asyncio.to_thread(pbs.test, "true", time_limit=1)
    assert refused.value.capability == "test_only"
    assert "cannot tell when a job would start" in str(refused.value)
    assert not await replay.calls("qsub")
    # what it can do still goes through (the home folder is where a PBS job starts)
    job = await asyncio.to_thread(pbs.submit, "true", hold=True, workdir="~")
    assert job.id == "40.pbs"
