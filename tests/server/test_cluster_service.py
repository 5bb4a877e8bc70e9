"""The cluster service (jupyter_rpc.services.clusters) called directly: what the SSH
connection routes do on a cluster that is this machine, and whose files and jobs it has."""

from __future__ import annotations

import getpass
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from jupyter_rpc.errors import RPCError
from jupyter_rpc.services.clusters import ClusterRegistry

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def clusters(tmp_path: Path) -> AsyncIterator[ClusterRegistry]:
    registry = ClusterRegistry(
        {"here": {"scheduler": "local", "roots": {"home": str(tmp_path)}}},
        state_dir=tmp_path / "state",
    )
    yield registry
    await registry.close()


async def test_this_machine_has_no_ssh_connection(clusters: ClusterRegistry) -> None:
    here = await clusters.connect("here")  # nothing to open: the cluster as it is
    model = here.to_json()
    assert (model["kind"], model["state"], model["user"]) == (
        "local",
        "connected",
        getpass.getuser(),
    )
    with pytest.raises(RPCError) as info:
        await clusters.trust_host("here", "SHA256:abc")
    assert (info.value.status, info.value.message) == (
        400,
        "Cluster 'here' is this machine: there is no host key to trust.",
    )
    with pytest.raises(RPCError) as info:
        await clusters.answer("here", "p1", ["secret"])
    assert info.value.message == "Cluster 'here' is this machine: there is nothing to log in to."
    with pytest.raises(RPCError) as info:
        await clusters.connect("nowhere")
    assert info.value.code == "cluster.not_found"
