"""A raster result: a 2-D grid of values over a longitude/latitude box, shown on a map.

Return a :class:`Raster` (or, where xarray is installed, an ``xarray.DataArray`` with
latitude and longitude coordinates) and the result is drawn as an image over the map,
with a colour bar and the value under the cursor::

    from jupyter_rpc.backend import Raster

    def temperature(rows: int = 180, cols: int = 360) -> Raster:
        values = [[...cols numbers...] for _ in range(rows)]   # row 0 is the north edge
        return Raster(values, bounds=(-180, -90, 180, 90), units="°C", colormap="rdbu")

* ``values``: rows of numbers, row 0 along the north edge and column 0 along the west
  edge; a list of lists, a 2-D numpy array, or little-endian float32 bytes (or an
  ``array('f')``) with ``shape=(rows, cols)``. ``None`` and NaN are "no value".
* ``bounds``: ``(west, south, east, north)`` of the grid's outer edges, in degrees of
  EPSG:4326 (longitude, latitude; ``west < east``, ``south < north``).
* ``nodata``: a value that means "no value" (drawn transparent), e.g. ``-9999``.
* ``units``, ``name``: shown beside the colour bar; ``colormap``: one of ``viridis``,
  ``magma``, ``cividis``, ``greys``, ``rdbu``; ``vmin``/``vmax``: the colour bar's range
  (by default the smallest and largest values).

It travels as little-endian float32 (never a JSON list of numbers): from the runner on
stdio as the bytes themselves after the answer's line (:func:`raster_buffers`), through a
broker as base64 (85 MB of text for 4,000 x 4,000); the Jupyter server keeps it whole for download
(GeoTIFF) and sends the map a block-mean copy of at most 1024 cells on its long side.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import contextvars
import math
import sys
from array import array
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import GetJsonSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

__all__ = ["COLORMAPS", "RASTER_MEDIA_TYPE", "Raster"]

#: The media type of a raster result (and of its MIME bundle entry).
RASTER_MEDIA_TYPE = "application/vnd.jupyter-rpc.raster+json"
#: The colour maps the UI draws.
COLORMAPS = ("viridis", "magma", "cividis", "greys", "rdbu")

_LAT_NAMES = ("lat", "latitude", "y")
_LON_NAMES = ("lon", "longitude", "x")


class Raster:
    """A 2-D grid of float32 values over ``bounds`` (west, south, east, north) in degrees.

    Parameters
    ----------
    values
        Rows of numbers (row 0 = north edge): a list of lists, a 2-D numpy array, or
        little-endian float32 bytes / ``array('f')`` with ``shape``.
    bounds
        ``(west, south, east, north)``: the grid's outer edges in degrees (EPSG:4326).
    nodata
        A value meaning "no value" (transparent on the map); NaN always means it too.
    units, name
        Labels of the colour bar.
    colormap
        ``viridis`` (default), ``magma``, ``cividis``, ``greys`` or ``rdbu``.
    vmin, vmax
        The colour bar's range; by default the smallest and largest values.
    shape
        ``(rows, cols)``, needed only for bytes.
    """

    __slots__ = ("bounds", "colormap", "data", "name", "nodata", "shape", "units", "vmax", "vmin")

    def __init__(
        self,
        values: Any,
        bounds: Iterable[float],
        *,
        nodata: float | None = None,
        units: str = "",
        colormap: str = "viridis",
        name: str = "",
        vmin: float | None = None,
        vmax: float | None = None,
        shape: tuple[int, int] | None = None,
    ) -> None:
        self.bounds = _bounds(bounds)
        self.data, self.shape = _float32(values, shape, nodata)
        self.nodata = None if nodata is None else float(nodata)
        if colormap not in COLORMAPS:
            raise ValueError(f"colormap {colormap!r} is not one of {', '.join(COLORMAPS)}")
        self.colormap = colormap
        self.units = str(units)
        self.name = str(name)
        self.vmin = None if vmin is None else float(vmin)
        self.vmax = None if vmax is None else float(vmax)

    def __repr__(self) -> str:
        rows, cols = self.shape
        return f"<Raster {self.name or 'unnamed'} {rows} x {cols} over {list(self.bounds)}>"

    # ------------------------------------------------------------------ conversions

    def to_json(self) -> dict[str, Any]:
        """The wire form (``values`` as base64 of little-endian float32, row-major; inside
        :func:`raster_buffers`, a reference to the bytes sent after the message)."""
        buffers = _BUFFERS.get()
        if buffers is not None:
            buffers.append(self.data)
            values: Any = {"$buffer": len(buffers) - 1}
        else:
            values = base64.b64encode(self.data).decode("ascii")
        return {
            "bounds": list(self.bounds),
            "shape": list(self.shape),
            "values": values,
            "nodata": self.nodata,
            "units": self.units,
            "colormap": self.colormap,
            "name": self.name,
            "vmin": self.vmin,
            "vmax": self.vmax,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Raster:
        """A raster from its wire form (what :meth:`to_json` gives)."""
        try:
            data = base64.b64decode(value["values"], validate=True)
            shape = value["shape"]
            return cls(
                data,
                value["bounds"],
                shape=(int(shape[0]), int(shape[1])),
                nodata=value.get("nodata"),
                units=value.get("units") or "",
                colormap=value.get("colormap") or "viridis",
                name=value.get("name") or "",
                vmin=value.get("vmin"),
                vmax=value.get("vmax"),
            )
        except (KeyError, TypeError, IndexError, binascii.Error) as exc:
            raise ValueError(f"not a raster ({exc.__class__.__name__}: {exc})") from None

    @classmethod
    def from_xarray(cls, data_array: Any, **options: Any) -> Raster:
        """A raster from a 2-D ``xarray.DataArray`` with latitude and longitude coordinates
        (named ``lat``/``latitude``/``y`` and ``lon``/``longitude``/``x``, evenly spaced;
        cell centres). ``units`` and ``nodata`` come from its attributes (``units``,
        ``_FillValue`` or ``nodata``) and ``name`` from its name unless given."""
        dims = list(data_array.dims)
        lat = next((d for d in dims if str(d).lower() in _LAT_NAMES), None)
        lon = next((d for d in dims if str(d).lower() in _LON_NAMES), None)
        if lat is None or lon is None or len(dims) != 2:
            raise ValueError(
                "a DataArray shown as a raster needs exactly two dimensions, latitude "
                "(lat/latitude/y) and longitude (lon/longitude/x); this one has "
                f"{tuple(str(d) for d in dims)}"
            )
        data_array = data_array.transpose(lat, lon)
        lats = [float(v) for v in data_array[lat].values]
        if len(lats) > 1 and lats[0] < lats[-1]:
            data_array = data_array.isel({lat: slice(None, None, -1)})
            lats.reverse()
        lons = [float(v) for v in data_array[lon].values]
        if len(lons) > 1 and lons[0] > lons[-1]:
            data_array = data_array.isel({lon: slice(None, None, -1)})
            lons.reverse()
        dlat = (lats[0] - lats[-1]) / (len(lats) - 1) if len(lats) > 1 else 1.0
        dlon = (lons[-1] - lons[0]) / (len(lons) - 1) if len(lons) > 1 else 1.0
        bounds = (
            lons[0] - dlon / 2,
            lats[-1] - dlat / 2,
            lons[-1] + dlon / 2,
            lats[0] + dlat / 2,
        )
        attrs = dict(getattr(data_array, "attrs", {}))
        encoding = dict(getattr(data_array, "encoding", {}))
        nodata = options.pop("nodata", None)
        if nodata is None:
            for source in (attrs, encoding):
                for key in ("_FillValue", "nodata", "missing_value"):
                    if source.get(key) is not None:
                        nodata = float(source[key])
                        break
                if nodata is not None:
                    break
        options.setdefault("units", str(attrs.get("units", "")))
        options.setdefault("name", "" if data_array.name is None else str(data_array.name))
        return cls(data_array.values, _clamped(bounds), nodata=nodata, **options)

    def values(self) -> list[list[float]]:
        """The values as rows of floats (NaN where there is none)."""
        flat = array("f")
        flat.frombytes(self.data)
        if sys.byteorder == "big":
            flat.byteswap()
        rows, cols = self.shape
        return [flat[r * cols : (r + 1) * cols].tolist() for r in range(rows)]

    def to_numpy(self) -> Any:
        """The values as a 2-D float32 numpy array (needs numpy)."""
        try:
            import numpy as np
        except ImportError:
            raise ImportError("Raster.to_numpy() needs numpy: pip install numpy") from None
        return np.frombuffer(self.data, dtype="<f4").reshape(self.shape)

    def to_xarray(self) -> Any:
        """An ``xarray.DataArray`` with ``lat``/``lon`` cell-centre coordinates (needs
        xarray); ``nodata`` cells are NaN."""
        try:
            import numpy as np
            import xarray as xr
        except ImportError:
            raise ImportError(
                "Raster.to_xarray() needs xarray (and numpy): pip install xarray"
            ) from None
        values = self.to_numpy().astype("float32")
        if self.nodata is not None:
            values = np.where(values == np.float32(self.nodata), np.float32("nan"), values)
        rows, cols = self.shape
        west, south, east, north = self.bounds
        dlat, dlon = (north - south) / rows, (east - west) / cols
        lat = north - dlat * (np.arange(rows) + 0.5)
        lon = west + dlon * (np.arange(cols) + 0.5)
        attrs: dict[str, Any] = {"units": self.units, "colormap": self.colormap}
        if self.nodata is not None:
            attrs["nodata"] = self.nodata
        return xr.DataArray(
            values,
            coords={"lat": lat, "lon": lon},
            dims=("lat", "lon"),
            name=self.name or None,
            attrs=attrs,
        )

    # ------------------------------------------------------------------ pydantic

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _serialize, when_used="json"
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {
            "type": "object",
            "title": "Raster",
            "contentMediaType": RASTER_MEDIA_TYPE,
            "description": "A grid of values over a longitude/latitude box (EPSG:4326); "
            "values: base64 of little-endian float32, row-major, row 0 = north edge.",
            "required": ["bounds", "shape", "values"],
            "properties": {
                "bounds": {
                    "type": "array",
                    "items": {"type": "number"},
                    "minItems": 4,
                    "maxItems": 4,
                    "description": "[west, south, east, north] in degrees",
                },
                "shape": {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 1},
                    "minItems": 2,
                    "maxItems": 2,
                },
                "values": {"type": "string", "contentEncoding": "base64"},
                "nodata": {"type": ["number", "null"]},
                "units": {"type": "string"},
                "colormap": {"enum": list(COLORMAPS)},
                "name": {"type": "string"},
                "vmin": {"type": ["number", "null"]},
                "vmax": {"type": ["number", "null"]},
            },
        }


def _validate(value: Any) -> Raster:
    try:
        if isinstance(value, Raster):
            return value
        if is_data_array(value):
            return Raster.from_xarray(value)
        if isinstance(value, dict):
            return Raster.from_json(value)
    except ValueError as exc:
        raise PydanticCustomError("raster", "{problem}", {"problem": str(exc)}) from None
    raise PydanticCustomError(
        "raster",
        "Expected a Raster or an xarray.DataArray, got {kind}",
        {"kind": type(value).__name__},
    )


def _serialize(value: Raster) -> dict[str, Any]:
    return value.to_json()


#: Where :meth:`Raster.to_json` puts its bytes instead of base64 (the runner's, per call).
_BUFFERS: contextvars.ContextVar[list[bytes] | None] = contextvars.ContextVar(
    "jupyter_rpc_raster_buffers", default=None
)


@contextlib.contextmanager
def raster_buffers() -> Iterator[list[bytes]]:
    """While in it, a raster serialized in this context leaves its values' bytes in the
    list it gives (``{"$buffer": i}`` in the JSON): the runner sends them raw after the
    message (``jupyter_rpc.protocol.BUFFERS``)."""
    buffers: list[bytes] = []
    token = _BUFFERS.set(buffers)
    try:
        yield buffers
    finally:
        _BUFFERS.reset(token)


def is_raster_value(value: Any) -> bool:
    """Whether a function's result is a raster itself (a :class:`Raster` or an
    ``xarray.DataArray``), the one kind of result whose values may go as buffers."""
    return isinstance(value, Raster) or is_data_array(value)


def is_data_array(value: Any) -> bool:
    """Whether ``value`` is an ``xarray.DataArray`` (without importing xarray)."""
    return is_data_array_type(type(value))


def is_data_array_type(annotation: Any) -> bool:
    """Whether ``annotation`` is the class ``xarray.DataArray``."""
    return (
        isinstance(annotation, type)
        and annotation.__name__ == "DataArray"
        and annotation.__module__.startswith("xarray")
    )


def _bounds(bounds: Iterable[float]) -> tuple[float, float, float, float]:
    try:
        west, south, east, north = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ValueError(
            "bounds must be 4 numbers: (west, south, east, north) in degrees"
        ) from None
    if not (-180 <= west < east <= 180):
        raise ValueError(
            f"bounds: west {west:g} and east {east:g} must be longitudes in -180..180 with "
            "west < east"
        )
    if not (-90 <= south < north <= 90):
        raise ValueError(
            f"bounds: south {south:g} and north {north:g} must be latitudes in -90..90 with "
            "south < north"
        )
    return west, south, east, north


def _clamped(bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """Cell centres at +-180/90 make edges just past them: clamp (float noise, half cells)."""
    west, south, east, north = bounds
    return max(west, -180.0), max(south, -90.0), min(east, 180.0), min(north, 90.0)


def _float32(
    values: Any, shape: tuple[int, int] | None, nodata: float | None
) -> tuple[bytes, tuple[int, int]]:
    if isinstance(values, (bytes, bytearray, memoryview, array)):
        if isinstance(values, array):
            if values.typecode != "f":
                values = array("f", values)
            if sys.byteorder == "big":
                values = array("f", values)
                values.byteswap()
            data = values.tobytes()
        else:
            data = bytes(values)
        if shape is None:
            raise ValueError("values given as bytes need shape=(rows, cols)")
        rows, cols = int(shape[0]), int(shape[1])
        if rows < 1 or cols < 1 or len(data) != rows * cols * 4:
            raise ValueError(
                f"{len(data)} bytes are not {rows} x {cols} float32 values "
                f"({rows * cols * 4} bytes)"
            )
        return data, (rows, cols)
    if hasattr(values, "__array__") and hasattr(values, "shape"):
        import numpy as np

        arr = values
        if isinstance(arr, np.ma.MaskedArray):
            arr = np.ma.filled(arr.astype("float64"), np.nan if nodata is None else nodata)
        arr = np.asarray(arr, dtype="<f4")
        if arr.ndim != 2 or 0 in arr.shape:
            raise ValueError(f"values must be 2-D with at least one cell, got shape {arr.shape}")
        return np.ascontiguousarray(arr).tobytes(), (int(arr.shape[0]), int(arr.shape[1]))
    rows_list = [list(row) for row in values]
    if not rows_list or not rows_list[0]:
        raise ValueError("values must be 2-D with at least one cell")
    cols = len(rows_list[0])
    flat = array("f")
    for index, row in enumerate(rows_list):
        if len(row) != cols:
            raise ValueError(f"row {index} has {len(row)} values, row 0 has {cols}")
        flat.extend(math.nan if v is None else float(v) for v in row)
    if sys.byteorder == "big":
        flat.byteswap()
    return flat.tobytes(), (len(rows_list), cols)
