"""Results as MIME bundles, so the panel and notebooks render them the same way.

The kind of a result comes from ``contentMediaType`` at the top of the function's
return schema (a standard JSON Schema annotation, so any backend can use it); lists of
records become tables; other JSON shows as a tree. Everything HTML-like is rendered by
JupyterLab's rendermime, which sanitizes it; the table we build escapes every cell too.
"""

from __future__ import annotations

import html
import json
from typing import Any

from .rasters import GEO_MEDIA_TYPE, RASTER_MEDIA_TYPE, is_geojson

MAX_TABLE_ROWS = 1000
MAX_TEXT = 20_000

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")
TEXT_TYPES = ("text/html", "text/markdown", "text/latex", "image/svg+xml")
CHART_TYPES = (
    "application/vnd.vegalite.v5+json",
    "application/vnd.vegalite.v4+json",
    "application/vnd.vega.v5+json",
)


def mime_bundle(value: Any, return_schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """The MIME bundle for a call's result."""
    media = (return_schema or {}).get("contentMediaType")
    if media == RASTER_MEDIA_TYPE and isinstance(value, dict) and "source_shape" in value:
        return {RASTER_MEDIA_TYPE: value, "text/plain": raster_text(value)}
    if is_geojson(value):  # by its schema or by its shape: a map
        return {GEO_MEDIA_TYPE: value, "text/plain": geojson_text(value)}
    if media in IMAGE_TYPES and isinstance(value, str):
        return {media: value, "text/plain": f"<{media} image, {len(value) * 3 // 4:,} bytes>"}
    if media in TEXT_TYPES and isinstance(value, str):
        return {media: value, "text/plain": _clip(value)}
    if media in CHART_TYPES and isinstance(value, dict):
        return {media: value, "text/plain": "<chart>"}
    if isinstance(value, list) and _is_records(value):
        # No application/json here: Lab ranks it above HTML and would show a tree, not
        # the table. The records themselves are the call's `result`.
        return {"text/html": records_table(value), "text/plain": _plain(value)}
    if isinstance(value, (dict, list)):
        return {"application/json": value, "text/plain": _plain(value)}
    return {"text/plain": _plain(value)}


def raster_text(value: dict[str, Any]) -> str:
    """``<Raster stripes, 4,000 x 4,000 (shown 1,000 x 1,000), stripes>``."""
    rows, cols = value["source_shape"]
    shown = value["shape"]
    text = f"<Raster {value.get('name') or 'unnamed'}, {rows:,} x {cols:,}"
    if list(shown) != [rows, cols]:
        text += f" (shown {shown[0]:,} x {shown[1]:,})"
    if value.get("units"):
        text += f", {value['units']}"
    return text + f", bounds {value['bounds']}>"


def geojson_text(value: dict[str, Any]) -> str:
    """``<GeoJSON FeatureCollection, 3 features>``, ``<GeoJSON Feature, Polygon>``."""
    kind = value["type"]
    if kind == "FeatureCollection":
        count = len(value["features"])
        return f"<GeoJSON FeatureCollection, {count:,} feature{'s' if count != 1 else ''}>"
    if kind == "Feature":
        geometry = value.get("geometry")
        return f"<GeoJSON Feature, {geometry['type'] if geometry else 'no geometry'}>"
    return f"<GeoJSON {kind}>"


def _is_records(value: list[Any]) -> bool:
    return bool(value) and all(isinstance(row, dict) and row for row in value)


def records_table(rows: list[dict[str, Any]]) -> str:
    """An HTML table of records; every cell is escaped."""
    columns: dict[str, None] = {}
    for row in rows[:MAX_TABLE_ROWS]:
        columns.update(dict.fromkeys(row))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = []
    for row in rows[:MAX_TABLE_ROWS]:
        cells = "".join(f"<td>{html.escape(_cell(row.get(c)))}</td>" for c in columns)
        body.append(f"<tr>{cells}</tr>")
    more = ""
    if len(rows) > MAX_TABLE_ROWS:
        more = f"<p>… {len(rows) - MAX_TABLE_ROWS:,} more rows (see the JSON result)</p>"
    return (
        f'<table class="jp-rpc-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>{more}"
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _plain(value: Any) -> str:
    """What ``repr`` would show for the Python value, as a notebook prints it."""
    if isinstance(value, str):
        return _clip(value)
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    return _clip(json.dumps(value, indent=2, ensure_ascii=False))


def _clip(text: str) -> str:
    return (
        text
        if len(text) <= MAX_TEXT
        else text[:MAX_TEXT] + f"\n… ({len(text) - MAX_TEXT:,} more characters)"
    )
