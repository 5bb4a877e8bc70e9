"""Notebook kernels on compute nodes (issue 20): a kernel profile's kernel runs in a batch
job of the test bed's real Slurm, through a real Jupyter server: cells, SLURM_JOB_ID,
interrupt (a message: the login node cannot signal a node's process), restart in the same
job, shutdown (no job, no folder), a refused job in Slurm's words, and a held job shown
as pending by ``jupyter-rpc/kernels/starting`` and cancelled from there."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from typing import Any

import pytest

from tests.fixtures.hpc import HPCTestbed
from tests.kernels.conftest import kernel_folders, ssh_cluster


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], hpc_testbed: HPCTestbed, kernel_python: str, tmp_path: Any
) -> dict[str, Any]:
    profiles = {
        "debug": {
            "display_name": "debug",
            "resources": {"partition": "debug", "time_limit": 10, "cpus": 1},
        },
        "nosuch": {"resources": {"partition": "nosuch"}},
        "held": {"display_name": "held", "resources": {"time_limit": 5, "hold": True}},
        "noipy": {"kernel_python": "/usr/bin/python3", "resources": {"time_limit": 5}},
        "impatient": {"resources": {"time_limit": 5, "hold": True}, "queue_timeout": 2},
    }
    return {
        **jp_server_config,
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {
                "testbed": ssh_cluster(
                    hpc_testbed,
                    scheduler="slurm",
                    kernel_python=kernel_python,
                    display_name="testbed",
                    kernel_profiles=profiles,
                ),
            },
            "state_dir": str(tmp_path / "state"),
        },
    }


def squeue_state(job_id: str) -> str:
    """The job's state in ``squeue`` ('' once it is no longer listed)."""
    done = subprocess.run(
        ["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True, text=True, timeout=20
    )
    return done.stdout.strip()


def scancel(job_id: str) -> None:
    """Cancel a job as someone on the cluster would (not through the server)."""
    subprocess.run(["scancel", job_id], check=True, timeout=20)


async def gone_from_squeue(job_id: str, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while squeue_state(job_id) not in ("", "COMPLETED", "CANCELLED"):
        if time.monotonic() > end:
            return False
        await asyncio.sleep(0.3)
    return True


#: A job kernel's start may wait for the shared test bed's two CPUs (other tests' jobs).
QUEUED = 120.0


async def test_profile_kernelspecs(api: Any, rpc: Any) -> None:
    status, specs = await api("GET", "kernelspecs")
    assert status == 200
    spec = specs["kernelspecs"]["rpc-testbed-debug"]["spec"]
    assert spec["display_name"] == "Python 3 on testbed, debug"
    assert spec["interrupt_mode"] == "message"
    assert spec["metadata"]["jupyter_rpc"] == {
        "cluster": "testbed",
        "where": "job",
        "profile": "debug",
    }
    assert specs["kernelspecs"]["rpc-testbed"]["spec"]["metadata"]["jupyter_rpc"]["where"] == (
        "login"
    )
    assert "rpc-testbed-nosuch" in specs["kernelspecs"]
    status, clusters = await rpc("GET", "clusters")  # within the REST contract
    assert status == 200, clusters


async def test_job_kernel_cells_interrupt_restart_shutdown(
    api: Any, kernel_ws: Any, hpc_testbed: HPCTestbed
) -> None:
    before = kernel_folders(hpc_testbed)
    status, model = await api(
        "POST", "kernels", body={"name": "rpc-testbed-debug"}, request_timeout=QUEUED
    )
    assert status == 201, model
    kid = model["id"]
    kernel = await kernel_ws(kid)
    result = await kernel.execute("import os; print(os.environ['SLURM_JOB_ID'])")
    assert result["status"] == "ok", result
    job_id = result["stdout"].strip()
    assert job_id.isdigit(), result
    assert squeue_state(job_id) == "RUNNING"
    assert len(kernel_folders(hpc_testbed) - before) == 1

    assert (await kernel.execute("x = 41"))["status"] == "ok"
    msg_id = await kernel.send_execute("import time; time.sleep(100)")
    await asyncio.sleep(0.5)
    asked = time.monotonic()
    status, _ = await api("POST", "kernels", kid, "interrupt")
    assert status == 204
    result = await kernel.collect(msg_id, timeout=5)
    assert result["status"] == "error" and result["reply"]["ename"] == "KeyboardInterrupt"
    assert time.monotonic() - asked < 2.0
    assert (await kernel.execute("print(x)"))["stdout"] == "41\n"

    status, _ = await api("POST", "kernels", kid, "restart")
    assert status == 200
    kernel = await kernel_ws(kid)
    result = await kernel.execute("print(x)")
    assert result["status"] == "error" and result["reply"]["ename"] == "NameError"
    result = await kernel.execute("import os; print(os.environ['SLURM_JOB_ID'])")
    assert result["stdout"].strip() == job_id  # the restart kept the allocation
    assert squeue_state(job_id) == "RUNNING"

    status, _ = await api("DELETE", "kernels", kid)
    assert status == 204
    assert squeue_state(job_id) in ("", "COMPLETED", "CANCELLED"), squeue_state(job_id)
    assert not kernel_folders(hpc_testbed) - before


async def test_unknown_partition_fails_in_slurms_words(api: Any, hpc_testbed: HPCTestbed) -> None:
    before = kernel_folders(hpc_testbed)
    status, body = await api("POST", "kernels", body={"name": "rpc-testbed-nosuch"})
    assert status == 400, body
    message = body["message"]
    assert message.startswith("Cannot start a kernel on testbed, nosuch:"), message
    assert "Invalid partition name specified" in message, message
    assert not kernel_folders(hpc_testbed) - before
    status, kernels = await api("GET", "kernels")
    assert kernels == []


async def test_ipykernel_missing_on_the_nodes_names_the_fix(
    api: Any, hpc_testbed: HPCTestbed
) -> None:
    before = kernel_folders(hpc_testbed)
    status, body = await api(
        "POST", "kernels", body={"name": "rpc-testbed-noipy"}, request_timeout=QUEUED
    )
    assert status == 500, body
    message = body["message"]
    assert "ipykernel is not installed in the Python /usr/bin/python3" in message, message
    assert "/usr/bin/python3 -m pip install ipykernel" in message, message
    end = time.monotonic() + 10
    while kernel_folders(hpc_testbed) - before:  # the job cancelled, its folder removed
        assert time.monotonic() < end, kernel_folders(hpc_testbed) - before
        await asyncio.sleep(0.2)


async def test_queue_timeout_cancels_the_job_and_says_what_to_do(
    api: Any, rpc: Any, hpc_testbed: HPCTestbed
) -> None:
    before = kernel_folders(hpc_testbed)
    started = time.monotonic()
    status, body = await api(
        "POST", "kernels", body={"name": "rpc-testbed-impatient"}, request_timeout=60
    )
    assert status == 504, body
    message = body["message"]
    assert "waited in the queue for more than 2 s (JobHeldUser) and was cancelled" in message
    assert "pick a kernel profile with fewer resources" in message, message
    assert time.monotonic() - started < 20
    job_id = message.split("its job ", 1)[1].split()[0]
    assert await gone_from_squeue(job_id, 10)
    assert not kernel_folders(hpc_testbed) - before
    assert (await rpc("GET", "kernels", "starting"))[1] == {"starts": []}


async def test_held_job_shows_pending_and_cancel_ends_the_start(
    api: Any, rpc: Any, hpc_testbed: HPCTestbed
) -> None:
    before = kernel_folders(hpc_testbed)
    starting = asyncio.ensure_future(
        api("POST", "kernels", body={"name": "rpc-testbed-held"}, request_timeout=60)
    )
    end = time.monotonic() + 20
    while True:
        status, listing = await rpc("GET", "kernels", "starting")
        assert status == 200, listing
        starts = listing["starts"]
        # pending from the submit on; Slurm's reason from the first check of the job
        if starts and starts[0]["state"] == "pending" and starts[0]["reason"]:
            break
        assert time.monotonic() < end, listing
        assert not starting.done(), starting.result()
        await asyncio.sleep(0.2)
    (start,) = starts
    assert start["cluster"] == "testbed" and start["profile"] == "held"
    assert start["kernel_name"] == "rpc-testbed-held"
    assert start["display_name"] == "Python 3 on testbed, held"
    job_id = start["job_id"]
    assert squeue_state(job_id) == "PENDING"
    assert "Held" in start["reason"], start  # Slurm's reason: JobHeldUser

    status, cancelled = await rpc("DELETE", "kernels", "starting", start["id"])
    assert status == 200, cancelled
    status, body = await asyncio.wait_for(starting, 10)
    assert status == 409, body
    assert "cancelled" in body["message"] and job_id in body["message"], body
    assert await gone_from_squeue(job_id, 10)
    status, listing = await rpc("GET", "kernels", "starting")
    assert listing == {"starts": []}
    status, body = await rpc("DELETE", "kernels", "starting", start["id"])
    assert status == 404 and body["code"] == "kernel.start_not_found", body
    assert not kernel_folders(hpc_testbed) - before


def test_kernel_profiles_are_checked_like_the_other_cluster_keys() -> None:
    from jupyter_rpc.services.cluster_config import config_problems, user_cluster_problems

    good = {
        "host": "login.example.org",
        "scheduler": "slurm",
        "queue_timeout": 600,
        "kernel_profiles": {
            "gpu": {
                "display_name": "GPU node",
                "resources": {"partition": "gpu", "time_limit": 120, "cpus": 8, "gpus": 1},
                "queue_timeout": 1800,
            }
        },
    }
    assert config_problems(good) == ""
    assert user_cluster_problems({**good, "name": "mine"}) == ""
    bad_field = {"host": "h", "kernel_profiles": {"gpu": {"resources": {"walltime": 3}}}}
    assert "walltime" in config_problems(bad_field)
    bad_value = {"host": "h", "kernel_profiles": {"gpu": {"resources": {"cpus": 0}}}}
    assert "cpus" in config_problems(bad_value) or "minimum" in config_problems(bad_value)
    assert config_problems({"host": "h", "kernel_profiles": {"GPU node": {}}})


async def test_a_job_cancelled_on_the_cluster_gets_a_new_job_on_restart(
    api: Any, kernel_ws: Any, hpc_testbed: HPCTestbed
) -> None:
    """The kernel's job ends behind the server's back (scancel, a time limit): the kernel
    is dead, Jupyter's restarter restarts it, and the restart submits a new job (the old
    one cannot serve it); cells run in the new job."""
    before = kernel_folders(hpc_testbed)
    status, model = await api(
        "POST", "kernels", body={"name": "rpc-testbed-debug"}, request_timeout=QUEUED
    )
    assert status == 201, model
    kid = model["id"]
    kernel = await kernel_ws(kid)
    first = (await kernel.execute("import os; print(os.environ['SLURM_JOB_ID'])"))["stdout"]
    scancel(first.strip())
    assert await gone_from_squeue(first.strip(), 10)
    end = time.monotonic() + QUEUED
    second = ""
    while not second.strip().isdigit():
        assert time.monotonic() < end, "the kernel did not come back in a new job"
        await asyncio.sleep(1)
        kernel = await kernel_ws(kid)
        with contextlib.suppress(AssertionError, asyncio.TimeoutError):
            reply = await kernel.execute("import os; print(os.environ['SLURM_JOB_ID'])", 5)
            second = reply["stdout"]
    assert second != first and squeue_state(second.strip()) == "RUNNING"
    status, _ = await api("DELETE", "kernels", kid)
    assert status == 204
    assert await gone_from_squeue(second.strip(), 10)
    assert not kernel_folders(hpc_testbed) - before
