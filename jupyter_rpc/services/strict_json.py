"""JSON text as strict as the browser's ``JSON.parse``: every answer the server writes.

``json.dumps`` writes a float that is not finite as a bare ``NaN`` / ``Infinity``, which no
JSON parser but Python's reads: one such figure (a scheduler's odd output, a damaged job
record) would make the front end reject the whole answer. :func:`dumps` writes it as
``null`` instead; everything else is encoded as ``json.dumps`` does.
"""

from __future__ import annotations

import json
import math
from typing import Any


def dumps(value: Any) -> str:
    """``value`` as strict JSON, each non-finite number as ``null``."""
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:  # a non-finite float somewhere (rare): encode a cleaned copy
        return json.dumps(finite_only(value), allow_nan=False)


def finite_only(value: Any) -> Any:
    """A copy of ``value`` (dicts, lists, tuples) with every non-finite float ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_only(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_only(item) for item in value]
    return value
