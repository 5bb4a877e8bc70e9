"""Values people type (time limits, memory) and values a notebook shows (times,
durations, sizes), for the cluster client."""

from __future__ import annotations

import datetime as dt
import math
import re
import urllib.parse


def quote(value: str, safe: str = "") -> str:
    """One URL path segment (``/`` quoted too, unless ``safe``)."""
    return urllib.parse.quote(str(value), safe=safe)


_TIME = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


def minutes(value: int | float | str | dt.timedelta) -> int:
    """A time limit in whole minutes (rounded up) from what people write.

    Accepts minutes as a number, a :class:`datetime.timedelta`, or Slurm's forms:
    ``"90"`` (minutes), ``"30:00"`` (minutes:seconds), ``"2:00:00"`` (hours:minutes:seconds),
    ``"1-00:00:00"``, ``"1-12"`` (days-hours), ``"1-12:30"`` (days-hours:minutes).
    """
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value) * 60
    elif isinstance(value, str):
        m = _TIME.match(value.strip())
        if not m:
            raise ValueError(
                f"time_limit {value!r} is not a time: use minutes (90), 'HH:MM:SS' or 'D-HH:MM:SS'."
            )
        days, a, b, c = (int(x) if x is not None else None for x in m.groups())
        if days is not None:  # D-H, D-H:M, D-H:M:S
            seconds = days * 86400 + (a or 0) * 3600 + (b or 0) * 60 + (c or 0)
        elif c is not None:  # H:M:S
            seconds = (a or 0) * 3600 + (b or 0) * 60 + c
        elif b is not None:  # M:S
            seconds = (a or 0) * 60 + b
        else:  # M
            seconds = (a or 0) * 60
    else:
        raise TypeError(
            f"time_limit must be minutes, a string or a timedelta, not {type(value).__name__}."
        )
    if seconds <= 0:
        raise ValueError(f"time_limit must be positive, not {value!r}.")
    return max(1, math.ceil(seconds / 60))


_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$", re.IGNORECASE)
_UNIT_MB = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024, "": 1}


def megabytes(value: int | str) -> int:
    """Memory in MB (as Slurm counts: 1G = 1024M) from ``4096``, ``"4G"``, ``"500M"``, ``"1.5GB"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        mb = float(value)
    elif isinstance(value, str):
        m = _MEMORY.match(value.strip())
        if not m:
            raise ValueError(
                f"memory {value!r} is not a size: use MB (4000) or a string like '4G' or '500M'."
            )
        mb = float(m.group(1)) * _UNIT_MB[m.group(2).upper()]
    else:
        raise TypeError(
            f"memory must be MB (int) or a string like '4G', not {type(value).__name__}."
        )
    if mb <= 0:
        raise ValueError(f"memory must be positive, not {value!r}.")
    return max(1, math.ceil(mb))


def when(ts: float | None) -> dt.datetime | None:
    """A server timestamp (seconds) as local time; ``None`` for none."""
    return dt.datetime.fromtimestamp(ts).astimezone() if ts else None


def duration(seconds: float | None) -> str:
    """Seconds as Slurm writes a duration: ``H:MM:SS``, ``D-H:MM:SS``."""
    if seconds is None:
        return ""
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    text = f"{rest // 3600}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}-{text}" if days else text


def size_text(n: int | None) -> str:
    """Bytes as people read them (``12.3 MB``)."""
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)  # pragma: no cover
