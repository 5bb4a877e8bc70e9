"""A terminal on a cluster through jupyter_rpc beside ``ssh -tt`` to the same account.

Needs the HPC test bed (``sudo tests/hpc/testbed/up.sh``). In one run, on the same
loopback and the same sshd, it measures

* the keystroke echo round trip: one character typed at bash's prompt until its echo
  comes back, through a real Jupyter server's terminal websocket (JupyterLab's
  messages) and through an OpenSSH client (``ssh -tt``, driven through pipes), in
  interleaved blocks; p50 and p99 (aim: within 2 ms of ``ssh -tt``);
* output throughput: ``cat`` of a ``--size`` MB text file on the cluster, timed until
  the marker after it arrives at the websocket and at ``ssh -tt``'s stdout (aim: at least
  half of ``ssh -tt``);
* the server's memory (VmRSS) with no terminal and with ``--terminals`` open ones (aim:
  under 20 MB more).

    python benchmarks/bench_terminal.py [--keys 200] [--size 50] [--terminals 20]
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from websocket import WebSocket, create_connection

sys.path.insert(0, os.path.dirname(__file__))
from bench_calls import start_server  # noqa: E402

TB = os.environ.get("TESTBED_DIR", "/var/lib/hpc-testbed")
SSH_CONFIG = f"{TB}/keys/ssh_config"
BLOCKS = 4


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class WebTerminal:
    """A terminal of the server, through its websocket."""

    def __init__(self, port: int, token: str, cols: int = 200) -> None:
        self.port, self.token = port, token
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/jupyter-rpc/clusters/testbed/terminals",
            data=json.dumps({"cols": cols, "rows": 50}).encode(),
            method="POST",
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            self.name = json.loads(answer.read())["name"]
        self.ws: WebSocket = create_connection(
            f"ws://127.0.0.1:{port}/jupyter-rpc/clusters/testbed/terminals/{self.name}/websocket",
            header=[f"Authorization: token {token}"],
            timeout=60,
            # a browser checks UTF-8 in C; websocket-client's pure-Python check would be
            # what this measures
            skip_utf8_validation=True,
        )

    def send(self, text: str) -> None:
        self.ws.send(json.dumps(["stdin", text]))

    def read_until(self, marker: str, count: bool = False) -> int:
        """Read until ``marker`` arrives; the characters received."""
        tail, total = "", 0
        while marker not in tail:
            kind, *rest = json.loads(self.ws.recv())
            if kind == "stdout":
                total += len(rest[0])
                tail = (tail + rest[0])[-(len(marker) + 64) :]
        return total

    def end(self) -> None:
        self.ws.close()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/jupyter-rpc/clusters/testbed/terminals/{self.name}",
            method="DELETE",
            headers={"Authorization": f"token {self.token}"},
        )
        urllib.request.urlopen(request, timeout=30).read()


class SSHTerminal:
    """``ssh -tt`` to the same account, through pipes."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv
            ["ssh", "-tt", "-F", SSH_CONFIG, "testbed"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.out = self.proc.stdout.fileno()
        self.inp = self.proc.stdin

    def send(self, text: str) -> None:
        self.inp.write(text.encode())
        self.inp.flush()

    def read_until(self, marker: str, count: bool = False) -> int:
        want = marker.encode()
        tail, total = b"", 0
        while want not in tail:
            select.select([self.out], [], [], 60)
            data = os.read(self.out, 1 << 20)
            if not data:
                raise RuntimeError("ssh -tt ended")
            total += len(data)
            tail = (tail + data)[-(len(want) + 64) :]
        return total

    def end(self) -> None:
        self.proc.terminate()  # notes gotcha 10: a closed stdin does not end it
        self.proc.wait(timeout=10)


def ready(term: WebTerminal | SSHTerminal) -> None:
    term.send("stty cols 200; export PS1='$ '; echo READY''-1\r")
    term.read_until("READY-1")


def echo_round_trips(term: WebTerminal | SSHTerminal, n: int) -> list[float]:
    out = []
    drain(term)
    for i in range(n):
        char = "qwxyz"[i % 5]  # letters no prompt or escape sequence here holds
        t = time.perf_counter()
        term.send(char)
        term.read_until(char)
        out.append(time.perf_counter() - t)
    term.send("\x15")  # Ctrl-U: the line is empty again
    time.sleep(0.05)
    drain(term)
    return out


def drain(term: WebTerminal | SSHTerminal) -> None:
    """Read what arrived so far (a redrawn line), so no old character counts as an echo."""
    if isinstance(term, WebTerminal):
        term.ws.settimeout(0.05)
        try:
            while True:
                term.ws.recv()
        except Exception:  # noqa: BLE001 - the timeout: nothing more
            pass
        term.ws.settimeout(60)
    else:
        while select.select([term.out], [], [], 0.05)[0]:
            if not os.read(term.out, 1 << 20):
                break


def throughput(term: WebTerminal | SSHTerminal, path: str, tag: str) -> tuple[float, int]:
    marker = f"END-{tag}"
    t = time.perf_counter()
    term.send(f"cat {path}; echo END-''{tag}\r")
    got = term.read_until(marker)
    return time.perf_counter() - t, got


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * q))] * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keys", type=int, default=200, help="keystrokes per client")
    parser.add_argument("--size", type=int, default=50, help="MB for cat")
    parser.add_argument("--terminals", type=int, default=20)
    args = parser.parse_args()
    if not os.path.exists(SSH_CONFIG):
        raise SystemExit(f"no HPC test bed ({SSH_CONFIG} is missing): run tests/hpc/testbed/up.sh")
    tmp = tempfile.mkdtemp(prefix="bench-terminal-")
    remote = f"bench-terminal-{os.getpid()}.txt"
    ssh = ["ssh", "-F", SSH_CONFIG, "testbed"]
    subprocess.run(  # noqa: S603 - fixed argv
        [*ssh, f"head -c {args.size * 750_000} /dev/urandom | base64 -w 100 > {remote}"],
        check=True,
    )
    config = {
        "RPCApp": {
            "clusters": {
                "testbed": {
                    "host": "testbed",
                    "ssh_config": SSH_CONFIG,
                    "scheduler": "none",
                    "max_channels": args.terminals + 4,
                }
            },
            "state_dir": f"{tmp}/state",
        }
    }
    proc, port, token = start_server(tmp, config)
    opened: list[WebTerminal] = []
    ssh_term: SSHTerminal | None = None
    try:
        web = WebTerminal(port, token)
        opened.append(web)
        ssh_term = SSHTerminal()
        ready(web)
        ready(ssh_term)
        echo: dict[str, list[float]] = {"jupyter_rpc": [], "ssh -tt": []}
        per = max(1, args.keys // BLOCKS)
        for _ in range(BLOCKS):  # interleaved, so load affects both alike
            echo["jupyter_rpc"] += echo_round_trips(web, per)
            echo["ssh -tt"] += echo_round_trips(ssh_term, per)
        print(f"keystroke echo round trip ({per * BLOCKS} keys, {BLOCKS} interleaved blocks):")
        for name, samples in echo.items():
            print(f"  {name:12s} p50 {pct(samples, 0.5):6.2f} ms  p99 {pct(samples, 0.99):6.2f} ms")
        d50 = pct(echo["jupyter_rpc"], 0.5) - pct(echo["ssh -tt"], 0.5)
        print(f"  p50 difference {d50:+.2f} ms (aim: within 2 ms)")

        rates: dict[str, list[float]] = {"jupyter_rpc": [], "ssh -tt": []}
        for i in range(2):
            for name, term in (("jupyter_rpc", web), ("ssh -tt", ssh_term)):
                seconds, got = throughput(term, remote, f"{name[:3]}{i}")
                rates[name].append(got / seconds / 1e6)
        print(f"cat of {args.size} MB at the client (2 rounds each, best):")
        for name, values in rates.items():
            print(f"  {name:12s} {max(values):7.1f} MB/s")
        ratio = max(rates["jupyter_rpc"]) / max(rates["ssh -tt"])
        print(f"  ratio {ratio:.2f} (aim: at least 0.5)")

        web.end()
        opened.clear()
        time.sleep(1.0)
        before = rss_mb(proc.pid)
        for _ in range(args.terminals):
            term = WebTerminal(port, token)
            opened.append(term)
            ready(term)
        time.sleep(1.0)
        after = rss_mb(proc.pid)
        print(
            f"server memory: {before:.1f} MB with no terminal, {after:.1f} MB with "
            f"{args.terminals} open: +{after - before:.1f} MB (aim: under 20 MB)"
        )
        print(
            f"(median of all echo samples: {statistics.median(echo['jupyter_rpc']) * 1e3:.2f} ms)"
        )
    finally:
        for term in opened:
            try:
                term.end()
            except OSError:
                pass
        if ssh_term is not None:
            ssh_term.end()
        proc.terminate()
        proc.wait(timeout=20)
        subprocess.run([*ssh, f"rm -f {remote}"], check=False)  # noqa: S603 - fixed argv
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
