"""Interactive apps on the HPC test bed's Slurm (issue 14): the built-in templates as real
Slurm jobs of the bed's user, reached through the server's proxy over the pooled SSH
connection (a forward on a UNIX socket: no TCP port opened on this machine)."""

from __future__ import annotations

import asyncio
import json
import pathlib
import pwd
import shutil
import struct
import time
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

from jupyter_rpc.services.sessions import ByteReader
from tests.fixtures.hpc import HPCTestbed


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], hpc_testbed: HPCTestbed, tmp_path: Any
) -> dict[str, Any]:
    tb = hpc_testbed
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
        **jp_server_config,
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {"testbed": cluster},
            "state_dir": str(tmp_path / "state"),
            "jobs_refresh_min": 0.0,
        },
    }


async def _running(
    rpc: Any, sessions: list[str], app: str, values: dict[str, Any], limit: float = 60.0
) -> dict[str, Any]:
    status, session = await rpc(
        "POST", "sessions", body={"app": app, "cluster": "testbed", "values": values}
    )
    assert status == 201, session
    sessions.append(session["id"])
    deadline = time.monotonic() + limit
    while session["state"] not in ("running", "ended") and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        status, session = await rpc("GET", "sessions", session["id"])
        assert status == 200, session
    assert session["state"] == "running", session
    return session


async def _end(rpc: Any, session: dict[str, Any]) -> None:
    status, ended = await rpc("DELETE", "sessions", session["id"])
    assert status == 200 and ended["state"] == "ended"
    status, job = await rpc("GET", "clusters", "testbed", "jobs", session["job_id"])
    assert status == 200 and job["state"] in ("cancelled", "completing"), job


async def test_web_app_in_a_slurm_job(rpc: Any, server_url: tuple[str, str]) -> None:
    sessions: list[str] = []
    try:
        await _web_app(rpc, sessions, server_url)
    finally:  # no job left holding the bed's two CPUs
        for sid in sessions:
            await rpc("DELETE", "sessions", sid)


async def _web_app(rpc: Any, sessions: list[str], server_url: tuple[str, str]) -> None:
    base, token = server_url
    host = "/".join(base.split("/", 3)[:3])
    session = await _running(
        rpc, sessions, "webapp", {"command": 'exec python3 -m http.server --bind "$HOST" "$PORT"'}
    )
    prefix = session["url"]
    client = AsyncHTTPClient(force_instance=True)
    auth = {"Authorization": f"token {token}"}
    try:
        r = await client.fetch(host + prefix, headers=auth, raise_error=False)
        assert r.code == 200 and b"Directory listing" in r.body, r.body[:300]
        # http.server knows no prefix: its folder redirect (Location: /.jupyter-rpc/)
        # comes back under the prefix
        r = await client.fetch(
            host + prefix + ".jupyter-rpc", headers=auth, follow_redirects=False, raise_error=False
        )
        assert r.code == 301 and r.headers["Location"] == prefix + ".jupyter-rpc/"
        r = await client.fetch(host + prefix + ".jupyter-rpc/sessions/", headers=auth)
        assert session["id"].encode() in r.body
        r = await client.fetch(host + prefix, raise_error=False, follow_redirects=False)
        assert r.code == 403
    finally:
        client.close()
    await _end(rpc, session)


@pytest.mark.skipif(
    not (shutil.which("Xvnc") and shutil.which("websockify")),
    reason="the test bed lacks Xvnc/websockify (tests/hpc/testbed/up.sh installs them)",
)
async def test_remote_desktop_in_a_slurm_job(
    rpc: Any, server_url: tuple[str, str], hpc_testbed: HPCTestbed
) -> None:
    sessions: list[str] = []
    try:
        await _desktop(rpc, sessions, server_url, hpc_testbed)
    finally:
        for sid in sessions:
            await rpc("DELETE", "sessions", sid)


async def _desktop(
    rpc: Any, sessions: list[str], server_url: tuple[str, str], hpc_testbed: HPCTestbed
) -> None:
    base, token = server_url
    host = "/".join(base.split("/", 3)[:3])
    session = await _running(rpc, sessions, "desktop", {"geometry": "1024x768"})
    assert session["kind"] == "desktop"
    url = "ws" + host[len("http") :] + session["url"] + "websockify"
    ws = await websocket_connect(
        HTTPRequest(url, headers={"Authorization": f"token {token}"}, connect_timeout=20)
    )
    reader = ByteReader(lambda: asyncio.wait_for(ws.read_message(), 20))
    # the VNC server's version, through websockify and the proxy
    assert await reader.read(12) == b"RFB 003.008\n"
    await ws.write_message(b"RFB 003.008\n", binary=True)
    # one security type, None: the proxy logged in with the session's password, which
    # the browser never gets
    assert await reader.read(2) == b"\x01\x01"
    await ws.write_message(b"\x01", binary=True)
    assert await reader.read(4) == b"\x00\x00\x00\x00"
    await ws.write_message(b"\x01", binary=True)  # ClientInit: shared
    # ServerInit: the desktop's size is the form's
    assert struct.unpack(">HH", await reader.read(4)) == (1024, 768)
    pixel_format = await reader.read(16)
    name_length = struct.unpack(">I", await reader.read(4))[0]
    await reader.read(name_length)
    # Raw encoding, then the whole screen: a FramebufferUpdate of 1024x768 pixels
    await ws.write_message(struct.pack(">BxHi", 2, 1, 0), binary=True)
    await ws.write_message(struct.pack(">BBHHHH", 3, 0, 0, 0, 1024, 768), binary=True)
    bpp = pixel_format[0] // 8
    # the desktop's xterm shows (its white: 604x394 pixels; about one desktop in five
    # had it unmapped for good when it mapped while openbox started)
    deadline = time.monotonic() + 15
    while True:
        kind, _, rects = struct.unpack(">BBH", await reader.read(4))
        assert kind == 0 and rects >= 1, (kind, rects)
        total = white = 0
        for _ in range(rects):
            x, y, w, h, encoding = struct.unpack(">HHHHi", await reader.read(12))
            assert encoding == 0, encoding
            pixels = await reader.read(w * h * bpp)
            white += pixels.count(b"\xff\xff\xff\x00")
            total += w * h
        assert total == 1024 * 768
        if white > 100_000 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
        await ws.write_message(struct.pack(">BBHHHH", 3, 0, 0, 0, 1024, 768), binary=True)
    assert white > 100_000, f"no xterm on the desktop ({white} white pixels)"
    ws.close()
    folder = pathlib.Path(pwd.getpwnam(hpc_testbed.user).pw_dir, ".jupyter-rpc", "sessions")
    secrets = json.loads((folder / session["id"] / "connection.json").read_text())
    await _end(rpc, session)
    # the job's log (websockify's lines included) has neither secret
    log = (folder / session["id"] / "job.log").read_text()
    assert "connecting to unix socket" in log, log[-2000:]
    assert secrets["token"] not in log and secrets["password"] not in log
