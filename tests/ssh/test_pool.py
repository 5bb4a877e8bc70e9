"""The SSH pool, runner and target against the real test bed (sshd, jump host, password sshd)."""

from __future__ import annotations

import asyncio
import os
import pathlib
import stat
import time
import uuid
from dataclasses import replace

import asyncssh
import pytest

from jupyter_rpc.errors import RPCError
from jupyter_rpc.ssh import SSHPool, SSHRunner, SSHTarget
from tests.fixtures.hpc import HPCTestbed, PrivateSSHD, free_port


def login(tb: HPCTestbed, **kw: object) -> SSHTarget:
    base = SSHTarget(
        "127.0.0.1",
        tb.port,
        tb.user,
        label="testbed",
        identity_files=(tb.key,),
        agent=False,
        config_files=(),
        known_hosts=(tb.known_hosts,),
        connect_timeout=10,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def host_fingerprints(tb: HPCTestbed) -> dict[str, str]:
    out = {}
    for name in ("ssh_host_ed25519_key.pub", "ssh_host_rsa_key.pub"):
        key = asyncssh.read_public_key(str(tb.dir / "etc" / name))
        out[key.get_algorithm()] = key.get_fingerprint("sha256")
    return out


@pytest.mark.asyncio
async def test_run_exit_status_stdin_and_stderr(hpc_testbed: HPCTestbed) -> None:
    pool = SSHPool()
    try:
        runner = SSHRunner(pool, login(hpc_testbed))
        done = await runner.run(["id", "-un"])
        assert (done.exit_status, done.stdout.strip()) == (0, hpc_testbed.user)
        done = await runner.run(["sh", "-c", "echo oops >&2; exit 3"])
        assert (done.exit_status, done.stderr, done.ok) == (3, "oops\n", False)
        done = await runner.run(["wc", "-c"], input="héllo\n")
        assert done.stdout.strip() == str(len("héllo\n".encode()))
        done = await runner.run(["cat"])  # no input: stdin is at EOF, nothing hangs
        assert (done.exit_status, done.stdout) == (0, "")
        assert runner.where == "testbed"
    finally:
        await pool.close()


@pytest.mark.asyncio
async def test_concurrent_commands_share_one_connection_within_max_channels(
    hpc_testbed: HPCTestbed,
) -> None:
    pool = SSHPool()
    target = login(hpc_testbed, max_channels=4)
    try:
        runner = SSHRunner(pool, target)
        workdir = (await runner.run(["mktemp", "-d"])).stdout.strip()
        # Each command counts the commands running at the same moment, on the server.
        script = 'touch "$1/$$"; ls "$1" | wc -l; sleep 0.3; rm "$1/$$"'
        results = await asyncio.gather(
            *(runner.run(["sh", "-c", script, "sh", workdir]) for _ in range(24))
        )
        seen = [int(r.stdout) for r in results]
        assert max(seen) == 4, seen  # parallel, but never more than max_channels
        assert pool.counters["connects"] == 1
        assert pool.counters["commands"] == 25
        await runner.run(["rmdir", workdir])
    finally:
        await pool.close()


@pytest.mark.asyncio
async def test_jump_host_through_the_pool(hpc_testbed: HPCTestbed) -> None:
    tb = hpc_testbed
    target = SSHTarget.from_config(
        "viajump",
        {
            "host": "127.0.0.1",
            "port": tb.port,
            "user": tb.user,
            "identity_file": tb.key,
            "agent": False,
            "ssh_config": False,
            "known_hosts": tb.known_hosts,
            "jump": f"{tb.jump_user}@127.0.0.1:{tb.jump_port}",
        },
    )
    pool = SSHPool()
    try:
        done = await pool.run(target, "echo via-jump; echo $SSH_CONNECTION")
        assert done.stdout.splitlines()[0] == "via-jump"
        assert pool.counters["connects"] == 2  # the jump host, then the login node through it
        assert pool.state(target)["state"] == "connected"
    finally:
        await pool.close()


@pytest.mark.asyncio
async def test_jump_host_from_ssh_config(hpc_testbed: HPCTestbed) -> None:
    target = SSHTarget(
        "testbed-via-jump", config_files=(hpc_testbed.ssh_config,), known_hosts=(), agent=False
    )
    pool = SSHPool()
    try:
        done = await SSHRunner(pool, target).run(["id", "-un"])
        assert done.stdout.strip() == hpc_testbed.user
    finally:
        await pool.close()


@pytest.mark.asyncio
async def test_unknown_host_is_reported_then_trusted(
    hpc_testbed: HPCTestbed, tmp_path: pathlib.Path
) -> None:
    trusted = tmp_path / "jupyter_rpc" / "known_hosts"
    pool = SSHPool(trusted_hosts=str(trusted))
    target = login(hpc_testbed, known_hosts=())
    try:
        with pytest.raises(RPCError) as info:
            await pool.run(target, "true")
        err = info.value
        assert (err.code, err.status) == ("ssh.host_unknown", 428)
        details = err.details
        assert (details["host"], details["port"]) == ("127.0.0.1", hpc_testbed.port)
        assert details["fingerprint"] == host_fingerprints(hpc_testbed)[details["key_type"]]
        assert details["fingerprint"] in err.message
        assert pool.state(target)["state"] == "error"

        with pytest.raises(RPCError) as info:
            await pool.trust_host(target, "SHA256:" + "A" * 43)
        assert info.value.code == "ssh.fingerprint_mismatch"
        assert not trusted.exists()

        state = await pool.trust_host(target, details["fingerprint"])
        assert state["state"] == "connected"
        assert stat.S_IMODE(trusted.stat().st_mode) == 0o600
        assert (await pool.run(target, "echo trusted")).stdout == "trusted\n"
        # A new pool (a server restart) reads the trusted file.
        again = SSHPool(trusted_hosts=str(trusted))
        assert (await again.run(target, "echo again")).stdout == "again\n"
        await again.close()
    finally:
        await pool.close()


@pytest.mark.asyncio
async def test_changed_host_key_is_refused(hpc_testbed: HPCTestbed, tmp_path: pathlib.Path) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519")
    wrong = tmp_path / "known_hosts"
    wrong.write_bytes(b"[127.0.0.1]:%d " % hpc_testbed.port + other.export_public_key("openssh"))
    pool = SSHPool(trusted_hosts=str(tmp_path / "trusted"))
    target = login(hpc_testbed, known_hosts=(str(wrong),))
    try:
        with pytest.raises(RPCError) as info:
            await pool.run(target, "true")
        assert (info.value.code, info.value.status) == ("ssh.host_key_changed", 502)
        assert "CHANGED" in info.value.message
        seen = info.value.details["fingerprint"]
        with pytest.raises(RPCError) as info:
            await pool.trust_host(target, seen)
        assert info.value.code == "ssh.host_key_changed"
        assert not (tmp_path / "trusted").exists()
    finally:
        await pool.close()


def password_target(tb: HPCTestbed) -> SSHTarget:
    if tb.password is None:
        pytest.skip(
            "the test bed has no password sshd ($TB/keys/password missing; run tests/hpc/testbed/up.sh)"
        )
    return login(tb, port=tb.password_port, identity_files=())


@pytest.mark.asyncio
async def test_password_prompt_then_connected(hpc_testbed: HPCTestbed) -> None:
    target = password_target(hpc_testbed)
    pool = SSHPool()
    try:
        t0 = time.monotonic()
        with pytest.raises(RPCError) as info:
            await pool.run(target, "id -un")
        assert time.monotonic() - t0 < 5
        assert (info.value.code, info.value.status) == ("ssh.auth_required", 428)
        prompt = info.value.details["prompt"]
        assert prompt["prompts"] == [{"prompt": "Password:", "echo": False}]
        assert pool.state(target) == {
            "state": "auth_required",
            "error": None,
            "prompt": prompt,
            "user": None,
        }
        # Other callers meanwhile get the same prompt, not a second login attempt.
        with pytest.raises(RPCError) as again:
            await pool.run(target, "true")
        assert again.value.details["prompt"]["id"] == prompt["id"]

        state = await pool.answer(target, prompt["id"], [hpc_testbed.password])
        assert state["state"] == "connected" and state["prompt"] is None
        assert (await pool.run(target, "id -un")).stdout.strip() == hpc_testbed.user
        assert hpc_testbed.password not in repr(pool.state(target))
    finally:
        await pool.close()


@pytest.mark.asyncio
async def test_wrong_password_asks_again_or_fails(hpc_testbed: HPCTestbed) -> None:
    target = password_target(hpc_testbed)
    pool = SSHPool()
    try:
        with pytest.raises(RPCError) as info:
            await pool.connect(target)
        first = info.value.details["prompt"]
        with pytest.raises(RPCError) as info:
            await pool.answer(target, first["id"], ["not-the-password"])
        assert info.value.code in ("ssh.auth_required", "ssh.auth_failed")
        if info.value.code == "ssh.auth_required":
            second = info.value.details["prompt"]
            assert second["id"] != first["id"] and "not accepted" in second["instructions"]
            state = await pool.answer(target, second["id"], [hpc_testbed.password])
            assert state["state"] == "connected"
        with pytest.raises(RPCError) as info:
            await pool.answer(target, first["id"], ["x"])
        assert info.value.code == "ssh.prompt_expired"
    finally:
        await pool.close()


@pytest.mark.asyncio
async def test_sshd_restart_fails_in_flight_and_next_call_reconnects(
    hpc_testbed: HPCTestbed, private_sshd: PrivateSSHD
) -> None:
    target = login(
        hpc_testbed, port=private_sshd.port, known_hosts=(str(private_sshd.known_hosts),)
    )
    pool = SSHPool()
    try:
        assert (await pool.run(target, "echo one")).stdout == "one\n"
        in_flight = asyncio.ensure_future(pool.run(target, "sleep 20", timeout=30))
        await asyncio.sleep(0.5)
        private_sshd.stop()
        with pytest.raises(RPCError) as info:
            await asyncio.wait_for(in_flight, 10)
        assert (info.value.code, info.value.status) == ("cluster.unreachable", 503)
        assert "lost" in info.value.message
        with pytest.raises(RPCError) as info:
            await pool.run(target, "true")  # nothing listens now
        assert info.value.code == "cluster.unreachable"
        assert f"127.0.0.1:{private_sshd.port}" in info.value.message

        private_sshd.start()  # same port
        assert (await pool.run(target, "echo two")).stdout == "two\n"
        assert pool.counters["connects"] == 2
        assert pool.state(target)["state"] == "connected"
    finally:
        await pool.close()


@pytest.mark.asyncio
async def test_unreachable_port_fails_fast_with_host_and_port(hpc_testbed: HPCTestbed) -> None:
    port = free_port()
    target = login(hpc_testbed, port=port)
    pool = SSHPool()
    try:
        t0 = time.monotonic()
        with pytest.raises(RPCError) as info:
            await SSHRunner(pool, target).run(["true"])
        assert time.monotonic() - t0 < 3
        assert (info.value.code, info.value.status) == ("cluster.unreachable", 503)
        assert f"127.0.0.1:{port}" in info.value.message
        assert pool.state(target)["error"]["code"] == "cluster.unreachable"
    finally:
        await pool.close()


@pytest.mark.asyncio
async def test_command_timeout(hpc_testbed: HPCTestbed) -> None:
    pool = SSHPool()
    try:
        runner = SSHRunner(pool, login(hpc_testbed))
        t0 = time.monotonic()
        with pytest.raises(RPCError) as info:
            await runner.run(["sleep", "10"], timeout=0.5)
        assert time.monotonic() - t0 < 3
        assert (info.value.code, info.value.status) == ("cluster.timeout", 504)
        assert (await runner.run(["echo", "still usable"])).stdout == "still usable\n"
    finally:
        await pool.close()


@pytest.mark.asyncio
async def test_idle_connection_is_closed_and_reopened(hpc_testbed: HPCTestbed) -> None:
    pool = SSHPool(idle_timeout=0.3)
    target = login(hpc_testbed)
    try:
        await pool.run(target, "true")
        assert pool.state(target)["state"] == "connected"
        await asyncio.sleep(1.0)
        assert pool.state(target)["state"] == "idle"
        assert (await pool.run(target, "echo back")).stdout == "back\n"
        assert pool.counters["connects"] == 2
    finally:
        await pool.close()


@pytest.mark.asyncio
async def test_sftp_client_is_cached_per_connection(hpc_testbed: HPCTestbed) -> None:
    pool = SSHPool()
    target = login(hpc_testbed)
    try:
        sftp = await pool.sftp(target)
        assert await sftp.realpath(".") == f"/home/{hpc_testbed.user}"
        assert await pool.sftp(target) is sftp
        assert pool.counters["connects"] == 1
    finally:
        await pool.close()


@pytest.mark.asyncio
async def test_runner_passes_hostile_values_literally(hpc_testbed: HPCTestbed) -> None:
    marker = f"/tmp/jrpc-marker-{uuid.uuid4().hex}"
    values = [
        f"a; touch {marker}",
        f"$(touch {marker})",
        f"`touch {marker}`",
        'it\'s "quoted" \\ back',
        "two\nlines\n",
        "ünïcødé ✓ 日本",
        "--option-like",
        "*",
        "",
    ]
    pool = SSHPool()
    try:
        runner = SSHRunner(pool, login(hpc_testbed))
        for value in values:
            done = await runner.run(["printf", "%s", value])
            assert (done.exit_status, done.stdout) == (0, value)
        done = await runner.run(["sh", "-c", 'printf %s "$V"'], env={"V": f"$(touch {marker})"})
        assert done.stdout == f"$(touch {marker})"
        assert not _exists(marker)
    finally:
        await pool.close()


def _exists(path: str) -> bool:
    return pathlib.Path(path).exists()


def test_target_from_config_and_errors() -> None:
    t = SSHTarget.from_config(
        "levante",
        {
            "host": "levante.example.org",
            "user": "k1",
            "port": 2200,
            "identity_file": ["~/.ssh/a"],
            "jump": "j1@bastion:2222,gate",
            "ssh_config": False,
            "max_channels": 4,
            "scheduler": "slurm",
        },
    )
    assert (t.label, t.host, t.port, t.user, t.max_channels, t.config_files) == (
        "levante",
        "levante.example.org",
        2200,
        "k1",
        4,
        (),
    )
    assert t.identity_files == (os.path.expanduser("~/.ssh/a"),)
    assert [(j.user, j.host, j.port) for j in t.jump] == [
        ("j1", "bastion", 2222),
        (None, "gate", None),
    ]
    assert t.hop(1).jump == (t.jump[0],)
    assert SSHTarget.from_config("v6", {"host": "h", "jump": ["u@[::1]:22"]}).jump[0].host == "::1"
    bad = [
        ({}, "host is required"),
        ({"host": "h", "port": 70000}, "port must be at most"),
        ({"host": "h", "port": "22"}, "port must be a positive integer"),
        ({"host": "h", "jump": "u@h:x"}, "jump has a hop"),
        ({"host": "h", "agent": "yes"}, "agent must be true or false"),
        ({"host": "h", "connect_timeout": 0}, "connect_timeout must be a positive number"),
        ({"host": "h", "identity_file": 3}, "identity_file must be a path"),
    ]
    for config, message in bad:
        with pytest.raises(RPCError) as info:
            SSHTarget.from_config("c", config)
        assert info.value.code == "cluster.config_invalid" and message in info.value.message, config
        assert info.value.message.startswith("Cluster 'c': ")


@pytest.mark.asyncio
async def test_unknown_host_behind_a_proxycommand_is_trusted(
    hpc_testbed: HPCTestbed, tmp_path: pathlib.Path
) -> None:
    """Sites that reach the login node with ``ProxyCommand ssh -W ... gateway`` in
    ~/.ssh/config, by a name only the gateway knows: the unknown key is the one seen through
    the proxy, and trusting it works (no second connection that would bypass the proxy)."""
    tb = hpc_testbed
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    config = tmp_path / "ssh_config"
    config.write_text(
        "Host behind-proxy\n"
        f"  HostName login.cluster.invalid\n  Port {tb.port}\n  User {tb.user}\n  IdentityFile {tb.key}\n"
        f"  UserKnownHostsFile {empty}\n"
        # The gateway (the test bed's jump host) forwards to the login node's real address.
        f"  ProxyCommand ssh -F {tb.ssh_config} -W 127.0.0.1:%p testbed-jump\n"
    )
    trusted = tmp_path / "trusted"
    target = SSHTarget(
        "behind-proxy", config_files=(str(config),), known_hosts=(), agent=False, connect_timeout=15
    )
    pool = SSHPool(trusted_hosts=str(trusted))
    try:
        with pytest.raises(RPCError) as info:
            await pool.run(target, "true")
        assert info.value.code == "ssh.host_unknown"
        fp = info.value.details["fingerprint"]
        assert fp == host_fingerprints(tb)[info.value.details["key_type"]]
        state = await pool.trust_host(target, fp)
        assert state["state"] == "connected"
        assert trusted.read_text().startswith(f"[login.cluster.invalid]:{tb.port} ")
        assert (await pool.run(target, "echo through-the-proxy")).stdout == "through-the-proxy\n"
        assert _ssh_children(), "the ProxyCommand runs as a child of the server"
    finally:
        await pool.close()
    # Closed means closed: the proxy process has exited and was reaped (no zombie, no
    # process left to the event loop after it stops).
    assert _ssh_children() == []


def _ssh_children() -> list[int]:
    """Our child processes (zombies included) that run ``ssh``."""
    pids = []
    for children in pathlib.Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        pids += [int(p) for p in children.read_text().split()]
    found = []
    for pid in pids:
        try:
            if pathlib.Path(f"/proc/{pid}/comm").read_text().strip() == "ssh":
                found.append(pid)
        except OSError:  # gone meanwhile
            pass
    return found
