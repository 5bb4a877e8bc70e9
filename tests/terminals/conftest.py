"""Terminals through a real Jupyter server: a websocket client that speaks JupyterLab's
terminal messages and waits for what a person would see."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from typing import Any

import pytest


class TermClient:
    """One websocket of a terminal: ``send`` keystrokes, ``expect`` a pattern in what the
    shell printed since the last ``expect`` (or ``screen`` for everything seen)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.screen = ""
        self._seen = 0
        self.disconnected = False
        #: the kind of every message received, in order (``setup`` first)
        self.kinds: list[str] = []

    async def send(self, text: str) -> None:
        await self.ws.write_message(json.dumps(["stdin", text]))

    async def set_size(self, rows: int, cols: int) -> None:
        await self.ws.write_message(json.dumps(["set_size", rows, cols, 600, 800]))

    async def _read(self, timeout: float) -> bool:
        try:
            raw = await asyncio.wait_for(self.ws.read_message(), timeout)
        except asyncio.TimeoutError:
            return True
        if raw is None:
            self.disconnected = True
            return False
        message = json.loads(raw)
        self.kinds.append(message[0])
        if message[0] == "stdout":
            self.screen += message[1]
        elif message[0] == "disconnect":
            self.disconnected = True
        return True

    async def expect(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        """The first match of ``pattern`` (a regex, multiline) in the output after the
        previous match; fails with the screen's end after ``timeout`` s."""
        regex = re.compile(pattern, re.MULTILINE)
        end = time.monotonic() + timeout
        while True:
            found = regex.search(self.screen, self._seen)
            if found:
                self._seen = found.end()
                return found
            left = end - time.monotonic()
            if left <= 0 or self.disconnected:
                raise AssertionError(
                    f"{pattern!r} not seen within {timeout} s; the terminal showed: "
                    f"{self.screen[-600:]!r}"
                )
            if not await self._read(min(left, 0.5)):
                continue

    async def run(self, command: str, timeout: float = 10.0) -> str:
        """Type ``command`` and return its output: what it prints between two markers
        (the markers are built by the shell, so the typed echo never matches)."""
        tag = os.urandom(3).hex()
        await self.send(f"echo B{tag}''E; {command}; echo E{tag}''B\r")
        found = await self.expect(rf"B{tag}E\r?\n((?s:.*?))E{tag}B", timeout)
        return found.group(1).replace("\r", "")

    def close(self) -> None:
        self.ws.close()


@pytest.fixture
def term_ws(jp_ws_fetch: Any) -> Any:
    """``await term_ws(cluster, name)`` → a :class:`TermClient` on that terminal."""
    clients: list[TermClient] = []

    async def connect(cluster: str, name: str) -> TermClient:
        ws = await jp_ws_fetch("jupyter-rpc", "clusters", cluster, "terminals", name, "websocket")
        client = TermClient(ws)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def wait_gone(pids: list[int], timeout: float = 5.0) -> list[int]:
    """Wait until none of ``pids`` runs; the ones still running after ``timeout``."""
    end = time.monotonic() + timeout
    while True:
        alive = [p for p in pids if pid_alive(p)]
        if not alive or time.monotonic() > end:
            return alive
        await asyncio.sleep(0.05)
