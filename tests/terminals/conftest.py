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
    shell printed since the last ``expect`` (or ``screen`` for everything seen).

    Like a browser, it reads the socket all the time, in a task of its own: tornado's
    client holds one unread message, and a second one stops its reading of frames, and
    so its pongs, until somebody reads (the server then closes the socket as one whose
    pongs are late). ``stop_reading`` ends that task, for a test of a browser that does
    not read."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.screen = ""
        self._seen = 0
        self.disconnected = False
        #: the kind of every message received, in order (``setup`` first)
        self.kinds: list[str] = []
        self._changed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = asyncio.get_running_loop().create_task(
            self._read_all()
        )

    async def send(self, text: str) -> None:
        await self.ws.write_message(json.dumps(["stdin", text]))

    async def set_size(self, rows: int, cols: int) -> None:
        await self.ws.write_message(json.dumps(["set_size", rows, cols, 600, 800]))

    async def _read_all(self) -> None:
        while not self.disconnected:
            raw = await self.ws.read_message()
            if raw is None:
                self.disconnected = True
            else:
                message = json.loads(raw)
                self.kinds.append(message[0])
                if message[0] == "stdout":
                    self.screen += message[1]
                elif message[0] == "disconnect":
                    self.disconnected = True
            self._changed.set()

    async def stop_reading(self) -> None:
        """End the reading task (what arrives next stays in the socket)."""
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None

    async def _wait_change(self, timeout: float) -> None:
        self._changed.clear()
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    async def wait_disconnected(self, timeout: float) -> bool:
        """Whether the server closed the socket (or said ``disconnect``) within
        ``timeout`` s."""
        end = time.monotonic() + timeout
        while not self.disconnected and time.monotonic() < end:
            await self._wait_change(end - time.monotonic())
        return self.disconnected

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
                why = "the socket closed" if self.disconnected else f"not seen within {timeout} s"
                raise AssertionError(
                    f"{pattern!r} {why}; the terminal showed: {self.screen[-600:]!r}"
                )
            await self._wait_change(min(left, 0.5))

    async def run(self, command: str, timeout: float = 10.0) -> str:
        """Type ``command`` and return its output: what it prints between two markers
        (the markers are built by the shell, so the typed echo never matches)."""
        tag = os.urandom(3).hex()
        await self.send(f"echo B{tag}''E; {command}; echo E{tag}''B\r")
        found = await self.expect(rf"B{tag}E\r?\n((?s:.*?))E{tag}B", timeout)
        return found.group(1).replace("\r", "")

    def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            self._reader = None
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
