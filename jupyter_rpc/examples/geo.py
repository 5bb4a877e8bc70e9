"""Places and grids: the map example backend of jupyter_rpc.

Functions that take a point, a polygon and a bounding box (map fields in the form) and
return a Feature, a FeatureCollection and a raster (shown on a map). Serve it with::

    python -m jupyter_rpc.backend jupyter_rpc.examples.geo

The GeoJSON types are the backend's own (:mod:`jupyter_rpc.backend.geo`), so the module
needs nothing beyond jupyter-rpc-backend; geojson-pydantic's models (``from
geojson_pydantic import Polygon``) work the same way. Values travel as plain GeoJSON.
"""

from __future__ import annotations

import math
import struct
import sys
import time
from array import array
from typing import Annotated, Any

from pydantic import Field

from jupyter_rpc.backend import BBox, Raster
from jupyter_rpc.backend.geo import Feature, FeatureCollection, Point, Polygon

__all__ = ["nearest_station", "area_summary", "grid_cells", "raster", "echo_bbox"]

#: What ``raster`` writes where a cell has no value.
NODATA = -9999.0
_EARTH_RADIUS_KM = 6371.0088

_STATIONS = [
    ("Hamburg", 9.99, 53.63),
    ("Potsdam", 13.06, 52.38),
    ("Hohenpeissenberg", 11.01, 47.80),
    ("Zugspitze", 10.98, 47.42),
    ("Helgoland", 7.89, 54.18),
    ("Tromsø", 18.94, 69.65),
    ("Reykjavík", -21.90, 64.13),
    ("Mauna Loa", -155.58, 19.54),
    ("Cape Grim", 144.69, -40.68),
    ("Neumayer III", -8.27, -70.67),
]


def _dump(model: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    return dumped


def _haversine_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def nearest_station(point: Point) -> Feature:
    """The weather station nearest to a point.

    Parameters
    ----------
    point
        Where you are: click on the map (longitude, latitude in degrees).

    Returns
    -------
    Feature
        The station as a Point feature, with its name and distance in km.
    """
    lon, lat = _dump(point)["coordinates"][:2]
    best = min(_STATIONS, key=lambda s: _haversine_km(lon, lat, s[1], s[2]))
    distance = _haversine_km(lon, lat, best[1], best[2])
    return Feature.model_validate(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [best[1], best[2]]},
            "properties": {"name": best[0], "distance_km": round(distance, 1)},
        }
    )


def area_summary(area: Polygon, name: str = "my area") -> Feature:
    """Measure a polygon: its area, perimeter and centre.

    Parameters
    ----------
    area
        The polygon: draw it on the map (its ring closes itself).
    name
        A label for the result.

    Returns
    -------
    Feature
        The same polygon as a Feature with ``name``, ``area_km2``, ``perimeter_km``,
        ``vertices`` and ``centroid`` (longitude, latitude) as properties.
    """
    geometry = _dump(area)
    ring = geometry["coordinates"][0]
    lat0 = sum(p[1] for p in ring[:-1]) / (len(ring) - 1)
    kx = math.cos(math.radians(lat0)) * math.pi * _EARTH_RADIUS_KM / 180
    ky = math.pi * _EARTH_RADIUS_KM / 180
    twice = sum((a[0] * b[1] - b[0] * a[1]) * kx * ky for a, b in zip(ring, ring[1:], strict=False))
    perimeter = sum(
        _haversine_km(a[0], a[1], b[0], b[1]) for a, b in zip(ring, ring[1:], strict=False)
    )
    lon_c = sum(p[0] for p in ring[:-1]) / (len(ring) - 1)
    return Feature.model_validate(
        {
            "type": "Feature",
            "geometry": geometry,
            "properties": {
                "name": name,
                "area_km2": round(abs(twice) / 2, 1),
                "perimeter_km": round(perimeter, 1),
                "vertices": len(ring) - 1,
                "centroid": [round(lon_c, 5), round(lat0, 5)],
            },
        }
    )


def grid_cells(
    box: BBox = (5.0, 47.0, 15.0, 55.0),
    n: Annotated[int, Field(ge=1, le=100_000)] = 100,
) -> FeatureCollection:
    """Cover a bounding box with ``n`` square-ish polygons (the ones that fit in a grid).

    Parameters
    ----------
    box
        [west, south, east, north] in degrees: draw a rectangle on the map.
    n
        How many polygons (1 to 100,000); the grid has ceil(sqrt(n)) columns.

    Returns
    -------
    FeatureCollection
        ``n`` Polygon features, each with ``index``, ``row``, ``col`` and ``value``
        (``row * 10 + col``).
    """
    west, south, east, north = box
    if west > east:  # across the antimeridian
        east += 360
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    dx, dy = (east - west) / cols, (north - south) / rows
    features = []
    for index in range(n):
        row, col = divmod(index, cols)
        x0 = west + col * dx
        y1 = north - row * dy
        x0 = x0 - 360 if x0 > 180 else x0
        x1 = min(x0 + dx, 180.0)
        y0 = y1 - dy
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        features.append(
            {
                "type": "Feature",
                "id": index,
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"index": index, "row": row, "col": col, "value": row * 10 + col},
            }
        )
    # plain GeoJSON: checked once, on its way out, against the annotation
    return {"type": "FeatureCollection", "features": features}  # type: ignore[return-value]


def raster(
    rows: Annotated[int, Field(ge=1, le=4096)] = 500,
    cols: Annotated[int, Field(ge=1, le=4096)] = 1000,
    box: BBox = (-180.0, -90.0, 180.0, 90.0),
    delay: Annotated[float, Field(ge=0, le=60)] = 0.0,
) -> Raster:
    """A raster with known values: diagonal stripes ``(row + col) % 256``.

    The cell in row ``r`` (0 = north edge) and column ``c`` (0 = west edge) holds
    ``(r + c) % 256``; the cells with ``r == c`` have no value (nodata, -9999: transparent
    on the map). Large sizes show the server's downsampling (at most 1024 cells on the
    map's long side; the download has them all).

    Parameters
    ----------
    rows, cols
        The grid's size (1 to 4,096 each: 4,096 x 4,096 is about 120 MB on the wire,
        within the server's default RPCApp.max_message_size of 128 MB).
    box
        [west, south, east, north] in degrees: where the grid lies.
    delay
        Seconds to wait before answering (to watch a call run).

    Returns
    -------
    Raster
        The grid, in units of "stripes" with the viridis colour map.
    """
    if delay:
        time.sleep(delay)
    period = 256
    base = array("f", [float(c % period) for c in range(cols + period)])
    if sys.byteorder == "big":  # the raster's bytes are little-endian
        base.byteswap()
    templates = [base[k : k + cols].tobytes() for k in range(min(period, rows))]
    hole = struct.pack("<f", NODATA)
    lines = []
    for r in range(rows):
        line = templates[r % period]
        if r < cols:
            line = line[: 4 * r] + hole + line[4 * r + 4 :]
        lines.append(line)
    return Raster(
        b"".join(lines),
        box,
        shape=(rows, cols),
        nodata=NODATA,
        units="stripes",
        colormap="viridis",
        name="stripes",
        vmin=0.0,
        vmax=255.0,
    )


def echo_bbox(box: BBox) -> list[float]:
    """Give a bounding box back, as the backend received it.

    Parameters
    ----------
    box
        [west, south, east, north] in degrees.
    """
    return list(box)
