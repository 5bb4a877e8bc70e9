"""Moving a large file to and from a cluster: jupyter_rpc beside OpenSSH's scp and sftp.

Needs the HPC test bed (``sudo tests/hpc/testbed/up.sh``). In one run, taking turns on
the same loopback and the same sshd, a ``--size`` MB file of random bytes is

* uploaded and downloaded with ``scp`` and with ``sftp -b`` (OpenSSH client),
* uploaded (``PUT /jupyter-rpc/clusters/testbed/upload/...``, the body streamed) and
  downloaded (``GET .../download/...``) through a real Jupyter server, whose SFTP goes
  through its SSH pool,

checks every copy by SHA-256, and prints MB/s side by side with the ratio to OpenSSH.
It also prints the server's peak memory growth over the transfers (VmHWM), which must
stay flat whatever the file size. Files go to a scratch folder in the test user's home,
removed at the end.

    python benchmarks/bench_files.py [--size 200] [--rounds 2]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from bench_calls import start_server  # noqa: E402

TB = os.environ.get("TESTBED_DIR", "/var/lib/hpc-testbed")
SSH_CONFIG = f"{TB}/keys/ssh_config"
BLOCK = 1024 * 1024


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while piece := fh.read(BLOCK):
            digest.update(piece)
    return digest.hexdigest()


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=200, help="MB")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if not os.path.exists(SSH_CONFIG):
        raise SystemExit(
            f"no HPC test bed ({SSH_CONFIG} is missing): run sudo tests/hpc/testbed/up.sh"
        )
    tmp = tempfile.mkdtemp(prefix="bench-files-")
    source = os.path.join(tmp, "source.bin")
    with open(source, "wb") as fh:
        for _ in range(args.size):
            fh.write(os.urandom(BLOCK))
    want = sha256_file(source)
    scratch = f"bench-files-{os.getpid()}"
    ssh = ["ssh", "-F", SSH_CONFIG, "testbed"]
    subprocess.run([*ssh, f"mkdir -p {scratch}"], check=True)
    back = os.path.join(tmp, "back.bin")

    def check(path: str) -> None:
        got = sha256_file(path)
        if got != want:
            raise SystemExit(f"corrupted copy: {path}")
        os.unlink(path)

    def remote_sha(name: str) -> str:
        out = subprocess.run(
            [*ssh, f"sha256sum {scratch}/{name}"], capture_output=True, text=True, check=True
        )
        return out.stdout.split()[0]

    results: dict[str, list[float]] = {
        k: [] for k in ("scp up", "scp down", "sftp up", "sftp down", "rpc up", "rpc down")
    }
    config = {
        "RPCApp": {
            "clusters": {
                "testbed": {"host": "testbed", "ssh_config": SSH_CONFIG, "scheduler": "none"}
            },
            "state_dir": f"{tmp}/state",
        }
    }
    proc, port, token = start_server(tmp, config)
    headers = {"Authorization": f"token {token}"}
    try:
        # Warm up: open the SSH connection and SFTP session.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600, blocksize=BLOCK)
        conn.request(
            "GET", f"/jupyter-rpc/clusters/testbed/files/home/{scratch}?content=1", headers=headers
        )
        answer = conn.getresponse()
        if answer.status != 200:
            raise SystemExit(
                f"jupyter_rpc cannot list the scratch folder: {answer.status} {answer.read()[:300]!r}"
            )
        answer.read()
        rss_before = peak_rss_mb(proc.pid)

        def rpc_up() -> None:
            with open(source, "rb") as body:
                conn.request(
                    "PUT",
                    f"/jupyter-rpc/clusters/testbed/upload/home/{scratch}/rpc.bin",
                    body=body,
                    headers={**headers, "Content-Length": str(os.path.getsize(source))},
                )
                reply = conn.getresponse()
                data = reply.read()
                if reply.status != 201:
                    raise SystemExit(f"upload failed: {reply.status} {data[:300]!r}")

        def rpc_down() -> None:
            conn.request(
                "GET",
                f"/jupyter-rpc/clusters/testbed/download/home/{scratch}/rpc.bin",
                headers=headers,
            )
            reply = conn.getresponse()
            if reply.status != 200:
                raise SystemExit(f"download failed: {reply.status} {reply.read()[:300]!r}")
            with open(back, "wb") as fh:
                while piece := reply.read(BLOCK):
                    fh.write(piece)

        def sftp(command: str) -> None:
            subprocess.run(
                ["sftp", "-q", "-F", SSH_CONFIG, "-b", "-", "testbed"],
                input=command,
                text=True,
                check=True,
                stdout=subprocess.DEVNULL,
            )

        for _ in range(args.rounds):
            results["scp up"].append(
                timed(
                    lambda: subprocess.run(
                        ["scp", "-q", "-F", SSH_CONFIG, source, f"testbed:{scratch}/scp.bin"],
                        check=True,
                    )
                )
            )
            results["scp down"].append(
                timed(
                    lambda: subprocess.run(
                        ["scp", "-q", "-F", SSH_CONFIG, f"testbed:{scratch}/scp.bin", back],
                        check=True,
                    )
                )
            )
            check(back)
            results["sftp up"].append(timed(lambda: sftp(f"put {source} {scratch}/sftp.bin\n")))
            results["sftp down"].append(timed(lambda: sftp(f"get {scratch}/sftp.bin {back}\n")))
            check(back)
            results["rpc up"].append(timed(rpc_up))
            if remote_sha("rpc.bin") != want:
                raise SystemExit("the uploaded copy on the cluster is corrupted")
            results["rpc down"].append(timed(rpc_down))
            check(back)
        rss_after = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        subprocess.run([*ssh, f"rm -rf {scratch}"], check=False)
        shutil.rmtree(tmp, ignore_errors=True)  # the 50-200 MB source file

    def rate(key: str) -> float:
        return args.size / statistics.median(results[key])

    print(
        f"\n{args.size} MB over loopback, median of {args.rounds} rounds, every copy checked by SHA-256"
    )
    print(f"{'':14}{'upload MB/s':>14}{'download MB/s':>16}")
    for name in ("scp", "sftp", "rpc"):
        label = {"scp": "OpenSSH scp", "sftp": "OpenSSH sftp", "rpc": "jupyter_rpc"}[name]
        print(f"{label:14}{rate(name + ' up'):14.1f}{rate(name + ' down'):16.1f}")
    best_up = max(rate("scp up"), rate("sftp up"))
    best_down = max(rate("scp down"), rate("sftp down"))
    print(
        f"ratio to the faster OpenSSH tool: upload {rate('rpc up') / best_up:.2f}, "
        f"download {rate('rpc down') / best_down:.2f}"
    )
    print(
        f"server peak memory growth over all transfers: {rss_after - rss_before:.1f} MB "
        f"(peak {rss_after:.0f} MB)"
    )
    print(json.dumps({k: [round(v, 3) for v in vs] for k, vs in results.items()}))


if __name__ == "__main__":
    main()
