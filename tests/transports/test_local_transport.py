"""The local transport on its own: environment, crash reports, restarts, shutdown."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from jupyter_rpc.errors import BackendCrashed, RemoteUnavailable
from jupyter_rpc.transports import LocalTransport
from tests.fixtures import FAULTY

ARGV = [sys.executable, "-m", "jupyter_rpc.backend", "serve", FAULTY]


async def test_backend_does_not_inherit_the_servers_tokens(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub-secret")
    monkeypatch.setenv("JUPYTER_TOKEN", "server-secret")
    transport = LocalTransport("t", ARGV, env={"SITE_SETTING": "on"})
    try:
        assert await transport.call({"func_name": "getenv", "name": "JUPYTERHUB_API_TOKEN"}) is None
        assert await transport.call({"func_name": "getenv", "name": "JUPYTER_TOKEN"}) is None
        assert await transport.call({"func_name": "getenv", "name": "SITE_SETTING"}) == "on"
    finally:
        await transport.close()


async def test_crash_reports_exit_code_and_output_then_restarts():
    transport = LocalTransport("t", ARGV)
    try:
        await transport.call({"func_name": "chatty", "text": "before the crash"})
        first_pid = transport.pid
        with pytest.raises(BackendCrashed) as info:
            await transport.call({"func_name": "crash", "after": 0.1})
        assert "exit code 3" in info.value.message
        assert "before the crash" in info.value.message  # its last output, for diagnosis
        assert await transport.call({"func_name": "echo", "value": "again"}) == "again"
        assert transport.pid != first_pid and transport.restarts == 1
    finally:
        await transport.close()
    assert transport.pid is None and transport.state == "stopped"


async def test_a_backend_that_cannot_start_says_why():
    transport = LocalTransport(
        "t", [sys.executable, "-m", "jupyter_rpc.backend", "serve", "no.such.module"]
    )
    with pytest.raises(RemoteUnavailable) as info:
        await transport.api_info()
    assert "no.such.module" in info.value.message
    assert transport.state == "failed"
    await transport.close()


async def test_cancelling_the_caller_stops_the_remote_work():
    transport = LocalTransport("t", ARGV, env={})
    try:
        task = asyncio.ensure_future(transport.call({"func_name": "sleep", "seconds": 30}))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # the worker was freed: a ping and a call answer at once
        assert await transport.ping(timeout=5) < 1
        assert await asyncio.wait_for(transport.call({"func_name": "noop"}), 5) is None
    finally:
        await transport.close()


async def test_close_kills_a_backend_that_ignores_termination(tmp_path):
    script = tmp_path / "stubborn.py"
    script.write_text(
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "sys.argv[1:] = ['serve', sys.argv[1]]\n"
        "from jupyter_rpc.backend.cli import main\n"
        "main()\n"
    )
    transport = LocalTransport("t", [sys.executable, str(script), FAULTY])
    await transport.api_info()
    pid = transport.pid
    await transport.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_callers_arriving_during_a_start_wait_for_it():
    transport = LocalTransport("t", ARGV)
    try:
        first = asyncio.ensure_future(transport.api_info())
        while transport.state != "starting":  # noqa: ASYNC110 - watching another object
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.05)  # the process exists, its API is not known yet
        second = await transport.api_info()
        assert second is await first
        assert "noop" in {f["name"] for f in second["functions"]}
    finally:
        await transport.close()


async def test_a_failed_start_answers_everyone_who_waited():
    transport = LocalTransport(
        "t", [sys.executable, "-m", "jupyter_rpc.backend", "serve", "no.such.module"]
    )
    results = await asyncio.gather(
        *(transport.api_info() for _ in range(8)), return_exceptions=True
    )
    assert all(isinstance(r, RemoteUnavailable) for r in results)
    assert all("no.such.module" in r.message for r in results)
    await transport.close()
