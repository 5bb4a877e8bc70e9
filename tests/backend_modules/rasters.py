"""A backend module for the raster buffer tests (tests/transports/test_buffers.py): a raster
declared as such, and one declared optional (``Raster | None``), whose values go as base64."""

from __future__ import annotations

from jupyter_rpc.backend import Raster


def grid(rows: int = 2, cols: int = 3) -> Raster:
    """A grid of ``rows`` x ``cols`` cells numbered in reading order."""
    return Raster([[float(r * cols + c) for c in range(cols)] for r in range(rows)], (0, 0, 3, 2))


def maybe_grid(rows: int = 2, cols: int = 3) -> Raster | None:
    """The same grid, declared optional; ``None`` for an empty size."""
    return grid(rows, cols) if rows and cols else None
