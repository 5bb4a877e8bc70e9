"""Odd inputs that hung the server or failed late are refused at once."""

from __future__ import annotations

import pathlib
import time
from typing import Any

import pytest

from jupyter_rpc.errors import RPCError
from jupyter_rpc.files.paths import RootsPolicy
from jupyter_rpc.schedulers.local import parse_array


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], home: pathlib.Path, with_local_cluster: Any
) -> dict[str, Any]:
    """The server with the local cluster over ``home`` (the shared fixture)."""
    return with_local_cluster(
        jp_server_config, home, display_name="This computer", jobs_refresh_min=30.0
    )


def test_a_huge_array_range_is_refused_without_building_it() -> None:
    started = time.monotonic()
    for text in ("0-99999999", "0-4294967295:1", "1,0-2000000000"):
        with pytest.raises(RPCError) as info:
            parse_array(text)
        assert info.value.code == "job.invalid" and "at most" in info.value.message
    assert time.monotonic() - started < 0.5
    assert parse_array("0-1000")[0][-1] == 1000


@pytest.mark.parametrize("root", ["relative", "$USER/x", "~other", ""])
def test_a_root_that_is_not_absolute_is_refused_when_configured(root: str) -> None:
    with pytest.raises(RPCError) as info:
        RootsPolicy({"home": root})
    assert info.value.code == "cluster.config_invalid" and info.value.status == 400


async def test_submitting_a_huge_array_answers_at_once(rpc) -> None:
    started = time.monotonic()
    status, err = await rpc(
        "POST", "clusters", "local", "jobs", body={"script": "echo hi", "array": "0-99999999"}
    )
    assert (status, err["code"]) == (400, "job.invalid")
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "config",
    [{"roots": {"home": "relative"}}, {"command_timeout": 1e308}],
)
async def test_a_user_cluster_with_bad_values_is_refused_when_added(rpc, config) -> None:
    status, err = await rpc("POST", "clusters", body={"name": "odd", "host": "127.0.0.1", **config})
    assert (status, err["code"]) == (400, "cluster.config_invalid"), err
    status, body = await rpc("GET", "clusters")
    assert "odd" not in [c["name"] for c in body["clusters"]]
