"""A hub stop and start with a local job running: the hub's DELETE of alice's server (what
its admin page and the idle culler do) leaves the job running, the next server re-adopts it
(jupyter_rpc/schedulers/local.py), shows it running, and Cancel ends it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.hub.conftest import Client, Hub, alive


def job_state(client: Client, job_id: str) -> str:
    status, job = client("GET", "clusters", "local", "jobs", job_id)
    assert status == 200, job
    return str(job["state"])


def wait_for(what: str, check: Callable[[], object], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for: {what}"
        time.sleep(0.2)


def test_a_running_job_survives_a_hub_stop_and_start_and_cancels(hub: Hub, alice: str) -> None:
    token = hub.user_token("alice")
    client = Client(alice, token)
    pid_file = Path(f"/home/alice/restart-{uuid.uuid4().hex[:8]}.pid")
    script = f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 300\n"
    status, job = client("POST", "clusters", "local", "jobs", body={"script": script})
    assert status == 201, job
    job_id = job["id"]
    try:
        wait_for("the job to run", lambda: pid_file.exists() and pid_file.read_text().strip())
        pid = int(pid_file.read_text())
        assert job_state(client, job_id) == "running"

        hub.stop("alice")
        assert alive(pid), "the job ended with its server"
        hub.start("alice")

        client = Client(alice, token)
        assert job_state(client, job_id) == "running"
        assert alive(pid)
        status, answer = client("DELETE", "clusters", "local", "jobs", job_id)
        assert status in (200, 202, 204), answer
        wait_for("the job to end", lambda: not alive(pid))
        wait_for("the job to be cancelled", lambda: job_state(client, job_id) == "cancelled")
    finally:
        pid_file.unlink(missing_ok=True)
