"""Write remote functions: publish a module of type-annotated functions and classes.

A backend module is plain Python. ``python -m jupyter_rpc.backend MODULE`` (or
``jupyter-rpc serve MODULE``) serves it on stdio in DASF's message format; see
``docs/backends.md`` for the author's guide.

What a backend module imports from here:

* :class:`Progress` -- annotate a parameter with it to report (nested) progress;
  :class:`Cancelled` is raised by its next report when the call is cancelled;
* rich result types for return annotations: :data:`PNG`, :data:`JPEG`, :data:`GIF`,
  :data:`SVG`, :data:`HTML`, :data:`Markdown`, :data:`VegaLite`; maps: :class:`Raster`
  (a grid of values over a longitude/latitude box) and :data:`BBox` (``[west, south,
  east, north]``); GeoJSON models (geojson-pydantic's, or :mod:`jupyter_rpc.backend.geo`'s)
  are recognised as map inputs and results (docs/maps.md).

What the server and tools use: :func:`build_api` (module -> :class:`BackendAPI` with
``api_info`` and request validation), :func:`load_module`, :class:`Runner` and
:func:`jupyter_rpc.backend.cli.main`.
"""

from __future__ import annotations

from .geo import BBox
from .introspect import BackendAPI, PreparedCall, RequestError, ResultError, build_api
from .loader import BackendError, load_module
from .progress import Cancelled, Progress
from .raster import Raster
from .runner import Runner
from .types import GIF, HTML, JPEG, PNG, SVG, Markdown, MediaType, VegaLite

__all__ = [
    "GIF",
    "HTML",
    "JPEG",
    "PNG",
    "SVG",
    "BBox",
    "BackendAPI",
    "BackendError",
    "Cancelled",
    "Markdown",
    "MediaType",
    "PreparedCall",
    "Progress",
    "Raster",
    "RequestError",
    "ResultError",
    "Runner",
    "VegaLite",
    "build_api",
    "load_module",
]
