"""The notebook client in a hub kernel: a kernel started through the proxy on alice's server
runs ``jupyter_rpc.connect``, which finds its server from ``JUPYTERHUB_SERVICE_URL`` and the
kernel's hub token, and makes a call that alice's server then lists."""

from __future__ import annotations

import datetime
import json
import time
import uuid
from typing import Any

from websockets.sync.client import connect

from tests.hub.conftest import Client, Hub

CODE = """
import os
import jupyter_rpc
from jupyter_rpc.notebook.client import find_server
print("SERVER", find_server()[0] == os.environ["JUPYTERHUB_SERVICE_URL"], os.environ["JUPYTERHUB_SERVICE_URL"])
print("RESULT", jupyter_rpc.connect("examples").add(a=20, b=22))
import getpass
print("USER", getpass.getuser())
"""


def execute(ws: Any, code: str, timeout: float = 60) -> str:
    """Run ``code`` in the kernel behind the websocket ``ws``; its stdout (errors raise)."""
    msg_id = uuid.uuid4().hex
    ws.send(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "msg_type": "execute_request",
                    "username": "tests",
                    "session": uuid.uuid4().hex,
                    "version": "5.3",
                    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                },
                "parent_header": {},
                "metadata": {},
                "channel": "shell",
                "content": {
                    "code": code,
                    "silent": False,
                    "store_history": False,
                    "user_expressions": {},
                    "allow_stdin": False,
                },
            }
        )
    )
    out, deadline = [], time.monotonic() + timeout
    while True:
        msg = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            raise AssertionError("\n".join(content["traceback"]))
        elif kind == "execute_reply":
            assert content["status"] == "ok", content
            return "".join(out)


def test_the_notebook_client_finds_its_hub_server_and_calls(hub: Hub, alice: str) -> None:
    token = hub.user_token("alice")
    client = Client(alice, token)
    status, before = client("GET", "calls")
    assert status == 200
    response = client.session.post(f"{alice}/api/kernels", json={"name": "python3"}, timeout=60)
    assert response.status_code == 201, response.text
    kernel = response.json()["id"]
    try:
        ws_url = alice.replace("http://", "ws://") + f"/api/kernels/{kernel}/channels"
        with connect(
            ws_url, additional_headers={"Authorization": f"token {token}"}, open_timeout=30
        ) as ws:
            out = execute(ws, CODE)
        lines = dict(line.split(" ", 1) for line in out.splitlines())
        assert lines["SERVER"].startswith("True "), out
        assert lines["RESULT"] == "42", out
        assert lines["USER"] == "alice", out
        status, after = client("GET", "calls")
        assert status == 200
        new = [c for c in after["calls"] if c["id"] not in {b["id"] for b in before["calls"]}]
        assert [(c["function"], c["state"]) for c in new] == [("add", "succeeded")], new
    finally:
        client.session.delete(f"{alice}/api/kernels/{kernel}", timeout=30)
