"""Review fixes of the SSH pool, against the real test bed: trusting an unknown *jump*
host, and a clear error (not a hang) when every channel of a connection is busy."""

from __future__ import annotations

import asyncio
import pathlib
import time
from dataclasses import replace

import asyncssh
import pytest

from jupyter_rpc.errors import RPCError
from jupyter_rpc.ssh import SSHPool, SSHTarget
from tests.fixtures.hpc import HPCTestbed


def _lines_for(known_hosts: str, port: int) -> list[str]:
    return [
        line
        for line in pathlib.Path(known_hosts).read_text().splitlines()
        if line.startswith(f"[127.0.0.1]:{port} ")
    ]


@pytest.mark.asyncio
async def test_unknown_jump_host_is_reported_then_trusted(
    hpc_testbed: HPCTestbed, tmp_path: pathlib.Path
) -> None:
    tb = hpc_testbed
    # The login node is known, the jump host is not.
    known = tmp_path / "known_hosts"
    known.write_text("\n".join(_lines_for(tb.known_hosts, tb.port)) + "\n")
    jump_line = _lines_for(tb.known_hosts, tb.jump_port)[0]
    jump_fp = asyncssh.import_public_key(jump_line.split(None, 1)[1]).get_fingerprint("sha256")
    trusted = tmp_path / "trusted"
    target = SSHTarget.from_config(
        "viajump",
        {
            "host": "127.0.0.1",
            "port": tb.port,
            "user": tb.user,
            "identity_file": tb.key,
            "agent": False,
            "ssh_config": False,
            "known_hosts": str(known),
            "jump": f"{tb.jump_user}@127.0.0.1:{tb.jump_port}",
        },
    )
    # Only our file (not ~/.ssh/known_hosts), for the login node and the jump host alike.
    only = (str(known),)
    target = replace(
        target, known_hosts=only, jump=tuple(replace(h, known_hosts=only) for h in target.jump)
    )
    pool = SSHPool(trusted_hosts=str(trusted))
    try:
        with pytest.raises(RPCError) as info:
            await pool.run(target, "true")
        assert info.value.code == "ssh.host_unknown"
        assert info.value.details["port"] == tb.jump_port
        if info.value.details["key_type"] == "ssh-ed25519":
            assert info.value.details["fingerprint"] == jump_fp

        with pytest.raises(RPCError) as info2:
            await pool.trust_host(target, "SHA256:" + "A" * 43)
        assert info2.value.code == "ssh.fingerprint_mismatch"
        assert not trusted.exists()

        state = await pool.trust_host(target, info.value.details["fingerprint"])
        assert state["state"] == "connected"
        lines = trusted.read_text().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"[127.0.0.1]:{tb.jump_port} ")
        assert (await pool.run(target, "echo via-jump")).stdout == "via-jump\n"
    finally:
        await pool.close()


@pytest.mark.asyncio
async def test_all_channels_busy_is_an_error_not_a_hang(hpc_testbed: HPCTestbed) -> None:
    tb = hpc_testbed
    target = SSHTarget(
        "127.0.0.1",
        tb.port,
        tb.user,
        label="testbed",
        identity_files=(tb.key,),
        agent=False,
        config_files=(),
        known_hosts=(tb.known_hosts,),
        connect_timeout=10,
        max_channels=1,
        command_timeout=1.5,
    )
    pool = SSHPool()
    try:
        proc = await pool.create_process(target, "cat")  # holds the only channel until its EOF
        started = time.monotonic()
        with pytest.raises(RPCError) as info:
            await asyncio.wait_for(pool.run(target, "echo hi"), 10)
        assert info.value.code == "cluster.timeout"
        assert "channels" in info.value.message
        assert time.monotonic() - started < 5
        with pytest.raises(RPCError) as info:
            await asyncio.wait_for(pool.sftp(target), 10)
        assert info.value.code == "cluster.timeout"
        proc.close()
        await proc.wait_closed()
        assert (await pool.run(target, "echo free")).stdout == "free\n"
    finally:
        await pool.close()


@pytest.mark.asyncio
async def test_cancelled_backend_start_frees_its_channel(hpc_testbed: HPCTestbed) -> None:
    from jupyter_rpc.transports.ssh import SSHTransport

    tb = hpc_testbed
    target = SSHTarget(
        "127.0.0.1",
        tb.port,
        tb.user,
        label="testbed",
        identity_files=(tb.key,),
        agent=False,
        config_files=(),
        known_hosts=(tb.known_hosts,),
        connect_timeout=10,
        max_channels=1,
        command_timeout=8,
    )
    pool = SSHPool()
    # A "backend" that never answers: the start waits for its API description.
    transport = SSHTransport("mute", pool, target, ["sleep", "600"], start_timeout=60)
    try:
        start = asyncio.ensure_future(transport.api_info())
        await asyncio.sleep(1.0)
        assert not start.done()
        start.cancel()  # the request that started it went away
        with pytest.raises(asyncio.CancelledError):
            await start
        # The only channel is free again: a command runs (it waited at most command_timeout).
        assert (await pool.run(target, "echo free")).stdout == "free\n"
    finally:
        await transport.close()
        await pool.close()
