"""A web app that listens on a UNIX socket in its session folder (issue 14), reached
through the proxy: the server forwards to the socket with OpenSSH's
``direct-streamlocal`` over the pooled connection (``remote_socket``, where the site
lets SSH reach a node that runs the user's job; on the HPC test bed the node is the
login node). A real Slurm job of the bed's user, a real Jupyter server, no TCP port on
the node."""

from __future__ import annotations

import asyncio
import hashlib
import json
import pathlib
import pwd
import time
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient

from tests.fixtures.hpc import HPCTestbed

#: The app: Python's own HTTP server on a UNIX socket (the bed's python3, no package),
#: answering only with its secret; GET says where it is, POST the body's size and SHA-256.
SOCKET_APP = r"""import hashlib, http.server, os, socketserver, sys

TOKEN = os.environ.pop("RPC_APP_TOKEN")
BASE = os.environ["RPC_BASE_PATH"]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def address_string(self):
        return "unix"

    def allowed(self):
        if self.headers.get("Authorization") == "token " + TOKEN:
            return True
        self.answer(403, b"no")
        return False

    def answer(self, code, body, kind="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.allowed():
            self.answer(200, ("unix socket app at " + self.path).encode())

    def do_POST(self):
        if not self.allowed():
            return
        left = int(self.headers.get("Content-Length", "0"))
        digest, size = hashlib.sha256(), 0
        while left:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
            left -= len(chunk)
        body = ('{"size": %d, "sha256": "%s"}' % (size, digest.hexdigest())).encode()
        self.answer(200, body, "application/json")


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


Server(sys.argv[1], Handler).serve_forever()
"""

SOCKET_SCRIPT = (
    r"""#!/bin/bash
umask 077
SOCK="$RPC_SESSION_DIR/app.sock"
CONN="$RPC_SESSION_DIR/connection.json"
APP=""
cleanup() { rm -f "$CONN" "$SOCK"; [ -n "$APP" ] && kill "$APP" 2>/dev/null; }
trap cleanup EXIT
trap 'exit 143' TERM
TOKEN=$(head -c 60 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40)
RPC_APP_TOKEN=$TOKEN RPC_BASE_PATH={{ base_path }} python3 - "$SOCK" <<'PY' &
"""
    + SOCKET_APP
    + r"""PY
APP=$!
for i in $(seq 100); do [ -S "$SOCK" ] && break; kill -0 "$APP" || exit 1; sleep 0.1; done
[ -S "$SOCK" ] || { echo "the app did not listen"; exit 1; }
printf '{"kind": "web", "socket": "%s", "token": "%s"}' "$SOCK" "$TOKEN" > "$CONN.tmp"
mv "$CONN.tmp" "$CONN"
echo "listening on $SOCK"
while kill -0 "$APP" 2>/dev/null; do sleep 2 & wait $!; done
"""
)


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
    apps = {"socketapp": {"kind": "web", "script": SOCKET_SCRIPT, "start_timeout": 30}}
    return {
        **jp_server_config,
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {"testbed": cluster},
            "apps": apps,
            "state_dir": str(tmp_path / "state"),
            "jobs_refresh_min": 0.0,
        },
    }


async def test_a_web_app_on_a_unix_socket_through_the_proxy(
    rpc: Any, server_url: tuple[str, str], hpc_testbed: HPCTestbed
) -> None:
    base, token = server_url
    host = "/".join(base.split("/", 3)[:3])
    status, session = await rpc(
        "POST", "sessions", body={"app": "socketapp", "cluster": "testbed", "values": {}}
    )
    assert status == 201, session
    sid = session["id"]
    client = AsyncHTTPClient(force_instance=True)
    try:
        deadline = time.monotonic() + 90
        while session["state"] not in ("running", "ended") and time.monotonic() < deadline:
            await asyncio.sleep(0.3)
            status, session = await rpc("GET", "sessions", sid)
        assert session["state"] == "running", session
        folder = pathlib.Path(
            pwd.getpwnam(hpc_testbed.user).pw_dir, ".jupyter-rpc", "sessions", sid
        )
        connection = json.loads((folder / "connection.json").read_text())
        assert connection["socket"] == str(folder / "app.sock") and "port" not in connection
        auth = {"Authorization": f"token {token}"}
        prefix = session["url"]
        r = await client.fetch(host + prefix + "some/page?x=1", headers=auth, raise_error=False)
        assert r.code == 200, r.body
        assert r.body == f"unix socket app at {prefix}some/page?x=1".encode()
        body = bytes(range(256)) * 40_000  # 10 MB
        r = await client.fetch(
            host + prefix + "upload",
            method="POST",
            body=body,
            headers={**auth, "Content-Type": "application/octet-stream"},
            raise_error=False,
        )
        assert r.code == 200, r.body
        assert json.loads(r.body) == {
            "size": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
        }
        # the app's secret is the proxy's: without Jupyter's token, 403 before the app
        r = await client.fetch(host + prefix, raise_error=False, follow_redirects=False)
        assert r.code == 403 and connection["token"].encode() not in r.body
    finally:
        client.close()
        status, ended = await rpc("DELETE", "sessions", sid)
    assert status == 200 and ended["state"] == "ended"
    for _ in range(50):  # the job's trap runs within seconds of the cancel
        if not (folder / "app.sock").exists():
            break
        await asyncio.sleep(0.2)
    assert not (folder / "app.sock").exists(), "the job's trap left its socket"
