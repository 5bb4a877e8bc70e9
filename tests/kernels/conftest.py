"""Kernels on the HPC test bed through a real Jupyter server: a kernel's websocket client
that speaks Jupyter's messaging protocol (JSON over ``/api/kernels/ID/channels``), the
test bed user's kernel Python, and the bed's processes (it runs on this machine, so a
remote kernel's PID is checked in /proc)."""

from __future__ import annotations

import asyncio
import datetime
import json
import pathlib
import pwd
import subprocess
import time
import uuid
from typing import Any

import pytest

from tests.fixtures.hpc import HPCTestbed

#: The test bed user's kernel Python (a venv with ipykernel, made once over ssh).
KENV = "~/kenv/bin/python"


@pytest.fixture(scope="session")
def kernel_python(hpc_testbed: HPCTestbed) -> str:
    """:func:`ensure_kernel_python` once per session."""
    return ensure_kernel_python(hpc_testbed)


def ensure_kernel_python(hpc_testbed: HPCTestbed) -> str:
    """``~/kenv/bin/python`` of the bed's user, with ipykernel (made if missing: a venv
    and ``pip install ipykernel`` as that user, as notes/ssh-channels/setup_kenv.sh)."""
    script = (
        "d=~/kenv; $d/bin/python -c 'import ipykernel' 2>/dev/null || "
        "{ python3 -m venv $d && $d/bin/pip install -q --disable-pip-version-check ipykernel; }"
    )
    done = subprocess.run(
        ["ssh", "-F", hpc_testbed.ssh_config, "testbed", script],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        pytest.skip(f"no kernel Python on the test bed: {done.stderr[-500:]}")
    return KENV


def ssh_cluster(tb: HPCTestbed, **extra: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": tb.port,
        "user": tb.user,
        "identity_file": tb.key,
        "known_hosts": tb.known_hosts,
        "ssh_config": False,
        "scheduler": "none",
        **extra,
    }


def remote_home(tb: HPCTestbed) -> pathlib.Path:
    return pathlib.Path(pwd.getpwnam(tb.user).pw_dir)


def kernel_folders(tb: HPCTestbed) -> set[str]:
    """The kernels' private folders in the bed user's home."""
    base = remote_home(tb) / ".jupyter-rpc" / "kernels"
    return {p.name for p in base.iterdir()} if base.is_dir() else set()


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def pid_user(pid: int) -> str:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return pwd.getpwuid(int(line.split()[1])).pw_name
    return ""


async def wait_gone(pid: int, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > end:
            return False
        await asyncio.sleep(0.05)
    return True


class KernelWS:
    """One kernel's websocket: ``execute`` a cell and collect what a notebook shows."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.session = uuid.uuid4().hex

    def _message(self, msg_type: str, content: dict[str, Any], channel: str) -> dict[str, Any]:
        return {
            "header": {
                "msg_id": uuid.uuid4().hex,
                "msg_type": msg_type,
                "username": "test",
                "session": self.session,
                "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                "version": "5.3",
            },
            "parent_header": {},
            "metadata": {},
            "content": content,
            "channel": channel,
            "buffers": [],
        }

    async def send_execute(self, code: str) -> str:
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        msg = self._message("execute_request", content, "shell")
        await self.ws.write_message(json.dumps(msg))
        return str(msg["header"]["msg_id"])

    async def collect(self, msg_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """The reply and the outputs of ``msg_id``: ``{"reply": content, "stdout": text,
        "outputs": [iopub messages], "status": ok|error}``."""
        reply: dict[str, Any] | None = None
        idle = False
        out: dict[str, Any] = {"stdout": "", "outputs": []}
        end = time.monotonic() + timeout
        while reply is None or not idle:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no reply to {msg_id} within {timeout} s: {out}")
            raw = await asyncio.wait_for(self.ws.read_message(), left)
            if raw is None:
                raise AssertionError(f"the kernel's websocket closed: {out}")
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "execute_reply":
                reply = msg["content"]
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                idle = True
            elif kind == "stream" and msg["content"]["name"] == "stdout":
                out["stdout"] += msg["content"]["text"]
            elif kind in ("display_data", "execute_result", "error"):
                out["outputs"].append(msg)
        out["reply"] = reply
        out["status"] = reply["status"]
        return out

    async def execute(self, code: str, timeout: float = 30.0) -> dict[str, Any]:
        return await self.collect(await self.send_execute(code), timeout)

    def close(self) -> None:
        self.ws.close()


@pytest.fixture
def kernel_ws(jp_ws_fetch: Any) -> Any:
    """``await kernel_ws(kernel_id)`` → a :class:`KernelWS`."""
    clients: list[KernelWS] = []

    async def connect(kernel_id: str) -> KernelWS:
        ws = await jp_ws_fetch("api", "kernels", kernel_id, "channels")
        client = KernelWS(ws)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


@pytest.fixture
def api(jp_fetch: Any) -> Any:
    """``await api("POST", "kernels", body=...)`` → (status, JSON) under ``/api``
    (``request_timeout=`` for a start that may wait in a queue)."""
    from tornado.httpclient import HTTPClientError

    async def fetch(method: str, *parts: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        raw = json.dumps(body).encode() if body is not None else None
        if method == "POST" and raw is None:
            raw = b"{}"
        try:
            response = await jp_fetch("api", *parts, method=method, body=raw, **kwargs)
        except HTTPClientError as exc:
            assert exc.response is not None, exc
            return exc.code, json.loads(exc.response.body or b"null")
        return response.code, json.loads(response.body) if response.body else None

    return fetch
