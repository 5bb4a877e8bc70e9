"""What every transport must give of the example backend 'geo' (jupyter_rpc.examples.geo):
the same schemas, validation, GeoJSON and raster results (tests/maps)."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from jupyter_rpc.services.rasters import read_geotiff
from tests.fixtures.calls import call

GEO = "application/geo+json"
RASTER = "application/vnd.jupyter-rpc.raster+json"
RING = [[7.0, 50.0], [8.0, 50.0], [8.0, 51.0], [7.0, 51.0], [7.0, 50.0]]


def stripes(rows: int, cols: int) -> np.ndarray:
    r, c = np.indices((rows, cols))
    grid = ((r + c) % 256).astype("<f4")
    grid[r == c] = -9999.0
    return grid


async def check_geo_backend(rpc: Any, jp_fetch: Any, backend: str) -> None:
    status, body = await rpc("GET", "backends", backend, "functions")
    assert status == 200, body
    specs = {f["name"]: f for f in body["functions"]}
    area = specs["area_summary"]["schema"]["properties"]["area"]
    assert (area["contentMediaType"], area["x-geo"]) == (GEO, "Polygon")
    point = specs["nearest_station"]["schema"]["properties"]["point"]
    assert point["x-geo"] == "Point"
    assert specs["grid_cells"]["schema"]["properties"]["box"]["x-geo"] == "BBox"

    _, model = await call(
        rpc, backend, "area_summary", {"area": {"type": "Polygon", "coordinates": [RING]}}
    )
    assert model["state"] == "succeeded", model
    assert model["display"]["text/plain"] == "<GeoJSON Feature, Polygon>"
    assert model["display"][GEO]["geometry"]["coordinates"] == [RING]
    assert model["result"]["properties"]["vertices"] == 4

    _, model = await call(
        rpc, backend, "area_summary", {"area": {"type": "Polygon", "coordinates": [RING[:-1]]}}
    )
    assert model["state"] == "failed", model
    assert "the ring is not closed" in model["error"]["message"], model["error"]

    _, model = await call(rpc, backend, "grid_cells", {"box": [5, 47, 15, 55], "n": 30})
    assert model["display"]["text/plain"] == "<GeoJSON FeatureCollection, 30 features>"

    _, model = await call(
        rpc, backend, "raster", {"rows": 1100, "cols": 700, "box": [0, 40, 7, 51]}
    )
    assert model["state"] == "succeeded", model.get("error")
    value = model["display"][RASTER]
    assert value["source_shape"] == [1100, 700] and value["shape"] == [550, 350]
    small = np.frombuffer(base64.b64decode(value["values"]), dtype="<f4").reshape(550, 350)
    # block (0, 1): rows 0-1, columns 2-3, no diagonal cell: (2 + 3 + 3 + 4) / 4
    assert small[0, 1] == 3.0
    response = await jp_fetch(*value["download"].split("/"))
    full = read_geotiff(response.body)
    assert full["shape"] == (1100, 700) and full["bounds"] == (0.0, 40.0, 7.0, 51.0)
    assert full["data"] == stripes(1100, 700).tobytes()
