"""A terminal whose SSH connection drops for good (the sshd goes away): the terminal
ends, its browser is told (``["disconnect", 1]``), the server forgets it, and its shell
is gone with the sshd's session. A private sshd of the test bed's config (root)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.fixtures.hpc import HPCTestbed, PrivateSSHD
from tests.terminals.conftest import wait_gone


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any],
    hpc_testbed: HPCTestbed,
    private_sshd: PrivateSSHD,
    tmp_path: Any,
) -> dict[str, Any]:
    tb = hpc_testbed
    return {
        **jp_server_config,
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {
                "private": {
                    "host": "127.0.0.1",
                    "port": private_sshd.port,
                    "user": tb.user,
                    "identity_file": tb.key,
                    "known_hosts": str(private_sshd.known_hosts),
                    "ssh_config": False,
                    "scheduler": "none",
                }
            },
            "state_dir": str(tmp_path / "state"),
        },
    }


async def test_a_dropped_connection_ends_the_terminal(
    rpc: Any, term_ws: Any, private_sshd: PrivateSSHD
) -> None:
    status, model = await rpc("POST", "clusters", "private", "terminals", body={})
    assert status == 201, model
    term = await term_ws("private", model["name"])
    shell = int((await term.run("echo $$")).strip())
    private_sshd.stop()  # the listener and its sessions: the connection is gone
    await term.wait_disconnected(10)
    assert term.disconnected, "the browser was not told the terminal ended"
    assert await wait_gone([shell], 5.0) == []
    await asyncio.sleep(0.2)
    status, listing = await rpc("GET", "clusters", "private", "terminals")
    assert status == 200 and listing["terminals"] == []
    # the sshd back: a new terminal reconnects (no channel slot of the old connection held)
    private_sshd.start()
    status, model = await rpc("POST", "clusters", "private", "terminals", body={})
    assert status == 201, model
    again = await term_ws("private", model["name"])
    assert (await again.run("echo back-$((40+2))")).strip() == "back-42"
