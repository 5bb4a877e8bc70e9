"""Backend functions returning xarray DataArrays and odd rasters (tests/maps)."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import xarray as xr

from jupyter_rpc.backend import MediaType, Raster

RASTER = "application/vnd.jupyter-rpc.raster+json"

__all__ = ["sst", "no_coords", "masked", "bad_raster"]


def sst() -> xr.DataArray:
    """3 latitudes south to north (as many files have them), 4 longitudes, one fill value."""
    values = np.arange(12, dtype="float64").reshape(3, 4)
    values[0, 0] = -1.0e20
    return xr.DataArray(
        values,
        coords={"lat": [-10.0, 0.0, 10.0], "lon": [100.0, 110.0, 120.0, 130.0]},
        dims=("lat", "lon"),
        name="sst",
        attrs={"units": "K", "_FillValue": -1.0e20},
    )


def no_coords() -> xr.DataArray:
    return xr.DataArray(np.zeros((2, 2)), dims=("a", "b"))


def masked() -> Raster:
    values = np.ma.masked_array([[1.0, 2.0], [3.0, 4.0]], mask=[[False, True], [False, False]])
    return Raster(values, (0, 0, 2, 2))


def bad_raster() -> Annotated[dict[str, Any], MediaType(RASTER)]:
    """A backend that says 'raster' but sends 3 cells' bytes for 2 x 2."""
    return {"bounds": [0, 0, 1, 1], "shape": [2, 2], "values": "AAAAAAAAAAAAAAAA"}
