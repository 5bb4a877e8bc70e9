"""Terminals on an SSH cluster through a real Jupyter server and the HPC test bed's
OpenSSH: a login shell on a PTY channel of the pooled connection (one connection
however many terminals), resized, interrupted, reattached, and hung up on DELETE and
when the server stops. The test bed runs on this machine, so the remote shells' PIDs are
checked in /proc."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from tests.fixtures.hpc import HPCTestbed
from tests.terminals.conftest import wait_gone


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], hpc_testbed: HPCTestbed, tmp_path: Any
) -> dict[str, Any]:
    tb = hpc_testbed
    ssh = {
        "host": "127.0.0.1",
        "port": tb.port,
        "user": tb.user,
        "identity_file": tb.key,
        "known_hosts": tb.known_hosts,
        "ssh_config": False,
        "scheduler": "none",
    }
    return {
        **jp_server_config,
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {
                "testbed": {**ssh, "max_channels": 30},
                "small": {**ssh, "max_channels": 4},
                "noterm": {**ssh, "allow_terminals": False},
            },
            "state_dir": str(tmp_path / "state"),
        },
    }


async def open_terminal(rpc: Any, cluster: str = "testbed", **body: Any) -> str:
    status, model = await rpc("POST", "clusters", cluster, "terminals", body=body)
    assert status == 201, model
    return str(model["name"])


def ssh_connections(port: int) -> int:
    """This process's established TCP connections to 127.0.0.1:``port``."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    remote = f"0100007F:{port:04X}"
    count = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[2] == remote and fields[3] == "01" and fields[9] in inodes:
                count += 1
    return count


async def test_echo_resize_ctrl_c_and_utf8(rpc: Any, term_ws: Any, hpc_testbed: HPCTestbed) -> None:
    term = await term_ws("testbed", await open_terminal(rpc, cols=100, rows=30))
    await term.send("echo $((6*7))\r")
    await term.expect(r"[\r\n]42\r?\n", timeout=15)
    assert (await term.run("whoami")).strip() == hpc_testbed.user
    assert (await term.run("echo $TERM; tput cols; tput lines")).split() == [
        "xterm-256color",
        "100",
        "30",
    ]
    await term.set_size(40, 132)
    assert (await term.run("tput cols; tput lines")).split() == ["132", "40"]
    await term.send("sleep 100\r")
    await asyncio.sleep(0.3)
    await term.send("\x03")
    await term.send("echo status=$?\r")
    await term.expect(r"[\r\n]status=130\r?\n", timeout=3)
    assert (await term.run("echo héllo ✓ 日本 🐍")).strip() == "héllo ✓ 日本 🐍"
    # an invalid byte from the remote does not close the connection (gotcha 1)
    await term.run(r"printf '\377\376 bad bytes\n'")
    assert (await term.run("echo still-$((2+2))")).strip() == "still-4"


async def test_cwd_starts_there(rpc: Any, term_ws: Any) -> None:
    status, cluster = await rpc("GET", "clusters", "testbed")
    home = cluster["roots"][0]
    term = await term_ws("testbed", await open_terminal(rpc))
    real = (await term.run("cd ~ && pwd -P")).strip()
    folder = f"jrpc-term-{os.getpid()}"
    await term.run(f"mkdir -p ~/{folder}")
    try:
        there = await term_ws("testbed", await open_terminal(rpc, cwd=f"{home['name']}/{folder}"))
        assert (await there.run("pwd -P")).strip() == f"{real}/{folder}"
    finally:
        await term.run(f"rmdir ~/{folder}")


async def test_reattach_gives_the_same_shell_and_its_output(rpc: Any, term_ws: Any) -> None:
    name = await open_terminal(rpc)
    first = await term_ws("testbed", name)
    pid = (await first.run("echo $$")).strip()
    await first.run("echo remember-$((1000+337))")
    first.close()
    await asyncio.sleep(0.3)
    again = await term_ws("testbed", name)
    await again.expect("remember-1337")
    assert (await again.run("echo $$")).strip() == pid


async def test_delete_ends_the_remote_shell_within_5s(rpc: Any, term_ws: Any) -> None:
    name = await open_terminal(rpc)
    term = await term_ws("testbed", name)
    shell = int((await term.run("echo $$")).strip())
    job = int((await term.run("sleep 300 & echo $!")).strip().splitlines()[-1])
    status, _ = await rpc("DELETE", "clusters", "testbed", "terminals", name)
    assert status == 204
    assert await wait_gone([shell, job], 5.0) == []
    status, listing = await rpc("GET", "clusters", "testbed", "terminals")
    assert listing["terminals"] == []


async def test_twenty_terminals_one_connection(
    rpc: Any, term_ws: Any, hpc_testbed: HPCTestbed
) -> None:
    names = await asyncio.gather(*(open_terminal(rpc) for _ in range(20)))
    terms = [await term_ws("testbed", n) for n in names]
    pids = await asyncio.gather(*(t.run("echo $$", timeout=20) for t in terms))
    assert len(set(pids)) == 20
    assert ssh_connections(hpc_testbed.port) == 1
    # jobs and files still get a channel beside them
    status, listing = await rpc("GET", "clusters", "testbed", "files", "")
    assert status == 200, listing
    status, listing = await rpc("GET", "clusters", "testbed", "terminals")
    assert len(listing["terminals"]) == 20
    await asyncio.gather(*(rpc("DELETE", "clusters", "testbed", "terminals", n) for n in names))
    assert await wait_gone([int(p) for p in pids], 5.0) == []


async def test_refused_and_too_many(rpc: Any) -> None:
    status, err = await rpc("POST", "clusters", "noterm", "terminals", body={})
    assert status == 403 and err["code"] == "terminal.refused", err
    assert "allow_terminals" in err["message"]
    names = [await open_terminal(rpc, "small") for _ in range(2)]  # 4 channels, 2 kept
    status, err = await rpc("POST", "clusters", "small", "terminals", body={})
    assert status == 409 and err["code"] == "terminal.too_many", err
    assert "max_channels" in err["message"]
    for n in names:
        await rpc("DELETE", "clusters", "small", "terminals", n)


async def test_a_stopping_server_hangs_up_every_shell(
    jp_serverapp: Any, rpc: Any, term_ws: Any
) -> None:
    pids = []
    for _ in range(3):
        term = await term_ws("testbed", await open_terminal(rpc))
        pids.append(int((await term.run("echo $$")).strip()))
    [app] = list(jp_serverapp.extension_manager.extension_apps["jupyter_rpc"])
    await app.stop_extension()
    assert await wait_gone(pids, 5.0) == []


def shells_in(folder: str) -> list[int]:
    """PIDs of the processes whose working folder is ``folder`` (this machine's /proc)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/cwd") == folder:
                found.append(int(pid))
        except OSError:
            continue
    return found


async def test_terminals_opened_at_once_keep_the_limit_and_leave_no_shell(
    rpc: Any, term_ws: Any
) -> None:
    helper = await term_ws("testbed", await open_terminal(rpc))
    folder = f"jrpc-race-{os.getpid()}"
    real = (await helper.run(f"mkdir -p ~/{folder} && cd ~/{folder} && pwd -P; cd")).strip()
    status, cluster = await rpc("GET", "clusters", "small")
    cwd = f"{cluster['roots'][0]['name']}/{folder}"
    try:
        answers = await asyncio.gather(
            *(rpc("POST", "clusters", "small", "terminals", body={"cwd": cwd}) for _ in range(5))
        )
        opened = [m["name"] for s, m in answers if s == 201]
        refused = [m["code"] for s, m in answers if s != 201]
        assert len(opened) == 2 and refused == ["terminal.too_many"] * 3, answers
        await asyncio.sleep(0.5)
        assert len(shells_in(real)) == 2  # the refused ones started no shell that stays
        for name in opened:
            assert (await rpc("DELETE", "clusters", "small", "terminals", name))[0] == 204
        assert await wait_gone(shells_in(real), 5.0) == []
        # every channel slot came back: two terminals again, and files beside them
        again = [await open_terminal(rpc, "small") for _ in range(2)]
        status, listing = await rpc("GET", "clusters", "small", "files", "")
        assert status == 200, listing
        for name in again:
            await rpc("DELETE", "clusters", "small", "terminals", name)
    finally:
        await helper.run(f"rmdir ~/{folder}")
