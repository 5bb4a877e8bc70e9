"""xarray DataArrays as raster results (issue 21), and what a malformed raster gives."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest

from jupyter_rpc.backend import ResultError, build_api
from tests.fixtures.calls import call
from tests.maps.modules import xr_api

RASTER = "application/vnd.jupyter-rpc.raster+json"


def run(name: str) -> Any:
    prepared = build_api(xr_api).prepare({"func_name": name})
    return prepared.serialize(prepared.run())


def test_a_data_array_is_a_raster_north_up_with_its_units_and_fill_value() -> None:
    api = build_api(xr_api)
    entry = next(f for f in api.api_info["functions"] if f["name"] == "sst")
    assert entry["return_schema"]["contentMediaType"] == RASTER
    value = run("sst")
    assert value["shape"] == [3, 4] and value["units"] == "K" and value["name"] == "sst"
    # cell centres 10 degrees apart: edges half a cell outside them
    assert value["bounds"] == [95.0, -15.0, 135.0, 15.0]
    assert value["nodata"] == -1.0e20
    grid = np.frombuffer(base64.b64decode(value["values"]), dtype="<f4").reshape(3, 4)
    # row 0 is the north edge: the file's last latitude row (10 degrees) comes first
    assert grid[0].tolist() == [8.0, 9.0, 10.0, 11.0]
    assert grid[2, 0] == np.float32(-1.0e20) and grid[2, 1] == 1.0


def test_a_data_array_without_lat_lon_says_which_dimensions_it_needs() -> None:
    with pytest.raises(ResultError, match=r"latitude \(lat/latitude/y\) and longitude"):
        run("no_coords")


def test_a_masked_array_fills_its_mask_with_nan() -> None:
    value = run("masked")
    grid = np.frombuffer(base64.b64decode(value["values"]), dtype="<f4").reshape(2, 2)
    assert np.isnan(grid[0, 1]) and grid[1, 1] == 4.0


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    rpc = jp_server_config["RPCApp"]
    backends = {**rpc["backends"], "xr": {"module": "tests.maps.modules.xr_api"}}
    return {**jp_server_config, "RPCApp": {**rpc, "backends": backends}}


async def test_through_the_server_a_data_array_and_a_malformed_raster(rpc: Any) -> None:
    _, model = await call(rpc, "xr", "sst")
    assert model["state"] == "succeeded", model
    assert model["display"][RASTER]["bounds"] == [95.0, -15.0, 135.0, 15.0]
    _, model = await call(rpc, "xr", "bad_raster")
    assert model["state"] == "failed"
    error = model["error"]
    assert error["code"] == "backend.protocol"
    assert "12 bytes for 2 x 2 float32 cells" in error["message"]
