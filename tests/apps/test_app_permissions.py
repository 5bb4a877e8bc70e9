"""Who may launch, view and end app sessions (issue 14): the server's authorizer decides
(on JupyterHub, the user's scopes on this server): launching runs code (execute), ending
changes state (write), the proxy and the lists read (read)."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient

from tests.server.test_events import GrantingAuthorizer


@pytest.fixture
def granted() -> list[str]:
    return ["read", "write", "execute"]


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any],
    home: pathlib.Path,
    with_local_cluster: Any,
    granted: list[str],
) -> dict[str, Any]:
    config = with_local_cluster(jp_server_config, home)
    config["ServerApp"] = {**config["ServerApp"], "authorizer_class": GrantingAuthorizer}
    config["GrantingAuthorizer"] = {"granted": granted}
    return config


@pytest.mark.parametrize("granted", [["read", "write"]])
async def test_launching_needs_execute(rpc: Any) -> None:
    status, body = await rpc(
        "POST", "sessions", body={"app": "webapp", "cluster": "local", "values": {}}
    )
    assert status == 403 and body["code"] == "auth.forbidden"
    assert "'execute'" in body["message"]
    assert (await rpc("GET", "sessions"))[1] == {"sessions": []}  # nothing was launched


@pytest.mark.parametrize("granted", [[]])
async def test_the_proxy_needs_read(server_url: tuple[str, str]) -> None:
    base, token = server_url
    client = AsyncHTTPClient(force_instance=True)
    try:
        for method, body in (("GET", None), ("POST", b"x")):
            r = await client.fetch(
                base + "jupyter-rpc/sessions/0123456789ab/proxy/x",
                method=method,
                body=body,
                headers={"Authorization": f"token {token}"},
                raise_error=False,
                follow_redirects=False,
            )
            assert r.code == 403, (method, r.body)
            answer = json.loads(r.body)
            assert answer["code"] == "auth.forbidden" and "'read'" in answer["message"]
    finally:
        client.close()
