"""Map results in a notebook: GeoJSON and rasters that display as a map in the cell and
convert to geopandas / xarray where those are installed.

Both stay plain ``dict`` values (what the server sent); their ``_repr_mimebundle_`` gives
the MIME bundle the panel shows (``application/geo+json``, or the raster type
``application/vnd.jupyter-rpc.raster+json``), which JupyterLab draws on a map.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

GEO = "application/geo+json"
RASTER = "application/vnd.jupyter-rpc.raster+json"

__all__ = ["GeoJSON", "RasterResult", "geo_value"]


def _needs(what: str, package: str) -> ImportError:
    return ImportError(
        f"{what} needs {package}, which is not installed here: pip install {package}"
    )


class GeoJSON(dict):  # type: ignore[type-arg]
    """A GeoJSON result (Geometry, Feature or FeatureCollection) shown as a map."""

    _text: str = "<GeoJSON>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {GEO: dict(self), "text/plain": self._text}

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self._text)  # IPython prints a dict's items, not the bundle's text

    def to_geopandas(self) -> Any:
        """A ``geopandas.GeoDataFrame`` (EPSG:4326): one row per feature, its properties as
        columns; a bare geometry is one row. Needs geopandas."""
        try:
            import geopandas  # type: ignore[import-untyped, import-not-found, unused-ignore]
        except ImportError:
            raise _needs(".to_geopandas()", "geopandas") from None
        kind = self.get("type")
        if kind == "FeatureCollection":
            features = self["features"]
        elif kind == "Feature":
            features = [dict(self)]
        else:
            features = [{"type": "Feature", "geometry": dict(self), "properties": {}}]
        return geopandas.GeoDataFrame.from_features(features, crs="EPSG:4326")


class RasterResult(dict):  # type: ignore[type-arg]
    """A raster result shown as a map: the server's downsampled copy (``shape``), of a
    grid of ``source_shape`` whose whole is at ``download``."""

    _text: str = "<Raster>"
    _fetch: Callable[[str], bytes] | None = None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {RASTER: dict(self), "text/plain": self._text}

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self._text)

    @property
    def downsampled(self) -> bool:
        return list(self["shape"]) != list(self.get("source_shape") or self["shape"])

    def raster(self, full: bool = True) -> Any:
        """A :class:`jupyter_rpc.backend.Raster`: the whole grid (downloaded from the
        server) or, with ``full=False``, the map's copy."""
        from ..backend.raster import Raster

        options: dict[str, Any] = {
            "units": self.get("units") or "",
            "colormap": self.get("colormap") or "viridis",
            "name": self.get("name") or "",
        }
        if not full or not self.downsampled:
            data = base64.b64decode(self["values"])
            return Raster(
                data,
                self["bounds"],
                shape=tuple(self["shape"]),
                nodata=self.get("nodata"),
                **options,
            )
        path = self.get("download")
        if not path:
            raise RuntimeError(
                "The server no longer keeps the whole raster (RPCApp.max_kept_raster_size); "
                "use .to_xarray(full=False) for the map's downsampled copy, or run the call again."
            )
        if self._fetch is None:
            raise RuntimeError(
                "This raster has no connection to its server to download the whole grid; "
                "use .to_xarray(full=False) for the map's downsampled copy."
            )
        from ..services.rasters import read_geotiff

        grid = read_geotiff(self._fetch(path))
        return Raster(
            grid["data"], grid["bounds"], shape=grid["shape"], nodata=grid["nodata"], **options
        )

    def to_numpy(self, full: bool = True) -> Any:
        """The values as a 2-D float32 array (row 0 = north; nodata as sent)."""
        return self.raster(full).to_numpy()

    def to_xarray(self, full: bool = True) -> Any:
        """An ``xarray.DataArray`` with ``lat``/``lon`` cell centres, nodata as NaN: the
        whole grid (downloaded) or, with ``full=False``, the map's copy. Needs xarray."""
        try:
            import xarray  # noqa: F401
        except ImportError:
            raise _needs(".to_xarray()", "xarray") from None
        return self.raster(full).to_xarray()


def geo_value(
    result: Any, bundle: dict[str, Any], fetch: Callable[[str], bytes] | None = None
) -> Any:
    """``result`` as a map value when ``bundle`` says it is one, else ``None``."""
    if RASTER in bundle and isinstance(bundle[RASTER], dict):
        raster = RasterResult(bundle[RASTER])
        raster._text = str(bundle.get("text/plain") or raster._text)
        raster._fetch = fetch
        return raster
    if GEO in bundle and isinstance(result, dict):
        value = GeoJSON(result)
        value._text = str(bundle.get("text/plain") or value._text)
        return value
    return None
