"""jupyter_rpc beside demessaging's own client, both calling the same DASF backend.

Starts (with the project's DASF test bed, ``tests/dasf/testbed.py``, on 127.0.0.1) a
dasf-broker-django and a real demessaging backend module (``tests/dasf/modules/dasf_demo.py``),
then a Jupyter server whose backend ``dasf`` is that topic (the broker transport), and
measures in one run, against the same broker and the same backend:

- jupyter_rpc: ``POST /jupyter-rpc/backends/dasf/calls`` with ``wait`` from this process
  (one HTTP round trip per call, keep-alive) → Jupyter server → broker → backend;
- demessaging: its generated client stub (``dasf_demo.py generate``) in the DASF venv, in a
  subprocess that times its own calls → broker → backend.

Figures: latency of the no-op ``noop()`` (p50, p95, mean over ``--calls`` sequential calls
after a warm-up), throughput with ``--clients`` concurrent callers for ``--seconds``
(jupyter_rpc: one keep-alive HTTP connection per caller; demessaging: one thread per
caller sharing the stub's connection, as a program using the stub would), and the
transfer time of a 5.5 MB result (``big_text()``), checked by SHA-256. demessaging 0.6.4's
client cannot reassemble fragmented results; the table shows its error.

Usage: python benchmarks/bench_dasf.py [--calls 500] [--clients 16] [--seconds 10] [--store cache]
Every process is stopped by its PID at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from dasf.testbed import MODULES, ensure_venv, start_backend, start_broker  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_calls  # noqa: E402

DEMO = MODULES / "dasf_demo.py"
BIG = 5_500_000
PATTERN = "abcdefghijklmnopqrstuvwxyz0123456789"
BIG_SHA = hashlib.sha256((PATTERN * (BIG // len(PATTERN) + 1))[:BIG].encode()).hexdigest()


# -- jupyter_rpc ----------------------------------------------------------------------------


def start_server(tmp: str, ws_url: str, topic: str) -> tuple[subprocess.Popen[bytes], int, str]:
    config = {
        "ServerApp": {"jpserver_extensions": {"jupyter_rpc": True}},
        "RPCApp": {
            "backends": {
                "dasf": {"transport": "broker", "url": ws_url, "topic": topic, "timeout": 120}
            }
        },
    }
    return bench_calls.start_server(tmp, config)


class Client:
    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}

    def call(self, function: str, arguments: dict | None = None) -> dict:
        body = json.dumps({"function": function, "arguments": arguments or {}, "wait": 60}).encode()
        self.conn.request(
            "POST", "/jupyter-rpc/backends/dasf/calls", body=body, headers=self.headers
        )
        response = self.conn.getresponse()
        data = json.loads(response.read())
        if response.status != 201 or data["state"] != "succeeded":
            raise RuntimeError(f"call failed: {response.status} {data.get('error') or data}")
        return data


def rest_latency(port: int, token: str, n: int) -> list[float]:
    client = Client(port, token)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        client.call("noop")
        out.append(time.perf_counter() - t0)
    return out


def rest_throughput(port: int, token: str, clients: int, seconds: float) -> float:
    return bench_calls.run_clients(
        clients, seconds, lambda: Client(port, token), lambda c: c.call("noop")
    )


def rest_big(port: int, token: str) -> tuple[float, str | None]:
    client = Client(port, token)
    t0 = time.perf_counter()
    try:
        data = client.call("big_text", {"size": BIG})
    except Exception as exc:  # reported, not fatal
        return time.perf_counter() - t0, str(exc)[:200]
    elapsed = time.perf_counter() - t0
    return elapsed, None if hashlib.sha256(
        data["result"].encode()
    ).hexdigest() == BIG_SHA else "result differs"


class Direct:
    """jupyter_rpc's broker transport in this process, without the Jupyter server (the floor
    of the REST path: what the HTTP hop costs is the difference). Its event loop runs in a
    thread all along, as a server's does, so the websocket keepalive is answered."""

    def __init__(self, ws_url: str, topic: str) -> None:
        import asyncio

        from jupyter_rpc.transports import BrokerTransport

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.transport = self._run(self._make(BrokerTransport, ws_url, topic))

    @staticmethod
    async def _make(cls, ws_url: str, topic: str):  # type: ignore[no-untyped-def]
        transport = cls("bench", ws_url, topic)
        await transport.api_info()
        return transport

    def _run(self, coro):  # type: ignore[no-untyped-def]
        import asyncio

        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def latency(self, n: int) -> list[float]:
        async def run() -> list[float]:
            out = []
            for _ in range(n):
                t0 = time.perf_counter()
                await self.transport.call({"func_name": "noop"})
                out.append(time.perf_counter() - t0)
            return out

        return self._run(run())

    def throughput(self, clients: int, seconds: float) -> float:
        import asyncio

        count = 0

        async def worker(stop: float) -> None:
            nonlocal count
            while time.monotonic() < stop:
                await self.transport.call({"func_name": "noop"})
                count += 1

        async def run() -> float:
            t0 = time.monotonic()
            await asyncio.gather(*(worker(t0 + seconds) for _ in range(clients)))
            return count / (time.monotonic() - t0)

        return self._run(run())

    def close(self) -> None:
        self._run(self.transport.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


# -- demessaging's client -------------------------------------------------------------------

# Runs in the DASF venv; reads commands on stdin, answers one JSON line each.
CLIENT_SCRIPT = textwrap.dedent(
    """
    import hashlib, json, logging, os, sys, threading, time
    os.environ.setdefault("DASF_REPORT_SHOW_METHOD", "NONE")
    sys.path.insert(0, sys.argv[1])
    import bench_stub as stub
    logging.disable(logging.CRITICAL)

    def latency(n):
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            stub.noop()
            out.append(time.perf_counter() - t0)
        return out

    def throughput(clients, seconds):
        counts = [0] * clients
        stop = time.monotonic() + seconds
        def worker(i):
            while time.monotonic() < stop:
                stub.noop()
                counts[i] += 1
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sum(counts) / (time.monotonic() - t0)

    def big(size, sha):
        t0 = time.perf_counter()
        try:
            text = stub.big_text(size)
            error = None if hashlib.sha256(text.encode()).hexdigest() == sha else "result differs"
        except Exception as exc:
            error = (type(exc).__name__ + ": " + str(exc).splitlines()[0])[:200]
        return [time.perf_counter() - t0, error]

    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "lat":
            out = latency(int(args[0]))
        elif cmd == "tp":
            out = throughput(int(args[0]), float(args[1]))
        elif cmd == "big":
            out = big(int(args[0]), args[1])
        else:
            break
        print("RESULT " + json.dumps(out), flush=True)
    os._exit(0)  # demessaging's socket threads do not end by themselves
    """
)


class Theirs:
    """demessaging's generated client stub, driven in a subprocess of the DASF venv."""

    def __init__(self, env, tmp: str, ws_url: str, topic: str) -> None:
        stub_dir = os.path.join(tmp, "stub")
        os.makedirs(stub_dir)
        gen = subprocess.run(
            [str(env.python), str(DEMO), "-t", topic, "--websocket-url", ws_url, "generate"],
            cwd=DEMO.parent, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        Path(stub_dir, "bench_stub.py").write_text(gen.stdout)
        script = Path(tmp, "demessaging_client.py")
        script.write_text(CLIENT_SCRIPT)
        child_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))
        }
        self.stderr = open(os.path.join(tmp, "demessaging.log"), "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(env.python), str(script), stub_dir],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True, env=child_env,
        )  # fmt: skip
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("RESULT "):
                self.lines.append(line[len("RESULT ") :])

    def ask(self, command: str, timeout: float):
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while not self.lines:
            if self.proc.poll() is not None:
                raise SystemExit(f"demessaging's client exited; see {self.stderr.name}")
            if time.monotonic() > deadline:
                return None
            time.sleep(0.01)
        return json.loads(self.lines.pop(0))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.stderr.close()


# -- report ---------------------------------------------------------------------------------


def stats(samples: list[float]) -> tuple[float, float, float]:
    s = sorted(samples)
    return (
        statistics.median(s) * 1e3,
        s[max(0, int(len(s) * 0.95) - 1)] * 1e3,
        statistics.mean(s) * 1e3,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--rounds", type=int, default=5, help="the paths take turns, in this many rounds"
    )
    parser.add_argument(
        "--store", default="cache", help="broker message storage: cache|cacheall|store|disabled"
    )
    args = parser.parse_args()

    env = ensure_venv()
    broker = start_broker(env, store_messages=args.store)
    backend = server = theirs = direct = None
    lat: dict[str, list[float]] = {"rest": [], "theirs": [], "direct": []}
    tp: dict[str, list[float]] = {"rest": [], "theirs": [], "direct": []}
    try:
        topic = broker.public_topic
        backend = start_backend(env, DEMO, topic, broker)
        with tempfile.TemporaryDirectory(prefix="rpc-bench-dasf-") as tmp:
            server, port, token = start_server(tmp, broker.ws_url, topic)
            try:
                theirs = Theirs(env, tmp, broker.ws_url, topic)
                direct = Direct(broker.ws_url, topic)
                # warm-up: sockets open, schemas fetched, response topics created
                rest_latency(port, token, 20)
                theirs.ask("lat 20", 120)
                direct.latency(20)
                # The three paths take turns, so a broker that slows down as its database
                # grows (it keeps permission rows of every message) affects them alike.
                per_round = max(1, args.calls // args.rounds)
                for _ in range(args.rounds):
                    lat["rest"] += rest_latency(port, token, per_round)
                    lat["theirs"] += theirs.ask(f"lat {per_round}", per_round * 2 + 60)
                    lat["direct"] += direct.latency(per_round)
                half = args.seconds / 2
                for _ in range(2):
                    tp["rest"].append(rest_throughput(port, token, args.clients, half))
                    tp["theirs"].append(theirs.ask(f"tp {args.clients} {half}", half + 120))
                    tp["direct"].append(direct.throughput(args.clients, half))
                big_rest = rest_big(port, token)
                big_theirs = theirs.ask(f"big {BIG} {BIG_SHA}", 60) or [
                    60.0,
                    "no answer within 60 s",
                ]
            finally:
                for thing in (theirs, direct):
                    if thing is not None:
                        thing.close()
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(15)
                except subprocess.TimeoutExpired:
                    server.kill()
    finally:
        if backend is not None:
            backend.stop()
        broker.close()

    rest, them, floor = stats(lat["rest"]), stats(lat["theirs"]), stats(lat["direct"])
    tps = {k: statistics.mean(v) for k, v in tp.items()}
    print(
        f"DASF no-op call `noop()`: {len(lat['rest'])} sequential calls per path (after 20 warm-up), "
        f"{args.clients} concurrent callers for {args.seconds:g} s per path; the paths take turns in "
        f"{args.rounds} rounds; dasf-broker-django (store={args.store}) and a demessaging 0.6.4 backend on "
        f"loopback, {os.cpu_count()} cores"
    )
    header = (
        "jupyter_rpc REST",
        "demessaging client",
        "ratio REST/dem.",
        "transport alone",
        "ratio alone/dem.",
    )
    print(f"{'':<26}" + "".join(f"{h:>20}" for h in header))
    for i, name in enumerate(("latency p50, ms", "latency p95, ms", "latency mean, ms")):
        print(
            f"{name:<26}{rest[i]:>20.2f}{them[i]:>20.2f}{rest[i] / them[i]:>20.2f}"
            f"{floor[i]:>20.2f}{floor[i] / them[i]:>20.2f}"
        )
    name = f"throughput x{args.clients}, calls/s"
    print(
        f"{name:<26}{tps['rest']:>20.1f}{tps['theirs']:>20.1f}{tps['rest'] / tps['theirs']:>20.2f}"
        f"{tps['direct']:>20.1f}{tps['direct'] / tps['theirs']:>20.2f}   (throughput: higher is better)"
    )
    big_a = "failed" if big_rest[1] else f"{big_rest[0]:.2f} s"
    big_b = "failed" if big_theirs[1] else f"{big_theirs[0]:.2f} s"
    print(f"{'5.5 MB result':<26}{big_a:>20}{big_b:>20}")
    if big_rest[1]:
        print(f"  jupyter_rpc: {big_rest[1]}")
    if big_theirs[1]:
        print(f"  demessaging: {big_theirs[1]} (after {big_theirs[0]:.2f} s)")
    print(
        "'transport alone': jupyter_rpc's BrokerTransport called in-process (no HTTP hop, no Jupyter server)."
    )


if __name__ == "__main__":
    main()
