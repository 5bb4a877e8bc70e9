"""A session outlives the Jupyter server (issue 14): real ``jupyter server`` processes
with the local cluster; the app's job is re-adopted by the next server (38c7a9a), which
finds the session in its state folder, sees from the scheduler and the session folder
that it runs, and proxies to it."""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any

from tests.hardening.conftest import ServerStarter, jupyter_server_process  # noqa: F401
from tests.schedulers.test_local_readoption import _pids_with


def _wait_running(server: Any, sid: str, limit: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while True:
        reply = server.request("GET", f"sessions/{sid}")
        assert reply.status == 200, reply.body
        session = reply.json()
        if session["state"] in ("running", "ended") or time.monotonic() > deadline:
            return session
        time.sleep(0.2)


def test_a_session_is_found_again_after_a_server_restart(
    jupyter_server_process: ServerStarter,  # noqa: F811
    tmp_path: Any,
) -> None:
    served = tmp_path / f"served-{os.urandom(4).hex()}"
    served.mkdir()
    (served / "hello.txt").write_text("hello from the app\n")
    first = jupyter_server_process(module=None)
    state = first.home.parent / "state"
    command = f'exec {sys.executable} -m http.server --bind "$HOST" --directory {served} "$PORT"'
    try:
        reply = first.request(
            "POST",
            "sessions",
            {"app": "webapp", "cluster": "local", "values": {"command": command}},
        )
        assert reply.status == 201, reply.body
        sid = reply.json()["id"]
        assert _wait_running(first, sid)["state"] == "running"
        assert (
            first.request("GET", f"sessions/{sid}/proxy/hello.txt").body == b"hello from the app\n"
        )

        first.stopped = True  # stopped here; the app's job outlives it
        os.kill(first.pid, signal.SIGTERM)
        first.proc.wait(timeout=20)
        assert _pids_with(str(served)), "the app ended with the server"

        second = jupyter_server_process(module=None, rpc_config={"state_dir": str(state)})
        listed = second.request("GET", "sessions").json()["sessions"]
        assert [s["id"] for s in listed] == [sid]
        assert listed[0]["state"] == "running", listed[0]
        reply = second.request("GET", f"sessions/{sid}/proxy/hello.txt")
        assert reply.status == 200 and reply.body == b"hello from the app\n"
        reply = second.request("DELETE", f"sessions/{sid}")
        assert reply.status == 200 and reply.json()["state"] == "ended"
        deadline = time.monotonic() + 10
        while _pids_with(str(served)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _pids_with(str(served)), "End left the app running"
    finally:
        for pid in _pids_with(str(served)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
