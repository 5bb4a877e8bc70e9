"""Local jobs and local backends start from the server's environment minus its secrets
(issue 13 item 6): one policy, ``RPCApp.child_env_drop`` / ``child_env_keep``."""

from __future__ import annotations

import asyncio
import pathlib
import time
from typing import Any

import pytest

from jupyter_rpc.ssh.runner import LocalRunner

SECRETS = {
    "JUPYTER_TOKEN": "jt-secret",
    "JUPYTERHUB_API_TOKEN": "hub-secret",
    "MY_SECRET_TOKEN": "mine-secret",
    "DB_PASSWORD": "db-secret",
}
PASSING = {"KEPT_TOKEN": "kept-value", "PLAIN_SETTING": "plain-value"}


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any],
    home: pathlib.Path,
    with_local_cluster: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    for name, value in {**SECRETS, **PASSING}.items():
        monkeypatch.setenv(name, value)
    return with_local_cluster(jp_server_config, home, child_env_keep=["kept_token"])


async def test_local_jobs_and_backends_do_not_inherit_the_servers_secrets(rpc: Any) -> None:
    status, job = await rpc(
        "POST", "clusters", "local", "jobs", body={"script": "env\n", "env": {"OWN_TOKEN": "own"}}
    )
    assert status == 201, job
    deadline = time.monotonic() + 30
    while job["state"] not in {"completed", "failed", "cancelled", "timeout"}:
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.2)
        status, job = await rpc("GET", "clusters", "local", "jobs", job["id"])
    assert job["state"] == "completed", job
    status, out = await rpc(
        "GET", "clusters", "local", "jobs", job["id"], "output", params={"stream": "stdout"}
    )
    env = dict(line.split("=", 1) for line in out["data"].splitlines() if "=" in line)
    assert {name: env.get(name) for name in SECRETS} == dict.fromkeys(SECRETS)
    assert {name: env.get(name) for name in PASSING} == PASSING
    assert env.get("OWN_TOKEN") == "own"  # the job's own env is the user's choice

    seen = {}
    for name in [*SECRETS, *PASSING]:
        status, call = await rpc(
            "POST",
            "backends",
            "faulty",
            "calls",
            body={"function": "getenv", "arguments": {"name": name}, "wait": 20},
        )
        assert status in (200, 201) and call["state"] == "succeeded", call
        seen[name] = call["result"]
    assert seen == {**dict.fromkeys(SECRETS), **PASSING}


async def test_commands_of_a_cluster_on_this_machine_do_not_inherit_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Slurm on the server's machine (a cluster without ``host``) runs sbatch through
    LocalRunner with ``--export=ALL``: what sbatch inherits, every job inherits."""
    for name, value in {**SECRETS, **PASSING}.items():
        monkeypatch.setenv(name, value)
    done = await LocalRunner().run(["env"], env={"SBATCH_SETTING": "given"})
    env = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert {name: env.get(name) for name in SECRETS} == dict.fromkeys(SECRETS)
    assert env.get("PLAIN_SETTING") == "plain-value" and env.get("SBATCH_SETTING") == "given"
