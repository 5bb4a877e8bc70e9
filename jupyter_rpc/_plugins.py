"""What the three registries (schedulers, transports, remote files) share: a kind names its
factory as ``"module:callable"``, imported on first use, and installed packages add kinds
through entry points, checked the same way for each registry."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from importlib.metadata import EntryPoint
from typing import Any, Protocol, TypeVar


class Kind(Protocol):
    @property
    def name(self) -> str: ...


K = TypeVar("K", bound=Kind)


def load_factory(spec: str) -> Any:
    """The object ``"module:attr.attr"`` names, imported now."""
    module, _, attr = spec.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def discover(
    builtin: Iterable[K],
    points: Iterable[EntryPoint],
    kind_type: type[K],
    what: str,
    log: logging.Logger,
    reserved: frozenset[str] = frozenset(),
) -> dict[str, K]:
    """Ours by name, then each entry point's kind: one cannot replace ours (or take a
    ``reserved`` name), and one that fails to import or is not a ``kind_type`` of its own
    name is left out with a log line (a third party's error must not stop the server)."""
    found = {kind.name: kind for kind in builtin}
    for point in points:
        if point.name in found or point.name in reserved:
            log.warning(
                "jupyter_rpc: %s %r of %s ignored: the name is taken", what, point.name, point.value
            )
            continue
        try:
            kind = point.load()
        except Exception as exc:
            log.error(
                "jupyter_rpc: %s %r (%s) cannot be loaded: %s", what, point.name, point.value, exc
            )
            continue
        if not isinstance(kind, kind_type) or kind.name != point.name:
            log.error(
                "jupyter_rpc: %s entry point %r is not a %s named so",
                what,
                point.name,
                kind_type.__name__,
            )
            continue
        found[point.name] = kind
    return found
