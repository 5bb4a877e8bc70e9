"""A backend module on the cluster's login node, reached over the pooled SSH connection,
through the REST API: forms, calls, progress, errors (no port opened on the login node)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.hpc import HPCTestbed


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], hpc_testbed: HPCTestbed, tmp_path
) -> dict[str, Any]:
    tb = hpc_testbed
    if tb.python is None:
        pytest.skip(
            "the test bed has no Python with jupyter_rpc for the test user (TESTBED_JRPC_SRC)"
        )
    cluster = {
        "host": "127.0.0.1",
        "port": tb.port,
        "user": tb.user,
        "identity_file": tb.key,
        "known_hosts": tb.known_hosts,
        "ssh_config": False,
        "scheduler": "none",
    }
    return {
        **jp_server_config,
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {"testbed": cluster},
            "backends": {
                "remote": {
                    "transport": "ssh",
                    "cluster": "testbed",
                    "module": "jupyter_rpc.examples.demo",
                    "python": tb.python,
                    "display_name": "Examples on the login node",
                },
                "missing": {
                    "transport": "ssh",
                    "cluster": "testbed",
                    "module": "no_such_module_x",
                    "python": tb.python,
                },
            },
            "state_dir": str(tmp_path / "state"),
        },
    }


async def test_functions_and_calls_over_ssh(rpc):
    status, body = await rpc("GET", "backends", "remote")
    assert status == 200 and body["transport"] == "ssh"
    status, body = await rpc("GET", "backends", "remote", "functions")
    assert status == 200, body
    assert "add" in {f["name"] for f in body["functions"]}
    status, call = await rpc(
        "POST",
        "backends",
        "remote",
        "calls",
        body={"function": "add", "arguments": {"a": 2, "b": 40}, "wait": 30},
    )
    assert status == 201 and call["state"] == "succeeded" and call["result"] == 42, call
    status, call = await rpc(
        "POST", "backends", "remote", "calls", body={"function": "add", "arguments": {"a": "x"}}
    )
    assert status == 400 and call["code"] == "request.schema"  # checked before it leaves


async def test_a_backend_that_cannot_start_says_why(rpc):
    status, err = await rpc("GET", "backends", "missing", "functions")
    assert status in (502, 503), err
    assert "no_such_module_x" in err["message"]
