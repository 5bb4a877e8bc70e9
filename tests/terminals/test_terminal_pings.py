"""The server pings a terminal's websocket (RPCApp.terminal_ping_interval), so a proxy's
idle timeout never cuts a quiet terminal, and the pings leave the shell alone."""

from __future__ import annotations

import asyncio
import pathlib
from typing import Any

import pytest


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], home: pathlib.Path, with_local_cluster: Any
) -> dict[str, Any]:
    config = with_local_cluster(jp_server_config, home)
    config["RPCApp"]["terminal_ping_interval"] = 0.2
    return config


async def test_a_quiet_terminal_is_pinged(rpc: Any, term_ws: Any) -> None:
    status, model = await rpc("POST", "clusters", "local", "terminals", body={})
    assert status == 201, model
    term = await term_ws("local", model["name"])
    pings: list[bytes] = []
    term.ws.on_ping = pings.append  # tornado's client answers each with a pong itself
    pid = (await term.run("echo $$")).strip()
    await asyncio.sleep(1.2)  # quiet
    assert len(pings) >= 3, pings
    assert (await term.run("echo $$")).strip() == pid  # the same shell, still there


async def test_output_printed_while_nobody_types_does_not_stop_the_pongs(
    rpc: Any, term_ws: Any
) -> None:
    """Like a browser, the test client reads all the time: output that arrives while a
    test waits (here, four lines printed in the background) does not block its reading of
    frames and so its pongs, which would let the server close the socket as one whose
    pongs are late (the hub's three-minute quiet test failed that way in CI)."""
    status, model = await rpc("POST", "clusters", "local", "terminals", body={})
    assert status == 201, model
    term = await term_ws("local", model["name"])
    pid = (await term.run("echo $$")).strip()
    await term.send("for i in 1 2 3 4; do sleep 0.05; echo tick-$i; done\r")
    await asyncio.sleep(1.5)  # nothing read by the test: ~7 pings
    assert not term.disconnected, "the server closed the socket: its pongs were late"
    assert (await term.run("echo $$")).strip() == pid
    assert "tick-4" in term.screen
