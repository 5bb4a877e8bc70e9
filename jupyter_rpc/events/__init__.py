"""Accountability events: one structured event per remote action, through jupyter_server's
event system (``jupyter_events``; ``ServerApp.event_logger``), routed by the site with
standard logging handlers (``c.EventLogger.handlers``; docs/accountability.md).

The schema is ``action/v1.yaml`` (:data:`SCHEMA_ID`). Handlers name their action once,
``@requires("execute", event="job.submit")`` (:mod:`jupyter_rpc.handlers.base`), and the
base handler emits the event when the request ends: emitting never fails a request, and
an event nobody listens to costs nothing."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Any

from jupyter_events import EventLogger

#: The one schema of jupyter_rpc's events.
SCHEMA_ID = "https://events.jupyter.org/jupyter_rpc/action/v1"
#: Its file (shipped in the wheel with the package).
SCHEMA_PATH = Path(__file__).parent / "action" / "v1.yaml"
#: What an action's name looks like: ``<resource>.<verb>``.
ACTION_NAME = re.compile(r"^[a-z]+\.[a-z_]+$")

#: Arguments larger than this (bytes of their request body) are digested in a thread.
DIGEST_IN_THREAD = 1024 * 1024


def register(event_logger: EventLogger) -> None:
    """Register the schema on the server's event logger (once)."""
    if SCHEMA_ID not in event_logger.schemas.schema_ids:
        event_logger.register_event_schema(SCHEMA_PATH)


def listening(event_logger: EventLogger | None) -> bool:
    """Whether anything would receive an event (a logging handler or a listener): if not,
    no event is built (its digest costs time)."""
    if event_logger is None:
        return False
    if event_logger.handlers:
        return True
    for name in ("_modified_listeners", "_unmodified_listeners"):
        if getattr(event_logger, name, {}).get(SCHEMA_ID):
            return True
    return False


def canonical(value: Any) -> bytes:
    """``value`` as canonical JSON: keys sorted, no spaces, UTF-8."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def arguments_summary(
    value: Any, *, digest: bool = True, size: int | None = None
) -> dict[str, Any]:
    """What the event says of the arguments: their names (a dict's keys), the SHA-256 of
    their canonical JSON (``digest``) and a content's ``size``; never a value."""
    summary: dict[str, Any] = {}
    if isinstance(value, dict):
        summary["names"] = sorted(str(k) for k in value)
    if digest and value is not None:
        try:
            summary["sha256"] = hashlib.sha256(canonical(value)).hexdigest()
        except (TypeError, ValueError):  # not JSON (cannot be: it came as JSON)
            pass
    if size is not None:
        summary["size"] = size
    return summary


class OnlyRPCEvents(logging.Filter):
    """A logging filter that passes jupyter_rpc's events only (an ``EventLogger``'s
    handlers receive every schema's events: Jupyter Server's own too)::

        handler = logging.FileHandler("/var/log/jupyter/rpc-events.log")
        handler.addFilter(OnlyRPCEvents())
        c.EventLogger.handlers = [handler]
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` is one of our events."""
        message = record.msg
        return isinstance(message, dict) and message.get("__schema__") == SCHEMA_ID


def emit(event_logger: EventLogger, data: dict[str, Any], log: logging.Logger) -> None:
    """Emit one action event; a failure (a handler's, an invalid field) is logged, never
    raised: an event must not fail the request it records."""
    try:
        event_logger.emit(schema_id=SCHEMA_ID, data=data)
    except Exception:  # noqa: BLE001 - logged; the request has its answer
        log.warning("jupyter_rpc: could not emit the event %s", data.get("action"), exc_info=True)


__all__ = [
    "ACTION_NAME",
    "DIGEST_IN_THREAD",
    "OnlyRPCEvents",
    "SCHEMA_ID",
    "SCHEMA_PATH",
    "arguments_summary",
    "canonical",
    "emit",
    "listening",
    "register",
]
