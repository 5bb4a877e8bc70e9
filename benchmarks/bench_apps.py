"""An interactive app through jupyter_rpc's proxy beside ``ssh -L`` to the same app.

Needs the HPC test bed (``sudo tests/hpc/testbed/up.sh``: its sshd, Slurm, and Xvnc +
websockify for the desktop). A real Jupyter server launches the built-in *Web app* as a
Slurm job running a small standard-library app (files over HTTP and a websocket echo on
``/ws``); an OpenSSH client forwards a local port to the same ``host:port`` (``ssh -L``,
as a user would without jupyter_rpc). In one run, interleaved so load affects both alike:

* HTTP download of a ``--size`` MB file, MB/s at the client (best of 3 each; aim: the
  proxy at least 0.8 of ``ssh -L``), and an upload of as many bytes (the request body
  streamed through the proxy);
* websocket round trip of a 32-byte message, p50 and p99 (aim: p50 within 1 ms of
  ``ssh -L``);
* the *Remote desktop*: from Launch (the POST) to the VNC banner through the proxy, and
  to a usable desktop (the viewer's handshake done and the first full-screen update
  drawn), with the time the job waited in Slurm's queue.

    python benchmarks/bench_apps.py [--size 50] [--pings 400] [--no-desktop]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any

from websocket import WebSocket, create_connection

sys.path.insert(0, os.path.dirname(__file__))
from bench_calls import free_port, start_server  # noqa: E402

TB = os.environ.get("TESTBED_DIR", "/var/lib/hpc-testbed")
SSH_CONFIG = f"{TB}/keys/ssh_config"
SSH = ["ssh", "-F", SSH_CONFIG, "testbed"]
BLOCKS = 4

#: The app on the node: http.server for files, plus a websocket echo on /ws (RFC 6455,
#: standard library only: the test bed's python3 has no tornado).
APP = r"""
import base64, hashlib, http.server, os, struct, sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def read_exact(f, n):
    data = b""
    while len(data) < n:
        chunk = f.read(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        left, got = int(self.headers.get("Content-Length", "0")), 0
        while left:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                break
            got += len(chunk)
            left -= len(chunk)
        body = str(got).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.rstrip("/").endswith("/ws") and "websocket" in self.headers.get("Upgrade", "").lower():
            return self.echo()
        return super().do_GET()

    def echo(self):
        key = self.headers["Sec-WebSocket-Key"].encode()
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        f = self.rfile
        try:
            while True:
                b0, b1 = read_exact(f, 2)
                length = b1 & 0x7F
                if length == 126:
                    length = struct.unpack(">H", read_exact(f, 2))[0]
                elif length == 127:
                    length = struct.unpack(">Q", read_exact(f, 8))[0]
                mask = read_exact(f, 4) if b1 & 0x80 else b"\0\0\0\0"
                data = bytes(c ^ mask[i % 4] for i, c in enumerate(read_exact(f, length)))
                opcode = b0 & 0x0F
                if opcode == 8:
                    self.wfile.write(b"\x88\x00")
                    return
                if opcode in (1, 2):
                    head = bytes([0x80 | opcode])
                    if len(data) < 126:
                        head += bytes([len(data)])
                    else:
                        head += b"\x7e" + struct.pack(">H", len(data))
                    self.wfile.write(head + data)
                    self.wfile.flush()
        except (EOFError, OSError):
            return
        finally:
            self.close_connection = True


os.chdir(sys.argv[1])
http.server.ThreadingHTTPServer((os.environ["HOST"], int(os.environ["PORT"])), Handler).serve_forever()
"""


class Server:
    """The REST API of the Jupyter server under test."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.base = f"http://127.0.0.1:{port}"

    def request(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            f"{self.base}/jupyter-rpc/{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
            return json.loads(response.read())

    def running(self, session: dict[str, Any], limit: float = 120.0) -> dict[str, Any]:
        deadline = time.monotonic() + limit
        while session["state"] not in ("running", "ended") and time.monotonic() < deadline:
            time.sleep(0.05)
            session = self.request("GET", f"sessions/{session['id']}")
        if session["state"] != "running":
            raise SystemExit(f"the session did not run: {session}")
        return session


def download(url: str, headers: dict[str, str]) -> tuple[float, int]:
    """Seconds and bytes of one GET, read in 1 MB blocks."""
    request = urllib.request.Request(url, headers=headers)
    start = time.perf_counter()
    got = 0
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - loopback
        while block := response.read(1 << 20):
            got += len(block)
    return time.perf_counter() - start, got


def upload(url: str, headers: dict[str, str], size: int) -> tuple[float, int]:
    """Seconds of one POST of ``size`` bytes sent in 1 MB blocks, and the bytes the app
    says it read."""
    block = b"u" * (1 << 20)

    def body() -> Any:
        sent = 0
        while sent < size:
            part = block[: size - sent]
            sent += len(part)
            yield part

    request = urllib.request.Request(
        url,
        data=body(),
        method="POST",
        headers={
            **headers,
            "Content-Type": "application/octet-stream",
            "Content-Length": str(size),
        },
    )
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - loopback
        got = int(response.read())
    return time.perf_counter() - start, got


def round_trips(ws: WebSocket, n: int) -> list[float]:
    message = b"x" * 32
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        ws.send_binary(message)
        reply = ws.recv()
        samples.append(time.perf_counter() - start)
        assert reply == message, reply
    return samples


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1e3


def ssh_forward(host: str, port: int) -> tuple[subprocess.Popen[bytes], int]:
    """``ssh -N -L`` from a free local port to ``host:port`` as the login node reaches it."""
    local = free_port()
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        [*SSH[:3], "-N", "-o", "ExitOnForwardFailure=yes", "-L",
         f"127.0.0.1:{local}:{host}:{port}", SSH[3]],
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", local)) == 0:
                return proc, local
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("ssh -L did not listen")


def web_app(server: Server, args: argparse.Namespace, remote: str) -> None:
    session = server.request(
        "POST",
        "sessions",
        {
            "app": "webapp",
            "cluster": "testbed",
            "values": {"command": f"exec python3 {remote}/app.py {remote}", "cpus": 1},
        },
    )
    forward = None
    try:
        session = server.running(session)
        info = json.loads(
            subprocess.run(  # noqa: S603 - fixed argv
                [*SSH, f"cat .jupyter-rpc/sessions/{session['id']}/connection.json"],
                check=True, capture_output=True,
            ).stdout
        )  # fmt: skip
        forward, local = ssh_forward(info["host"], info["port"])
        auth = {"Authorization": f"token {server.token}"}
        proxy = f"{server.base}{session['url']}"
        direct = f"http://127.0.0.1:{local}/"
        rates: dict[str, list[float]] = {"proxy": [], "ssh -L": []}
        download(proxy + "data.bin", auth)  # warm both paths (the forward opens)
        download(direct + "data.bin", {})
        for _ in range(3):
            for name, url, headers in (
                ("proxy", proxy, auth),
                ("ssh -L", direct, {}),
            ):
                seconds, got = download(url + "data.bin", headers)
                assert got == args.size * 1_000_000, got
                rates[name].append(got / seconds / 1e6)
        print(f"HTTP download of {args.size} MB (3 rounds each, best):")
        for name, values in rates.items():
            print(
                f"  {name:8s} {max(values):7.1f} MB/s   (all: {', '.join(f'{v:.0f}' for v in values)})"
            )
        print(f"  ratio {max(rates['proxy']) / max(rates['ssh -L']):.2f} (aim: at least 0.8)")

        size = args.size * 1_000_000
        sent: dict[str, list[float]] = {"proxy": [], "ssh -L": []}
        for _ in range(3):  # a request body streamed through the proxy (not held whole)
            for name, url, headers in (
                ("proxy", proxy, auth),
                ("ssh -L", direct, {}),
            ):
                seconds, got = upload(url + "upload", headers, size)
                assert got == size, got
                sent[name].append(size / seconds / 1e6)
        print(f"HTTP upload of {args.size} MB (3 rounds each, best):")
        for name, values in sent.items():
            print(
                f"  {name:8s} {max(values):7.1f} MB/s   (all: {', '.join(f'{v:.0f}' for v in values)})"
            )
        print(f"  ratio {max(sent['proxy']) / max(sent['ssh -L']):.2f}")

        ws_proxy = create_connection(
            "ws" + proxy[4:] + "ws", header=[f"Authorization: token {server.token}"], timeout=30
        )
        ws_direct = create_connection(f"ws://127.0.0.1:{local}/ws", timeout=30)
        samples: dict[str, list[float]] = {"proxy": [], "ssh -L": []}
        round_trips(ws_proxy, 20)
        round_trips(ws_direct, 20)
        per = max(1, args.pings // BLOCKS)
        for _ in range(BLOCKS):
            samples["proxy"] += round_trips(ws_proxy, per)
            samples["ssh -L"] += round_trips(ws_direct, per)
        ws_proxy.close()
        ws_direct.close()
        print(f"websocket round trip, 32 bytes ({per * BLOCKS} each, {BLOCKS} interleaved blocks):")
        for name, values in samples.items():
            print(f"  {name:8s} p50 {pct(values, 0.5):6.2f} ms  p99 {pct(values, 0.99):6.2f} ms")
        d50 = pct(samples["proxy"], 0.5) - pct(samples["ssh -L"], 0.5)
        print(f"  p50 difference {d50:+.2f} ms (aim: within 1 ms)")
    finally:
        if forward is not None:
            forward.terminate()
            forward.wait(timeout=10)
        server.request("DELETE", f"sessions/{session['id']}")


def read_exact(ws: WebSocket, buffer: bytearray, n: int) -> bytes:
    while len(buffer) < n:
        buffer += ws.recv()
    data = bytes(buffer[:n])
    del buffer[:n]
    return data


def desktop(server: Server) -> None:
    start = time.perf_counter()
    session = server.request(
        "POST", "sessions", {"app": "desktop", "cluster": "testbed", "values": {"cpus": 1}}
    )
    launched = time.perf_counter()
    try:
        queued_until = None
        deadline = time.monotonic() + 120
        while session["state"] not in ("running", "ended") and time.monotonic() < deadline:
            time.sleep(0.05)
            session = server.request("GET", f"sessions/{session['id']}")
            if queued_until is None and session["state"] != "queued":
                queued_until = time.perf_counter()
        if session["state"] != "running":
            raise SystemExit(f"the desktop did not run: {session}")
        running = time.perf_counter()
        url = f"ws://127.0.0.1:{server.port}{session['url']}websockify"
        ws = create_connection(url, header=[f"Authorization: token {server.token}"], timeout=30)
        buffer = bytearray()
        assert read_exact(ws, buffer, 12) == b"RFB 003.008\n"
        banner = time.perf_counter()
        ws.send_binary(b"RFB 003.008\n")
        assert read_exact(ws, buffer, 2) == b"\x01\x01"
        ws.send_binary(b"\x01")
        assert read_exact(ws, buffer, 4) == b"\0\0\0\0"
        ws.send_binary(b"\x01")  # ClientInit
        width, height = struct.unpack(">HH", read_exact(ws, buffer, 4))
        bpp = read_exact(ws, buffer, 16)[0] // 8
        read_exact(ws, buffer, struct.unpack(">I", read_exact(ws, buffer, 4))[0])
        ws.send_binary(struct.pack(">BxHi", 2, 1, 0))  # Raw
        ws.send_binary(struct.pack(">BBHHHH", 3, 0, 0, 0, width, height))
        _, _, rects = struct.unpack(">BBH", read_exact(ws, buffer, 4))
        for _ in range(rects):
            _, _, w, h, _ = struct.unpack(">HHHHi", read_exact(ws, buffer, 12))
            read_exact(ws, buffer, w * h * bpp)
        drawn = time.perf_counter()
        ws.close()
        queued = (queued_until or running) - launched
        print(f"Remote desktop ({width}x{height}) from Launch:")
        print(f"  launch answered   {launched - start:6.2f} s")
        print(f"  left the queue    {queued + launched - start:6.2f} s")
        print(f"  running           {running - start:6.2f} s")
        print(f"  VNC banner        {banner - start:6.2f} s  (through the proxy)")
        print(f"  usable (drawn)    {drawn - start:6.2f} s  (handshake + first full update)")
    finally:
        server.request("DELETE", f"sessions/{session['id']}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=50, help="MB to download")
    parser.add_argument("--pings", type=int, default=400, help="websocket round trips each")
    parser.add_argument("--no-desktop", action="store_true", help="skip the Remote desktop")
    args = parser.parse_args()
    if not os.path.exists(SSH_CONFIG):
        raise SystemExit(f"no HPC test bed ({SSH_CONFIG} is missing): run tests/hpc/testbed/up.sh")
    tmp = tempfile.mkdtemp(prefix="bench-apps-")
    remote = f"bench-apps-{os.getpid()}"
    subprocess.run(  # noqa: S603 - fixed argv
        [*SSH, f"mkdir -p {remote} && cat > {remote}/app.py && "
         f"head -c {args.size * 1_000_000} /dev/urandom > {remote}/data.bin"],
        input=APP.encode(), check=True,
    )  # fmt: skip
    config = {
        "RPCApp": {
            "clusters": {
                "testbed": {"host": "testbed", "ssh_config": SSH_CONFIG, "scheduler": "slurm"}
            },
            "state_dir": f"{tmp}/state",
            "jobs_refresh_min": 0.0,
        }
    }
    proc, port, token = start_server(tmp, config)
    server = Server(port, token)
    try:
        web_app(server, args, remote)
        if not args.no_desktop:
            if shutil.which("Xvnc") is None:
                print("Remote desktop: skipped (no Xvnc on the test bed)")
            else:
                time.sleep(1.0)  # the web app's job leaves the node
                desktop(server)
        if os.environ.get("BENCH_KEEP"):
            print(f"(the server's log: {tmp}/server.log)")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        subprocess.run([*SSH, f"rm -rf {remote}"], check=False)  # noqa: S603 - fixed argv
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
