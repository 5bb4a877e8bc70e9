"""The example backend 'geo' through a real DASF broker (dasf-broker-django; issue 21: geo
functions work the same through every transport)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dasf.fixtures import dasf_broker, dasf_env, dasf_runner
from tests.dasf.testbed import Broker
from tests.maps.geo_checks import check_geo_backend

__all__ = ["dasf_broker", "dasf_env", "dasf_runner"]  # fixtures of the DASF bed


@pytest.fixture
def jp_server_config(dasf_broker: Broker) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_rpc": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        },
        "RPCApp": {
            "backends": {
                "geo_dasf": {
                    "transport": "broker",
                    "url": dasf_broker.ws_url,
                    "topic": dasf_broker.public_topic,
                    "timeout": 60,
                },
            },
        },
    }


async def test_geo_functions_through_the_dasf_broker(
    rpc: Any, jp_fetch: Any, dasf_broker: Broker, dasf_runner: Any
) -> None:
    dasf_runner("jupyter_rpc.examples.geo", dasf_broker.public_topic)
    await check_geo_backend(rpc, jp_fetch, "geo_dasf")
