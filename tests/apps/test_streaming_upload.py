"""Request bodies are streamed to a session's app (issue 14): the proxy passes a body on
as it arrives (tornado's ``stream_request_body``), with back-pressure, instead of holding
it whole in the server's memory. A real ``jupyter server`` process, the *Web app*
template as a local job (tests/apps/webapp.py), the server's peak memory read from
/proc."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from tests.hardening.conftest import Bounds, ServerStarter, jupyter_server_process  # noqa: F401

WEBAPP = Path(__file__).with_name("webapp.py")
SIZE = 200 * 1024 * 1024


def _running(server: Any, sid: str, limit: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while True:
        session = server.request("GET", f"sessions/{sid}").json()
        if session["state"] in ("running", "ended") or time.monotonic() > deadline:
            return session
        time.sleep(0.2)


def test_a_200_mb_post_is_streamed_to_the_app(
    jupyter_server_process: ServerStarter,  # noqa: F811
) -> None:
    server = jupyter_server_process(module=None)
    command = f"exec {sys.executable} {WEBAPP}"
    reply = server.request(
        "POST",
        "sessions",
        {
            "app": "webapp",
            "cluster": "local",
            "values": {"command": command, "strip_prefix": False},
        },
    )
    assert reply.status == 201, reply.body
    sid = reply.json()["id"]
    job = reply.json()["job_id"]
    try:
        assert _running(server, sid)["state"] == "running"
        path = f"sessions/{sid}/proxy/digest"
        small = server.stream("POST", path, 1024 * 1024)  # warm up: forward, client, buffers
        assert small.status == 200, small.body
        server.resources.baseline()

        started = time.monotonic()
        reply = server.stream("POST", path, SIZE, timeout=120, chunk=1024 * 1024)
        seconds = time.monotonic() - started
        assert reply.status == 200, reply.body
        expected = hashlib.sha256()
        block = b"x" * (1024 * 1024)
        for _ in range(SIZE // len(block)):
            expected.update(block)
        assert json.loads(reply.body) == {"size": SIZE, "sha256": expected.hexdigest()}
        # the server held a few chunks at a time, not the body (200 MB before)
        server.resources.check(
            Bounds(rss_mb=40, hwm_mb=40, children=8, threads=16, fds=16, temp_files=99)
        )
        print(f"200 MB through the proxy in {seconds:.1f} s ({SIZE / seconds / 1e6:.0f} MB/s)")

        # a form with many fields reaches the app too (the proxy parsed it before and
        # refused it: 'Max number of fields exceeded')
        form = b"&".join(b"f%d=1" % i for i in range(20000))
        reply = server.request(
            "POST",
            path,
            raw=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert reply.status == 200, reply.body
        assert json.loads(reply.body)["sha256"] == hashlib.sha256(form).hexdigest()

        # an ended session refuses an upload before its body is sent, not after
        assert server.request("DELETE", f"sessions/{sid}").status == 200
        reply = server.stream("POST", path, SIZE, timeout=30)
        assert reply.status == 409 and reply.json()["code"] == "session.not_running"
        assert reply.sent < SIZE // 2, f"{reply.sent} bytes sent before the refusal"
    finally:
        server.request("DELETE", f"sessions/{sid}")
        server.request("DELETE", f"clusters/local/jobs/{job}")
        for pid in _app_pids():
            os.kill(pid, signal.SIGKILL)


def _app_pids() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path("/proc", entry, "cmdline").read_bytes()
            except OSError:
                continue
            if str(WEBAPP).encode() in cmdline and b"pytest" not in cmdline:
                found.append(int(entry))
    return found
