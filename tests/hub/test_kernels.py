"""Cluster kernels on a hub (issue 20): alice adds her own cluster (the HPC test bed's
OpenSSH, with her own copy of the bed's key) and starts its login-node kernel on her server
through the proxy. bob, with his own hub token, can neither start a kernel on her server,
nor interrupt or restart hers, nor open its channels' websocket (403); as a Unix user of
the same machine he cannot read her kernel's connection file nor connect to the UNIX sockets
that forward its channels. A token of alice's that may write but not execute
(``custom:jupyter_server:write:*``) cannot start or restart a cluster kernel either
(jupyter_server asks only ``write`` to start a kernel, and a cluster kernel runs on the
cluster with the owner's credentials, as a job does for compute-node kernels)."""

from __future__ import annotations

import datetime
import json
import pathlib
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.fixtures.hpc import HPCTestbed
from tests.hub.conftest import Client, Hub
from tests.kernels.conftest import ensure_kernel_python, kernel_folders

CLUSTER = "bed"
SPEC = "rpc-bed"
KEY = pathlib.Path("/home/alice/.ssh/jrpc-hub-kernels-key")
READ_WRITE = ["access:servers!user=alice", "custom:jupyter_server:write:*!user=alice"]


def api(token: str, method: str, url: str, body: Any = None) -> tuple[int, Any]:
    response = requests.request(
        method, url, headers={"Authorization": f"token {token}"}, json=body, timeout=60
    )
    try:
        answer = response.json() if response.content else None
    except ValueError:
        answer = response.text
    return response.status_code, answer


def execute(ws: Any, code: str, timeout: float = 60) -> str:
    """Run ``code`` in the kernel behind the websocket ``ws``; its stdout (errors raise)."""
    msg_id = uuid.uuid4().hex
    header = {
        "msg_id": msg_id,
        "msg_type": "execute_request",
        "username": "tests",
        "session": uuid.uuid4().hex,
        "version": "5.3",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }
    content = {"code": code, "silent": False, "store_history": False, "allow_stdin": False}
    ws.send(
        json.dumps(
            {
                "header": header,
                "parent_header": {},
                "metadata": {},
                "channel": "shell",
                "content": {**content, "user_expressions": {}},
            }
        )
    )
    out, deadline = [], time.monotonic() + timeout
    replied = idle = False
    while not (replied and idle):  # the reply (shell) may come before the output (iopub)
        msg = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, got = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(got["text"])
        elif kind == "error":
            raise AssertionError("\n".join(got["traceback"]))
        elif kind == "execute_reply":
            replied = True
        elif kind == "status" and got["execution_state"] == "idle":
            idle = True
    return "".join(out)


def wait_no_new_folder(tb: HPCTestbed, before: set[str]) -> None:
    """No kernel folder of the bed's user appears within a second (nothing was started)."""
    time.sleep(1)
    assert kernel_folders(tb) <= before, kernel_folders(tb) - before


@pytest.fixture(scope="module")
def alice_cluster(hub: Hub, alice: str, hpc_testbed: HPCTestbed) -> Iterator[str]:
    """alice's own cluster on the bed, connected and trusted; alice's full token."""
    tb = hpc_testbed
    python = ensure_kernel_python(tb)
    KEY.parent.mkdir(mode=0o700, exist_ok=True)
    shutil.chown(KEY.parent, "alice", "alice")
    shutil.copyfile(tb.key, KEY)
    KEY.chmod(0o600)
    shutil.chown(KEY, "alice", "alice")
    token = hub.user_token("alice")
    client = Client(alice, token)
    body = {
        "name": CLUSTER,
        "host": "127.0.0.1",
        "port": tb.port,
        "user": tb.user,
        "identity_file": str(KEY),
        "kernel_python": python,
    }
    status, answer = client("POST", "clusters", body=body)
    assert status == 201, answer
    try:
        status, err = client("POST", "clusters", CLUSTER, "connect", body={})
        if status == 428:  # its host key: trusted as a user would in the panel
            fingerprint = err["details"]["fingerprint"]
            status, err = client(
                "POST", "clusters", CLUSTER, "trust", body={"fingerprint": fingerprint}
            )
        assert status == 200, err
        yield token
    finally:
        status, answer = client("DELETE", "clusters", CLUSTER)
        KEY.unlink(missing_ok=True)
        assert status in (200, 204), answer


def connection_file(kernel: str) -> pathlib.Path:
    """alice's server's connection file of ``kernel`` (read as root)."""
    for base in ("/home/alice/.local/share/jupyter/runtime", "/tmp", "/run/user"):
        found = list(pathlib.Path(base).glob(f"**/kernel-{kernel}.json"))
        if found:
            return found[0]
    raise AssertionError(f"no connection file for kernel {kernel}")


def as_bob(code: str) -> str:
    """Run Python ``code`` as the Unix user bob; what it prints."""
    done = subprocess.run(
        ["runuser", "-u", "bob", "--", "/usr/bin/python3", "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_bob_cannot_start_interrupt_restart_or_connect_to_alices_cluster_kernel(
    hub: Hub, alice: str, bob: str, alice_cluster: str, hpc_testbed: HPCTestbed
) -> None:
    token = alice_cluster
    status, specs = api(token, "GET", f"{alice}/api/kernelspecs")
    assert status == 200 and SPEC in specs["kernelspecs"], specs
    status, kernel = api(token, "POST", f"{alice}/api/kernels", {"name": SPEC})
    assert status == 201, kernel
    kid = kernel["id"]
    ws_url = alice.replace("http://", "ws://") + f"/api/kernels/{kid}/channels"
    try:
        with connect(
            ws_url, additional_headers={"Authorization": f"token {token}"}, open_timeout=60
        ) as ws:
            assert execute(ws, "x = 41; import getpass; print(getpass.getuser())").strip() == (
                hpc_testbed.user
            )

            bob_token = hub.user_token("bob")
            before = kernel_folders(hpc_testbed)
            for method, path, body in [
                ("GET", "api/kernelspecs", None),
                ("POST", "api/kernels", {"name": SPEC}),
                (
                    "POST",
                    "api/sessions",
                    {"path": "b.ipynb", "type": "notebook", "kernel": {"name": SPEC}},
                ),
                ("POST", f"api/kernels/{kid}/interrupt", None),
                ("POST", f"api/kernels/{kid}/restart", None),
                ("DELETE", f"api/kernels/{kid}", None),
            ]:
                status, answer = api(bob_token, method, f"{alice}/{path}", body)
                assert status == 403, (method, path, status, answer)
            with pytest.raises(InvalidStatus) as refused:
                connect(
                    ws_url,
                    additional_headers={"Authorization": f"token {bob_token}"},
                    open_timeout=30,
                )
            assert refused.value.response.status_code == 403
            wait_no_new_folder(hpc_testbed, before)
            # bob's own server has no kernel of alice's cluster
            status, specs = api(bob_token, "GET", f"{bob}/api/kernelspecs")
            assert status == 200 and SPEC not in specs["kernelspecs"], specs

            # as a Unix user: neither her connection file nor the forwarded channels
            info = json.loads(connection_file(kid).read_text())
            assert info["transport"] == "ipc", info
            sockets = [f"{info['ip']}-{info[f'{c}_port']}" for c in ("shell", "iopub", "control")]
            code = (
                "import socket, sys\n"
                f"paths = {sockets!r}\n"
                "out = []\n"
                f"try:\n    open({str(connection_file(kid))!r}).read(); out.append('read')\n"
                "except PermissionError:\n    out.append('no-read')\n"
                "for p in paths:\n"
                "    s = socket.socket(socket.AF_UNIX)\n"
                "    try:\n        s.connect(p); out.append('connected')\n"
                "    except PermissionError:\n        out.append('refused')\n"
                "    finally:\n        s.close()\n"
                "print(' '.join(out))\n"
            )
            assert as_bob(code) == "no-read refused refused refused"

            # alice's kernel is untouched: same process, state kept
            assert execute(ws, "print(x + 1)").strip() == "42"
    finally:
        api(token, "DELETE", f"{alice}/api/kernels/{kid}")


def test_starting_a_cluster_kernel_needs_execute(
    hub: Hub, alice: str, alice_cluster: str, hpc_testbed: HPCTestbed
) -> None:
    token = alice_cluster
    scoped = hub.user_token("alice", READ_WRITE)
    before = kernel_folders(hpc_testbed)
    status, answer = api(scoped, "POST", f"{alice}/api/kernels", {"name": SPEC})
    if status == 201:  # started before the fix: end it, then fail
        api(token, "DELETE", f"{alice}/api/kernels/{answer['id']}")
    assert status == 403, (status, answer)
    assert "execute" in json.dumps(answer), answer
    session = {"path": "w.ipynb", "type": "notebook", "kernel": {"name": SPEC}}
    status, answer = api(scoped, "POST", f"{alice}/api/sessions", session)
    if status == 201:
        api(token, "DELETE", f"{alice}/api/sessions/{answer['id']}")
    assert status == 403, (status, answer)
    wait_no_new_folder(hpc_testbed, before)

    # the owner's full token starts it; the write token may interrupt but not restart it
    status, kernel = api(token, "POST", f"{alice}/api/kernels", {"name": SPEC})
    assert status == 201, kernel
    try:
        status, answer = api(scoped, "POST", f"{alice}/api/kernels/{kernel['id']}/interrupt")
        assert status == 204, (status, answer)
        status, answer = api(scoped, "POST", f"{alice}/api/kernels/{kernel['id']}/restart")
        assert status == 403, (status, answer)
    finally:
        api(token, "DELETE", f"{alice}/api/kernels/{kernel['id']}")
    # a local kernel needs only write, as jupyter_server has it
    status, local = api(scoped, "POST", f"{alice}/api/kernels", {"name": "python3"})
    assert status == 201, local
    api(token, "DELETE", f"{alice}/api/kernels/{local['id']}")
