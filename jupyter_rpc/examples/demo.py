"""A small weather-station toolbox: the example backend of jupyter_rpc.

Every public function below becomes a remote function with a form generated from its
signature and this documentation. Serve it with::

    python -m jupyter_rpc.backend jupyter_rpc.examples.demo

It shows what a scientist's module typically contains: numbers with bounds, choices
(``Enum`` and ``Literal``), optional arguments, dates and times, a nested pydantic
model, tables, an image, a chart, a slow function with progress, a class with methods
a function that fails with a clear message and one that reads a file named by its path
(the form offers a file browser for it). Pure Python, no extra dependencies.
"""

from __future__ import annotations

import math
import struct
import time
import zlib
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from jupyter_rpc.backend import PNG, SVG, Markdown, Progress, VegaLite

__all__ = [
    "add",
    "greet",
    "convert_temperature",
    "distance",
    "daylight_hours",
    "experiment_end",
    "stations",
    "station_report",
    "heatmap",
    "sparkline",
    "temperature_chart",
    "simulate",
    "divide",
    "file_summary",
    "Accumulator",
]


class Unit(str, Enum):
    """A temperature unit."""

    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"
    KELVIN = "kelvin"


class Location(BaseModel):
    """A point on the Earth's surface."""

    lat: float = Field(ge=-90, le=90, description="Latitude in degrees north (-90 to 90).")
    lon: float = Field(ge=-180, le=180, description="Longitude in degrees east (-180 to 180).")
    name: str | None = Field(None, description="An optional label, e.g. a town.")


class Station(BaseModel):
    """A weather station."""

    id: str = Field(description="Station identifier.")
    name: str = Field(description="Station name.")
    lat: float = Field(description="Latitude in degrees north.")
    lon: float = Field(description="Longitude in degrees east.")
    elevation_m: float = Field(description="Height above sea level in metres.")
    active_since: date = Field(description="First day with observations.")


_STATIONS = [
    Station(id=id_, name=name, lat=lat, lon=lon, elevation_m=elevation, active_since=since)
    for id_, name, lat, lon, elevation, since in [
        ("ST01", "Hamburg", 53.63, 9.99, 11, date(1891, 1, 1)),
        ("ST02", "Potsdam", 52.38, 13.06, 81, date(1893, 1, 1)),
        ("ST03", "Helgoland", 54.18, 7.89, 4, date(1952, 1, 1)),
        ("ST04", "Leipzig", 51.32, 12.43, 131, date(1934, 1, 1)),
        ("ST05", "Kiel", 54.38, 10.14, 27, date(1986, 6, 1)),
        ("ST06", "Munich", 48.16, 11.54, 515, date(1879, 1, 1)),
        ("ST07", "Zugspitze", 47.42, 10.98, 2956, date(1900, 8, 1)),
        ("ST08", "Bremen", 53.05, 8.80, 4, date(1978, 1, 1)),
    ]
]


def add(a: int, b: int = 1) -> int:
    """Add two integers.

    Parameters
    ----------
    a : int
        The first summand.
    b : int, optional
        The second summand.

    Returns
    -------
    int
        The sum ``a + b``.
    """
    return a + b


def greet(name: str, style: Literal["plain", "shout", "whisper"] = "plain") -> str:
    """Say hello to somebody.

    Parameters
    ----------
    name : str
        Who to greet.
    style : {"plain", "shout", "whisper"}
        How to say it.

    Returns
    -------
    str
        The greeting.
    """
    text = f"Hello, {name}!"
    if style == "shout":
        return text.upper()
    if style == "whisper":
        return text.lower().replace("!", "...")
    return text


def convert_temperature(
    value: float, source: Unit = Unit.CELSIUS, target: Unit = Unit.FAHRENHEIT
) -> float:
    """Convert a temperature between Celsius, Fahrenheit and Kelvin.

    Parameters
    ----------
    value : float
        The temperature to convert.
    source : Unit
        The unit of ``value``.
    target : Unit
        The unit of the result.

    Returns
    -------
    float
        The temperature in ``target`` units, rounded to 0.01.
    """
    kelvin = {
        Unit.CELSIUS: value + 273.15,
        Unit.FAHRENHEIT: (value - 32) * 5 / 9 + 273.15,
        Unit.KELVIN: value,
    }
    k = kelvin[source]
    if k < 0:
        raise ValueError(f"{value} {source.value} is below absolute zero")
    result = {Unit.CELSIUS: k - 273.15, Unit.FAHRENHEIT: (k - 273.15) * 9 / 5 + 32, Unit.KELVIN: k}[
        target
    ]
    return round(result, 2)


def distance(start: Location, end: Location) -> float:
    """Great-circle distance between two places (haversine formula).

    Parameters
    ----------
    start : Location
        Where to start.
    end : Location
        Where to arrive.

    Returns
    -------
    float
        The distance in kilometres, rounded to 0.1 km.
    """
    return round(_haversine_km(start.lat, start.lon, end.lat, end.lon), 1)


def daylight_hours(day: date, latitude: Annotated[float, Field(ge=-90, le=90)] = 52.4) -> float:
    """Hours between sunrise and sunset on a given day.

    Uses a simple astronomical model (no refraction, no terrain), good to a few minutes.

    Parameters
    ----------
    day : date
        The calendar day.
    latitude : float
        Latitude in degrees north, from -90 to 90 (Potsdam is 52.4).

    Returns
    -------
    float
        Hours of daylight, rounded to 0.01 h (0 in polar night, 24 in midnight sun).
    """
    n = day.timetuple().tm_yday
    declination = math.radians(23.44) * math.sin(math.radians(360 / 365 * (n - 81)))
    x = -math.tan(math.radians(latitude)) * math.tan(declination)
    if x <= -1:
        return 24.0
    if x >= 1:
        return 0.0
    return round(2 * math.degrees(math.acos(x)) / 15, 2)


def experiment_end(
    start: datetime, duration_hours: Annotated[float, Field(gt=0, le=8760)] = 36.0
) -> datetime:
    """When does an experiment finish?

    Parameters
    ----------
    start : datetime
        When the experiment starts (ISO 8601, e.g. ``2026-03-01T09:30``).
    duration_hours : float
        How long it runs, in hours (more than 0, at most one year).

    Returns
    -------
    datetime
        The end time, in the time zone of ``start``.
    """
    return start + timedelta(hours=duration_hours)


def stations(
    near: Location | None = None,
    max_distance_km: float | None = None,
    active_on: date | None = None,
    limit: Annotated[int, Field(ge=1, le=50)] = 10,
) -> list[Station]:
    """List weather stations, optionally those near a place.

    Parameters
    ----------
    near : Location, optional
        Sort the stations by their distance from this place.
    max_distance_km : float, optional
        Only stations at most this far from ``near`` (needs ``near``).
    active_on : date, optional
        Only stations that were observing on this day.
    limit : int
        At most this many stations (1 to 50).

    Returns
    -------
    list of Station
        The matching stations, nearest first when ``near`` is given.
    """
    if max_distance_km is not None and near is None:
        raise ValueError("max_distance_km needs a place: fill in 'near' as well")
    found = [s for s in _STATIONS if active_on is None or s.active_since <= active_on]
    if near is not None:
        found.sort(key=lambda s: _haversine_km(near.lat, near.lon, s.lat, s.lon))
        if max_distance_km is not None:
            found = [
                s
                for s in found
                if _haversine_km(near.lat, near.lon, s.lat, s.lon) <= max_distance_km
            ]
    return found[:limit]


def station_report(station_id: str = "ST02") -> Markdown:
    """A short description of one station, as Markdown.

    Parameters
    ----------
    station_id : str
        The station identifier, ``ST01`` to ``ST08``.

    Returns
    -------
    Markdown
        A heading and a few facts about the station.
    """
    station = _station(station_id)
    return (
        f"## {station.name} ({station.id})\n\n"
        f"* position: {station.lat:.2f}° N, {station.lon:.2f}° E\n"
        f"* elevation: {station.elevation_m:.0f} m\n"
        f"* observing since {station.active_since.isoformat()}\n"
    )


def heatmap(
    width: Annotated[int, Field(ge=8, le=512)] = 96,
    height: Annotated[int, Field(ge=8, le=512)] = 64,
    waves: Annotated[float, Field(gt=0, le=20)] = 3.0,
) -> PNG:
    """Draw a heat map of an interference pattern as a PNG image.

    Parameters
    ----------
    width : int
        Image width in pixels (8 to 512).
    height : int
        Image height in pixels (8 to 512).
    waves : float
        How many waves cross the image (more than 0, at most 20).

    Returns
    -------
    PNG
        The image: blue is low, white is zero, red is high.
    """
    rows = []
    for y in range(height):
        row = bytearray()
        for x in range(width):
            value = math.sin(waves * math.pi * x / width) * math.cos(waves * math.pi * y / height)
            row += bytes(_colour(value))
        rows.append(bytes(row))
    return _png(width, height, rows)


def sparkline(values: Annotated[list[float], Field(min_length=2)]) -> SVG:
    """Draw a small line chart of some numbers as SVG.

    Parameters
    ----------
    values : list of float
        At least two numbers, e.g. ``[3, 1, 4, 1, 5, 9, 2, 6]``.

    Returns
    -------
    SVG
        A 200 x 50 pixel line drawing.
    """
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = 200 / (len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{48 - (v - low) / span * 46:.1f}" for i, v in enumerate(values)
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="50" viewBox="0 0 200 50">'
        f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{points}"/></svg>'
    )


def temperature_chart(
    station_id: str = "ST02", days: Annotated[int, Field(ge=2, le=365)] = 30
) -> VegaLite:
    """A line chart of (synthetic) daily temperatures at a station.

    The data are made up from a seasonal cycle and a deterministic wiggle, so the
    chart is the same every time.

    Parameters
    ----------
    station_id : str
        The station identifier, ``ST01`` to ``ST08``.
    days : int
        How many days, from 1 January 2026 (2 to 365).

    Returns
    -------
    VegaLite
        A Vega-Lite v5 chart with the data inline.
    """
    station = _station(station_id)
    start = date(2026, 1, 1)
    values = []
    for i in range(days):
        day = start + timedelta(days=i)
        seasonal = 9 - 9 * math.cos(2 * math.pi * (i - 15) / 365) - station.elevation_m / 150
        wiggle = 2.5 * math.sin(i * 1.7) + 1.5 * math.sin(i * 0.45)
        values.append({"date": day.isoformat(), "temperature": round(seasonal + wiggle, 1)})
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": f"Daily mean temperature, {station.name}",
        "width": 400,
        "height": 200,
        "data": {"values": values},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "date", "type": "temporal", "title": "Date"},
            "y": {"field": "temperature", "type": "quantitative", "title": "Temperature (°C)"},
        },
    }


def simulate(
    steps: Annotated[int, Field(ge=1, le=20)] = 5,
    delay: Annotated[float, Field(ge=0, le=2)] = 0.5,
    *,
    progress: Progress,
) -> dict[str, Any]:
    """Run a (pretend) simulation slowly and report progress.

    Each step has two sub-steps, so the progress view shows a nested tree. Cancel it
    while it runs to see cancellation work.

    Parameters
    ----------
    steps : int
        Number of time steps (1 to 20).
    delay : float
        Seconds each step takes (0 to 2).

    Returns
    -------
    dict
        ``steps``, the final ``energy`` and the ``seconds`` it took.
    """
    began = time.perf_counter()
    progress.start("Simulating", steps=steps)
    energy = 1.0
    for i in range(steps):
        with progress.step(f"Step {i + 1} of {steps}", steps=2) as step:
            with step.step("Computing forces"):
                time.sleep(delay / 2)
            with step.step("Moving particles"):
                time.sleep(delay / 2)
                energy *= 0.9
    return {
        "steps": steps,
        "energy": round(energy, 6),
        "seconds": round(time.perf_counter() - began, 3),
    }


def divide(a: float, b: float) -> float:
    """Divide ``a`` by ``b``; fails with a clear message when ``b`` is 0.

    Parameters
    ----------
    a : float
        The dividend.
    b : float
        The divisor (must not be 0).

    Returns
    -------
    float
        The quotient ``a / b``.
    """
    if b == 0:
        raise ValueError("cannot divide by zero: choose a divisor b other than 0")
    return a / b


def file_summary(path: Path, first_lines: Annotated[int, Field(ge=0, le=50)] = 5) -> dict[str, Any]:
    """Size, line count and first lines of a text file.

    Parameters
    ----------
    path : Path
        The text file: an absolute path where the backend runs.
    first_lines : int
        How many lines to return from the top (0 to 50).

    Returns
    -------
    dict
        ``path`` (absolute), ``size`` in bytes, ``lines`` (the line count) and ``head``
        (the first lines, without their line ends).
    """
    target = path.expanduser()
    if not target.exists():
        raise ValueError(f"there is no file '{target}' where this backend runs")
    if target.is_dir():
        raise ValueError(f"'{target}' is a folder, not a file: choose a file inside it")
    lines = 0
    head: list[str] = []
    try:
        with target.open("r", encoding="utf-8", errors="replace") as stream:
            for line in stream:
                if lines < first_lines:
                    head.append(line.rstrip("\r\n"))
                lines += 1
    except PermissionError:
        raise ValueError(f"'{target}' cannot be read: permission denied") from None
    return {
        "path": str(target.resolve()),
        "size": target.stat().st_size,
        "lines": lines,
        "head": head,
    }


class Accumulator:
    """Sum numbers on top of a start value.

    Every call makes a fresh accumulator, so nothing is remembered between calls.

    Parameters
    ----------
    start : float
        The initial value.
    """

    def __init__(self, start: float = 0.0) -> None:
        self.start = start

    def add_all(self, values: list[float]) -> float:
        """Add numbers to the start value.

        Parameters
        ----------
        values : list of float
            The numbers to add.

        Returns
        -------
        float
            ``start + sum(values)``.
        """
        return self.start + sum(values)

    def scaled(self, factor: float = 2.0) -> float:
        """Multiply the start value.

        Parameters
        ----------
        factor : float
            The factor.

        Returns
        -------
        float
            ``start * factor``.
        """
        return self.start * factor


# -- helpers (not published: they are not in __all__) ------------------------------------


def _station(station_id: str) -> Station:
    for station in _STATIONS:
        if station.id == station_id.strip().upper():
            return station
    known = ", ".join(s.id for s in _STATIONS)
    raise ValueError(f"there is no station '{station_id}'; known stations: {known}")


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, a)))


def _colour(value: float) -> tuple[int, int, int]:
    """Blue (-1) through white (0) to red (+1)."""
    v = max(-1.0, min(1.0, value))
    fade = int(255 * (1 - abs(v)))
    return (255, fade, fade) if v >= 0 else (fade, fade, 255)


def _png(width: int, height: int, rows: list[bytes]) -> bytes:
    """Encode 8-bit RGB rows as a PNG file (no compression filter)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return (
            struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + row for row in rows), 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
