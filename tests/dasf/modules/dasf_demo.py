"""A demessaging backend module for the DASF tests: a bit of every kind of member.

Start it on a broker with::

    python dasf_demo.py -t TOPIC --websocket-url ws://127.0.0.1:PORT/ws listen

Members: ``add`` (ints), ``greet`` (str + Literal), ``centroid`` (list of a pydantic model,
Optional), ``count_slowly`` (deprogressapi progress), ``fail`` (raises), ``big_text`` (a
result over 5 MB, so it travels in fragments), ``noop`` (for latency) and the class
``Counter`` with two methods.

Written for demessaging 0.6.4 as its users write modules. Deliberately without
``from __future__ import annotations``: demessaging recognises a progress parameter by
its real annotation, and string annotations would switch progress reporting off.
"""

import time
from typing import Dict, List, Literal, Optional

from deprogressapi import ProgressReport
from pydantic import BaseModel, Field

from demessaging import configure, main, registry

# What the generated client stub needs in order to import.
registry.register_import("deprogressapi.tree")

__all__ = ["add", "greet", "centroid", "count_slowly", "fail", "big_text", "noop", "Counter"]


@registry.register_type
class Station(BaseModel):
    """A measuring station."""

    lon: float = Field(description="longitude in degrees")
    lat: float = Field(0.0, description="latitude in degrees")


def add(a: int, b: int = 1) -> int:
    """Add two integers.

    Parameters
    ----------
    a: int
        the first number
    b: int
        the second number

    Returns
    -------
    int
        ``a + b``
    """
    return a + b


def greet(name: str, tone: Literal["polite", "loud"] = "polite") -> str:
    """Say hello.

    Parameters
    ----------
    name: str
        whom to greet
    tone: str
        ``polite`` or ``loud``
    """
    text = f"Hello, {name}."
    return text.upper() if tone == "loud" else text


@configure(field_params={"stations": {"min_length": 1}})
def centroid(stations: List[Station], weight: Optional[float] = None) -> Dict[str, float]:
    """The mean position of some stations.

    Parameters
    ----------
    stations: list of Station
        one or more stations
    weight: float, optional
        multiply both coordinates by this
    """
    factor = 1.0 if weight is None else weight
    n = len(stations)
    return {
        "lon": factor * sum(s.lon for s in stations) / n,
        "lat": factor * sum(s.lat for s in stations) / n,
    }


def count_slowly(
    steps: int = 3,
    pause: float = 0.2,
    reporter: ProgressReport = ProgressReport(step_message="Counting"),
) -> int:
    """Count up to ``steps``, pausing after each, and report every step.

    Parameters
    ----------
    steps: int
        how far to count
    pause: float
        seconds to wait per step
    """
    reporter.steps = steps
    with reporter:
        for i in range(steps):
            step = reporter.create_subreport(step_message=f"step {i + 1}")
            step.submit()
            time.sleep(pause)
            step.complete()
    return steps


def fail(reason: str = "it went wrong") -> int:
    """Raise a ValueError with ``reason``."""
    raise ValueError(reason)


def big_text(size: int = 5_500_000) -> str:
    """A text of ``size`` characters (a result big enough to be fragmented)."""
    pattern = "abcdefghijklmnopqrstuvwxyz0123456789"
    return (pattern * (size // len(pattern) + 1))[:size]


def noop() -> None:
    """Do nothing (for latency measurements)."""
    return None


class Counter:
    """Arithmetic on top of a start value."""

    def __init__(self, start: int = 0):
        """
        Parameters
        ----------
        start: int
            the start value
        """
        self.start = start

    def plus(self, values: List[int]) -> int:
        """``start`` plus all ``values``.

        Parameters
        ----------
        values: list of int
            what to add
        """
        return self.start + sum(values)

    def times(self, factor: int = 2) -> int:
        """``start`` times ``factor``."""
        return self.start * factor


if __name__ == "__main__":
    main(messaging_config={"topic": "demo"})
