"""Clusters over SSH through the REST API: a real Jupyter server, real OpenSSH, real
Slurm 22.05 with accounting (the test bed of tests/hpc/testbed), as the panels use them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import pathlib
import secrets
import subprocess
import time
from typing import Any

import pytest

from tests.fixtures.hpc import HPCTestbed


def _ssh_cluster(tb: HPCTestbed, **extra: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": tb.port,
        "user": tb.user,
        "identity_file": tb.key,
        "known_hosts": tb.known_hosts,
        "ssh_config": False,
        "scheduler": "slurm",
        **extra,
    }


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], hpc_testbed: HPCTestbed, tmp_path
) -> dict[str, Any]:
    tb = hpc_testbed
    empty_known_hosts = tmp_path / "empty_known_hosts"
    empty_known_hosts.write_text("")
    changed = tmp_path / "changed_known_hosts"
    # The test bed's host with somebody else's key: a changed key.
    other = pathlib.Path(tb.key + ".pub").read_text().split()[:2]
    changed.write_text(f"[127.0.0.1]:{tb.port} {other[0]} {other[1]}\n")
    return {
        **jp_server_config,
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {
                "testbed": _ssh_cluster(tb, submit={"qos": {"hidden": True}}),
                "viajump": {
                    "host": "testbed-via-jump",
                    "ssh_config": tb.ssh_config,
                    "scheduler": "slurm",
                },
                "newhost": _ssh_cluster(tb, known_hosts=str(empty_known_hosts), scheduler="none"),
                "changed": _ssh_cluster(tb, known_hosts=str(changed), scheduler="none"),
                "password": {
                    "host": "127.0.0.1",
                    "port": tb.password_port,
                    "user": tb.user,
                    "known_hosts": tb.known_hosts,
                    "ssh_config": False,
                    "agent": False,
                    "scheduler": "none",
                },
            },
            "state_dir": str(tmp_path / "state"),
            "jobs_refresh_min": 0.0,
        },
    }


@pytest.fixture
def submitted(hpc_testbed: HPCTestbed):
    """Job ids this test submitted; cancelled at the end (only these, by id)."""
    ids: list[tuple[str, str]] = []
    yield ids
    if ids:
        subprocess.run(
            [
                "ssh",
                "-F",
                hpc_testbed.ssh_config,
                "testbed",
                "scancel " + " ".join(j for _, j in ids),
            ],
            check=False,
            timeout=60,
            capture_output=True,
        )


async def _submit(rpc, submitted, cluster: str = "testbed", **spec: Any) -> dict[str, Any]:
    status, job = await rpc("POST", "clusters", cluster, "jobs", body=spec)
    assert status == 201, job
    submitted.append((cluster, job["id"].split("_")[0]))
    return job


async def _wait(
    rpc, job_id: str, states: set[str], timeout: float = 60.0, cluster: str = "testbed"
) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, job = await rpc("GET", "clusters", cluster, "jobs", job_id)
        assert status == 200, job
        if job["state"] in states:
            return job
        assert time.monotonic() < deadline, f"job {job_id} stayed {job['state']} ({job['reason']})"
        await asyncio.sleep(0.5)


async def test_submit_list_detail_tail_and_history(rpc, submitted, hpc_testbed):
    script = "#!/bin/bash\necho start\nsleep 2\necho 'ünïcode line'\nexit 3\n"
    job = await _submit(
        rpc,
        submitted,
        script=script,
        name="api-test",
        partition="debug",
        time_limit=2,
        cpus=1,
        memory_mb=100,
        account="teamb",
        stdout="api-%j.out",
    )
    status, listing = await rpc("GET", "clusters", "testbed", "jobs")
    assert status == 200 and listing["user"] == hpc_testbed.user
    mine = {j["id"]: j for j in listing["jobs"]}
    assert (
        job["id"] in mine
        and mine[job["id"]]["name"] == "api-test"
        and mine[job["id"]]["partition"] == "debug"
    )
    detail = await _wait(rpc, job["id"], {"failed", "completed"})
    assert detail["state"] == "failed" and detail["exit_code"] == 3 and detail["account"] == "teamb"
    assert detail["stdout"] == f"/home/{hpc_testbed.user}/api-{job['id']}.out"
    status, out = await rpc(
        "GET", "clusters", "testbed", "jobs", job["id"], "output", params={"stream": "stdout"}
    )
    assert status == 200 and out["data"] == "start\nünïcode line\n"
    # A tail from the middle: only what is new.
    status, tail = await rpc(
        "GET",
        "clusters",
        "testbed",
        "jobs",
        job["id"],
        "output",
        params={"stream": "stdout", "offset": "6"},
    )
    assert tail["data"] == "ünïcode line\n"
    deadline = time.monotonic() + 30
    while True:  # accounting catches up asynchronously
        status, history = await rpc("GET", "clusters", "testbed", "history", params={"days": "1"})
        ended = {j["id"]: j for j in history["jobs"]}
        if job["id"] in ended:
            break
        assert time.monotonic() < deadline, "the job never reached sacct"
        await asyncio.sleep(1)
    assert ended[job["id"]]["exit_code"] == 3


async def test_cancel_hold_release_and_test_only(rpc, submitted):
    status, estimate = await rpc(
        "POST", "clusters", "testbed", "jobs", "test", body={"script": "sleep 1", "time_limit": 1}
    )
    assert status == 200 and estimate["expected_start"] and "partition" in estimate["message"]
    held = await _submit(
        rpc, submitted, script="#!/bin/bash\nsleep 30\n", time_limit=1, hold=True, name="held"
    )
    assert (await _wait(rpc, held["id"], {"held"}))["state"] == "held"
    status, released = await rpc(
        "POST", "clusters", "testbed", "jobs", held["id"], "release", body={}
    )
    assert status == 200 and released["state"] != "held"
    status, cancelled = await rpc("DELETE", "clusters", "testbed", "jobs", held["id"])
    assert status == 200
    assert (await _wait(rpc, held["id"], {"cancelled"}))["state"] == "cancelled"
    status, err = await rpc("POST", "clusters", "testbed", "jobs", "999999", "hold", body={})
    assert status == 404 and err["code"] == "job.not_found"


async def test_array_tasks_are_listed_one_by_one(rpc, submitted):
    job = await _submit(
        rpc,
        submitted,
        script="#!/bin/bash\nsleep 20\n",
        array="1-3",
        time_limit=1,
        hold=True,
        name="arr",
    )
    array_id = job["id"].split("_")[0]
    status, listing = await rpc("GET", "clusters", "testbed", "jobs")
    tasks = [j for j in listing["jobs"] if j["array_job_id"] == array_id]
    assert tasks, listing
    assert {j["state"] for j in tasks} == {"held"}


async def test_bad_specs_and_refused_fields(rpc, submitted):
    status, err = await rpc(
        "POST", "clusters", "testbed", "jobs", body={"script": "true", "partition": "nosuch"}
    )
    assert status in (400, 502) and "nosuch" in err["message"]
    status, err = await rpc(
        "POST", "clusters", "testbed", "jobs", body={"script": "true", "qos": "normal"}
    )
    assert status == 400 and "qos" in err["message"]  # hidden by the site: not the user's to set
    status, err = await rpc(
        "POST",
        "clusters",
        "testbed",
        "jobs",
        body={"script": "true", "partition": "debug", "time_limit": 120},
    )
    assert status == 400 and err["code"] == "job.invalid" and "60 minutes" in err["message"]
    status, form = await rpc("GET", "clusters", "testbed", "submit-schema")
    assert status == 200
    assert {p["name"] for p in form["partitions"]} >= {"debug", "long"}
    assert form["ui_schema"]["qos"]["ui:widget"] == "hidden"  # the form does not show it


async def test_injection_corpus_runs_nothing(rpc, submitted, hpc_testbed, tmp_path):
    marker = f"/tmp/jrpc-marker-{secrets.token_hex(4)}"
    nasty = [
        f"x; touch {marker}",
        f"$(touch {marker})",
        f"`touch {marker}`",
        f"'\"; touch {marker}; echo \"'",
        "ünï cödé ✓",
    ]
    for value in nasty:
        status, body = await rpc(
            "POST",
            "clusters",
            "testbed",
            "jobs",
            body={
                "script": '#!/bin/bash\necho "$MYVAR"\n',
                "name": value,
                "env": {"MYVAR": value},
                "time_limit": 1,
                "hold": True,
            },
        )
        if status == 201:
            submitted.append(("testbed", body["id"]))
            status, detail = await rpc("GET", "clusters", "testbed", "jobs", body["id"])
            assert detail["name"] == value  # arrived literally
        else:
            assert status == 400 and body["code"] == "job.invalid", body  # refused clearly
    status, err = await rpc(
        "POST", "clusters", "testbed", "jobs", body={"script": "true", "name": "a\nb"}
    )
    assert status == 400 and "name" in err["message"]
    await asyncio.sleep(1)
    assert not os.path.exists(marker)  # noqa: ASYNC240 - a test


async def test_proxyjump_cluster_lists_jobs(rpc, hpc_testbed):
    status, listing = await rpc("GET", "clusters", "viajump", "jobs")
    assert status == 200, listing
    status, cluster = await rpc("GET", "clusters", "viajump")
    assert cluster["state"] == "connected"


async def test_unknown_host_key_is_shown_then_trusted(rpc):
    status, err = await rpc("POST", "clusters", "newhost", "connect", body={})
    assert status == 428 and err["code"] == "ssh.host_unknown", err
    fingerprint = err["details"]["fingerprint"]
    assert fingerprint.startswith("SHA256:") and fingerprint in err["message"]
    status, err2 = await rpc(
        "POST", "clusters", "newhost", "trust", body={"fingerprint": "SHA256:AAAAwrong"}
    )
    assert status in (400, 409, 502) and err2["code"] != "internal"
    status, cluster = await rpc(
        "POST", "clusters", "newhost", "trust", body={"fingerprint": fingerprint}
    )
    assert status == 200 and cluster["state"] == "connected", cluster
    status, listing = await rpc(
        "GET", "clusters", "newhost", "files", "home", params={"content": "0"}
    )
    assert status == 200


async def test_changed_host_key_is_refused(rpc):
    status, err = await rpc("POST", "clusters", "changed", "connect", body={})
    assert status == 502 and err["code"] == "ssh.host_key_changed", err
    status, err = await rpc(
        "POST", "clusters", "changed", "trust", body={"fingerprint": "SHA256:x"}
    )
    assert status >= 400 and err["code"] != "internal"
    status, cluster = await rpc("GET", "clusters", "changed")
    assert cluster["state"] != "connected"


async def test_password_prompt_is_answered_through_the_api(rpc, hpc_testbed):
    if not hpc_testbed.password:
        pytest.skip("the test bed has no password sshd (older up.sh)")
    status, err = await rpc("POST", "clusters", "password", "connect", body={})
    assert status == 428 and err["code"] == "ssh.auth_required", err
    prompt = err["details"]["prompt"]
    assert prompt["prompts"] and prompt["prompts"][0]["echo"] is False
    status, cluster = await rpc("GET", "clusters", "password")
    assert cluster["state"] == "auth_required" and cluster["prompt"]["id"] == prompt["id"]
    status, cluster = await rpc(
        "POST",
        "clusters",
        "password",
        "auth",
        body={"prompt_id": prompt["id"], "responses": [hpc_testbed.password]},
    )
    assert status == 200 and cluster["state"] == "connected", cluster
    assert hpc_testbed.password not in str(cluster)


async def test_remote_files_edit_upload_download(rpc, jp_fetch, hpc_testbed):
    folder = f"home/jrpc-api-{secrets.token_hex(4)}"
    status, made = await rpc(
        "PUT", "clusters", "testbed", "files", folder, body={"type": "directory"}
    )
    assert status == 201, made
    try:
        status, saved = await rpc(
            "PUT",
            "clusters",
            "testbed",
            "files",
            f"{folder}/input file ü.txt",
            body={"type": "file", "format": "text", "content": "alpha\n"},
        )
        assert status == 200, saved
        assert saved["real_path"] == f"/home/{hpc_testbed.user}/{folder[5:]}/input file ü.txt"
        status, opened = await rpc(
            "GET", "clusters", "testbed", "files", f"{folder}/input file ü.txt"
        )
        assert opened["content"] == "alpha\n"
        status, saved2 = await rpc(
            "PUT",
            "clusters",
            "testbed",
            "files",
            f"{folder}/input file ü.txt",
            body={
                "type": "file",
                "format": "text",
                "content": "beta\n",
                "last_modified": opened["last_modified"],
            },
        )
        assert status == 200
        status, err = await rpc(
            "PUT",
            "clusters",
            "testbed",
            "files",
            f"{folder}/input file ü.txt",
            body={
                "type": "file",
                "format": "text",
                "content": "gamma\n",
                "last_modified": "2001-01-01T00:00:00+00:00",
            },
        )
        assert status == 409 and err["code"] == "files.conflict"
        data = os.urandom(2 * 1024 * 1024 + 3)
        response = await jp_fetch(
            "jupyter-rpc",
            "clusters",
            "testbed",
            "upload",
            folder,
            "blob.bin",
            method="PUT",
            body=data,
            request_timeout=60,
        )
        assert response.code == 201
        response = await jp_fetch(
            "jupyter-rpc", "clusters", "testbed", "download", folder, "blob.bin", request_timeout=60
        )
        assert hashlib.sha256(response.body).digest() == hashlib.sha256(data).digest()
        status, chunk = await rpc(
            "PUT",
            "clusters",
            "testbed",
            "files",
            f"{folder}/small.bin",
            body={
                "type": "file",
                "format": "base64",
                "content": base64.b64encode(b"abc").decode(),
                "chunk": -1,
            },
        )
        assert status == 200, chunk
        status, err = await rpc("GET", "clusters", "testbed", "files", "home/../../../etc/passwd")
        assert status == 403 and err["code"] == "files.outside_roots"
        status, listing = await rpc("GET", "clusters", "testbed", "files", folder)
        assert sorted(e["name"] for e in listing["content"]) == [
            "blob.bin",
            "input file ü.txt",
            "small.bin",
        ]
    finally:
        await rpc("DELETE", "clusters", "testbed", "files", folder)
