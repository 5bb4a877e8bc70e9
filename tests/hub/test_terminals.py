"""Terminals on a site-wide hub, through configurable-http-proxy (issue 19): a quiet
terminal still answers after three minutes (the server pings its websocket, so no idle
timeout between the browser and the server cuts it), and another user can neither end,
list nor attach to it."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from tests.hub.conftest import Client, Hub
from tests.terminals.conftest import TermClient

#: how long the terminal stays quiet (the issue: three minutes behind the proxy)
QUIET = float(os.environ.get("JRPC_HUB_QUIET_SECONDS", "185"))
#: RPCApp.terminal_ping_interval's default
PING_INTERVAL = 30.0


def ws_url(server: str, name: str) -> str:
    base = server.replace("http://", "ws://", 1)
    return f"{base}/jupyter-rpc/clusters/local/terminals/{name}/websocket"


async def attach(server: str, name: str, token: str) -> Any:
    request = HTTPRequest(ws_url(server, name), headers={"Authorization": f"token {token}"})
    return await asyncio.wait_for(websocket_connect(request), 30)


@pytest.fixture
def alice_terminal(hub: Hub, alice: str) -> Any:
    """A terminal of alice's local cluster: (its name, alice's client, alice's token);
    ended at the end."""
    token = hub.user_token("alice")
    client = Client(alice, token)
    status, terminal = client("POST", "clusters", "local", "terminals", body={})
    assert status == 201, terminal
    yield terminal["name"], client, token
    client("DELETE", "clusters", "local", "terminals", terminal["name"])


@pytest.mark.timeout(QUIET + 180)
def test_a_quiet_terminal_still_answers_behind_the_proxy(alice: str, alice_terminal: Any) -> None:
    name, _, token = alice_terminal

    async def scenario() -> tuple[list[str], list[float], str]:
        ws = await attach(alice, name, token)
        pings: list[float] = []
        # tornado's client answers pings itself; count them (they keep the proxy's idle
        # timeouts from cutting a quiet terminal)
        ws.on_ping = lambda data: pings.append(time.monotonic())
        term = TermClient(ws)
        try:
            first = (await term.run("echo $((6*7)); whoami", timeout=30)).split()
            quiet_from = time.monotonic()
            await asyncio.sleep(QUIET)  # nothing typed, nothing printed
            pings[:] = [t - quiet_from for t in pings if t >= quiet_from]
            after = (await term.run("echo still-$((40+2))", timeout=30)).strip()
        finally:
            term.close()
        return first, pings, after

    first, pings, after = asyncio.run(scenario())
    assert first == ["42", "alice"], first
    assert after == "still-42", "the quiet terminal did not answer after the pause"
    if QUIET >= 2 * PING_INTERVAL:
        assert len(pings) >= int(QUIET // PING_INTERVAL) - 1, (
            f"the server pinged the quiet websocket {len(pings)} times in {QUIET:.0f} s"
        )


def test_another_user_cannot_end_list_or_attach_to_a_terminal(
    hub: Hub, alice: str, bob: str, alice_terminal: Any
) -> None:
    name, alice_client, alice_token = alice_terminal
    bob_token = hub.user_token("bob")
    bob_on_alice = Client(alice, bob_token)

    status, answer = bob_on_alice("DELETE", "clusters", "local", "terminals", name)
    assert status == 403, (status, answer)
    status, answer = bob_on_alice("GET", "clusters", "local", "terminals")
    assert status == 403, (status, answer)
    assert name not in str(answer)

    async def bob_attaches() -> int:
        try:
            ws = await attach(alice, name, bob_token)
        except HTTPClientError as exc:
            return exc.code
        ws.close()
        return 101

    assert asyncio.run(bob_attaches()) == 403

    # still alice's, still running
    status, listing = alice_client("GET", "clusters", "local", "terminals")
    assert status == 200 and name in [t["name"] for t in listing["terminals"]], listing

    async def alice_uses_it() -> str:
        ws = await attach(alice, name, alice_token)
        term = TermClient(ws)
        try:
            return (await term.run("echo mine-$((6*7))", timeout=30)).strip()
        finally:
            term.close()

    assert asyncio.run(alice_uses_it()) == "mine-42"
