"""JupyterHub: what jupyter_rpc costs a site (issue 13's measurements), in one run on the hub
test bed (tests/hub/bed/up.sh; root).

Printed side by side:

- a single-user server's RSS with and without the extension loaded: alice's server spawned
  by the hub, idle once it answers (``/api/status`` without it, the extension's
  ``/jupyter-rpc/backends`` with it), and with it also after one call (the server and its
  backend process);
- spawn-to-panel: from the hub's POST of alice's server to the extension's
  ``/jupyter-rpc/backends`` answering through the proxy (what the panel waits for), beside
  spawn-to-``/api/status`` of the server without the extension; median of ``--spawns``;
- ``--users`` servers (hubuser01.., created by ``up.sh --bench-users N``) spawned at once,
  then every user making ``--calls`` calls of ``add`` through the proxy, all users at once:
  p50/p95/max call latency, the time until every server answered, and the total RSS of the
  users' servers with their backends, the hub and the proxy.

Usage (as root): python benchmarks/bench_hub.py [--users 20] [--calls 50] [--spawns 3]
The hub and every server it started are stopped by PID at the end (an error if any was
left). Exit status 1 when a call failed or answered wrong.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import pathlib
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

import requests

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from tests.hub.conftest import UP, Hub, start_hub  # noqa: E402

WITHOUT_EXTENSION = "--Spawner.args=[\"--ServerApp.jpserver_extensions={'jupyter_rpc': False}\"]"


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [pid], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def tree_rss_mb(pid: int) -> float:
    return sum(rss_kb(p) for p in tree(pid)) / 1024


def server_pid(hub: Hub, user: str) -> int:
    server = hub.server_model(user)
    assert server and server.get("state", {}).get("pid"), server
    return int(server["state"]["pid"])


def spawn_until(hub: Hub, user: str, path: str, token: str, timeout: float = 180) -> float:
    """POST ``user``'s server and poll ``path`` of it through the proxy until it answers 200;
    the seconds from the POST."""
    t0 = time.monotonic()
    hub.api("POST", f"users/{user}/server", ok=(201, 202))
    url = f"{hub.server_url(user)}/{path}"
    while True:
        try:
            response = requests.get(
                url, headers={"Authorization": f"token {token}"}, allow_redirects=False, timeout=30
            )
            if response.status_code == 200:
                elapsed = time.monotonic() - t0
                hub.server_pids.add(server_pid(hub, user))
                return elapsed
        except requests.ConnectionError:
            pass
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"{user}'s {path} did not answer within {timeout} s")
        time.sleep(0.05)


def call_add(session: requests.Session, base: str, a: int, b: int) -> float:
    t0 = time.monotonic()
    response = session.post(
        f"{base}/jupyter-rpc/backends/examples/calls",
        json={"function": "add", "arguments": {"a": a, "b": b}, "wait": 60},
        timeout=90,
    )
    elapsed = time.monotonic() - t0
    answer = response.json()
    if response.status_code not in (200, 201) or answer.get("result") != a + b:
        raise RuntimeError(f"add({a}, {b}): {response.status_code} {answer}")
    return elapsed


def single_server(hub: Hub, path: str, spawns: int, call: bool) -> dict[str, Any]:
    """alice's server spawned ``spawns`` times: spawn-to-``path`` times, idle RSS (and after a
    call)."""
    token = hub.user_token("alice")
    times, idle, called = [], [], []
    for _ in range(spawns):
        times.append(spawn_until(hub, "alice", path, token))
        if path == "api/status":  # the variant without: it must really be without
            response = requests.get(
                f"{hub.server_url('alice')}/jupyter-rpc/backends",
                headers={"Authorization": f"token {token}"},
                timeout=30,
            )
            assert response.status_code == 404, f"the extension is loaded: {response.status_code}"
        time.sleep(3)  # let start-up garbage settle
        pid = server_pid(hub, "alice")
        idle.append(rss_kb(pid) / 1024)
        if call:
            session = requests.Session()
            session.headers["Authorization"] = f"token {token}"
            call_add(session, hub.server_url("alice"), 1, 2)
            time.sleep(1)
            called.append(tree_rss_mb(pid))
        hub.stop("alice")
    return {
        "spawn": statistics.median(times),
        "spawns": times,
        "rss": statistics.median(idle),
        "rss_called": statistics.median(called) if called else None,
    }


def many_users(hub: Hub, users: list[str], calls: int) -> dict[str, Any]:
    tokens = {user: hub.user_token(user) for user in users}
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(len(users)) as pool:
        spawned = list(
            pool.map(
                lambda u: spawn_until(hub, u, "jupyter-rpc/backends", tokens[u], timeout=600),
                users,
            )
        )
    all_up = time.monotonic() - t0
    latencies: list[float] = []
    first: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def run(user: str) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"token {tokens[user]}"
        try:  # the first call starts the user's backend process: counted apart
            elapsed = call_add(session, hub.server_url(user), 0, 0)
            with lock:
                first.append(elapsed)
        except Exception as e:
            with lock:
                errors.append(f"{user}: {e}")
        barrier.wait()
        for i in range(calls):
            try:
                elapsed = call_add(session, hub.server_url(user), i, len(user))
            except Exception as e:
                with lock:
                    errors.append(f"{user}: {e}")
                continue
            with lock:
                latencies.append(elapsed)

    barrier = threading.Barrier(len(users) + 1)
    with concurrent.futures.ThreadPoolExecutor(len(users)) as pool:
        done = [pool.submit(run, user) for user in users]
        barrier.wait()
        t0 = time.monotonic()
        for future in done:
            future.result()
        wall = time.monotonic() - t0
    time.sleep(1)
    per_user = [tree_rss_mb(server_pid(hub, user)) for user in users]
    proxy_pid = int((pathlib.Path(hub_bed()) / "state/proxy.pid").read_text())
    hub_rss = rss_kb(hub.process.pid) / 1024 + rss_kb(proxy_pid) / 1024
    for user in users:
        hub.stop(user)
    latencies.sort()
    return {
        "all_up": all_up,
        "spawn_max": max(spawned),
        "calls": len(latencies),
        "first": statistics.median(first) if first else float("nan"),
        "errors": errors,
        "wall": wall,
        "p50": latencies[len(latencies) // 2] if latencies else float("nan"),
        "p95": latencies[int(len(latencies) * 0.95)] if latencies else float("nan"),
        "max": latencies[-1] if latencies else float("nan"),
        "user_rss": per_user,
        "hub_rss": hub_rss,
    }


def hub_bed() -> str:
    return os.environ.get("JRPC_HUB_BED", "/opt/jupyter-rpc-hub")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--calls", type=int, default=50, help="calls per user")
    parser.add_argument(
        "--spawns", type=int, default=3, help="spawns of alice's server per variant"
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_hub needs root (the hub test bed: Unix users, spawning their servers)")
        return 2
    subprocess.run(["bash", str(UP), "--bench-users", str(args.users)], check=True)
    users = [f"hubuser{i:02d}" for i in range(1, args.users + 1)]

    print("without the extension: spawning alice's server", args.spawns, "times", flush=True)
    hub = start_hub(WITHOUT_EXTENSION)
    try:
        without = single_server(hub, "api/status", args.spawns, call=False)
    finally:
        problems = hub.close()
    print("with the extension: spawning alice's server", args.spawns, "times", flush=True)
    hub = start_hub()
    try:
        with_ext = single_server(hub, "jupyter-rpc/backends", args.spawns, call=True)
        print(f"{args.users} users' servers at once, {args.calls} calls each", flush=True)
        load = many_users(hub, users, args.calls)
    finally:
        problems += hub.close()

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.0f} ms"

    rows = [
        ("single-user server RSS, idle", f"{without['rss']:.0f} MB", f"{with_ext['rss']:.0f} MB"),
        ("  ... after one call (server + backend)", "", f"{with_ext['rss_called']:.0f} MB"),
        (
            "spawn to answer (status / panel's backends)",
            f"{without['spawn']:.1f} s",
            f"{with_ext['spawn']:.1f} s",
        ),
    ]
    print()
    print(f"{'':46} {'without':>10} {'with jupyter_rpc':>18}")
    for name, a, b in rows:
        print(f"{name:46} {a:>10} {b:>18}")
    print(
        f"  (spawns: without {', '.join(f'{t:.1f}' for t in without['spawns'])} s;"
        f" with {', '.join(f'{t:.1f}' for t in with_ext['spawns'])} s)"
    )
    total = sum(load["user_rss"])
    print()
    print(
        f"{args.users} users at once, {args.calls} calls of add each through the proxy (after a first):"
    )
    print(
        f"  every server answering the panel's request: {load['all_up']:.1f} s from the first"
        f" spawn (the slowest {load['spawn_max']:.1f} s after its own)"
    )
    print(f"  first call of each user (starts the backend): median {ms(load['first'])}")
    print(
        f"  calls: {load['calls']} in {load['wall']:.1f} s ({load['calls'] / load['wall']:.0f}/s),"
        f" latency p50 {ms(load['p50'])}, p95 {ms(load['p95'])}, max {ms(load['max'])},"
        f" failed {len(load['errors'])}"
    )
    print(
        f"  RSS: users' servers with their backends {total:.0f} MB"
        f" ({statistics.mean(load['user_rss']):.0f} MB each), hub + proxy {load['hub_rss']:.0f} MB,"
        f" total {total + load['hub_rss']:.0f} MB"
    )
    for error in load["errors"][:5]:
        print("  error:", error)
    if problems:
        print("the hub did not stop cleanly:", problems)
    return 1 if load["errors"] or problems else 0


if __name__ == "__main__":
    sys.exit(main())
