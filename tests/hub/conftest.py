"""The real JupyterHub of the hub test bed (tests/hub/bed/up.sh), started once for tests/hub.

``hub`` (package scope): runs ``up.sh`` (quick once installed), starts
``$JRPC_HUB_BED/venv/bin/jupyterhub`` on three free loopback ports, waits for its API and,
after the last test of tests/hub, stops it by PID with its proxy and every user server it
started (the hub stops them itself on SIGTERM; whatever is left is killed by PID and fails
the teardown).
Tests reach users' servers only through the proxy, as a browser or a script would:
``hub.user_token("alice", scopes)`` is a token the hub issues, ``hub.login("alice")`` a
``requests.Session`` holding the hub's and alice's server's cookies, ``hub.start("alice")``
and ``hub.stop("alice")`` what the hub's admin page does. Tests are marked ``hub`` (from the
fixture, tests/conftest.py); they need root (the hub spawns servers as alice and bob) and
skip without it, but fail in CI."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import requests

BED = pathlib.Path(os.environ.get("JRPC_HUB_BED", "/opt/jupyter-rpc-hub"))
UP = pathlib.Path(__file__).parent / "bed" / "up.sh"
#: seconds a user's server has to start (spawn, the extension's start, the proxy's route)
SPAWN_TIMEOUT = 60
HUB_LOG = BED / "log" / "jupyterhub.log"


def _absent(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the JupyterHub test bed is required in CI: {reason}")
    pytest.skip(f"JupyterHub test bed: {reason}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Hub:
    """A running hub: its public URL (the proxy), its admin API, users' servers."""

    def __init__(self, url: str, token: str, password: str, process: subprocess.Popen[bytes]):
        self.url = url
        self.token = token
        self.password = password
        self.process = process
        #: PIDs of every user server seen running (stopped by PID at the end if still alive)
        self.server_pids: set[int] = set()

    def api(
        self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201, 202, 204)
    ) -> Any:
        """The hub's REST API as the tests' admin service; the JSON answer or None."""
        response = requests.request(
            method,
            f"{self.url}/hub/api/{path}",
            headers={"Authorization": f"token {self.token}"},
            json=body,
            timeout=30,
        )
        assert response.status_code in ok, (method, path, response.status_code, response.text)
        return response.json() if response.content else None

    def server_url(self, user: str) -> str:
        return f"{self.url}/user/{user}"

    def user_token(self, user: str, scopes: list[str] | None = None) -> str:
        """A token of ``user`` issued by the hub (its owner's permissions, or ``scopes``)."""
        body: dict[str, Any] = {"note": "tests/hub", "expires_in": 3600}
        if scopes is not None:
            body["scopes"] = scopes
        return str(self.api("POST", f"users/{user}/tokens", body)["token"])

    def server_model(self, user: str) -> dict[str, Any] | None:
        model = self.api("GET", f"users/{user}?include_stopped_servers=0")
        server: dict[str, Any] | None = model.get("servers", {}).get("")
        return server

    def start(self, user: str) -> int:
        """Start ``user``'s server (if it is not running) and wait until it is ready and its
        extension answers through the proxy; its PID."""
        self.api("POST", f"users/{user}/server", ok=(201, 202, 400))  # 400: already running
        deadline = time.monotonic() + SPAWN_TIMEOUT
        while True:
            server = self.server_model(user)
            if server and server.get("ready"):
                break
            assert time.monotonic() < deadline, f"{user}'s server did not start: {server}"
            time.sleep(0.2)
        pid = int(server["state"]["pid"])
        self.server_pids.add(pid)
        token = self.user_token(user)
        while True:
            response = requests.get(
                f"{self.server_url(user)}/jupyter-rpc/backends",
                headers={"Authorization": f"token {token}"},
                timeout=30,
            )
            if response.status_code == 200:
                return pid
            assert time.monotonic() < deadline, (response.status_code, response.text[:300])
            time.sleep(0.2)

    def stop(self, user: str) -> None:
        """Stop ``user``'s server as the hub's admin page (or the idle culler) does, and wait
        until its process is gone."""
        server = self.server_model(user)
        pid = int(server["state"]["pid"]) if server and server.get("state") else None
        self.api("DELETE", f"users/{user}/server", ok=(202, 204, 400))
        deadline = time.monotonic() + SPAWN_TIMEOUT
        while self.server_model(user) is not None or (pid is not None and alive(pid)):
            assert time.monotonic() < deadline, f"{user}'s server did not stop"
            time.sleep(0.2)

    def close(self) -> list[str]:
        """Stop the hub by PID (it stops its users' servers and its proxy on SIGTERM), then
        kill by PID whatever of them is left; what had to be killed."""
        proxy_pid_file = BED / "state/proxy.pid"
        proxy_pid = int(proxy_pid_file.read_text()) if proxy_pid_file.exists() else None
        try:
            for model in self.api("GET", "users"):
                server = model.get("servers", {}).get("")
                if server and server.get("state", {}).get("pid"):
                    self.server_pids.add(int(server["state"]["pid"]))
        except Exception:  # the hub may be the problem: its servers are still known by PID
            pass
        problems = ["jupyterhub needed SIGKILL"] if stop_pid(self.process.pid, wait=60) else []
        self.process.wait()
        for pid in [*self.server_pids, *([proxy_pid] if proxy_pid else [])]:
            if alive(pid):
                problems.append(f"left running: {pid} {open(f'/proc/{pid}/cmdline').read()!r}")
                stop_pid(pid, signal.SIGKILL)
        return problems

    def login(self, user: str) -> requests.Session:
        """A browser's session: logged in at the hub's form, then through the OAuth
        redirects to ``user``'s server (which must run), holding both cookies."""
        session = requests.Session()
        session.get(f"{self.url}/hub/login", timeout=30).raise_for_status()
        response = session.post(
            f"{self.url}/hub/login",
            data={
                "username": user,
                "password": self.password,
                "_xsrf": session.cookies.get("_xsrf", path="/hub/"),
            },
            timeout=30,
        )
        response.raise_for_status()
        response = session.get(f"{self.server_url(user)}/api/status", timeout=30)
        assert response.status_code == 200, (
            response.status_code,
            response.url,
            response.text[:300],
        )
        return session


def stop_pid(pid: int, sig: int = signal.SIGTERM, wait: float = 20.0) -> bool:
    """Signal ``pid`` and wait for it to end; whether it had to be killed."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + wait
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
        return True
    return False


def start_hub(*args: str) -> Hub:
    """Start the bed's hub (installed by up.sh) on free loopback ports, ``args`` added to its
    command line, and wait for its API; stop it with :meth:`Hub.close`."""
    port, api_port, proxy_api_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "JRPC_HUB_BED": str(BED),
        "JRPC_HUB_PORT": str(port),
        "JRPC_HUB_API_PORT": str(api_port),
        "JRPC_HUB_PROXY_API_PORT": str(proxy_api_port),
        "TMPDIR": "/tmp",  # not a caller's private one (scripts/test.sh): users' servers share it
    }
    for name in ("JUPYTER_TOKEN", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        env.pop(name, None)
    with open(HUB_LOG, "wb") as out:
        process = subprocess.Popen(
            [str(BED / "venv/bin/jupyterhub"), "-f", str(BED / "etc/jupyterhub_config.py"), *args],
            cwd=BED / "state",
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    hub = Hub(
        url,
        (BED / "secrets/api_token").read_text().strip(),
        (BED / "secrets/password").read_text().strip(),
        process,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"the hub exited: {HUB_LOG.read_text()[-3000:]}"
            try:
                if requests.get(f"{url}/hub/api/", timeout=5).status_code == 200:
                    return hub
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, (
                f"the hub did not answer: {HUB_LOG.read_text()[-3000:]}"
            )
            time.sleep(0.2)
    except BaseException:
        hub.close()
        raise


@pytest.fixture(scope="package")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    if os.geteuid() != 0:
        _absent("needs root (it creates Unix users and spawns their servers as them)")
    log = tmp_path_factory.mktemp("hub") / "up.log"
    with open(log, "wb") as out:
        done = subprocess.run(["bash", str(UP)], stdout=out, stderr=subprocess.STDOUT, timeout=600)
    if done.returncode != 0:
        _absent(f"{UP} failed: {log.read_text()[-2000:]}")
    hub = start_hub()
    try:
        yield hub
    finally:
        problems = hub.close()
        assert not problems, f"the hub did not stop cleanly: {problems} (log {HUB_LOG})"


@pytest.fixture(scope="package")
def alice(hub: Hub) -> str:
    """alice's server, running; its URL through the proxy."""
    hub.start("alice")
    return hub.server_url("alice")


@pytest.fixture(scope="package")
def bob(hub: Hub) -> str:
    """bob's server, running; its URL through the proxy."""
    hub.start("bob")
    return hub.server_url("bob")


class Client:
    """REST calls to one user's jupyter-rpc API through the proxy, with a token or a
    browser's session (cookies, and then the XSRF header a browser's page sends)."""

    def __init__(
        self, base: str, token: str | None = None, session: requests.Session | None = None
    ):
        self.base = f"{base}/jupyter-rpc"
        self.session = session or requests.Session()
        if token:
            self.session.headers["Authorization"] = f"token {token}"

    def __call__(
        self, method: str, *path: str, body: Any = None, xsrf: bool = True, **kw: Any
    ) -> tuple[int, Any]:
        headers = dict(kw.pop("headers", {}))
        # a browser's page sends its server's _xsrf cookie (the hub has one of its own)
        here = urllib.parse.urlsplit(self.base).path
        xsrf_cookie = next(
            (
                c.value
                for c in sorted(self.session.cookies, key=lambda c: -len(c.path))
                if c.name == "_xsrf" and here.startswith(c.path)
            ),
            None,
        )
        if xsrf and xsrf_cookie:
            headers["X-XSRFToken"] = xsrf_cookie
        response = self.session.request(
            method,
            "/".join([self.base, *path]),
            data=None if body is None else json.dumps(body),
            headers=headers,
            timeout=60,
            **kw,
        )
        try:
            answer = response.json() if response.content else None
        except ValueError:
            answer = response.text
        return response.status_code, answer
