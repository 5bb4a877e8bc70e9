"""A real ``jupyter server`` with terminals (issue 19): when it stops (SIGTERM) or dies
(SIGKILL) no shell it opened is left running, neither on this machine nor on the SSH
test bed (which runs on this machine: its PIDs are in /proc)."""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

import pytest
from websocket import create_connection

from tests.fixtures.hpc import HPCTestbed


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _gone_within(pids: list[int], seconds: float) -> list[int]:
    end = time.monotonic() + seconds
    while any(_alive(p) for p in pids) and time.monotonic() < end:
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


def _shell_pid(server: Any, cluster: str) -> int:
    """Open a terminal on ``cluster`` and ask its shell for $$ over the websocket."""
    reply = server.request("POST", f"clusters/{cluster}/terminals", {})
    assert reply.status == 201, reply.body
    name = reply.json()["name"]
    ws = create_connection(
        f"ws://127.0.0.1:{server.port}/jupyter-rpc/clusters/{cluster}/terminals/{name}/websocket",
        header=[f"Authorization: token {server.token}"],
        timeout=15,
    )
    try:
        ws.send(json.dumps(["stdin", "echo P''ID=$$\r"]))
        seen = ""
        end = time.monotonic() + 15
        while "PID=" not in seen.replace("P''ID", "") and time.monotonic() < end:
            message = json.loads(ws.recv())
            if message[0] == "stdout":
                seen += message[1]
        text = seen.replace("P''ID", "")
        digits = text[text.index("PID=") + 4 :]
        return int(digits[: len(digits) - len(digits.lstrip("0123456789"))])
    finally:
        ws.close()


@pytest.fixture
def ssh_cluster(hpc_testbed: HPCTestbed) -> dict[str, Any]:
    tb = hpc_testbed
    return {
        "host": "127.0.0.1",
        "port": tb.port,
        "user": tb.user,
        "identity_file": tb.key,
        "known_hosts": tb.known_hosts,
        "ssh_config": False,
        "scheduler": "none",
        "max_channels": 10,
    }


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_no_shell_outlives_the_server(
    jupyter_server_process: Any, ssh_cluster: dict[str, Any], how: str
) -> None:
    server = jupyter_server_process(
        module=None,
        rpc_config={
            "clusters": {
                "local": {"scheduler": "local", "roots": {"home": "/tmp"}, "workdir": "/tmp"},
                "testbed": ssh_cluster,
            }
        },
        env={"SHELL": "/bin/bash"},
    )
    pids = [_shell_pid(server, "testbed") for _ in range(2)] + [_shell_pid(server, "local")]
    assert all(_alive(p) for p in pids)
    if how == "SIGTERM":
        assert server.stop() == []  # nothing of the server's left running
    else:
        os.kill(server.pid, signal.SIGKILL)
        server.proc.wait(timeout=10)
        server.stopped = True
    assert _gone_within(pids, 5.0) == [], f"shells left after {how}"
