"""Geo inputs (issue 21): parameters typed with GeoJSON models carry the map annotations in
their schema, and the backend refuses invalid geometries with a message a person reads."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_rpc.backend import RequestError, build_api
from jupyter_rpc.backend import geo as backend_geo
from tests.fixtures.calls import call
from tests.maps.modules import geo_api

GEO = "application/geo+json"


def _param(api: Any, function: str, name: str) -> dict[str, Any]:
    entry = next(f for f in api.api_info["functions"] if f["name"] == function)
    return entry["rpc_schema"]["properties"][name]


def test_geojson_pydantic_parameters_are_annotated() -> None:
    api = build_api(geo_api)
    expect = {
        ("point", "p"): ("Point", None),
        ("line", "p"): ("LineString", None),
        ("polygon", "p"): ("Polygon", None),
        ("multipolygon", "p"): ("MultiPolygon", None),
        ("feature", "f"): ("Feature", "Polygon"),
        ("collection", "c"): ("FeatureCollection", "Point"),
        ("box", "b"): ("BBox", None),
    }
    for (function, name), (kind, geometry) in expect.items():
        schema = _param(api, function, name)
        assert schema["contentMediaType"] == GEO, (function, schema)
        assert schema["x-geo"] == kind, (function, schema)
        assert schema.get("x-geo-geometry") == geometry, (function, schema)
    box = _param(api, "box", "b")
    assert box["type"] == "array" and box["minItems"] == box["maxItems"] == 4
    # Optional[Polygon]: the annotation sits on the polygon, beside null
    maybe = _param(api, "maybe", "p")
    branches = maybe["anyOf"]
    assert {"type": "null"} in branches
    assert any(b.get("x-geo") == "Polygon" for b in branches), maybe
    # results: the return schema says GeoJSON too
    entry = next(f for f in api.api_info["functions"] if f["name"] == "polygon")
    assert entry["return_schema"]["contentMediaType"] == GEO
    assert entry["return_schema"]["x-geo"] == "Feature"
    assert entry["return_schema"]["x-geo-geometry"] == "Polygon"


def test_the_backends_own_models_carry_the_same_annotations() -> None:
    """A backend without geojson-pydantic uses jupyter_rpc.backend.geo's models."""
    module = type(geo_api)("own_geo")
    exec(  # a module written against the backend's own models
        "from jupyter_rpc.backend.geo import Point, Polygon, FeatureCollection\n"
        "def at(p: Point) -> FeatureCollection:\n"
        "    return FeatureCollection(features=[])\n"
        "def area(p: Polygon) -> Polygon:\n"
        "    return p\n",
        module.__dict__,
    )
    api = build_api(module)
    assert _param(api, "at", "p")["x-geo"] == "Point"
    assert _param(api, "area", "p")["contentMediaType"] == GEO
    with pytest.raises(RequestError, match="ring is not closed"):
        api.prepare(
            {
                "func_name": "area",
                "p": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
            }
        )


UNCLOSED = {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10]]]}


@pytest.mark.parametrize(
    ("function", "arguments", "words"),
    [
        (
            "polygon",
            {"p": UNCLOSED},
            "the ring is not closed: its last position [0, 10] must repeat its first [0, 0]",
        ),
        (
            "point",
            {"p": {"type": "Point", "coordinates": [10, 91]}},
            "latitude 91 is out of range (-90 to 90)",
        ),
        (
            "point",
            {"p": {"type": "Point", "coordinates": [-181, 0]}},
            "longitude -181 is out of range (-180 to 180)",
        ),
        (
            "polygon",
            {"p": {"type": "Point", "coordinates": [0, 0]}},
            "Expected GeoJSON of type Polygon, got a Point",
        ),
        (
            "feature",
            {
                "f": {
                    "type": "Feature",
                    "properties": {},
                    "geometry": {"type": "Point", "coordinates": [0, 0]},
                }
            },
            "geometry: expected a Polygon, got a Point",
        ),
        ("box", {"b": [10, 50, 20, 40]}, "south edge 50 is north of its north edge 40"),
        ("box", {"b": [10, 50, 200, 60]}, "east edge 200 is out of range (-180 to 180 degrees)"),
    ],
)
def test_invalid_geometries_are_refused_with_a_human_message(
    function: str, arguments: dict[str, Any], words: str
) -> None:
    api = build_api(geo_api)
    with pytest.raises(RequestError) as info:
        api.prepare({"func_name": function, **arguments})
    assert words in str(info.value)
    assert words in info.value.errors[0]["message"]


def test_valid_geometries_pass_unchanged() -> None:
    api = build_api(geo_api)
    ring = [[0.5, 0.5], [10, 0], [10, 10], [0, 10], [0.5, 0.5]]
    prepared = api.prepare(
        {"func_name": "polygon", "p": {"type": "Polygon", "coordinates": [ring]}}
    )
    result = prepared.serialize(prepared.run())
    assert result["geometry"]["coordinates"] == [ring]
    prepared = api.prepare({"func_name": "box", "b": [170, -10, -170, 10]})  # across 180°
    assert prepared.serialize(prepared.run()) == [170, -10, -170, 10]


def test_check_geojson_reads_plain_dicts() -> None:
    backend_geo.check_geojson(
        {"type": "MultiPolygon", "coordinates": [[UNCLOSED["coordinates"][0] + [[0, 0]]]]},
        "MultiPolygon",
    )
    with pytest.raises(ValueError, match=r"coordinates\[0\]\[0\]: the ring is not closed"):
        backend_geo.check_geojson(
            {"type": "MultiPolygon", "coordinates": [UNCLOSED["coordinates"]]}, "MultiPolygon"
        )


async def test_the_server_answers_an_unclosed_ring_with_the_backends_words(rpc: Any) -> None:
    """Through a real Jupyter server and the example backend process: the call fails with
    call.invalid_arguments, its message and details say which ring and why."""
    status, body = await rpc("GET", "backends", "geo", "functions")
    assert status == 200
    specs = {f["name"]: f for f in body["functions"]}
    area = specs["area_summary"]["schema"]["properties"]["area"]
    assert area["contentMediaType"] == GEO and area["x-geo"] == "Polygon"
    box = specs["grid_cells"]["schema"]["properties"]["box"]
    assert box["x-geo"] == "BBox"

    status, body = await call(rpc, "geo", "area_summary", {"area": UNCLOSED})
    assert body["state"] == "failed", body
    error = body["error"]
    assert error["code"] == "call.invalid_arguments"
    assert "the ring is not closed" in error["message"]
    status, body = await call(
        rpc, "geo", "nearest_station", {"point": {"type": "Point", "coordinates": [10, 91]}}
    )
    assert body["error"]["code"] == "call.invalid_arguments"
    assert "latitude 91 is out of range (-90 to 90)" in body["error"]["message"]
    status, body = await call(
        rpc, "geo", "nearest_station", {"point": {"type": "Point", "coordinates": [10, 53.5]}}
    )
    assert body["state"] == "succeeded", body
    assert body["result"]["properties"]["name"] == "Hamburg"
