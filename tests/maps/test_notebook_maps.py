"""Map results in notebooks (issue 21): a GeoJSON or raster result displays as a map in the
cell (the same bundle the panel shows) and converts with .to_geopandas() / .to_xarray()."""

from __future__ import annotations

import asyncio
import importlib.util
import os
from typing import Any

import numpy as np
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_rpc.notebook.client import Session
from jupyter_rpc.notebook.geo import GeoJSON, RasterResult

GEO = "application/geo+json"
RASTER = "application/vnd.jupyter-rpc.raster+json"


def _session(server_url: tuple[str, str]) -> Session:
    url, token = server_url
    return Session(url, token)


async def test_a_geojson_result_is_a_map_value(server_url: tuple[str, str]) -> None:
    session = _session(server_url)
    value = await asyncio.to_thread(
        session.call, "geo", "grid_cells", {"box": [5, 47, 15, 55], "n": 4}
    )
    assert isinstance(value, GeoJSON) and isinstance(value, dict)
    assert value["type"] == "FeatureCollection" and len(value["features"]) == 4
    bundle = value._repr_mimebundle_()
    assert bundle[GEO] == dict(value)
    assert bundle["text/plain"] == "<GeoJSON FeatureCollection, 4 features>"
    if importlib.util.find_spec("geopandas") is None:
        with pytest.raises(ImportError, match=r"needs geopandas.*pip install geopandas"):
            value.to_geopandas()
    else:  # pragma: no cover - where geopandas is installed
        frame = value.to_geopandas()
        assert len(frame) == 4 and str(frame.crs) == "EPSG:4326"


async def test_a_raster_result_converts_to_xarray_whole_or_as_shown(
    server_url: tuple[str, str],
) -> None:
    session = _session(server_url)
    value = await asyncio.to_thread(
        session.call, "geo", "raster", {"rows": 1500, "cols": 2100, "box": [0, 30, 21, 45]}
    )
    assert isinstance(value, RasterResult)
    assert value["shape"] == [500, 700] and value["source_shape"] == [1500, 2100]
    bundle = value._repr_mimebundle_()
    assert set(bundle) == {RASTER, "text/plain"}
    assert bundle["text/plain"].startswith("<Raster stripes, 1,500 x 2,100 (shown 500 x 700)")

    full = await asyncio.to_thread(value.to_xarray)
    assert full.shape == (1500, 2100) and full.dims == ("lat", "lon")
    assert full.attrs["units"] == "stripes"
    # row 0 is the north edge: its centre half a cell (0.01 degrees) below 45
    assert float(full.lat[0]) == pytest.approx(45 - 0.005) and float(full.lon[0]) == pytest.approx(
        0.005
    )
    assert float(full[7, 300]) == (7 + 300) % 256
    assert np.isnan(float(full[12, 12]))  # nodata -> NaN
    shown = value.to_xarray(full=False)
    assert shown.shape == (500, 700)
    assert float(shown[0, 1]) == pytest.approx(1 + 4)  # rows 0-2, columns 3-5: mean r + mean c


async def test_without_xarray_the_message_says_what_to_install(
    server_url: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    session = _session(server_url)
    value = await asyncio.to_thread(session.call, "geo", "raster", {"rows": 4, "cols": 4})
    monkeypatch.setitem(sys.modules, "xarray", None)  # as if not installed
    with pytest.raises(ImportError, match=r"\.to_xarray\(\) needs xarray.*pip install xarray"):
        value.to_xarray()


async def test_geo_results_display_as_a_map_in_a_notebook_cell(
    server_url: tuple[str, str], tmp_path: Any
) -> None:
    url, token = server_url
    nb = new_notebook(
        cells=[
            new_code_cell(
                'from jupyter_rpc import connect\ngeo = connect("geo")\n'
                'geo.area_summary(area={"type": "Polygon", "coordinates": '
                "[[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]})"
            ),
            new_code_cell("r = geo.raster(rows=40, cols=60)\nr"),
            new_code_cell("r.to_xarray().shape"),
        ]
    )
    client = NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    env = {**os.environ, "JUPYTER_RPC_URL": url, "JUPYTER_RPC_TOKEN": token}
    await asyncio.to_thread(lambda: asyncio.run(client.async_execute(env=env)))
    results = [[o for o in cell.outputs if o.output_type == "execute_result"] for cell in nb.cells]
    feature = results[0][0].data
    assert feature["text/plain"] == "<GeoJSON Feature, Polygon>"
    assert feature[GEO]["geometry"]["type"] == "Polygon"
    assert feature[GEO]["properties"]["vertices"] == 4
    raster = results[1][0].data
    assert raster[RASTER]["shape"] == [40, 60] and raster[RASTER]["units"] == "stripes"
    assert results[2][0].data["text/plain"] == "(40, 60)"


async def test_an_executors_raster_downloads_its_whole_grid(server_url: tuple[str, str]) -> None:
    from jupyter_rpc.notebook.executor import Executor

    url, token = server_url

    def run() -> Any:
        with Executor("geo", max_workers=2, url=url, token=token, progress=False) as ex:
            future = ex.submit(ex.functions.raster, rows=1100, cols=20)
            return future.result(timeout=60).to_xarray()

    grid = await asyncio.to_thread(run)
    assert grid.shape == (1100, 20) and float(grid[1099, 3]) == (1099 + 3) % 256
