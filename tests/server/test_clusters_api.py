"""Clusters, jobs and files through the REST API: a real Jupyter server, the local cluster
(real processes, a real folder), as the panels and the notebook client use them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], home: Path, with_local_cluster: Any
) -> dict[str, Any]:
    return with_local_cluster(
        jp_server_config, home, display_name="This computer", jobs_refresh_min=30.0
    )


async def _wait_state(rpc, job_id: str, states: set[str], timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, job = await rpc("GET", "clusters", "local", "jobs", job_id)
        assert status == 200, job
        if job["state"] in states:
            return job
        assert time.monotonic() < deadline, f"job {job_id} stayed {job['state']}"
        await asyncio.sleep(0.2)


# -- clusters ---------------------------------------------------------------------------


async def test_the_local_cluster_is_listed(rpc, home):
    status, body = await rpc("GET", "clusters")
    assert status == 200
    (local,) = body["clusters"]
    assert local["name"] == "local" and local["kind"] == "local" and local["scheduler"] == "local"
    assert local["state"] == "connected" and local["source"] == "site"
    assert [r["name"] for r in local["roots"]] == ["home"]
    status, err = await rpc("GET", "clusters", "nosuch")
    assert status == 404 and err["code"] == "cluster.not_found" and "local" in err["message"]


async def test_user_clusters_are_added_kept_private_and_removed(rpc, tmp_path):
    status, err = await rpc("POST", "clusters", body={"name": "bad name", "host": "x"})
    assert status == 400 and err["code"] == "cluster.invalid" and "name" in err["message"]
    status, err = await rpc("POST", "clusters", body={"name": "mine", "host": "h", "submit": {}})
    assert status == 400 and "submit" in err["message"]  # admin-only key
    status, cluster = await rpc(
        "POST",
        "clusters",
        body={
            "name": "mine",
            "host": "127.0.0.1",
            "port": 2222,
            "user": "me",
            "scheduler": "slurm",
        },
    )
    assert status == 201, cluster
    assert cluster["source"] == "user" and cluster["kind"] == "ssh" and cluster["state"] == "idle"
    saved = tmp_path / "state" / "clusters.json"
    assert json.loads(saved.read_text())["mine"]["host"] == "127.0.0.1"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    status, err = await rpc("POST", "clusters", body={"name": "mine", "host": "h"})
    assert status == 409 and err["code"] == "cluster.exists"
    status, err = await rpc("DELETE", "clusters", "local")
    assert status == 403 and err["code"] == "cluster.site_defined"
    assert await rpc("DELETE", "clusters", "mine") == (204, None)
    status, body = await rpc("GET", "clusters")
    assert [c["name"] for c in body["clusters"]] == ["local"]
    assert json.loads(saved.read_text()) == {}


# -- files ------------------------------------------------------------------------------


async def test_browse_open_edit_save_rename_delete(rpc, home):
    status, top = await rpc("GET", "clusters", "local", "files", "")
    assert status == 200 and top["type"] == "directory"
    assert [e["name"] for e in top["content"]] == ["home"]
    status, folder = await rpc("GET", "clusters", "local", "files", "home/data")
    assert [e["name"] for e in folder["content"]] == ["notes.txt"]
    status, text = await rpc("GET", "clusters", "local", "files", "home/data/notes.txt")
    assert status == 200 and text["content"] == "first line\n" and text["format"] == "text"
    assert text["real_path"] == str(home / "data" / "notes.txt")

    status, saved = await rpc(
        "PUT",
        "clusters",
        "local",
        "files",
        "home/data/notes.txt",
        body={
            "type": "file",
            "format": "text",
            "content": "second line\n",
            "last_modified": text["last_modified"],
        },
    )
    assert status == 200, saved
    assert (home / "data" / "notes.txt").read_text() == "second line\n"

    # Changed on disk since the editor read it: the save is refused, nothing is lost.
    later = time.time() + 5
    (home / "data" / "notes.txt").write_text("changed elsewhere\n")
    os.utime(home / "data" / "notes.txt", (later, later))
    status, err = await rpc(
        "PUT",
        "clusters",
        "local",
        "files",
        "home/data/notes.txt",
        body={
            "type": "file",
            "format": "text",
            "content": "mine\n",
            "last_modified": saved["last_modified"],
        },
    )
    assert status == 409 and err["code"] == "files.conflict"
    assert (home / "data" / "notes.txt").read_text() == "changed elsewhere\n"

    status, moved = await rpc(
        "PATCH",
        "clusters",
        "local",
        "files",
        "home/data/notes.txt",
        body={"path": "home/notes 2 ü.txt"},
    )
    assert status == 200 and moved["path"] == "home/notes 2 ü.txt"
    assert (home / "notes 2 ü.txt").exists() and not (home / "data" / "notes.txt").exists()

    status, new_dir = await rpc(
        "POST", "clusters", "local", "files", "home", body={"type": "directory"}
    )
    assert status == 201 and new_dir["type"] == "directory" and (home / new_dir["name"]).is_dir()
    status, untitled = await rpc(
        "POST", "clusters", "local", "files", "home", body={"type": "file", "ext": ".py"}
    )
    assert status == 201 and untitled["name"].endswith(".py")
    status, nb = await rpc("POST", "clusters", "local", "files", "home", body={"type": "notebook"})
    assert status == 201 and nb["type"] == "notebook"
    status, opened = await rpc("GET", "clusters", "local", "files", nb["path"])
    assert opened["format"] == "json" and opened["content"]["nbformat"] == 4

    assert await rpc("DELETE", "clusters", "local", "files", "home/data") == (204, None)
    assert not (home / "data").exists()
    status, err = await rpc("GET", "clusters", "local", "files", "home/data")
    assert status == 404 and err["code"] == "files.not_found"


@pytest.mark.parametrize(
    "path",
    ["home/../../etc/passwd", "home/%2E%2E/%2E%2E/etc/passwd", "nosuchroot/x", "home/link/passwd"],
)
async def test_paths_outside_the_roots_are_refused(rpc, home, path):
    (home / "link").symlink_to("/etc")
    status, err = await rpc("GET", "clusters", "local", "files", path)
    assert status in (403, 404), err
    assert err["code"] in ("files.outside_roots", "files.not_found")
    assert "root:" not in json.dumps(err)  # nothing of /etc/passwd leaks


async def test_chunked_upload_like_jupyterlab(rpc, home):
    pieces = [os.urandom(1000), os.urandom(1000), os.urandom(10)]
    for number, piece in zip([1, 2, -1], pieces, strict=True):
        status, body = await rpc(
            "PUT",
            "clusters",
            "local",
            "files",
            "home/upload.bin",
            body={
                "type": "file",
                "format": "base64",
                "content": base64.b64encode(piece).decode(),
                "chunk": number,
            },
        )
        assert status == 200, body
        if number != -1:
            assert not (home / "upload.bin").exists()  # not in place before the last chunk
    assert (home / "upload.bin").read_bytes() == b"".join(pieces)
    assert [p.name for p in home.iterdir() if "upload" in p.name] == ["upload.bin"]  # no debris


async def test_streamed_upload_and_download(jp_fetch, home):
    data = os.urandom(3 * 1024 * 1024 + 17)
    response = await jp_fetch(
        "jupyter-rpc",
        "clusters",
        "local",
        "upload",
        "home",
        "big.bin",
        method="PUT",
        body=data,
        request_timeout=60,
    )
    assert response.code == 201
    assert json.loads(response.body)["size"] == len(data)
    assert hashlib.sha256((home / "big.bin").read_bytes()).digest() == hashlib.sha256(data).digest()
    response = await jp_fetch(
        "jupyter-rpc", "clusters", "local", "download", "home", "big.bin", request_timeout=60
    )
    assert response.body == data
    assert "attachment" in response.headers["Content-Disposition"]
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(
            "jupyter-rpc",
            "clusters",
            "local",
            "upload",
            "home",
            "big.bin",
            method="PUT",
            body=b"x",
            params={"overwrite": "0"},
        )
    assert info.value.code == 409
    assert (home / "big.bin").stat().st_size == len(data)


# -- jobs -------------------------------------------------------------------------------


async def test_submit_watch_output_and_exit_code(rpc, home):
    status, form = await rpc("GET", "clusters", "local", "submit-schema")
    assert status == 200 and form["partitions"] and form["schema"]["type"] == "object"
    script = "#!/bin/bash\necho hello from $JOB_ID\necho oops >&2\nexit 3\n"
    status, job = await rpc(
        "POST", "clusters", "local", "jobs", body={"script": script, "name": "first"}
    )
    assert status == 201, job
    job = await _wait_state(rpc, job["id"], {"completed", "failed"})
    assert job["state"] == "failed" and job["exit_code"] == 3 and job["name"] == "first"
    status, out = await rpc(
        "GET", "clusters", "local", "jobs", job["id"], "output", params={"stream": "stdout"}
    )
    assert (
        status == 200
        and out["data"] == f"hello from {job['id']}\n"
        and out["next_offset"] == len(out["data"])
    )
    status, err = await rpc(
        "GET", "clusters", "local", "jobs", job["id"], "output", params={"stream": "stderr"}
    )
    assert err["data"] == "oops\n"
    status, more = await rpc(
        "GET",
        "clusters",
        "local",
        "jobs",
        job["id"],
        "output",
        params={"stream": "stdout", "offset": str(out["next_offset"])},
    )
    assert more["data"] == "" and more["next_offset"] == out["next_offset"]
    status, body = await rpc("GET", "clusters", "local", "jobs")
    assert job["id"] in [j["id"] for j in body["jobs"]]
    # what a resubmit would send, for the dialog to show before anything is submitted
    status, again = await rpc("GET", "clusters", "local", "jobs", job["id"], "resubmit")
    assert status == 200, again
    assert again["script"] == script and again["name"] == "first"
    status, body = await rpc("GET", "clusters", "local", "jobs")
    assert len(body["jobs"]) == 1  # reading it submitted nothing
    status, err = await rpc("GET", "clusters", "local", "jobs", "9999", "resubmit")
    assert status == 404 and err["code"] == "job.not_found"


async def test_cancel_hold_release(rpc):
    status, job = await rpc(
        "POST", "clusters", "local", "jobs", body={"script": "sleep 60", "name": "long"}
    )
    await _wait_state(rpc, job["id"], {"running"})
    status, cancelled = await rpc("DELETE", "clusters", "local", "jobs", job["id"])
    assert status == 200 and cancelled["state"] == "cancelled"
    status, err = await rpc("DELETE", "clusters", "local", "jobs", job["id"])
    assert status == 409 and err["code"] == "job.finished"

    status, held = await rpc(
        "POST", "clusters", "local", "jobs", body={"script": "echo released", "hold": True}
    )
    assert (await _wait_state(rpc, held["id"], {"held"}))["state"] == "held"
    status, body = await rpc("POST", "clusters", "local", "jobs", held["id"], "release", body={})
    assert status == 200
    assert (await _wait_state(rpc, held["id"], {"completed"}))["exit_code"] == 0


async def test_one_scheduler_query_serves_every_caller(rpc, jp_serverapp):
    (app,) = jp_serverapp.extension_manager.extension_apps["jupyter_rpc"]
    local = app.services.clusters.get("local")
    before = local.queries
    answers = await asyncio.gather(*(rpc("GET", "clusters", "local", "jobs") for _ in range(8)))
    assert all(status == 200 for status, _ in answers)
    again = await rpc("GET", "clusters", "local", "jobs")
    assert again[0] == 200
    assert local.queries - before == 1


async def test_bad_job_requests_get_clear_errors(rpc):
    status, err = await rpc("POST", "clusters", "local", "jobs", body={"name": "no script"})
    assert status == 400 and err["code"] == "request.invalid"
    status, err = await rpc(
        "POST", "clusters", "local", "jobs", body={"script": "true", "cpus": "many"}
    )
    assert status == 400 and "cpus" in err["message"]
    status, err = await rpc("GET", "clusters", "local", "jobs", "999999")
    assert status == 404 and err["code"] == "job.not_found"
    status, err = await rpc(
        "GET", "clusters", "local", "jobs", "1", "output", params={"stream": "stdin"}
    )
    assert status in (400, 404)


async def test_names_with_percent_signs_are_taken_literally(rpc, home):
    # jp_fetch sends "a%2541.txt" (the characters "a%41.txt"): decoded once, never twice.
    status, saved = await rpc(
        "PUT",
        "clusters",
        "local",
        "files",
        "home/a%41.txt",
        body={"type": "file", "format": "text", "content": "x"},
    )
    assert status == 200, saved
    assert (home / "a%41.txt").read_text() == "x" and not (home / "aA.txt").exists()


async def test_a_live_tail_asks_the_scheduler_for_the_paths_once(rpc, jp_serverapp):
    (app,) = jp_serverapp.extension_manager.extension_apps["jupyter_rpc"]
    scheduler = app.services.clusters.get("local").scheduler
    status, job = await rpc(
        "POST", "clusters", "local", "jobs", body={"script": "echo one; sleep 1; echo two"}
    )
    asked = []
    real_get_job = scheduler.get_job

    async def counting_get_job(job_id):
        asked.append(job_id)
        return await real_get_job(job_id)

    scheduler.get_job = counting_get_job
    seen, offset = "", 0
    for _ in range(100):
        status, out = await rpc(
            "GET", "clusters", "local", "jobs", job["id"], "output", params={"offset": str(offset)}
        )
        assert status == 200
        seen, offset = seen + out["data"], out["next_offset"]
        if seen == "one\ntwo\n":
            break
        await asyncio.sleep(0.1)
    assert seen == "one\ntwo\n"
    assert asked == [job["id"]]
