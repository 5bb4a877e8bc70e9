"""Jobs that will not stop: a job that ignores SIGTERM is still cancelled, by SIGKILL to
its whole process group after the cluster's grace time (``kill_grace``)."""

from __future__ import annotations

import asyncio
import pathlib
import time
from typing import Any

import pytest

from jupyter_rpc.services.cluster_config import config_problems

#: Ignores SIGTERM in the script and in every child (``trap ''`` is inherited), writes
#: its PID and its child's, and never ends on its own.
STUBBORN = """\
trap '' TERM
echo $$ > pids
sleep 300 &
echo $! >> pids
while true; do sleep 1; done
"""


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], home: pathlib.Path, tmp_path: pathlib.Path
) -> dict[str, Any]:
    """The local cluster over ``home``, with a one-second grace before SIGKILL."""
    local = {"scheduler": "local", "roots": {"home": str(home)}, "workdir": str(home)}
    return {
        **jp_server_config,
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {"local": {**local, "kill_grace": 1}},
            "state_dir": str(tmp_path / "state"),
        },
    }


def alive(pid: int) -> bool:
    """Running (a zombie or no process at all is not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def wait_for(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def test_a_job_ignoring_sigterm_is_cancelled_after_the_grace_time(rpc, home) -> None:
    status, job = await rpc("POST", "clusters", "local", "jobs", body={"script": STUBBORN})
    assert status == 201, job
    pids_file = home / "pids"
    assert await wait_for(
        lambda: len(pids_file.read_text().split()) == 2 if pids_file.exists() else False, 20
    )
    pids = [int(p) for p in pids_file.read_text().split()]
    assert all(alive(pid) for pid in pids)

    started = time.monotonic()
    status, cancelled = await rpc("DELETE", "clusters", "local", "jobs", job["id"])
    took = time.monotonic() - started
    assert status == 200, cancelled
    assert cancelled["state"] == "cancelled", cancelled
    assert took < 1 + 5, f"the cancel took {took:.1f} s with a 1 s grace time"
    # the whole group is gone: the script and the child it left in the background
    assert await wait_for(lambda: not any(alive(pid) for pid in pids), 5), [
        pid for pid in pids if alive(pid)
    ]
    status, again = await rpc("GET", "clusters", "local", "jobs", job["id"])
    assert again["state"] == "cancelled" and again["reason"] == "cancelled by the user"


def test_the_grace_time_is_checked_when_configured() -> None:
    assert config_problems({"scheduler": "local", "kill_grace": 2.5}) == ""
    for wrong in (-1, "5", 1e9):
        assert "kill_grace" in config_problems({"scheduler": "local", "kill_grace": wrong})
