"""A notebook kernel on a cluster (issue 20) does not outlive a Jupyter server that died:
a real ``jupyter server`` starts a login-node kernel on the SSH test bed (which runs on
this machine: the kernel's PID is in /proc), is killed with SIGKILL, and the cluster-side
watchdog ends the kernel within its bound (``RPCApp.kernel_watchdog``, 3 s here) and
removes its folder; while the server lives the kernel outlasts the bound. The same for a
kernel in a Slurm job (a kernel profile): its job ends itself."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from typing import Any

from tests.fixtures.hpc import HPCTestbed
from tests.kernels.conftest import (
    ensure_kernel_python,
    kernel_folders,
    pid_alive,
    remote_home,
    ssh_cluster,
)

BOUND = 3.0


def _kernel_pids(folder: str) -> list[int]:
    """PIDs of processes whose command line names ``folder`` (the kernel's
    ``-f .../folder/kernel.json``)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "ipykernel_launcher" in cmdline and f"/{folder}/kernel.json" in cmdline:
            pids.append(int(entry))
    return [p for p in pids if pid_alive(p)]


def test_kernel_ends_after_the_server_is_killed(
    jupyter_server_process: Any, hpc_testbed: HPCTestbed
) -> None:
    kernel_python = ensure_kernel_python(hpc_testbed)
    server = jupyter_server_process(
        module=None,
        rpc_config={
            "clusters": {"testbed": ssh_cluster(hpc_testbed, kernel_python=kernel_python)},
            "kernel_watchdog": BOUND,
        },
    )
    before = kernel_folders(hpc_testbed)
    reply = server.request("POST", "kernels", {"name": "rpc-testbed"}, prefix="api/")
    assert reply.status == 201, (reply.body, server.log())
    (folder,) = kernel_folders(hpc_testbed) - before
    end = time.monotonic() + 10
    while not (pids := _kernel_pids(folder)) and time.monotonic() < end:
        time.sleep(0.1)
    assert len(pids) == 1, pids
    pid = pids[0]

    time.sleep(BOUND + 2)  # the server renews the lease: the kernel stays
    assert pid_alive(pid), "the watchdog ended the kernel of a living server"

    os.kill(server.pid, signal.SIGKILL)
    server.proc.wait(timeout=10)
    server.stopped = True
    killed = time.monotonic()
    while pid_alive(pid) and time.monotonic() - killed < BOUND + 10:
        time.sleep(0.1)
    assert not pid_alive(pid), f"the kernel still runs {BOUND + 10:g} s after the server died"
    gone_after = time.monotonic() - killed
    assert gone_after >= BOUND - 1, gone_after  # the lease, not the channel, ended it
    end = time.monotonic() + 5
    while (remote_home(hpc_testbed) / ".jupyter-rpc" / "kernels" / folder).exists():
        assert time.monotonic() < end, "the watchdog left the kernel's folder"
        time.sleep(0.1)


def _job_of(folder: str) -> tuple[str, str]:
    """(job id, state) of the bed user's Slurm job working in ``folder``."""
    done = subprocess.run(
        ["squeue", "-h", "-u", "hpcuser", "-o", "%i %T %Z"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    for line in done.stdout.splitlines():
        job_id, state, workdir = (line.split(" ", 2) + ["", ""])[:3]
        if workdir.rstrip("/").endswith(f"/{folder}"):
            return job_id, state
    return "", ""


def test_job_kernel_ends_after_the_server_is_killed(
    jupyter_server_process: Any, hpc_testbed: HPCTestbed
) -> None:
    kernel_python = ensure_kernel_python(hpc_testbed)
    profiles = {"debug": {"resources": {"partition": "debug", "time_limit": 5, "cpus": 1}}}
    cluster = ssh_cluster(
        hpc_testbed, kernel_python=kernel_python, scheduler="slurm", kernel_profiles=profiles
    )
    server = jupyter_server_process(
        module=None, rpc_config={"clusters": {"testbed": cluster}, "kernel_watchdog": BOUND}
    )
    before = kernel_folders(hpc_testbed)
    # a start may wait for the shared bed's two CPUs (other tests' jobs)
    reply = server.request(
        "POST", "kernels", {"name": "rpc-testbed-debug"}, prefix="api/", timeout=120
    )
    assert reply.status == 201, (reply.body, server.log())
    (folder,) = kernel_folders(hpc_testbed) - before
    job_id, state = _job_of(folder)
    assert job_id and state == "RUNNING", (job_id, state)

    time.sleep(BOUND + 2)  # the server renews the lease: the job stays
    assert _job_of(folder) == (job_id, "RUNNING"), "the watchdog ended a living server's job"

    os.kill(server.pid, signal.SIGKILL)
    server.proc.wait(timeout=10)
    server.stopped = True
    killed = time.monotonic()
    while _job_of(folder)[0] and time.monotonic() - killed < BOUND + 15:
        time.sleep(0.3)
    assert not _job_of(folder)[0], f"job {job_id} still in squeue {BOUND + 15:g} s after"
    gone_after = time.monotonic() - killed
    assert gone_after >= BOUND - 1, gone_after  # the lease ended it
    end = time.monotonic() + 5
    while (remote_home(hpc_testbed) / ".jupyter-rpc" / "kernels" / folder).exists():
        assert time.monotonic() < end, "the job's watchdog left the kernel's folder"
        time.sleep(0.1)


def _squeue_state(job_id: str) -> str:
    done = subprocess.run(
        ["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True, text=True, timeout=20
    )
    return done.stdout.strip()


def test_a_server_that_stops_cancels_the_queued_kernel_jobs(
    jupyter_server_process: Any, hpc_testbed: HPCTestbed
) -> None:
    """A kernel whose job is queued (held) when the server stops: its job is cancelled and
    its folder removed, not left in the queue (a held job would never end by itself)."""
    kernel_python = ensure_kernel_python(hpc_testbed)
    profiles = {"held": {"resources": {"time_limit": 5, "hold": True}}}
    cluster = ssh_cluster(
        hpc_testbed, scheduler="slurm", kernel_python=kernel_python, kernel_profiles=profiles
    )
    server = jupyter_server_process(module=None, rpc_config={"clusters": {"testbed": cluster}})
    server.leftovers_allowed = True
    before = kernel_folders(hpc_testbed)
    replies: list[Any] = []
    threading.Thread(
        target=lambda: replies.append(
            server.request("POST", "kernels", {"name": "rpc-testbed-held"}, prefix="api/")
        ),
        daemon=True,
    ).start()
    end = time.monotonic() + 20
    while True:
        starts = server.request("GET", "kernels/starting").json()["starts"]
        if starts and starts[0]["state"] == "pending":
            break
        assert time.monotonic() < end, starts
        time.sleep(0.2)
    job_id = starts[0]["job_id"]
    assert _squeue_state(job_id) == "PENDING"
    server.proc.terminate()
    server.proc.wait(timeout=30)
    server.stopped = True
    assert _squeue_state(job_id) in ("", "CANCELLED"), _squeue_state(job_id)
    assert not kernel_folders(hpc_testbed) - before
