"""Shared fixtures: a real Jupyter server with the extension and real backend processes."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

pytest_plugins = ("pytest_jupyter.jupyter_server",)

HERE = pathlib.Path(__file__).parent
FAULTY = str(HERE / "backends" / "faulty.py")


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_rpc": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        },
        "RPCApp": {
            "max_request_size": 256 * 1024,
            "backends": {
                "examples": {"module": "jupyter_rpc.examples.demo"},
                "faulty": {"module": FAULTY},
                "strict": {"module": FAULTY, "timeout": 1.0},
                "broken": {"module": "no_such_module_for_jupyter_rpc", "start_timeout": 20},
            },
        },
    }


@pytest.fixture
def rpc(jp_fetch: Any) -> Any:
    """``await rpc("GET", "backends")`` → (status, JSON body), errors included."""
    from tornado.httpclient import HTTPClientError

    async def fetch(method: str, *parts: str, body: Any = None, raw: bytes | None = None, **kwargs: Any):
        if raw is None and body is not None:
            raw = json.dumps(body).encode()
        try:
            response = await jp_fetch("jupyter-rpc", *parts, method=method, body=raw, **kwargs)
        except HTTPClientError as exc:
            assert exc.response is not None, exc
            return exc.code, json.loads(exc.response.body)
        return response.code, json.loads(response.body) if response.body else None

    return fetch


@pytest.fixture
def server_url(jp_serverapp: Any, jp_http_port: int, jp_base_url: str, http_server_client: Any) -> tuple[str, str]:
    """The test server's URL and token, for clients outside the test's loop (notebook
    code, kernels); ``http_server_client`` makes the server listen."""
    return f"http://127.0.0.1:{jp_http_port}{jp_base_url}", jp_serverapp.identity_provider.token
