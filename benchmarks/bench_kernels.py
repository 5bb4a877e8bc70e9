"""A notebook kernel on a cluster's login node (issue 20) beside the same kernel through
``ssh -L`` and a local kernel.

Needs the HPC test bed (``sudo tests/hpc/testbed/up.sh``) and a Python with ipykernel
for its user (``~/kenv/bin/python``; tests/kernels makes it). In one run it measures

* start to idle: ``POST /api/kernels`` for *Python 3 on testbed (login node)* until the
  kernel answers ``kernel_info`` on its websocket (aim: under 3 s on the test bed);
* the same for a compute-node kernel (kernel profile *debug*: a Slurm job), with the
  part its job waited in the queue (Slurm's submit and start times) taken out, and a
  restart of it (a new kernel in the same job) to idle;
* the round trip of an empty cell (``execute_request`` to ``execute_reply``), p50/p99,
  in interleaved blocks, for the remote kernel through the server's websocket (what
  JupyterLab sees), a local kernel through the same server's websocket (its floor), the
  same remote kernel through ``ssh -L`` tunnels set up by hand and a jupyter_client
  (with a remote command, so sshd sets TCP_NODELAY: notes/ssh-channels.md), and the local
  kernel's own client (aim: the remote kernel within 1.2x of ``ssh -L``, each through
  the same kind of client).

    python benchmarks/bench_kernels.py [--cells 200]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

from jupyter_client import BlockingKernelClient
from jupyter_client.manager import start_new_kernel
from websocket import WebSocket, create_connection

sys.path.insert(0, os.path.dirname(__file__))
from bench_calls import start_server  # noqa: E402

TB = os.environ.get("TESTBED_DIR", "/var/lib/hpc-testbed")
SSH_CONFIG = f"{TB}/keys/ssh_config"
BLOCKS = 4


def api(port: int, token: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/{path}",
        data=json.dumps(body or {}).encode() if method == "POST" else None,
        method=method,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        data = response.read()
    return json.loads(data) if data else {}


class WebKernel:
    """A kernel through the server's websocket (JSON messages, as JupyterLab's)."""

    def __init__(self, port: int, token: str, kernel_id: str) -> None:
        self.ws: WebSocket = create_connection(
            f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels",
            header=[f"Authorization: token {token}"],
            timeout=120,
            sockopt=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],  # as a browser does
        )
        self.session = uuid.uuid4().hex

    def request(self, msg_type: str, content: dict, reply: str) -> None:
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id, "msg_type": msg_type, "username": "bench",
            "session": self.session, "version": "5.3",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        }  # fmt: skip
        self.ws.send(
            json.dumps(
                {
                    "header": header,
                    "parent_header": {},
                    "metadata": {},
                    "content": content,
                    "channel": "shell",
                    "buffers": [],
                }  # fmt: skip
            )
        )
        while True:
            msg = json.loads(self.ws.recv())
            if msg["header"]["msg_type"] == reply and msg["parent_header"].get("msg_id") == msg_id:
                return

    def execute(self) -> None:
        self.request("execute_request", {"code": "", "silent": False}, "execute_reply")


class DirectKernel:
    """A jupyter_client on the kernel's ZMQ ports."""

    def __init__(self, client: BlockingKernelClient) -> None:
        self.client = client

    def execute(self) -> None:
        self.client.execute_interactive("", timeout=30)


def round_trips(kernel: WebKernel | DirectKernel, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        kernel.execute()
        out.append(time.perf_counter() - t)
    return out


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1e3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ssh_tunnel(folder: str) -> tuple[subprocess.Popen[bytes], BlockingKernelClient]:
    """``ssh -L`` x5 to the remote kernel whose folder is ``folder``; a client on them."""
    ssh = ["ssh", "-F", SSH_CONFIG, "testbed"]
    info = json.loads(subprocess.run([*ssh, f"cat {folder}/kernel.json"], capture_output=True,
                                     check=True).stdout)  # fmt: skip
    local = dict(info, ip="127.0.0.1", transport="tcp")
    forwards = []
    for name in ("shell", "iopub", "stdin", "control", "hb"):
        port = free_port()
        forwards += ["-L", f"127.0.0.1:{port}:127.0.0.1:{info[f'{name}_port']}"]
        local[f"{name}_port"] = port
    tunnel = subprocess.Popen(  # noqa: S603 - fixed argv
        ["ssh", "-F", SSH_CONFIG, "-T", *forwards, "testbed", "cat >/dev/null"],
        stdin=subprocess.PIPE,
    )
    time.sleep(1.0)
    client = BlockingKernelClient()
    client.load_connection_info(local)
    client.start_channels()
    client.wait_for_ready(timeout=30)
    return tunnel, client


def ssh(command: str) -> str:
    done = subprocess.run(
        ["ssh", "-F", SSH_CONFIG, "testbed", command], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def job_kernel(port: int, token: str, kernels: list[str], runs: int = 3) -> None:
    """Start to idle of a compute-node kernel, its queue wait (from Slurm) taken out; a
    restart in the same job to idle."""
    totals, beyond, restarts = [], [], []
    for _ in range(runs):
        started = time.monotonic()
        kernel_id = api(port, token, "POST", "kernels", {"name": "rpc-testbed-debug"})["id"]
        kernels.append(kernel_id)
        kernel = WebKernel(port, token, kernel_id)
        kernel.request("kernel_info_request", {}, "kernel_info_reply")
        total = time.monotonic() - started
        job_id = ssh("squeue -h -u $USER -n rpc-kernel-debug -o %i | sort -n | tail -1")
        times = ssh(f"SLURM_TIME_FORMAT=%s sacct -X -n -P -j {job_id} -o Submit,Start")
        submit, start = (float(t) for t in times.splitlines()[0].split("|"))
        totals.append(total)
        beyond.append(total - (start - submit))
        started = time.monotonic()
        api(port, token, "POST", f"kernels/{kernel_id}/restart")
        kernel.ws.close()
        kernel = WebKernel(port, token, kernel_id)
        kernel.request("kernel_info_request", {}, "kernel_info_reply")
        restarts.append(time.monotonic() - started)
        kernel.ws.close()
        api(port, token, "DELETE", f"kernels/{kernel_id}")
        kernels.remove(kernel_id)
    print(
        f"compute-node kernel (Slurm job, {runs} starts): start to idle "
        f"{', '.join(f'{t:.2f}' for t in totals)} s; without the queue wait (Slurm's 1 s "
        f"resolution) {', '.join(f'{t:.2f}' for t in beyond)} s; restart in the same job "
        f"to idle {', '.join(f'{t:.2f}' for t in restarts)} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cells", type=int, default=200, help="empty cells per path")
    args = parser.parse_args()
    if not os.path.exists(SSH_CONFIG):
        raise SystemExit(f"no HPC test bed ({SSH_CONFIG} is missing): run tests/hpc/testbed/up.sh")
    tmp = tempfile.mkdtemp(prefix="bench-kernels-")
    config = {
        "RPCApp": {
            "clusters": {
                "testbed": {
                    "host": "testbed",
                    "ssh_config": SSH_CONFIG,
                    "scheduler": "slurm",
                    "kernel_python": "~/kenv/bin/python",
                    "kernel_profiles": {
                        "debug": {"resources": {"partition": "debug", "time_limit": 10}}
                    },
                }
            },
            "state_dir": f"{tmp}/state",
        }
    }
    proc, port, token = start_server(tmp, config)
    kernels: list[str] = []
    tunnel = None
    local_km = None
    try:
        started = time.monotonic()
        remote_id = api(port, token, "POST", "kernels", {"name": "rpc-testbed"})["id"]
        kernels.append(remote_id)
        remote = WebKernel(port, token, remote_id)
        remote.request("kernel_info_request", {}, "kernel_info_reply")
        print(
            f"login-node kernel: start to idle {time.monotonic() - started:.2f} s (aim: under 3 s)"
        )
        job_kernel(port, token, kernels)
        local_id = api(port, token, "POST", "kernels", {"name": "python3"})["id"]
        kernels.append(local_id)
        local = WebKernel(port, token, local_id)
        local.request("kernel_info_request", {}, "kernel_info_reply")

        folders = subprocess.run(
            ["ssh", "-F", SSH_CONFIG, "testbed", "ls -td ~/.jupyter-rpc/kernels/*/ | head -1"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        tunnel, tunnel_client = ssh_tunnel(folders.rstrip("/"))
        local_km, local_client = start_new_kernel()
        paths = {
            "remote, server websocket": remote,
            "local, server websocket": local,
            "remote, ssh -L + client": DirectKernel(tunnel_client),
            "local, client": DirectKernel(local_client),
        }
        for kernel in paths.values():
            round_trips(kernel, 10)  # warm up
        samples: dict[str, list[float]] = {name: [] for name in paths}
        per = max(1, args.cells // BLOCKS)
        for _ in range(BLOCKS):  # interleaved, so load affects all alike
            for name, kernel in paths.items():
                samples[name] += round_trips(kernel, per)
        print(f"empty cell round trip ({per * BLOCKS} cells, {BLOCKS} interleaved blocks):")
        for name, values in samples.items():
            print(f"  {name:26s} p50 {pct(values, 0.5):6.2f} ms  p99 {pct(values, 0.99):6.2f} ms")
        ws_extra = pct(samples["remote, server websocket"], 0.5) - pct(
            samples["local, server websocket"], 0.5
        )
        ssh_extra = pct(samples["remote, ssh -L + client"], 0.5) - pct(
            samples["local, client"], 0.5
        )
        ratio = (pct(samples["local, client"], 0.5) + ws_extra) / pct(
            samples["remote, ssh -L + client"], 0.5
        )
        print(
            f"  remote minus local: {ws_extra:+.2f} ms through the server, {ssh_extra:+.2f} ms "
            f"through ssh -L; (local client + the server's remote cost) / ssh -L = {ratio:.2f} "
            "(aim: within 1.2)"
        )
        print(
            "  (median of all remote websocket samples: "
            f"{statistics.median(samples['remote, server websocket']) * 1e3:.2f} ms)"
        )
        tunnel_client.stop_channels()
        local_client.stop_channels()
    finally:
        for kernel_id in kernels:
            try:
                api(port, token, "DELETE", f"kernels/{kernel_id}")
            except OSError:
                pass
        if local_km is not None:
            local_km.shutdown_kernel(now=True)
        if tunnel is not None:
            tunnel.terminate()
            tunnel.wait(timeout=10)
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
