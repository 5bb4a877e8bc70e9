"""A site cluster does not read the user's ``~/.ssh/config`` on a hub (issue 13, loose end).

On a hub a user may be granted ``write`` (the files API) without ``execute``; they could
still write ``~/.ssh/config`` with a ``ProxyCommand`` and have it run on the server at the
next connect to a site cluster (any read of its jobs or files connects). So
``RPCApp.user_ssh_config`` decides whether a site cluster without its own ``ssh_config``
path reads it: by default yes on a server of its own (as OpenSSH does; its user may run
anything anyway) and no under JupyterHub; a site's own ssh_config path is always read.
A real Jupyter server each, a real ``ProxyCommand`` that leaves a marker file.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from jupyter_rpc.ssh import target as ssh_target

HUB = {"JUPYTERHUB_SERVICE_PREFIX": "/user/alice/", "JUPYTERHUB_USER": "alice"}


def _exists(path: Path | str) -> bool:
    return Path(path).exists()


async def _proxy_commands_reaped(marker: Path, timeout: float = 10.0) -> bool:
    """Whether the ProxyCommands this test's server started (children of this process
    naming ``marker``) have been reaped, waiting up to ``timeout``; then one more loop turn
    lets asyncio's child watcher report their exit to the transport. A test that ends
    before that leaves a ``Popen`` whose exit was never recorded: its ResourceWarning
    ('subprocess N is still running') then fails whichever test runs next."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if not _children_naming(marker):
            await asyncio.sleep(0.2)
            return True
        await asyncio.sleep(0.05)
    return False


def _children_naming(marker: Path) -> list[int]:
    """This process's children (running, or zombies not yet waited for) whose command
    line names ``marker``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(b")") + 2 :].split()[1])
        if ppid == os.getpid() and os.fsencode(marker) in cmdline:
            found.append(int(entry))
    return found


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "proxy-command-ran"


@pytest.fixture
def case(request: pytest.FixtureRequest) -> dict[str, Any]:
    return dict(request.param)


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any],
    jp_environ: Any,
    jp_home_dir: Path,
    tmp_path: Path,
    marker: Path,
    case: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    for name, value in case.get("env", {}).items():
        monkeypatch.setenv(name, value)
    ssh = jp_home_dir / ".ssh"
    ssh.mkdir(mode=0o700, exist_ok=True)
    (ssh / "config").write_text(f"Host *\n  ProxyCommand touch {marker}\n")
    site_file = tmp_path / "site_ssh_config"
    site_file.write_text(f"Host *\n  ProxyCommand touch {marker}-site\n")
    rpc = dict(jp_server_config["RPCApp"])
    rpc["state_dir"] = str(tmp_path / "state")
    rpc["clusters"] = {
        "site": {"host": "127.0.0.1", "port": 9, "scheduler": "slurm", "connect_timeout": 5},
        "site-own": {
            "host": "127.0.0.1",
            "port": 9,
            "scheduler": "slurm",
            "connect_timeout": 5,
            "ssh_config": str(site_file),
        },
    }
    if "trait" in case:
        rpc["user_ssh_config"] = case["trait"]
    yield {**jp_server_config, "RPCApp": rpc}
    ssh_target.configure(True)  # the next test's server sets it again; plain tests expect it


@pytest.mark.parametrize(
    ("case", "runs"),
    [
        ({}, True),  # a server of its own: as OpenSSH
        ({"env": HUB}, False),  # under a hub: write without execute must not run commands
        ({"trait": False}, False),
        ({"env": HUB, "trait": True}, True),  # the site chose it
    ],
    indirect=["case"],
    ids=["own-server", "hub", "off", "hub-on"],
)
async def test_the_users_ssh_config_runs_nothing_on_a_hub(
    rpc: Any, marker: Path, case: dict[str, Any], runs: bool
) -> None:
    status, err = await rpc("POST", "clusters", "site", "connect", body={})
    assert status >= 400, err  # nothing listens on port 9 (or the ProxyCommand exits)
    assert _exists(marker) is runs, (case, err)
    # the site's own ssh_config file is read whatever the setting
    await rpc("POST", "clusters", "site-own", "connect", body={})
    assert _exists(f"{marker}-site")
    assert await _proxy_commands_reaped(marker)
