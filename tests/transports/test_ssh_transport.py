"""A backend on the test bed's login node, over SSH (the same JSON lines as a local one)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from jupyter_rpc.errors import CallFailed, RPCError
from jupyter_rpc.ssh import SSHPool, SSHTarget
from jupyter_rpc.transports.ssh import SSHTransport
from tests.fixtures import FAULTY
from tests.fixtures.hpc import HPCTestbed


def login(tb: HPCTestbed) -> SSHTarget:
    return SSHTarget(
        "127.0.0.1",
        tb.port,
        tb.user,
        label="testbed",
        identity_files=(tb.key,),
        agent=False,
        config_files=(),
        known_hosts=(tb.known_hosts,),
    )


def backend(tb: HPCTestbed, module: str) -> list[str]:
    if tb.python is None:
        pytest.skip(
            "the test bed has no Python with jupyter_rpc for the test user "
            "(run: sudo TESTBED_JRPC_SRC=$PWD tests/hpc/testbed/up.sh)"
        )
    return [tb.python, "-m", "jupyter_rpc.backend", "serve", module]


def func(api: dict, name: str) -> dict:
    return next(f for f in api["functions"] if f["name"] == name)


@pytest.mark.asyncio
async def test_functions_and_a_call_over_ssh(hpc_testbed: HPCTestbed) -> None:
    pool = SSHPool()
    transport = SSHTransport(
        "demo",
        pool,
        login(hpc_testbed),
        backend(hpc_testbed, "jupyter_rpc.examples.demo"),
        cwd="~",
        start_timeout=30,
    )
    try:
        api = await transport.api_info()
        assert {"add", "greet"} <= {f["name"] for f in api["functions"]}
        assert set(func(api, "add")["rpc_schema"]["properties"]) >= {"a", "b"}
        assert await transport.call({"func_name": "add", "a": 2, "b": 40}) == 42
        results = await asyncio.gather(
            *(transport.call({"func_name": "add", "a": i, "b": 1}) for i in range(20))
        )
        assert results == [i + 1 for i in range(20)]
        with pytest.raises(CallFailed):
            await transport.call({"func_name": "divide", "a": 1, "b": 0})
        assert transport.state == "running"
        assert pool.counters["connects"] == 1
    finally:
        await transport.close()
        await pool.close()


@pytest.mark.asyncio
async def test_env_reaches_the_remote_backend(hpc_testbed: HPCTestbed) -> None:
    pool = SSHPool()
    transport = SSHTransport(
        "faulty",
        pool,
        login(hpc_testbed),
        backend(hpc_testbed, FAULTY),
        env={"JRPC_TEST_VALUE": "a b; $(x)"},
    )
    try:
        assert (
            await transport.call({"func_name": "getenv", "name": "JRPC_TEST_VALUE"}) == "a b; $(x)"
        )
    finally:
        await transport.close()
        await pool.close()


@pytest.mark.asyncio
async def test_remote_crash_is_reported_and_the_backend_restarts(hpc_testbed: HPCTestbed) -> None:
    pool = SSHPool()
    transport = SSHTransport("faulty", pool, login(hpc_testbed), backend(hpc_testbed, FAULTY))
    try:
        await transport.api_info()
        with pytest.raises(RPCError) as info:
            await asyncio.wait_for(transport.call({"func_name": "crash", "after": 0.1}), 20)
        assert (info.value.code, info.value.status) == ("backend.crashed", 502)
        assert "stopped unexpectedly" in info.value.message and "testbed" in info.value.message
        assert info.value.details["exit_code"] not in (None, 0)
        # restarted in the background: the next call works
        assert (
            await asyncio.wait_for(transport.call({"func_name": "echo", "value": "again"}), 30)
            == "again"
        )
        assert transport.restarts == 1
    finally:
        await transport.close()
        await pool.close()


@pytest.mark.asyncio
async def test_a_backend_that_cannot_start_shows_its_stderr(hpc_testbed: HPCTestbed) -> None:
    pool = SSHPool()
    command = backend(hpc_testbed, "no_such_module_for_jupyter_rpc")
    transport = SSHTransport("broken", pool, login(hpc_testbed), command, start_timeout=20)
    try:
        with pytest.raises(RPCError) as info:
            await transport.api_info()
        assert info.value.code == "backend.unavailable"
        assert "no_such_module_for_jupyter_rpc" in info.value.message
        assert transport.state == "failed"
    finally:
        await transport.close()
        await pool.close()


@pytest.mark.asyncio
async def test_unreachable_cluster_keeps_its_ssh_error(hpc_testbed: HPCTestbed) -> None:
    from tests.fixtures.hpc import free_port

    pool = SSHPool()
    target = replace(login(hpc_testbed), port=free_port())
    transport = SSHTransport(
        "far", pool, target, ["python3", "-m", "jupyter_rpc.backend", "serve", "x"]
    )
    try:
        with pytest.raises(RPCError) as info:
            await transport.api_info()
        assert info.value.code == "cluster.unreachable"
    finally:
        await transport.close()
        await pool.close()
