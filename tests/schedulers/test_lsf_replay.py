"""An LSF cluster through the REST API of a real Jupyter server, over real SSH to the HPC
test bed, where replay scripts named bjobs, bsub, bkill, bstop and bresume answer from the
recordings (tests/schedulers/recordings) and log the argv they got."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from jupyter_rpc.schedulers import lsf_parse as lp
from tests.fixtures.hpc import HPCTestbed
from tests.schedulers.bed import server_config
from tests.schedulers.recordings.replay import Replay, installed, recording

COMMANDS = ["bjobs", "bsub", "bkill", "bstop", "bresume", "bqueues", "bhist"]
MARKER = f"/tmp/jrpc-lsf-marker-{uuid.uuid4().hex}"
HOSTILE = f"a; touch {MARKER} $(touch {MARKER}) `touch {MARKER}` 'q' \"d\""
OUTPUT = ["-o", " ".join(lp.FIELDS), "-json"]


def answers() -> dict[str, Any]:
    done = recording("lsf/bjobs-json-done.json")
    return {
        "stdin_of": ["bsub"],
        "log_env": ["INJ"],
        "rules": {
            "bjobs": [
                {"when": ["58652"], "stdout": recording("lsf/bjobs-json-psusp.json")},
                {"when": ["22005"], "stdout": done},
                {"when": ["-d"], "stdout": done},
                {"when": ["-a", "-u"], "stdout": done},
                # any other id: exit 255, nothing printed (no recording of LSF's words)
            ],
            "bsub": [{"when": [], "stdout": recording("lsf/bsub.stdout")}],
            # jobs bjobs no longer remembers (past CLEAN_PERIOD): their event history
            "bhist": [
                {"when": ["873209"], "stdout": recording("lsf/bhist-l-exit-code.txt")},
                {"when": ["872795"], "stdout": recording("lsf/bhist-l-done.txt")},
            ],
            "bqueues": [
                {"when": [], "stdout": recording("lsf/bqueues-o-queue_name-status-json.json")}
            ],
            # bkill/bstop/bresume: their answers are not recorded; exit 0, nothing printed
            # (only the exit status is read).
            **{c: [{"when": []}] for c in ("bkill", "bstop", "bresume")},
        },
    }


@pytest.fixture
def replay(hpc_testbed: HPCTestbed):
    with installed(hpc_testbed, COMMANDS, answers()) as r:
        yield r


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], hpc_testbed: HPCTestbed, replay: Replay, tmp_path
) -> dict[str, Any]:
    return server_config(
        jp_server_config, hpc_testbed, tmp_path, "lsf", scheduler="lsf",
        scheduler_bin=replay.bin,
    )  # fmt: skip


async def test_lsf_submit_arrives_as_one_argv_item_per_value(rpc, replay):
    status, listing = await rpc("GET", "clusters")
    [lsf] = [c for c in listing["clusters"] if c["name"] == "lsf"]
    assert lsf["capabilities"] == {
        "hold": True, "arrays": True, "history": True, "test_only": False,
        "efficiency": True, "queues": True, "workdir": True, "dependencies": True,
    }  # fmt: skip
    status, form = await rpc("GET", "clusters", "lsf", "submit-schema")
    assert status == 200, form
    assert [(p["name"], p["state"]) for p in form["partitions"]] == [
        ("batch", "up"),
        ("test", "up"),
    ]
    assert [c["argv"] for c in await replay.calls("bqueues")] == [
        ["-o", "queue_name status", "-json"]
    ]
    script = '#!/bin/bash\necho "$INJ"\n'
    env_value = f"x,y=z\n$(touch {MARKER}); `touch {MARKER}`"
    workdir = f"/tmp/w d;$(touch {MARKER})"
    spec = {
        "script": script, "name": HOSTILE, "time_limit": 90, "cpus": 2, "memory_mb": 512,
        "workdir": workdir, "stdout": "/tmp/o 'x'", "hold": True, "env": {"INJ": env_value},
    }  # fmt: skip
    status, job = await rpc("POST", "clusters", "lsf", "jobs", body=spec)
    assert status == 201, job
    # bsub's recorded answer; bjobs has no record of that id: the server's stub
    assert (job["id"], job["state"], job["raw_state"]) == ("542935", "pending", "SUBMITTED")
    [call] = await replay.calls("bsub")
    assert call["argv"] == [
        "-J", HOSTILE, "-W", "90", "-n", "2", "-R", "rusage[mem=512]", "-cwd", workdir,
        "-o", "/tmp/o 'x'", "-H",
    ]  # fmt: skip
    assert call["stdin"] == script and call["env"] == {"INJ": env_value}
    assert not await replay.exists(MARKER)
    assert [c["argv"] for c in await replay.calls("bjobs")] == [["-a", *OUTPUT, "542935"]]


async def test_lsf_list_detail_history_hold_release_cancel(rpc, replay, hpc_testbed):
    status, listing = await rpc("GET", "clusters", "lsf", "jobs")
    assert status == 200, listing
    [done] = listing["jobs"]
    assert (done["id"], done["state"], done["user"], done["partition"]) == (
        "22005", "completed", "otptest", "short-dmg",
    )  # fmt: skip
    status, job = await rpc("GET", "clusters", "lsf", "jobs", "22005")
    assert status == 200 and job["memory_peak_mb"] == pytest.approx(5.2 * 1024)
    status, held = await rpc("GET", "clusters", "lsf", "jobs", "58652")
    assert status == 200 and (held["state"], held["name"]) == ("held", "hold_job")
    status, after = await rpc("POST", "clusters", "lsf", "jobs", "58652", "hold", body={})
    assert status == 200, after
    status, after = await rpc("POST", "clusters", "lsf", "jobs", "58652", "release", body={})
    assert status == 200, after
    status, after = await rpc("DELETE", "clusters", "lsf", "jobs", "58652")
    assert status == 200, after
    assert [c["argv"] for c in await replay.calls("bstop")] == [["58652"]]
    assert [c["argv"] for c in await replay.calls("bresume")] == [["58652"]]
    assert [c["argv"] for c in await replay.calls("bkill")] == [["58652"]]
    status, err = await rpc("DELETE", "clusters", "lsf", "jobs", "22005")
    assert (status, err["code"]) == (409, "job.finished"), err
    status, err = await rpc("POST", "clusters", "lsf", "jobs", "22005", "release", body={})
    assert (status, err["code"]) == (409, "job.finished"), err
    status, err = await rpc("GET", "clusters", "lsf", "jobs", "777")
    assert (status, err["code"]) == (404, "job.not_found") and "777" in err["message"]
    status, history = await rpc("GET", "clusters", "lsf", "history", params={"days": 366})
    assert status == 200 and [j["id"] for j in history["jobs"]] == ["22005"]
    bjobs = [c["argv"] for c in await replay.calls("bjobs")]
    assert bjobs[0] == ["-a", "-u", hpc_testbed.user, *OUTPUT]
    assert ["-d", "-u", hpc_testbed.user, *OUTPUT] in bjobs
    status, err = await rpc(
        "POST", "clusters", "lsf", "jobs", "test", body={"script": "true", "time_limit": 1}
    )
    assert (status, err["code"]) == (400, "scheduler.unsupported"), err


async def test_lsf_detail_of_a_job_bjobs_forgot_comes_from_bhist(rpc, replay):
    """bjobs forgets a job CLEAN_PERIOD after it ended (an hour by default): its detail
    comes from ``bhist -l`` (recorded at EMBL-EBI), exit code and queue included; a job
    neither knows is still 404."""
    status, job = await rpc("GET", "clusters", "lsf", "jobs", "873209")
    assert status == 200, job
    assert (job["state"], job["exit_code"], job["partition"], job["name"]) == (
        "failed", 127, "research-rh74", "fdfs",
    )  # fmt: skip
    status, job = await rpc("GET", "clusters", "lsf", "jobs", "872795")
    assert status == 200 and (job["state"], job["exit_code"]) == ("completed", 0), job
    status, err = await rpc("GET", "clusters", "lsf", "jobs", "99999")
    assert (status, err["code"]) == (404, "job.not_found"), err
    assert [c["argv"] for c in await replay.calls("bhist")] == [
        ["-l", "873209"], ["-l", "872795"], ["-l", "99999"],
    ]  # fmt: skip
