"""Users kept apart on a site-wide hub: alice's calls, jobs and files are not bob's (with
tokens and with a browser's cookies), bob's token gets 403 on alice's server, backends and
local jobs run as their user, and bob cannot read alice's job state from the file system;
a cookie-authenticated POST needs the XSRF header."""

from __future__ import annotations

import pwd
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.hub.conftest import Client, Hub

ADD = {"function": "add", "arguments": {"a": 2, "b": 3}, "wait": 30}


def wait_job(client: Client, job_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, job = client("GET", "clusters", "local", "jobs", job_id)
        assert status == 200, job
        if job["state"] not in ("pending", "running", "completing"):
            return dict(job)
        assert time.monotonic() < deadline, job
        time.sleep(0.3)


def uid_of(pid: int) -> str:
    with open(f"/proc/{pid}/status") as f:
        uid = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
    return pwd.getpwuid(uid).pw_name


def descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        p, pp = map(int, line.split())
        children.setdefault(pp, []).append(p)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@pytest.fixture(scope="module")
def clients(hub: Hub, alice: str, bob: str) -> dict[str, Client]:
    return {
        "alice": Client(alice, hub.user_token("alice")),
        "bob": Client(bob, hub.user_token("bob")),
    }


def test_each_user_sees_only_their_own_calls_jobs_and_files(
    hub: Hub, clients: dict[str, Client]
) -> None:
    alice, bob = clients["alice"], clients["bob"]
    tag = uuid.uuid4().hex[:8]
    status, call = alice("POST", "backends", "examples", "calls", body=ADD)
    assert status in (200, 201) and call["result"] == 5, call
    status, job = alice(
        "POST",
        "clusters",
        "local",
        "jobs",
        body={"script": "#!/bin/sh\nid -un\n", "name": f"who-{tag}"},
    )
    assert status == 201, job
    job = wait_job(alice, job["id"])
    assert job["state"] == "completed", job
    save = {"type": "file", "format": "text", "content": "alice's\n"}
    assert (
        alice("PUT", "clusters", "local", "files", f"home/only-alice-{tag}.txt", body=save)[0]
        == 200
    )

    # the job and the backend ran as alice
    assert Path(job["stdout"]).read_text() == "alice\n"
    assert Path(job["stdout"]).owner() == "alice"
    server = hub.server_model("alice")
    assert server
    backends = [
        pid
        for pid in descendants(int(server["state"]["pid"]))
        if b"jupyter_rpc.backend" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    assert backends and {uid_of(pid) for pid in backends} == {"alice"}

    # bob's server knows none of it; his home is his
    status, calls = bob("GET", "calls")
    assert status == 200 and call["id"] not in {c["id"] for c in calls["calls"]}
    status, jobs = bob("GET", "clusters", "local", "jobs")
    assert status == 200 and f"who-{tag}" not in {j["name"] for j in jobs["jobs"]}
    assert bob("GET", "clusters", "local", "files", f"home/only-alice-{tag}.txt")[0] == 404
    status, listing = bob("GET", "clusters", "local", "files", "home")
    assert status == 200 and f"only-alice-{tag}.txt" not in str(listing)

    # alice's own browser session (cookies) sees her call and job
    session = Client(hub.server_url("alice"), session=hub.login("alice"))
    status, calls = session("GET", "calls")
    assert status == 200 and call["id"] in {c["id"] for c in calls["calls"]}
    status, jobs = session("GET", "clusters", "local", "jobs")
    assert status == 200 and f"who-{tag}" in {j["name"] for j in jobs["jobs"]}
    alice("DELETE", "clusters", "local", "files", f"home/only-alice-{tag}.txt")


def test_bob_gets_403_on_alices_server(hub: Hub, clients: dict[str, Client]) -> None:
    bob_on_alice = Client(hub.server_url("alice"), hub.user_token("bob"))
    for method, path, body in (
        ("GET", ("calls",), None),
        ("GET", ("clusters", "local", "jobs"), None),
        ("GET", ("clusters", "local", "files", "home"), None),
        ("POST", ("backends", "examples", "calls"), ADD),
    ):
        status, answer = bob_on_alice(method, *path, body=body)
        assert status == 403, (method, path, status, answer)
    # bob's browser: alice's server sends him to the hub's OAuth, which refuses him, so he
    # gets no cookie for her server and her API refuses his session
    bob_session = hub.login("bob")
    response = bob_session.get(f"{hub.server_url('alice')}/lab", timeout=30)
    assert response.status_code == 403 and "/hub/" in response.url, (
        response.status_code,
        response.url,
    )
    status, answer = Client(hub.server_url("alice"), session=bob_session)("GET", "calls")
    assert status == 403, (status, answer)


def test_bob_cannot_read_alices_job_state_from_the_file_system(
    hub: Hub, clients: dict[str, Client]
) -> None:
    alice = clients["alice"]
    script = "#!/bin/sh\necho secret output\n"
    status, job = alice(
        "POST",
        "clusters",
        "local",
        "jobs",
        body={"script": script, "env": {"API_KEY": "alice-secret"}},
    )
    assert status == 201, job
    job = wait_job(alice, job["id"])
    state = Path("/home/alice/.local/share/jupyter/jupyter_rpc/local-jobs")
    files = [state / job["id"] / "job.json", state / job["id"] / "script.sh", Path(job["stdout"])]
    for path in files:
        assert path.exists(), path
        read = subprocess.run(
            ["runuser", "-u", "bob", "--", "cat", str(path)], capture_output=True, text=True
        )
        assert read.returncode != 0 and "Permission denied" in read.stderr, (path, read)
        assert "alice-secret" not in read.stdout and "secret output" not in read.stdout


def test_a_cookie_post_needs_the_xsrf_header(hub: Hub, alice: str) -> None:
    session = Client(alice, session=hub.login("alice"))
    status, answer = session("POST", "backends", "examples", "calls", body=ADD, xsrf=False)
    assert status == 403, (status, answer)
    assert "xsrf" in str(answer).lower(), answer
    status, calls = session("GET", "calls")
    assert status == 200
    status, call = session("POST", "backends", "examples", "calls", body=ADD)
    assert status in (200, 201) and call["result"] == 5, call


def test_the_request_after_a_refused_post_is_answered(hub: Hub, alice: str) -> None:
    """A POST refused before its body is read (no XSRF header, no login) must not leave the
    proxy a kept-alive connection that the server then closes: the next request through the
    proxy would fail with 503 ('read ECONNRESET' in the proxy's log)."""
    session = Client(alice, session=hub.login("alice"))
    anonymous = Client(alice)
    failures = []
    for i in range(20):
        client = session if i % 2 else anonymous
        status, _ = client("POST", "backends", "examples", "calls", body=ADD, xsrf=False)
        assert status == 403
        status, answer = session("GET", "backends")
        if status != 200:
            failures.append((i, status))
    assert not failures, failures
