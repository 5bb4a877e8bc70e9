"""The Transport interface over SSH: ``ping`` (which only the local transport had) starts
the backend on the login node and times a DASF ping; ``check_soon`` is there and waits
for nothing."""

from __future__ import annotations

import pytest

from jupyter_rpc.ssh import SSHPool, SSHTarget
from jupyter_rpc.transports.ssh import SSHTransport
from tests.fixtures.hpc import HPCTestbed


@pytest.mark.asyncio
async def test_ping_over_ssh(hpc_testbed: HPCTestbed) -> None:
    if hpc_testbed.python is None:
        pytest.skip("the test bed has no Python with jupyter_rpc for the test user")
    login = SSHTarget(
        "127.0.0.1",
        hpc_testbed.port,
        hpc_testbed.user,
        label="testbed",
        identity_files=(hpc_testbed.key,),
        agent=False,
        config_files=(),
        known_hosts=(hpc_testbed.known_hosts,),
    )
    argv = [hpc_testbed.python, "-m", "jupyter_rpc.backend", "serve", "jupyter_rpc.examples.demo"]
    pool = SSHPool()
    transport = SSHTransport("demo", pool, login, argv)
    try:
        transport.check_soon()  # nothing to do: a channel that closes is noticed anyway
        assert transport.state == "stopped"
        assert 0 < await transport.ping(timeout=30) < 30
        assert transport.state == "running"
        assert await transport.call({"func_name": "add", "a": 1, "b": 2}) == 3
    finally:
        await transport.close()
        await pool.close()
