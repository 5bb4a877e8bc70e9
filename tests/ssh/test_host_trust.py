"""Review fixes of the SSH helpers that need no server."""

from __future__ import annotations

import pathlib

import asyncssh
import pytest

from jupyter_rpc.errors import RPCError
from jupyter_rpc.ssh.hostkeys import append_trusted


@pytest.mark.parametrize(
    "host", ["*", "*.example.org", "a,b", "!bad", "h[1]", "@cert-authority", "a b", ""]
)
def test_trusting_a_host_name_with_pattern_characters_is_refused(
    tmp_path: pathlib.Path, host: str
) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    path = tmp_path / "trusted"
    with pytest.raises(RPCError) as info:
        append_trusted(str(path), host, 22, key)
    assert info.value.code == "ssh.trust_unavailable"
    assert not path.exists()


def test_trusting_a_plain_host_writes_one_line(tmp_path: pathlib.Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    path = tmp_path / "trusted"
    append_trusted(str(path), "login.example.org", 2222, key)
    append_trusted(str(path), "::1", 22, key)
    lines = path.read_text().splitlines()
    assert lines[0].startswith("[login.example.org]:2222 ssh-ed25519 ")
    assert lines[1].startswith("::1 ssh-ed25519 ")
    known = asyncssh.import_known_hosts(path.read_text())
    assert known.match("login.example.org", "", 2222)[0][0] == key.convert_to_public()
    assert not known.match("other.example.org", "", 2222)[0]
