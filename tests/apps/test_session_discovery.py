"""Sessions found again from the cluster's session folders (issue 14): a server whose
own state is empty (restarted with another state folder, or another server of the same
user) lists the sessions whose folders are on the cluster, with what the scheduler says
of their jobs: a running one is running and its proxy works, one whose job ended is
ended; an ended session is forgotten and its folder removed on the cluster after
``RPCApp.ended_session_ttl``. Real ``jupyter server`` processes, real Slurm jobs of the
HPC test bed's user."""

from __future__ import annotations

import os
import pathlib
import pwd
import signal
import time
from typing import Any

from tests.fixtures.hpc import HPCTestbed
from tests.hardening.conftest import ServerStarter, jupyter_server_process  # noqa: F401

HTTP_SERVER = 'exec python3 -m http.server --bind "$HOST" "$PORT"'


def _config(tb: HPCTestbed, state: pathlib.Path, **more: Any) -> dict[str, Any]:
    cluster = {
        "host": "127.0.0.1",
        "port": tb.port,
        "user": tb.user,
        "identity_file": tb.key,
        "known_hosts": tb.known_hosts,
        "ssh_config": False,
        "scheduler": "slurm",
    }
    return {
        "clusters": {"testbed": cluster},
        "state_dir": str(state),
        "jobs_refresh_min": 0.0,
        **more,
    }


def _wait(server: Any, sid: str, states: set[str], limit: float = 90.0) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while True:
        reply = server.request("GET", f"sessions/{sid}")
        assert reply.status == 200, reply.body
        session = reply.json()
        if session["state"] in states or time.monotonic() > deadline:
            return session
        time.sleep(0.3)


def _listed(server: Any) -> dict[str, dict[str, Any]]:
    reply = server.request("GET", "sessions")
    assert reply.status == 200, reply.body
    return {s["id"]: s for s in reply.json()["sessions"]}


def test_sessions_found_again_from_the_cluster(
    jupyter_server_process: ServerStarter,  # noqa: F811
    hpc_testbed: HPCTestbed,
    tmp_path: pathlib.Path,
) -> None:
    tb = hpc_testbed
    folders = pathlib.Path(pwd.getpwnam(tb.user).pw_dir, ".jupyter-rpc", "sessions")
    first = jupyter_server_process(module=None, rpc_config=_config(tb, tmp_path / "state-1"))
    second = None
    sids: list[str] = []
    jobs: list[str] = []
    try:
        for _ in range(2):
            reply = first.request(
                "POST",
                "sessions",
                {"app": "webapp", "cluster": "testbed", "values": {"command": HTTP_SERVER}},
            )
            assert reply.status == 201, reply.body
            sids.append(reply.json()["id"])
            jobs.append(reply.json()["job_id"])
        running, gone = sids
        for sid in sids:
            assert _wait(first, sid, {"running", "ended"})["state"] == "running"
        assert (folders / running / "session.json").is_file()
        # one job ends behind the session's back (as its time limit would), then the
        # server stops; the other job runs on
        job = first.request("GET", f"sessions/{gone}").json()["job_id"]
        assert first.request("DELETE", f"clusters/testbed/jobs/{job}").status in (200, 202, 204)
        first.stopped = True
        os.kill(first.pid, signal.SIGTERM)
        first.proc.wait(timeout=20)

        # a server with an empty state of its own, an ended session kept 8 s
        second = jupyter_server_process(
            module=None, rpc_config=_config(tb, tmp_path / "state-2", ended_session_ttl=8)
        )
        listed = _listed(second)
        assert running in listed and gone in listed, sorted(listed)
        assert listed[running]["state"] == "running", listed[running]
        assert listed[running]["app"] == "webapp" and listed[running]["cluster"] == "testbed"
        reply = second.request("GET", f"sessions/{running}/proxy/")
        assert reply.status == 200 and b"Directory listing" in reply.body, reply.body[:300]
        assert _wait(second, gone, {"ended"}, 20)["state"] == "ended"

        # after the bound the ended one is forgotten, here and on the cluster
        deadline = time.monotonic() + 30
        while gone in _listed(second) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert gone not in _listed(second), "the ended session is still listed"
        assert not (folders / gone).exists(), "its folder was left on the cluster"
        assert gone not in (tmp_path / "state-2" / "sessions.json").read_text()
        # the running one is kept, and End works from the second server
        assert (folders / running).is_dir()
        reply = second.request("DELETE", f"sessions/{running}")
        assert reply.status == 200 and reply.json()["state"] == "ended"
    finally:
        server = second or first
        if not server.stopped:  # no job left holding the bed's two CPUs
            for job in jobs:
                server.request("DELETE", f"clusters/testbed/jobs/{job}")
