"""Raster and GeoJSON results (issue 21): the map's MIME bundle, downsampled on the server
(block mean, nodata left out), and the full result from the download route."""

from __future__ import annotations

import base64
import io
import json
import random
import struct
import time
from typing import Any

import numpy as np
import pytest
import tifffile

from jupyter_rpc.services.rasters import block_mean, read_geotiff
from tests.fixtures.calls import call, wait_done
from tests.fixtures.calls import rpc_app as _rpc_app

RASTER = "application/vnd.jupyter-rpc.raster+json"
GEO = "application/geo+json"
NODATA = -9999.0


@pytest.fixture
def rpc_app(jp_serverapp: Any) -> Any:
    return _rpc_app(jp_serverapp)


def stripes(rows: int, cols: int) -> np.ndarray:
    """What jupyter_rpc.examples.geo.raster returns: (r + c) % 256, the diagonal nodata."""
    r, c = np.indices((rows, cols))
    grid = ((r + c) % 256).astype("<f4")
    grid[r == c] = NODATA
    return grid


def expected_block(rows: int, cols: int, f: int, br: int, bc: int) -> float | None:
    """The mean of block (br, bc) written out cell by cell (no numpy)."""
    cells = [
        (r + c) % 256
        for r in range(br * f, min((br + 1) * f, rows))
        for c in range(bc * f, min((bc + 1) * f, cols))
        if r != c
    ]
    return sum(cells) / len(cells) if cells else None


def decode(value: dict[str, Any]) -> np.ndarray:
    data = base64.b64decode(value["values"])
    return np.frombuffer(data, dtype="<f4").reshape(value["shape"])


def test_block_mean_leaves_out_nodata_and_nan_and_pads_partial_blocks() -> None:
    grid = np.array(
        [
            [1, 2, 3, 4, 5],
            [3, NODATA, np.nan, 8, 9],
            [NODATA, NODATA, 1, 1, 7],
        ],
        dtype="<f4",
    )
    small, factor = block_mean(grid, NODATA, max_side=3)
    assert factor == 2 and small.shape == (2, 3)
    assert small[0].tolist() == [2.0, 5.0, 7.0]  # (1+2+3)/3, (3+4+8)/3, (5+9)/2
    assert np.isnan(small[1, 0]) and small[1, 1:].tolist() == [1.0, 7.0]
    same, factor = block_mean(grid, NODATA, max_side=1024)
    assert factor == 1 and same.shape == grid.shape and np.isnan(same[1, 1])


async def test_a_4000_square_raster_arrives_downsampled_with_block_means(
    rpc: Any, jp_fetch: Any, rpc_app: Any
) -> None:
    """The example's 4,000 x 4,000 raster: the call's bundle has at most 1024 cells on
    the long side, each the mean of its 4 x 4 block without the nodata diagonal; the
    download has every cell, as a GeoTIFF a GIS reads."""
    await call(rpc, "geo", "raster", {"rows": 10, "cols": 10})  # the backend started
    started = time.monotonic()
    status, body = await call(rpc, "geo", "raster", {"rows": 4000, "cols": 4000})
    body = await wait_done(rpc, body, timeout=60)  # (a busy machine)
    elapsed = time.monotonic() - started
    assert body["state"] == "succeeded", body.get("error")
    assert elapsed < 60, f"the call took {elapsed:.1f} s"  # 2-3 s idle; a busy 2-core CI is slower
    print(f"\n4000 x 4000 raster call end to end (in-process server): {elapsed:.2f} s")
    bundle = body["display"]
    value = bundle[RASTER]
    assert value["shape"] == [1000, 1000] and value["source_shape"] == [4000, 4000]
    assert value["bounds"] == [-180.0, -90.0, 180.0, 90.0]
    assert value["nodata"] == NODATA and value["units"] == "stripes"
    assert (value["vmin"], value["vmax"], value["colormap"]) == (0.0, 255.0, "viridis")
    assert bundle["text/plain"].startswith("<Raster stripes, 4,000 x 4,000 (shown 1,000 x 1,000)")
    assert body["result"] == value  # the call's result is the map's copy, not 85 MB
    small = decode(value)
    rng = random.Random(21)
    blocks = [(0, 0), (999, 999), (0, 999), (500, 250)] + [
        (rng.randrange(1000), rng.randrange(1000)) for _ in range(60)
    ]
    for br, bc in blocks:
        want = expected_block(4000, 4000, 4, br, bc)
        assert want is not None
        assert small[br, bc] == pytest.approx(want, abs=1e-4), (br, bc)

    # the download: every cell
    assert value["download"] == f"jupyter-rpc/calls/{body['id']}/download"
    response = await jp_fetch(*value["download"].split("/"))
    assert response.headers["Content-Type"].startswith("image/tiff")
    assert 'filename="raster-' in response.headers["Content-Disposition"]
    with tifffile.TiffFile(io.BytesIO(response.body)) as tiff:
        full = tiff.asarray()
        geokeys = tiff.geotiff_metadata
    assert full.shape == (4000, 4000) and full.dtype == np.float32
    assert np.array_equal(full, stripes(4000, 4000))
    assert geokeys["GeographicTypeGeoKey"] == 4326
    assert geokeys["ModelTiepoint"][3:5] == [-180.0, 90.0]
    assert geokeys["ModelPixelScale"][:2] == [0.09, 0.045]
    ours = read_geotiff(response.body)
    assert ours["shape"] == (4000, 4000) and ours["nodata"] == NODATA
    assert ours["bounds"] == pytest.approx((-180, -90, 180, 90))
    assert rpc_app.services.calls.rasters.kept_bytes == 4000 * 4000 * 4 + 10 * 10 * 4


async def test_a_small_raster_is_sent_whole(rpc: Any) -> None:
    status, body = await call(rpc, "geo", "raster", {"rows": 3, "cols": 5, "box": [0, 40, 10, 46]})
    value = body["display"][RASTER]
    assert value["shape"] == value["source_shape"] == [3, 5]
    grid = decode(value)
    want = stripes(3, 5)
    assert np.isnan(grid[1, 1]) and grid[1, 2] == want[1, 2] == 3.0  # nodata is NaN on the map
    assert value["bounds"] == [0.0, 40.0, 10.0, 46.0]


async def test_geojson_results_are_maps_and_download_as_geojson(rpc: Any, jp_fetch: Any) -> None:
    status, body = await call(rpc, "geo", "grid_cells", {"box": [5, 47, 15, 55], "n": 7})
    assert body["state"] == "succeeded", body
    bundle = body["display"]
    assert set(bundle) == {GEO, "text/plain"}
    assert bundle[GEO]["type"] == "FeatureCollection" and len(bundle[GEO]["features"]) == 7
    assert bundle["text/plain"] == "<GeoJSON FeatureCollection, 7 features>"
    response = await jp_fetch("jupyter-rpc", "calls", body["id"], "download")
    assert response.headers["Content-Type"] == GEO
    assert response.headers["Content-Disposition"].endswith('.geojson"')
    assert json.loads(response.body) == body["result"]

    ring = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]
    status, body = await call(
        rpc, "geo", "area_summary", {"area": {"type": "Polygon", "coordinates": [ring]}}
    )
    assert body["display"]["text/plain"] == "<GeoJSON Feature, Polygon>"
    assert body["display"][GEO]["geometry"]["coordinates"] == [ring]


async def test_a_plain_dict_of_geojson_shape_is_a_map_too(rpc: Any) -> None:
    """A DASF backend's function that returns a plain dict (no annotation)."""
    from jupyter_rpc.services.rendering import mime_bundle

    point = {"type": "Point", "coordinates": [10, 53]}
    assert mime_bundle(point) == {GEO: point, "text/plain": "<GeoJSON Point>"}
    assert GEO not in mime_bundle({"type": "Point"})  # no coordinates: just JSON


async def test_nothing_to_download_is_a_404_in_the_one_error_shape(rpc: Any) -> None:
    status, body = await call(rpc, "examples", "add", {"a": 1, "b": 2})
    status, error = await rpc("GET", "calls", body["id"], "download")
    assert status == 404 and error["code"] == "call.no_download"
    assert "neither GeoJSON nor a raster" in error["message"]
    status, error = await rpc("GET", "calls", "0" * 32, "download")
    assert status == 404 and error["code"] == "call.not_found"


async def test_a_raster_over_the_kept_size_is_shown_but_not_kept(
    rpc: Any, jp_fetch: Any, rpc_app: Any
) -> None:
    store = rpc_app.services.calls.rasters
    store.max_bytes = 2000  # room for 500 cells
    status, body = await call(rpc, "geo", "raster", {"rows": 40, "cols": 40})
    value = body["display"][RASTER]
    assert value["download"] is None and value["shape"] == [40, 40]
    status, error = await rpc("GET", "calls", body["id"], "download")
    assert status == 404 and error["code"] == "call.no_download"
    assert "no longer kept" in error["message"]
    # a second small one pushes the first out
    _, first = await call(rpc, "geo", "raster", {"rows": 20, "cols": 20})
    _, second = await call(rpc, "geo", "raster", {"rows": 20, "cols": 20})
    assert (await rpc("GET", "calls", first["id"], "download"))[0] == 404
    response = await jp_fetch("jupyter-rpc", "calls", second["id"], "download")
    assert response.code == 200 and read_geotiff(response.body)["shape"] == (20, 20)


def test_geotiff_header_reads_back_with_nodata() -> None:
    from jupyter_rpc.services.rasters import geotiff_chunks, geotiff_header

    grid = stripes(300, 700)  # several strips
    blob = b"".join(
        geotiff_chunks(geotiff_header((300, 700), (0, 0, 7, 3), NODATA), grid.tobytes())
    )
    back = read_geotiff(blob)
    assert back["data"] == grid.tobytes() and back["nodata"] == NODATA
    assert back["bounds"] == pytest.approx((0, 0, 7, 3))
    with tifffile.TiffFile(io.BytesIO(blob)) as tiff:
        assert np.array_equal(tiff.asarray(), grid)
        assert tiff.pages[0].tags[42113].value == "-9999"
    assert struct.unpack("<f", grid[0, 0].tobytes())[0] == NODATA


async def test_ten_thousand_polygons_arrive_as_one_map_bundle(rpc: Any) -> None:
    """The browser's 10,000-feature measure starts from this answer."""
    await call(rpc, "geo", "grid_cells", {"n": 1})  # the backend started
    started = time.monotonic()
    _, body = await call(rpc, "geo", "grid_cells", {"n": 10_000})
    body = await wait_done(rpc, body, timeout=60)
    elapsed = time.monotonic() - started
    assert body["state"] == "succeeded", body.get("error")
    assert body["display"]["text/plain"] == "<GeoJSON FeatureCollection, 10,000 features>"
    features = body["display"][GEO]["features"]
    assert len(features) == 10_000 and features[-1]["geometry"]["type"] == "Polygon"
    print(f"\n10,000 polygon features, call to answer (in-process server): {elapsed:.2f} s")
    assert elapsed < 30, elapsed


def test_the_server_starts_without_loading_numpy() -> None:
    """numpy is loaded where a raster arrives, not with the extension."""
    import subprocess
    import sys

    code = "import sys, jupyter_rpc.app, jupyter_rpc.handlers; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
