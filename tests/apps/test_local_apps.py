"""Interactive apps on the local cluster (issue 14): the *Web app* template launched as a
local job, reached through the server's proxy; sessions' states, ends and start bound."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import pathlib
import sys
import time
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

from jupyter_rpc.services.apps import load_apps
from jupyter_rpc.services.sessions import SessionService
from tests.server.test_events import Lines, events_log, one  # noqa: F401

WEBAPP = pathlib.Path(__file__).with_name("webapp.py")

PROBE_SCRIPT = """#!/bin/bash
printf '%s' {{ message }} > "$RPC_SESSION_DIR/message"
"""

SILENT_SCRIPT = """#!/bin/bash
echo "hello from the job"
exec sleep 60
"""


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], with_local_cluster: Any, home: pathlib.Path
) -> dict[str, Any]:
    apps = {
        "probe": {"kind": "web", "script": PROBE_SCRIPT, "form": {"message": {"type": "string"}}},
        "silent": {"kind": "web", "script": SILENT_SCRIPT, "start_timeout": 2},
    }
    return with_local_cluster(jp_server_config, home, apps=apps)


async def _wait_state(rpc: Any, sid: str, states: set[str], limit: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while True:
        status, session = await rpc("GET", "sessions", sid)
        assert status == 200, session
        if session["state"] in states or time.monotonic() > deadline:
            return session
        await asyncio.sleep(0.2)


async def _launch(rpc: Any, app: str, values: dict[str, Any]) -> dict[str, Any]:
    status, session = await rpc(
        "POST", "sessions", body={"app": app, "cluster": "local", "values": values}
    )
    assert status == 201, session
    return session


async def test_web_app_through_the_proxy(
    rpc: Any, server_url: tuple[str, str], tmp_path: pathlib.Path, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    base, token = server_url
    session = await _launch(
        rpc, "webapp", {"command": f"exec {sys.executable} {WEBAPP}", "strip_prefix": False}
    )
    sid = session["id"]
    assert session["state"] in ("queued", "starting")
    session = await _wait_state(rpc, sid, {"running", "ended"})
    assert session["state"] == "running", session
    assert session["time_left"] and session["time_left"] > 3000  # one hour by default
    prefix = session["url"]
    origin = base.split("/", 3)[:3]
    host = "/".join(origin)
    connection = json.loads((tmp_path / "state" / "sessions" / sid / "connection.json").read_text())
    secret = connection["token"]
    folder = tmp_path / "state" / "sessions" / sid
    assert folder.stat().st_mode & 0o777 == 0o700
    assert (folder / "connection.json").stat().st_mode & 0o777 == 0o600

    client = AsyncHTTPClient(force_instance=True)
    auth = {"Authorization": f"token {token}"}
    seen: list[bytes] = []

    async def fetch(path: str, **kwargs: Any) -> Any:
        headers = {**auth, **kwargs.pop("headers", {})}
        response = await client.fetch(
            host + path, headers=headers, follow_redirects=False, raise_error=False, **kwargs
        )
        seen.append(response.body or b"")
        seen.append(str(list(response.headers.get_all())).encode())
        return response

    # the prefix without its slash is sent to the prefix (relative links need it)
    r = await fetch(prefix.rstrip("/"))
    assert r.code == 302 and r.headers["Location"] == prefix
    r = await fetch(prefix)
    assert r.code == 200, r.body
    page = r.body.decode()
    assert 'href="page"' in page and f'href="{prefix}page"' in page
    # both links resolve under the prefix and reach the app
    assert (await fetch(prefix + "page")).body == b"the page"
    r = await fetch(prefix + "go")
    assert r.code == 302 and r.headers["Location"] == prefix + "page"
    # POST with a binary body
    body = b"hello \x00 world " * 5000
    r = await fetch(prefix + "echo", method="POST", body=body)
    assert r.code == 200 and r.body == body
    # the app gets its own secret, never the browser's Jupyter credentials
    r = await fetch(prefix + "headers", headers={"Cookie": "_xsrf=a; username-x=b; mine=1"})
    info = json.loads(r.body)
    assert info["cookies"] == ["mine"] and info["path"] == prefix + "headers"
    # a 50 MB download arrives whole
    digest = hashlib.sha256()
    size = 0

    def chunk(data: bytes) -> None:
        nonlocal size
        size += len(data)
        digest.update(data)

    r = await client.fetch(
        host + prefix + "big", headers=auth, streaming_callback=chunk, request_timeout=60
    )
    expected = hashlib.sha256(hashlib.sha256(b"jupyter-rpc").digest() * 2048 * 800).hexdigest()
    assert r.code == 200 and size == 50 * 1024 * 1024 and digest.hexdigest() == expected
    # a websocket echo, text and binary
    ws_url = "ws" + host[len("http") :] + prefix + "ws"
    ws = await websocket_connect(HTTPRequest(ws_url, headers=auth))
    await ws.write_message("ping")
    assert await ws.read_message() == "ping"
    await ws.write_message(b"\x00\x01\xff", binary=True)
    assert await ws.read_message() == b"\x00\x01\xff"
    ws.close()
    # no Jupyter token: refused by the server, not passed on
    r = await client.fetch(host + prefix + "page", raise_error=False, follow_redirects=False)
    assert r.code == 403
    assert b"the page" not in r.body
    # the app's secret is in no answer and in no log line
    assert not any(secret.encode() in b for b in seen)
    assert secret not in caplog.text
    # End: the job is cancelled and the proxy says so
    status, ended = await rpc("DELETE", "sessions", sid)
    assert status == 200 and ended["state"] == "ended"
    r = await fetch(prefix + "page")
    assert r.code == 409 and json.loads(r.body)["code"] == "session.not_running"
    status, job = await rpc("GET", "clusters", "local", "jobs", session["job_id"])
    assert job["state"] == "cancelled"
    assert not (folder / "connection.json").exists()  # the job's trap removed it
    client.close()


async def test_a_job_ended_outside_shows_ended(rpc: Any) -> None:
    session = await _launch(
        rpc, "webapp", {"command": f'exec {sys.executable} -m http.server --bind "$HOST" "$PORT"'}
    )
    session = await _wait_state(rpc, session["id"], {"running", "ended"})
    assert session["state"] == "running", session
    status, _ = await rpc("DELETE", "clusters", "local", "jobs", session["job_id"])
    assert status == 200
    session = await _wait_state(rpc, session["id"], {"ended"}, limit=10)
    assert session["state"] == "ended" and "cancelled" in session["message"]


async def test_values_reach_the_script_literally(rpc: Any, tmp_path: pathlib.Path) -> None:
    marker = tmp_path / "marker"
    value = f"a'b\"; touch {marker}; $(touch {marker}) `touch {marker}`\nnext line"
    session = await _launch(rpc, "probe", {"message": value})
    session = await _wait_state(rpc, session["id"], {"ended"})
    written = tmp_path / "state" / "sessions" / session["id"] / "message"
    assert written.read_text() == value
    assert not marker.exists()


async def test_an_app_that_never_listens_is_ended_with_its_log(rpc: Any) -> None:
    session = await _launch(rpc, "silent", {})
    session = await _wait_state(rpc, session["id"], {"ended"}, limit=20)
    assert session["state"] == "ended"
    assert "did not start within 2 s" in session["message"]
    assert "hello from the job" in session["message"]
    status, job = await rpc("GET", "clusters", "local", "jobs", session["job_id"])
    assert job["state"] == "cancelled"


async def test_sessions_are_found_again_by_a_new_service(
    rpc: Any, jp_serverapp: Any, tmp_path: pathlib.Path
) -> None:
    session = await _launch(
        rpc, "webapp", {"command": f'exec {sys.executable} -m http.server --bind "$HOST" "$PORT"'}
    )
    session = await _wait_state(rpc, session["id"], {"running", "ended"})
    assert session["state"] == "running"
    services = jp_serverapp.extension_manager.extension_apps["jupyter_rpc"]
    app = next(iter(services)).services
    again = SessionService(app.clusters, load_apps({}), tmp_path / "state", base_url="/a/")
    found = await again.refresh(again.get(session["id"]))
    assert found.state == "running" and found.job_id == session["job_id"]
    upstream = await again.upstream(session["id"])
    assert upstream.token and upstream.prefix == f"/a/jupyter-rpc/sessions/{session['id']}/proxy/"
    await rpc("DELETE", "sessions", session["id"])
    await again.close()


async def test_unknown_session_and_app(rpc: Any) -> None:
    status, body = await rpc("GET", "sessions", "0123456789ab")
    assert status == 404 and body["code"] == "session.not_found"
    status, body = await rpc("POST", "sessions", body={"app": "nope", "cluster": "local"})
    assert status == 404 and body["code"] == "app.not_found"
    status, body = await rpc("GET", "apps")
    assert {a["name"] for a in body["apps"]} >= {"webapp", "desktop", "probe", "silent"}


def test_bad_templates_are_refused_naming_the_key() -> None:
    with pytest.raises(Exception, match=r"RPCApp.apps.x: Additional properties .*'bogus'"):
        load_apps({"x": {"kind": "web", "script": "a", "bogus": 1}})
    with pytest.raises(Exception, match=r"RPCApp.apps.x.kind"):
        load_apps({"x": {"kind": "vnc", "script": "a"}})
    with pytest.raises(Exception, match=r"RPCApp.apps.x.script is not a valid template"):
        load_apps({"x": {"kind": "web", "script": "{% if %}"}})
    with pytest.raises(Exception, match=r"RPCApp.apps.x.form.cpus: the name 'cpus' is taken"):
        load_apps({"x": {"kind": "web", "script": "a", "form": {"cpus": {}}}})


async def test_launch_and_end_emit_events(rpc: Any, events_log: Lines) -> None:  # noqa: F811
    values = {"message": "a secret-ish value"}
    session = await _launch(rpc, "probe", values)
    event = await one(
        events_log,
        "session.launch",
        permission="execute",
        cluster="local",
        job_id=session["job_id"],
        status=201,
    )
    assert event["arguments"]["names"] == ["message"]
    assert "secret-ish" not in json.dumps(event)
    status, _ = await rpc("DELETE", "sessions", session["id"])
    assert status == 200
    await one(
        events_log, "session.end", permission="write", cluster="local", job_id=session["job_id"]
    )
    # reads (the list, the proxy) emit nothing
    await rpc("GET", "sessions")
    assert await events_log.take(0) == []


def test_the_documented_example_loads() -> None:
    """docs/apps.md's configuration is a valid RPCApp.apps, and its template quotes."""
    text = (pathlib.Path(__file__).parents[2] / "docs" / "apps.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    (block,) = [b for b in blocks if "c.RPCApp.apps" in b]

    class Section:
        pass

    c = Section()
    c.RPCApp = Section()  # type: ignore[attr-defined]
    exec(block, {"c": c})  # noqa: S102 - the doc's own example
    apps = load_apps(c.RPCApp.apps)  # type: ignore[attr-defined]
    assert sorted(apps) == ["tensorboard", "webapp"]
    tb = apps["tensorboard"]
    schema = tb.schema()
    assert schema["properties"]["partition"]["const"] == "gpu"
    assert schema["properties"]["gpus"]["maximum"] == 1
    from jupyter_rpc.services.apps import launch_values, render_script

    values = launch_values(tb, schema, {"logdir": "runs; rm -rf ~"})
    script = render_script(tb, values, app="tb", base_path="/p/", session="s", start_seconds=5)
    assert "LOGDIR='runs; rm -rf ~'" in script


def _rss_mb() -> float:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def test_a_slow_reader_holds_the_download_back(rpc: Any, server_url: tuple[str, str]) -> None:
    """The proxy reads from the app no faster than the browser takes the answer: a client
    that reads 64 KiB of the 50 MB download and waits leaves the server holding a few MB,
    not the whole file."""
    base, token = server_url
    session = await _launch(
        rpc, "webapp", {"command": f"exec {sys.executable} {WEBAPP}", "strip_prefix": False}
    )
    session = await _wait_state(rpc, session["id"], {"running", "ended"})
    assert session["state"] == "running", session
    host, port = base.split("/")[2].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        before = _rss_mb()
        writer.write(
            f"GET {session['url']}big HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: token {token}\r\n\r\n".encode()
        )
        await writer.drain()
        got = 0
        while got < 64 * 1024:
            got += len(await reader.read(16 * 1024))
        await asyncio.sleep(3)  # the app could send all 50 MB meanwhile
        grown = _rss_mb() - before
        assert grown < 20, f"the server holds {grown:.0f} MB for a client that reads nothing"
    finally:
        writer.close()
        await rpc("DELETE", "sessions", session["id"])
