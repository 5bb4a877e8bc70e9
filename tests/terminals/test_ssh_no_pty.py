"""An SSH server that gives the key no PTY (here sshd's ``PermitTTY no``; a restricted key's
``restrict`` without ``pty`` is refused the same way): opening a terminal gets 403
terminal.refused saying so, and the connection goes on serving files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.hpc import HPCTestbed, PrivateSSHD


@pytest.fixture
def no_pty_sshd(hpc_testbed: HPCTestbed, tmp_path: Any) -> Iterator[PrivateSSHD]:
    if os.geteuid() != 0:
        pytest.skip("a private sshd with the test bed's host keys needs root")
    server = PrivateSSHD(hpc_testbed, tmp_path)
    with open(server.config, "a") as config:
        config.write("PermitTTY no\n")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any],
    hpc_testbed: HPCTestbed,
    no_pty_sshd: PrivateSSHD,
    tmp_path: Any,
) -> dict[str, Any]:
    return {
        **jp_server_config,
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {
                "nopty": {
                    "host": "127.0.0.1",
                    "port": no_pty_sshd.port,
                    "user": hpc_testbed.user,
                    "identity_file": hpc_testbed.key,
                    "known_hosts": str(no_pty_sshd.known_hosts),
                    "ssh_config": False,
                    "scheduler": "none",
                }
            },
            "state_dir": str(tmp_path / "state"),
        },
    }


async def test_no_pty_for_the_key_is_said_clearly(rpc: Any) -> None:
    status, err = await rpc("POST", "clusters", "nopty", "terminals", body={})
    assert status == 403 and err["code"] == "terminal.refused", err
    assert "no terminal" in err["message"] and "PTY" in err["message"], err
    status, listing = await rpc("GET", "clusters", "nopty", "files", "")
    assert status == 200, listing
    status, listing = await rpc("GET", "clusters", "nopty", "terminals")
    assert listing["terminals"] == []
