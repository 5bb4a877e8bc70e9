"""Raster and GeoJSON results on the server: downsampled for the map, kept whole for download.

A backend returns a raster (:class:`jupyter_rpc.backend.raster.Raster`, the media type
``application/vnd.jupyter-rpc.raster+json``) whole, as base64 of little-endian float32
(through a broker) or as those bytes themselves (a binary buffer after the answer's line,
on a local or SSH backend's stdio: ``jupyter_rpc.protocol.BUFFERS``).
:meth:`RasterStore.accept` decodes it, keeps the full grid for the download route (up to
``RPCApp.max_kept_raster_size`` bytes of float32 in all, the oldest dropped first) and
gives the call the map's copy: a block mean (NaN and ``nodata`` left out) of at most
``MAX_SIDE`` cells on the long side, with ``source_shape`` and the ``download`` path.

Downloads: a raster as GeoTIFF (written here without GDAL: an uncompressed float32 TIFF
with the GeoTIFF keys of EPSG:4326, any GIS reads it), GeoJSON as ``.geojson``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..backend.raster import RASTER_MEDIA_TYPE
from ..errors import NotFound

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "GEO_MEDIA_TYPE",
    "MAX_SIDE",
    "RASTER_MEDIA_TYPE",
    "Download",
    "RasterStore",
    "block_mean",
    "geotiff_chunks",
    "is_geojson",
    "read_geotiff",
]

GEO_MEDIA_TYPE = "application/geo+json"
#: The map's copy has at most this many cells on its long side.
MAX_SIDE = 1024
TIFF_TYPE = "image/tiff; application=geotiff"
_GEOMETRIES = {
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
}


def is_geojson(value: Any) -> bool:
    """Whether ``value`` has the shape of GeoJSON (a Geometry, Feature or FeatureCollection)."""
    if not isinstance(value, dict):
        return False
    kind = value.get("type")
    if kind in _GEOMETRIES:
        return isinstance(value.get("coordinates"), list)
    if kind == "GeometryCollection":
        return isinstance(value.get("geometries"), list)
    if kind == "Feature":
        return "geometry" in value and (value["geometry"] is None or is_geojson(value["geometry"]))
    if kind == "FeatureCollection":
        return isinstance(value.get("features"), list)
    return False


def is_raster(value: Any, return_schema: dict[str, Any] | None) -> bool:
    """Whether a backend's result is a raster in the wire form (to be processed)."""
    return (
        (return_schema or {}).get("contentMediaType") == RASTER_MEDIA_TYPE
        and isinstance(value, dict)
        and isinstance(value.get("values"), str | bytes)  # bytes: sent as a buffer
        and "source_shape" not in value
    )


def block_mean(
    grid: np.ndarray, nodata: float | None, max_side: int = MAX_SIDE
) -> tuple[np.ndarray, int]:
    """The mean of each ``f x f`` block of ``grid`` (``f`` the smallest whole factor that
    brings the long side to ``max_side`` or less), leaving out NaN and ``nodata``; a block
    with no value is NaN. Returns ``(float32 grid, f)``; ``f == 1``: ``grid`` itself."""
    import numpy as np  # here, not at the top: the server starts without loading numpy

    rows, cols = grid.shape
    factor = max(1, math.ceil(max(rows, cols) / max_side))
    valid = np.isfinite(grid)
    if nodata is not None:
        valid &= grid != np.float32(nodata)
    if factor == 1:
        return np.where(valid, grid, np.float32("nan")).astype("<f4", copy=False), 1
    out_rows, out_cols = math.ceil(rows / factor), math.ceil(cols / factor)
    values = np.where(valid, grid, np.float32(0))
    pad = ((0, out_rows * factor - rows), (0, out_cols * factor - cols))
    if pad[0][1] or pad[1][1]:  # the last blocks are partial: their missing cells count as none
        values = np.pad(values, pad)
        valid = np.pad(valid, pad)
    # the rows of each band of blocks first (whole rows added: fast), then the columns
    band = (out_rows, factor, out_cols * factor)
    sums = values.reshape(band).sum(axis=1, dtype=np.float64)
    sums = sums.reshape(out_rows, out_cols, factor).sum(axis=2)
    counts = valid.reshape(band).sum(axis=1, dtype=np.uint32)
    counts = counts.reshape(out_rows, out_cols, factor).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return means.astype("<f4"), factor


@dataclass
class _Kept:
    data: bytes  # little-endian float32, row-major, row 0 = north
    shape: tuple[int, int]
    bounds: tuple[float, float, float, float]
    nodata: float | None
    name: str


@dataclass
class Download:
    """What the download route streams."""

    name: str
    mimetype: str
    size: int
    chunks: Iterator[bytes]


class RasterStore:
    """Full rasters kept for download, by call id: at most ``max_bytes`` of float32 in
    all (the oldest dropped first; one larger alone is not kept)."""

    def __init__(self, max_bytes: int = 1024 * 1024 * 1024, max_side: int = MAX_SIDE) -> None:
        self.max_bytes = max_bytes
        self.max_side = max_side
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._lock = threading.Lock()  # accept runs in a worker thread

    @property
    def kept_bytes(self) -> int:
        with self._lock:
            return sum(len(k.data) for k in self._kept.values())

    def forget(self, call_id: str) -> None:
        with self._lock:
            self._kept.pop(call_id, None)

    def retain(self, alive: Callable[[str], bool]) -> None:
        """Drop what belongs to calls no longer remembered."""
        with self._lock:
            for call_id in [c for c in self._kept if not alive(c)]:
                del self._kept[call_id]

    def accept(self, call_id: str, value: dict[str, Any], download_path: str) -> dict[str, Any]:
        """The map's copy of a raster result (the contract's MIME value); the full grid is
        kept for ``download_path`` when it fits. Raises ``ValueError`` for a malformed one."""
        try:
            rows, cols = (int(v) for v in value["shape"])
            values = value["values"]
            # base64, or the bytes themselves when they came as a buffer (protocol.BUFFERS)
            data = values if isinstance(values, bytes) else binascii.a2b_base64(values)
            west, south, east, north = (float(b) for b in value["bounds"])
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise ValueError(f"the backend sent a malformed raster ({exc})") from None
        if rows < 1 or cols < 1 or len(data) != rows * cols * 4:
            raise ValueError(
                f"the backend sent a raster of {len(data)} bytes for {rows} x {cols} float32 cells"
            )
        nodata = value.get("nodata")
        nodata = None if nodata is None else float(nodata)
        import numpy as np

        grid = np.frombuffer(data, dtype="<f4").reshape(rows, cols)
        vmin, vmax = value.get("vmin"), value.get("vmax")
        if vmin is None or vmax is None:
            valid = np.isfinite(grid)
            if nodata is not None:
                valid &= grid != np.float32(nodata)
            if valid.any():
                low = float(np.min(grid, where=valid, initial=np.inf))
                high = float(np.max(grid, where=valid, initial=-np.inf))
            else:
                low = high = 0.0
            vmin = low if vmin is None else vmin
            vmax = high if vmax is None else vmax
        small, factor = block_mean(grid, nodata, self.max_side)
        kept = self._keep(
            call_id,
            _Kept(
                data, (rows, cols), (west, south, east, north), nodata, str(value.get("name") or "")
            ),
        )
        return {
            "bounds": [west, south, east, north],
            "shape": [int(small.shape[0]), int(small.shape[1])],
            "values": base64.b64encode(small.tobytes()).decode("ascii"),
            "nodata": nodata,
            "units": str(value.get("units") or ""),
            "colormap": value.get("colormap") or "viridis",
            "vmin": float(vmin),
            "vmax": float(vmax),
            "name": str(value.get("name") or ""),
            "source_shape": [rows, cols],
            "download": download_path if kept else None,
        }

    def _keep(self, call_id: str, kept: _Kept) -> bool:
        size = len(kept.data)
        if size > self.max_bytes:
            return False
        with self._lock:
            self._kept[call_id] = kept
            total = sum(len(k.data) for k in self._kept.values())
            while total > self.max_bytes:
                _, old = self._kept.popitem(last=False)
                total -= len(old.data)
        return True

    def download(self, call_id: str, base_name: str) -> Download | None:
        """The kept raster of ``call_id`` as a GeoTIFF, or ``None``."""
        with self._lock:
            kept = self._kept.get(call_id)
        if kept is None:
            return None
        head = geotiff_header(kept.shape, kept.bounds, kept.nodata)
        return Download(
            f"{base_name}.tif",
            TIFF_TYPE,
            len(head) + len(kept.data),
            geotiff_chunks(head, kept.data),
        )


def result_download(call: Any, store: RasterStore) -> Download:
    """The download of a call's map result (``call`` a :class:`~.calls.Call`); raises
    ``call.no_download`` when there is none."""
    base = f"{call.function.replace('.', '-')}-{call.id[:8]}"
    result = call.result
    if isinstance(result, dict) and "source_shape" in result:
        found = store.download(call.id, base)
        if found is not None:
            return found
        why = "the full raster is no longer kept (RPCApp.max_kept_raster_size)"
    elif is_geojson(result):
        return geojson_download(result, base)
    elif call.result_dropped:
        why = call.result_dropped
    elif call.state != "succeeded":
        why = f"the call is {call.state}"
    else:
        why = "its result is neither GeoJSON nor a raster"
    raise NotFound(
        f"There is nothing to download for call {call.id}: {why}.",
        code="call.no_download",
        details={"call_id": call.id},
    )


def geojson_download(value: Any, base_name: str) -> Download:
    """A GeoJSON result as a ``.geojson`` file."""
    body = json.dumps(value, ensure_ascii=False, allow_nan=False).encode()
    return Download(f"{base_name}.geojson", GEO_MEDIA_TYPE, len(body), iter([body]))


# ----------------------------------------------------------------------------- GeoTIFF

_SHORT, _LONG, _ASCII, _DOUBLE = 3, 4, 2, 12
_SIZES = {_SHORT: 2, _LONG: 4, _ASCII: 1, _DOUBLE: 8}
_FORMATS = {_SHORT: "H", _LONG: "I", _DOUBLE: "d"}
#: About this many bytes per strip.
_STRIP_BYTES = 256 * 1024
_CHUNK = 1024 * 1024


def geotiff_header(
    shape: tuple[int, int], bounds: tuple[float, float, float, float], nodata: float | None
) -> bytes:
    """Everything of a GeoTIFF before its pixels (which follow at once: little-endian
    float32, row-major, row 0 = north, as the raster is kept)."""
    rows, cols = shape
    west, south, east, north = bounds
    row_bytes = cols * 4
    per_strip = max(1, _STRIP_BYTES // row_bytes)
    strips = math.ceil(rows / per_strip)
    counts = [min(per_strip, rows - i * per_strip) * row_bytes for i in range(strips)]
    geokeys = [1, 1, 0, 3, 1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, 4326]
    entries: list[tuple[int, int, list[Any] | bytes]] = [
        (256, _LONG, [cols]),
        (257, _LONG, [rows]),
        (258, _SHORT, [32]),
        (259, _SHORT, [1]),  # no compression
        (262, _SHORT, [1]),  # min-is-black
        (273, _LONG, [0] * strips),  # strip offsets, filled in below
        (277, _SHORT, [1]),
        (278, _LONG, [per_strip]),
        (279, _LONG, counts),
        (284, _SHORT, [1]),
        (339, _SHORT, [3]),  # IEEE floating point
        (33550, _DOUBLE, [(east - west) / cols, (north - south) / rows, 0.0]),
        (33922, _DOUBLE, [0.0, 0.0, 0.0, west, north, 0.0]),
        (34735, _SHORT, geokeys),
    ]
    if nodata is not None:
        entries.append((42113, _ASCII, f"{nodata:.17g}".encode() + b"\0"))  # GDAL_NODATA
    ifd_size = 2 + 12 * len(entries) + 4
    extra_at = 8 + ifd_size

    def payload(kind: int, values: list[Any] | bytes) -> bytes:
        if kind == _ASCII:
            assert isinstance(values, bytes)
            return values
        return struct.pack(f"<{len(values)}{_FORMATS[kind]}", *values)

    total_extra = sum(len(payload(k, v)) for _, k, v in entries if len(payload(k, v)) > 4)
    pixels_at = extra_at + total_extra
    offsets, at = [], pixels_at
    for count in counts:
        offsets.append(at)
        at += count
    entries[5] = (273, _LONG, offsets)
    ifd = [struct.pack("<H", len(entries))]
    extra: list[bytes] = []
    at = extra_at
    for tag, kind, values in entries:
        data = payload(kind, values)
        count = len(values)
        if len(data) <= 4:
            ifd.append(struct.pack("<HHI", tag, kind, count) + data.ljust(4, b"\0"))
        else:
            ifd.append(struct.pack("<HHII", tag, kind, count, at))
            extra.append(data)
            at += len(data)
    ifd.append(struct.pack("<I", 0))
    head = b"II*\0" + struct.pack("<I", 8) + b"".join(ifd) + b"".join(extra)
    assert len(head) == pixels_at
    return head


def geotiff_chunks(head: bytes, data: bytes) -> Iterator[bytes]:
    yield head
    view = memoryview(data)
    for start in range(0, len(data), _CHUNK):
        yield bytes(view[start : start + _CHUNK])


def read_geotiff(blob: bytes) -> dict[str, Any]:
    """Read a GeoTIFF as written by :func:`geotiff_header` (uncompressed float32, little-
    endian strips): ``{"shape", "bounds", "nodata", "data"}`` (``data``: float32 bytes)."""
    if blob[:4] != b"II*\0":
        raise ValueError("not a little-endian TIFF")
    (ifd_at,) = struct.unpack_from("<I", blob, 4)
    (count,) = struct.unpack_from("<H", blob, ifd_at)
    tags: dict[int, Any] = {}
    for index in range(count):
        tag, kind, n, raw = struct.unpack_from("<HHI4s", blob, ifd_at + 2 + 12 * index)
        size = _SIZES.get(kind, 1) * n
        data = raw[:size] if size <= 4 else blob[struct.unpack("<I", raw)[0] :][:size]
        if kind == _ASCII:
            tags[tag] = data.rstrip(b"\0").decode()
        elif kind in _FORMATS:
            tags[tag] = list(struct.unpack(f"<{n}{_FORMATS[kind]}", data))
    if tags.get(259, [1])[0] != 1 or tags.get(339, [1])[0] != 3 or tags.get(258, [0])[0] != 32:
        raise ValueError("only uncompressed float32 GeoTIFFs are read here")
    cols, rows = tags[256][0], tags[257][0]
    pixels = b"".join(
        blob[offset : offset + size] for offset, size in zip(tags[273], tags[279], strict=True)
    )
    dx, dy, _ = tags[33550]
    west, north = tags[33922][3], tags[33922][4]
    nodata = tags.get(42113)
    return {
        "shape": (rows, cols),
        "bounds": (west, north - dy * rows, west + dx * cols, north),
        "nodata": None if nodata is None else float(nodata),
        "data": pixels,
    }
