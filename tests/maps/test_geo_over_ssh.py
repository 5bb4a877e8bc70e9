"""The example backend 'geo' on the HPC test bed's login node, over SSH (issue 21: geo
functions work the same through every transport)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.hpc import HPCTestbed
from tests.maps.geo_checks import check_geo_backend


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], hpc_testbed: HPCTestbed, tmp_path: Any
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
                "geo_ssh": {
                    "transport": "ssh",
                    "cluster": "testbed",
                    "module": "jupyter_rpc.examples.geo",
                    "python": tb.python,
                },
            },
            "state_dir": str(tmp_path / "state"),
        },
    }


async def test_geo_functions_over_ssh(rpc: Any, jp_fetch: Any) -> None:
    """The bed's backend has no geojson-pydantic: the backend's own models serve."""
    await check_geo_backend(rpc, jp_fetch, "geo_ssh")
