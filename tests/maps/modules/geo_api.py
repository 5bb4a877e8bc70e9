"""A backend module typed with real geojson-pydantic models (tests/maps)."""

from __future__ import annotations

from geojson_pydantic import Feature, FeatureCollection, LineString, MultiPolygon, Point, Polygon

from jupyter_rpc.backend import BBox

__all__ = ["point", "line", "polygon", "multipolygon", "feature", "collection", "box", "maybe"]


def point(p: Point) -> Point:
    return p


def line(p: LineString) -> LineString:
    return p


def polygon(p: Polygon) -> Feature[Polygon, dict]:
    return Feature(type="Feature", geometry=p, properties={"n": len(p.coordinates[0])})


def multipolygon(p: MultiPolygon) -> MultiPolygon:
    return p


def feature(f: Feature[Polygon, dict]) -> Feature:
    return f


def collection(c: FeatureCollection[Feature[Point, dict]]) -> FeatureCollection:
    return c


def box(b: BBox) -> list[float]:
    return list(b)


def maybe(p: Polygon | None = None) -> dict | None:
    return None if p is None else p.model_dump(mode="json", exclude_none=True)
