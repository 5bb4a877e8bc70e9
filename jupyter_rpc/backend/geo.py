"""Geo types for backend functions: GeoJSON inputs and outputs, and a bounding box.

A parameter or return annotation that is a GeoJSON model gets two annotations in its
JSON Schema, so the UI shows a map field (an input) or a map (a result)::

    {"contentMediaType": "application/geo+json", "x-geo": "Polygon"}

(``"x-geo-geometry": "Polygon"`` too for a Feature or FeatureCollection whose geometry
type is known). They are added automatically for geojson-pydantic's models (``Point``,
``LineString``, ``Polygon``, ``MultiPolygon``, ``Feature``, ``FeatureCollection``, and
their generic forms such as ``Feature[Polygon, dict]``) and for the models of this
module, the same six, for a backend without geojson-pydantic. Values travel as plain
GeoJSON (RFC 7946: positions are ``[longitude, latitude]`` in degrees, rings closed).

Every such value is checked before the function runs, with a message a person
understands: the GeoJSON type the function expects, longitudes in -180..180 and
latitudes in -90..90, closed rings of at least four positions.

:data:`BBox` is ``[west, south, east, north]`` in degrees (a 4-item array of numbers);
``west > east`` is a box across the antimeridian (RFC 7946, section 5.2).

Examples
--------
>>> from geojson_pydantic import Feature, Polygon
>>> from jupyter_rpc.backend import BBox
>>> def clip(area: Polygon, box: BBox) -> Feature: ...
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

__all__ = [
    "GEO_MEDIA_TYPE",
    "BBox",
    "Feature",
    "FeatureCollection",
    "Geo",
    "LineString",
    "MultiPolygon",
    "Point",
    "Polygon",
    "annotate",
    "check_geojson",
]

#: The media type of GeoJSON (RFC 7946).
GEO_MEDIA_TYPE = "application/geo+json"

#: The kinds a schema's ``x-geo`` names.
KINDS = ("Point", "LineString", "Polygon", "MultiPolygon", "Feature", "FeatureCollection", "BBox")
GEOMETRIES = (
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
)
#: How deep each geometry's coordinates nest (a Point's are one position).
_DEPTH = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}
_ARTICLE = {"A": "an", "E": "an", "I": "an", "O": "an", "U": "an"}


def _a(kind: str) -> str:
    return f"{_ARTICLE.get(kind[:1], 'a')} {kind}"


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("geojson", message)


class Geo:
    """Marker for :data:`typing.Annotated`: the value is GeoJSON of ``kind`` (checked), and
    its schema says so (``contentMediaType``, ``x-geo``, ``x-geo-geometry``).

    Parameters
    ----------
    kind
        One of ``Point``, ``LineString``, ``Polygon``, ``MultiPolygon``, ``Feature``,
        ``FeatureCollection``, ``BBox``.
    geometry
        For a Feature or FeatureCollection: the geometry type of its features, if known.
    """

    __slots__ = ("geometry", "kind")

    def __init__(self, kind: str, geometry: str | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown geo kind {kind!r}; one of {', '.join(KINDS)}")
        self.kind = kind
        self.geometry = geometry

    def __get_pydantic_core_schema__(
        self, source: Any, handler: typing.Callable[[Any], core_schema.CoreSchema]
    ) -> core_schema.CoreSchema:
        inner = handler(source)
        kind, geometry = self.kind, self.geometry

        def before(value: Any) -> Any:
            # a model instance (a function's result) passed its model's own checks; what
            # arrives as JSON (every argument) is checked here
            if kind != "BBox" and not isinstance(value, BaseModel):
                check_geojson(value, kind, geometry)
            return value

        def after(value: Any) -> Any:
            if kind == "BBox":
                _check_bbox(value)
            return value

        return core_schema.no_info_before_validator_function(
            before, core_schema.no_info_after_validator_function(after, inner)
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        json_schema = dict(handler(schema))
        json_schema["contentMediaType"] = GEO_MEDIA_TYPE
        json_schema["x-geo"] = self.kind
        if self.geometry:
            json_schema["x-geo-geometry"] = self.geometry
        return json_schema

    def __repr__(self) -> str:
        return f"Geo({self.kind!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Geo) and (other.kind, other.geometry) == (
            self.kind,
            self.geometry,
        )

    def __hash__(self) -> int:
        return hash(("Geo", self.kind, self.geometry))


# --------------------------------------------------------------------------- checks


def check_geojson(value: Any, kind: str, geometry: str | None = None) -> None:
    """Raise a :class:`PydanticCustomError` with a person's message when ``value`` (plain
    JSON) is not GeoJSON of ``kind``: wrong type, a position out of range, an open ring."""
    if not isinstance(value, dict):
        raise _fail(f"Expected {_a(kind)} as a GeoJSON object, got {_what(value)}.")
    found = value.get("type")
    if found != kind:
        got = f"{_a(found)}" if isinstance(found, str) and found else "no GeoJSON 'type'"
        raise _fail(f"Expected GeoJSON of type {kind}, got {got}.")
    if kind == "Feature":
        _check_feature(value, geometry, "")
    elif kind == "FeatureCollection":
        features = value.get("features")
        if not isinstance(features, list):
            raise _fail("A FeatureCollection needs 'features', a list of Features.")
        for index, feature in enumerate(features):
            where = f"features[{index}]"
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                raise _fail(f"{where} is not a GeoJSON Feature.")
            _check_feature(feature, geometry, where + ".")
    else:
        _check_geometry(value, kind, "")


def _check_feature(feature: dict[str, Any], geometry: str | None, where: str) -> None:
    geom = feature.get("geometry")
    if geom is None:
        return
    if not isinstance(geom, dict) or geom.get("type") not in GEOMETRIES:
        raise _fail(f"{where}geometry is not a GeoJSON geometry.")
    if geometry and geom["type"] != geometry:
        raise _fail(f"{where}geometry: expected {_a(geometry)}, got {_a(geom['type'])}.")
    _check_geometry(geom, geom["type"], f"{where}geometry.")


def _check_geometry(geom: dict[str, Any], kind: str, where: str) -> None:
    if kind == "GeometryCollection":
        for index, part in enumerate(geom.get("geometries") or []):
            if not isinstance(part, dict) or part.get("type") not in GEOMETRIES:
                raise _fail(f"{where}geometries[{index}] is not a GeoJSON geometry.")
            _check_geometry(part, part["type"], f"{where}geometries[{index}].")
        return
    coords: Any = geom.get("coordinates")
    depth = _DEPTH[kind]
    _check_nesting(coords, depth, f"{where}coordinates", kind)
    if kind == "LineString":
        _check_line(coords, f"{where}coordinates")
    elif kind == "MultiLineString":
        for index, line in enumerate(coords):
            _check_line(line, f"{where}coordinates[{index}]")
    elif kind == "Polygon":
        _check_rings(coords, f"{where}coordinates")
    elif kind == "MultiPolygon":
        for index, polygon in enumerate(coords):
            _check_rings(polygon, f"{where}coordinates[{index}]")


def _check_nesting(coords: Any, depth: int, where: str, kind: str) -> None:
    if depth == 0:
        _check_position(coords, where)
        return
    if not isinstance(coords, list):
        raise _fail(f"{where}: {_a(kind)}'s coordinates must be a list, got {_what(coords)}.")
    for index, item in enumerate(coords):
        _check_nesting(item, depth - 1, f"{where}[{index}]", kind)


def _check_position(position: Any, where: str) -> None:
    if (
        not isinstance(position, (list, tuple))
        or not 2 <= len(position) <= 3
        or not all(_is_number(v) for v in position)
    ):
        raise _fail(
            f"{where}: a position is [longitude, latitude] in degrees, got {_what(position)}."
        )
    lon, lat = position[0], position[1]
    if not -180 <= lon <= 180:
        raise _fail(f"{where}: longitude {lon:g} is out of range (-180 to 180).")
    if not -90 <= lat <= 90:
        raise _fail(f"{where}: latitude {lat:g} is out of range (-90 to 90).")


def _check_line(line: list[Any], where: str) -> None:
    if len(line) < 2:
        raise _fail(f"{where}: a line needs at least 2 positions, got {len(line)}.")


def _check_rings(rings: list[Any], where: str) -> None:
    if not rings:
        raise _fail(f"{where}: a polygon needs at least one ring.")
    for index, ring in enumerate(rings):
        at = f"{where}[{index}]"
        if len(ring) < 4:
            raise _fail(
                f"{at}: a ring needs at least 4 positions (a triangle and its first "
                f"position again), got {len(ring)}."
            )
        if list(ring[0]) != list(ring[-1]):
            raise _fail(
                f"{at}: the ring is not closed: its last position {list(ring[-1])} must "
                f"repeat its first {list(ring[0])}."
            )


def _check_bbox(box: Any) -> None:
    west, south, east, north = box
    for name, value, limit in (
        ("west", west, 180),
        ("east", east, 180),
        ("south", south, 90),
        ("north", north, 90),
    ):
        if not -limit <= value <= limit:
            raise _fail(
                f"The bounding box's {name} edge {value:g} is out of range "
                f"({-limit} to {limit} degrees)."
            )
    if south > north:
        raise _fail(
            f"The bounding box's south edge {south:g} is north of its north edge {north:g}."
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _what(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------------------- types

#: ``[west, south, east, north]`` in degrees (EPSG:4326).
BBox = Annotated[
    tuple[float, float, float, float],
    Geo("BBox"),
    Field(description="[west, south, east, north] in degrees"),
]

_Position = Annotated[list[float], Field(min_length=2, max_length=3)]


class _GeoModel(BaseModel):
    model_config = ConfigDict(extra="allow")


class Point(_GeoModel):
    """A GeoJSON Point: ``coordinates`` is ``[longitude, latitude]``."""

    type: Literal["Point"] = "Point"
    coordinates: _Position


class LineString(_GeoModel):
    """A GeoJSON LineString: at least 2 positions."""

    type: Literal["LineString"] = "LineString"
    coordinates: list[_Position]


class Polygon(_GeoModel):
    """A GeoJSON Polygon: closed rings (the outer one first, then holes)."""

    type: Literal["Polygon"] = "Polygon"
    coordinates: list[list[_Position]]


class MultiPolygon(_GeoModel):
    """A GeoJSON MultiPolygon."""

    type: Literal["MultiPolygon"] = "MultiPolygon"
    coordinates: list[list[list[_Position]]]


class Feature(_GeoModel):
    """A GeoJSON Feature: a geometry (any GeoJSON geometry, checked as such) and its
    properties."""

    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any] | None = None
    properties: dict[str, Any] | None = None
    id: str | int | None = None


class FeatureCollection(_GeoModel):
    """A GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]


_OURS = {
    Point: "Point",
    LineString: "LineString",
    Polygon: "Polygon",
    MultiPolygon: "MultiPolygon",
    Feature: "Feature",
    FeatureCollection: "FeatureCollection",
}


# --------------------------------------------------------------------------- recognition


def geo_kind(annotation: Any) -> tuple[str, str | None] | None:
    """``(kind, geometry)`` when ``annotation`` is a GeoJSON model class (geojson-pydantic's
    or this module's), else ``None``."""
    if not isinstance(annotation, type):
        return None
    if annotation in _OURS:
        return _OURS[annotation], None
    meta = getattr(annotation, "__pydantic_generic_metadata__", None) or {}
    origin = meta.get("origin") or annotation  # Feature[Polygon, dict] lives in the caller's module
    if not origin.__module__.startswith("geojson_pydantic"):
        return None
    name = origin.__name__
    if name not in KINDS:
        return None
    args = meta.get("args") or ()
    geometry: str | None = None
    if name == "Feature" and args:
        geometry = _geometry_name(args[0])
    elif name == "FeatureCollection" and args:
        inner = geo_kind(args[0])
        geometry = inner[1] if inner else None
    return name, geometry


def _geometry_name(arg: Any) -> str | None:
    if isinstance(arg, type) and arg.__name__ in GEOMETRIES:
        return arg.__name__
    return None


def annotate(annotation: Any) -> Any:
    """``annotation`` with a :class:`Geo` marker added where it is a GeoJSON model (also
    inside ``Optional``/``X | None`` and ``Annotated``), and an ``xarray.DataArray``
    turned into :data:`jupyter_rpc.backend.raster.Raster`; anything else unchanged."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        base, *extras = typing.get_args(annotation)
        if any(isinstance(e, Geo) for e in extras):
            return annotation
        new = annotate(base)
        if new is base:
            return annotation
        for extra in extras:  # Annotated[Annotated[x, a], b] is Annotated[x, a, b]
            new = Annotated[new, extra]
        return new
    if origin in (Union, types.UnionType):
        args = typing.get_args(annotation)
        new_args = tuple(annotate(a) for a in args)
        if all(n is a for n, a in zip(new_args, args, strict=True)):
            return annotation
        return Union[new_args]  # noqa: UP007 - a tuple of types, built at run time
    found = geo_kind(annotation)
    if found is not None:
        return Annotated[annotation, Geo(*found)]
    from .raster import Raster, is_data_array_type

    if is_data_array_type(annotation):
        return Raster
    return annotation
