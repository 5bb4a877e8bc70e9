"""A login-node kernel keeps its state through a short outage of the SSH connection
(issue 20: "a shorter outage reconnects and the kernel's state survives"): a private sshd
of the test bed is stopped (the server's connection drops) and started again on the same
port; the same notebook websocket then runs a cell on the same kernel process, and the
kernel is not restarted afterwards (its guard's channel went with the connection)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.fixtures.hpc import HPCTestbed, PrivateSSHD
from tests.kernels.conftest import pid_alive, ssh_cluster

BOUND = 8.0  # the lease is renewed every 2 s


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any],
    hpc_testbed: HPCTestbed,
    private_sshd: PrivateSSHD,
    kernel_python: str,
    tmp_path: Any,
) -> dict[str, Any]:
    cluster = ssh_cluster(
        hpc_testbed,
        port=private_sshd.port,
        known_hosts=str(private_sshd.known_hosts),
        kernel_python=kernel_python,
    )
    return {
        **jp_server_config,
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {"flaky": cluster},
            "kernel_watchdog": BOUND,
            "state_dir": str(tmp_path / "state"),
        },
    }


async def test_state_survives_a_short_outage(
    api: Any, kernel_ws: Any, private_sshd: PrivateSSHD
) -> None:
    status, model = await api("POST", "kernels", body={"name": "rpc-flaky"})
    assert status == 201, model
    kid = model["id"]
    kernel = await kernel_ws(kid)
    result = await kernel.execute("import os; x = 41; print(os.getpid())")
    pid = int(result["stdout"])

    private_sshd.stop()  # the server's SSH connection drops
    await asyncio.sleep(1.0)
    private_sshd.start()

    # a request sent while the forwards are being set up again can be lost (ZMQ drops
    # what it had queued on a connection that closes), as a user re-runs a cell
    end = time.monotonic() + BOUND + 10
    while True:
        try:
            result = await kernel.execute("print(x + 1)", timeout=3)
            break
        except (AssertionError, asyncio.TimeoutError):
            assert time.monotonic() < end, "the kernel did not answer after the outage"
    assert result["stdout"] == "42\n", result
    assert pid_alive(pid)

    # the kernel manager does not take the kernel for dead once the watchdog's bound passed
    # (its guard's channel is gone; the kernel is not)
    end = time.monotonic() + BOUND + 8
    while time.monotonic() < end:
        await asyncio.sleep(1.0)
        status, model = await api("GET", "kernels", kid)
        assert status == 200 and model["execution_state"] != "restarting", model
    result = await kernel.execute("print(x)")
    assert result["stdout"] == "41\n", result
    assert pid_alive(pid)

    status, _ = await api("DELETE", "kernels", kid)
    assert status == 204
    end = time.monotonic() + 10
    while pid_alive(pid):
        assert time.monotonic() < end, "the kernel still runs after its shutdown"
        await asyncio.sleep(0.05)
