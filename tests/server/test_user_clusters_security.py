"""A cluster a user adds cannot run commands or read files on the Jupyter server (issue 13,
items 4 and 5): no ssh_config file (its ProxyCommand and ``Match exec`` run at connect),
no known_hosts file of their choosing, and the stored ``clusters.json`` (which the user
can write through the files API) goes through the same checks when the server starts.

A real Jupyter server each; a "restart" is a server started over a state folder whose
``clusters.json`` was written before, which is what a restart finds.
"""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path
from typing import Any

import asyncssh
import pytest

SECRET = "SECRET-first-line-3f9a"


@pytest.fixture
def stored(request: pytest.FixtureRequest) -> dict[str, Any]:
    """What the test puts in ``clusters.json`` before the server starts (indirect)."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
def markers(tmp_path: Path) -> dict[str, Path]:
    return {"proxy": tmp_path / "proxy-ran", "match": tmp_path / "match-exec-ran"}


@pytest.fixture
def evil_ssh_config(tmp_path: Path, markers: dict[str, Path]) -> Path:
    """An ssh_config whose every connect runs commands on this machine."""
    path = tmp_path / "evil_ssh_config"
    path.write_text(
        f'Match exec "touch {markers["match"]}"\n'
        "  User nobody\n"
        "Host *\n"
        f"  ProxyCommand touch {markers['proxy']}\n"
    )
    return path


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret"
    path.write_text(f"{SECRET}\nsecond line\n")
    return path


@pytest.fixture
def ssh_port() -> int:
    """A free port for the test's own SSH server (whose host key would be looked up)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any],
    home: Path,
    with_local_cluster: Any,
    tmp_path: Path,
    stored: dict[str, Any],
    evil_ssh_config: Path,
    secret_file: Path,
    ssh_port: int,
) -> dict[str, Any]:
    allow = stored.pop("allow_user_clusters", True)
    entries = json.loads(
        json.dumps(stored)
        .replace("EVIL_SSH_CONFIG", str(evil_ssh_config))
        .replace("SECRET_FILE", str(secret_file))
    )
    if entries:
        state = tmp_path / "state"
        state.mkdir(parents=True, exist_ok=True)
        (state / "clusters.json").write_text(json.dumps(entries))
    config = with_local_cluster(jp_server_config, home, allow_user_clusters=allow)
    # A site cluster may name its own known_hosts file (here one that is not one).
    config["RPCApp"]["clusters"]["site-odd"] = {
        "host": "127.0.0.1",
        "port": ssh_port,
        "known_hosts": str(secret_file),
        "ssh_config": False,
        "scheduler": "none",
        "connect_timeout": 5,
    }
    bad_config = tmp_path / "bad_ssh_config"
    bad_config.write_text(f"Host *\n  Port 22 {SECRET}\n")
    config["RPCApp"]["clusters"]["site-badcfg"] = {
        "host": "127.0.0.1",
        "port": 9,
        "ssh_config": str(bad_config),
        "scheduler": "none",
        "connect_timeout": 5,
    }
    return config


def _evil(path: str = "EVIL_SSH_CONFIG") -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": 9,
        "ssh_config": path,
        "scheduler": "slurm",
        "connect_timeout": 5,
    }


async def _names(rpc: Any) -> list[str]:
    status, body = await rpc("GET", "clusters")
    assert status == 200, body
    return [c["name"] for c in body["clusters"]]


async def test_a_user_cluster_with_an_ssh_config_file_is_refused(
    rpc: Any, evil_ssh_config: Path, markers: dict[str, Path]
) -> None:
    status, err = await rpc(
        "POST", "clusters", body={"name": "evil", **_evil(str(evil_ssh_config))}
    )
    # Had it been added, connecting would run the file's commands.
    connect, _ = await rpc("POST", "clusters", "evil", "connect", body={})
    assert not markers["proxy"].exists() and not markers["match"].exists()
    assert (status, err["code"]) == (400, "cluster.invalid"), err
    assert "ssh_config" in err["message"] and "run commands" in err["message"]
    assert connect == 404
    # ssh_config: true (~/.ssh/config, which the files API can write) is refused too;
    # false says what a user cluster does anyway.
    status, err = await rpc(
        "POST", "clusters", body={"name": "evil", **_evil(), "ssh_config": True}
    )
    assert (status, err["code"]) == (400, "cluster.invalid") and "ssh_config" in err["message"]
    status, cluster = await rpc(
        "POST", "clusters", body={"name": "fine", **_evil(), "ssh_config": False}
    )
    assert status == 201 and cluster["source"] == "user", cluster
    assert await _names(rpc) == ["local", "site-odd", "site-badcfg", "fine"]


async def test_a_user_cluster_naming_a_known_hosts_file_is_refused_without_quoting_it(
    rpc: Any, secret_file: Path
) -> None:
    for path in (str(secret_file), "/etc/shadow"):
        body = {"name": "peek", "host": "127.0.0.1", "port": 9, "known_hosts": path}
        status, err = await rpc("POST", "clusters", body=body)
        assert (status, err["code"]) == (400, "cluster.invalid"), err
        assert "known_hosts" in err["message"] and SECRET not in json.dumps(err)
    assert "peek" not in await _names(rpc)


async def test_a_known_hosts_file_that_is_not_one_is_named_not_quoted(
    rpc: Any, secret_file: Path, ssh_port: int
) -> None:
    """A site cluster may name a known_hosts file; when it is not one, the error names
    the file and never shows a line of it."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.create_server(
        asyncssh.SSHServer, "127.0.0.1", ssh_port, server_host_keys=[key]
    )
    try:
        status, err = await rpc("POST", "clusters", "site-odd", "connect", body={})
    finally:
        server.close()
    assert status == 400 and err["code"] == "cluster.config_invalid", err
    assert str(secret_file) in err["message"] and SECRET not in json.dumps(err)
    status, body = await rpc("GET", "clusters", "site-odd")
    assert SECRET not in json.dumps(body)
    # An ssh_config that cannot be read: the file and the line, not the line's text.
    status, err = await rpc("POST", "clusters", "site-badcfg", "connect", body={})
    assert status == 400 and err["code"] == "cluster.config_invalid", err
    assert "bad_ssh_config line 2" in err["message"] and SECRET not in json.dumps(err)


@pytest.mark.parametrize(
    "stored",
    [
        {
            "evil": {**_evil()},
            "peek": {"host": "127.0.0.1", "port": 9, "known_hosts": "SECRET_FILE"},
            "all": {"scheduler": "local", "roots": {"all": "/"}},
            "all2": {"host": "127.0.0.1", "files": "local", "roots": {"all": "/"}},
            "fine": {"host": "127.0.0.1", "port": 9, "scheduler": "none"},
        }
    ],
    indirect=True,
)
async def test_stored_user_clusters_get_the_checks_of_a_post(
    rpc: Any, markers: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="jupyter_rpc")
    assert await _names(rpc) == ["local", "site-odd", "site-badcfg", "fine"]
    for name in ("evil", "peek", "all", "all2"):
        status, err = await rpc("POST", "clusters", name, "connect", body={})
        assert status == 404, err
        status, err = await rpc("GET", "clusters", name, "files", "all/etc/passwd")
        assert status == 404 and "root:" not in json.dumps(err), err
    assert not markers["proxy"].exists() and not markers["match"].exists()
    logged = "\n".join(r.getMessage() for r in caplog.get_records("setup") + caplog.records)
    for name, why in (("evil", "ssh_config"), ("peek", "known_hosts"), ("all", "host")):
        assert f"user cluster {name!r} is ignored" in logged and why in logged, logged
    assert SECRET not in logged


@pytest.mark.parametrize(
    "stored",
    [{"allow_user_clusters": False, "fine": {"host": "127.0.0.1", "port": 9}}],
    indirect=True,
)
async def test_no_stored_user_cluster_loads_when_the_site_does_not_allow_them(
    rpc: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="jupyter_rpc")
    assert await _names(rpc) == ["local", "site-odd", "site-badcfg"]
    logged = "\n".join(r.getMessage() for r in caplog.get_records("setup"))
    assert "allow_user_clusters is false" in logged, logged
    status, err = await rpc("POST", "clusters", body={"name": "new", "host": "127.0.0.1"})
    assert (status, err["code"]) == (403, "cluster.user_clusters_disabled")
