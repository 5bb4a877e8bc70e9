"""slurmctld stops while a user works: the jobs API says so clearly and recovers when
the controller is back. Stops the test bed's real slurmctld (by the PID in its pid file)
and starts it again with the test bed's up.sh, so it runs last and needs root."""

from __future__ import annotations

import asyncio
import os
import pathlib
import signal
import subprocess
import time
from typing import Any

import pytest

from tests.fixtures import TESTS
from tests.fixtures.hpc import HPCTestbed

UP = TESTS / "hpc" / "testbed" / "up.sh"


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], hpc_testbed: HPCTestbed, tmp_path
) -> dict[str, Any]:
    tb = hpc_testbed
    cluster = {
        "host": "127.0.0.1",
        "port": tb.port,
        "user": tb.user,
        "identity_file": tb.key,
        "known_hosts": tb.known_hosts,
        "ssh_config": False,
        "scheduler": "slurm",
        "command_timeout": 40,
    }
    return {
        **jp_server_config,
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {"testbed": cluster},
            "state_dir": str(tmp_path / "state"),
            "jobs_refresh_min": 0.0,
        },
    }


@pytest.fixture
def slurmctld(hpc_testbed: HPCTestbed):
    """The PID of the running slurmctld; the controller is running again afterwards."""
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("stopping slurmctld needs root")
        pytest.skip("stopping slurmctld needs root")
    pid_file = hpc_testbed.dir / "run" / "slurmctld.pid"
    pid = int(pid_file.read_text().strip())
    assert pathlib.Path(f"/proc/{pid}/comm").read_text().strip() == "slurmctld"
    yield pid
    subprocess.run(
        ["bash", str(UP)],
        env={**os.environ, "TESTBED_SKIP_APT": "1"},
        check=True,
        capture_output=True,
        timeout=180,
    )


async def test_controller_down_is_a_clear_error_and_recovers(rpc, slurmctld, hpc_testbed):
    status, body = await rpc("GET", "clusters", "testbed", "jobs")
    assert status == 200, body
    os.kill(slurmctld, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while os.path.exists(f"/proc/{slurmctld}"):  # noqa: ASYNC240 - a test
        assert time.monotonic() < deadline
        await asyncio.sleep(0.2)

    started = time.monotonic()
    status, err = await rpc("GET", "clusters", "testbed", "jobs")
    took = time.monotonic() - started
    assert status in (502, 503, 504), err
    assert err["code"] in (
        "cluster.command_failed",
        "cluster.timeout",
        "cluster.scheduler_unavailable",
    ), err
    assert "slurm" in err["message"].lower() or "controller" in err["message"].lower(), err
    assert took < 60

    await asyncio.to_thread(
        subprocess.run,
        ["bash", str(UP)],
        env={**os.environ, "TESTBED_SKIP_APT": "1"},
        check=True,
        capture_output=True,
        timeout=180,
    )
    status, body = await rpc("GET", "clusters", "testbed", "jobs")
    assert status == 200, body
