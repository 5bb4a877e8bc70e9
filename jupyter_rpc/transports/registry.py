"""Which transports a backend may name: one registry, the only place that maps a name to
an implementation.

A transport is one module with a :class:`~jupyter_rpc.transports.base.Transport`
subclass and a factory ``(TransportContext) -> Transport``, plus one
:class:`TransportKind` line: in :data:`BUILTIN` for ours, or, for a package of a site's
own, an entry point in the ``jupyter_rpc.transports`` group whose object is a
:class:`TransportKind`::

    [project.entry-points."jupyter_rpc.transports"]
    grpc = "mysite.grpc_transport:KIND"

The kind carries the JSON Schema of a backend entry that names it (its ``transport`` key
a ``const``, the keys of :data:`~jupyter_rpc.transports.schemas.COMMON` included), so the
site config is checked at start-up; the config's ``transport`` choices (and the error
that names them) come from here. An entry without ``transport`` is ``local``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, NamedTuple

from .._plugins import discover, load_factory
from . import schemas
from .base import Transport

if TYPE_CHECKING:
    from ..ssh.pool import SSHPool
    from ..ssh.target import SSHTarget

log = logging.getLogger(__name__)

#: The entry-point group of transports from other packages.
ENTRY_POINT_GROUP = "jupyter_rpc.transports"
#: The transport of an entry that names none.
DEFAULT = "local"


class Unavailable(Exception):
    """A backend that cannot be built on this server (its cluster is not there, say): it
    is left out with a log line, and the others start."""


class LoginNode(NamedTuple):
    """Where a cluster's commands run over SSH: the server's one pool and the target."""

    pool: SSHPool
    target: SSHTarget


@dataclass(frozen=True)
class TransportContext:
    """What a factory may use to build a backend's transport."""

    #: The backend's name.
    backend: str
    #: The site's entry for it (already checked against the kind's schema).
    config: Mapping[str, Any]
    #: Seconds to start, unless the entry says (``RPCApp.start_timeout``).
    start_timeout: float
    #: The longest message, bytes (``RPCApp.max_message_size``).
    max_message_size: int
    #: The login node of a cluster by name; raises :class:`Unavailable` for a cluster
    #: that is not there or has no host. ``None``: no clusters on this server.
    login_node: Callable[[str], LoginNode] | None = field(default=None, repr=False)

    @property
    def timeout_to_start(self) -> float:
        """The entry's ``start_timeout``, or the server's."""
        return float(self.config.get("start_timeout") or self.start_timeout)


@dataclass(frozen=True)
class TransportKind:
    """A transport a backend can name."""

    name: str
    #: ``"module:callable"``, the factory, imported when a backend first needs it.
    factory: str
    #: The JSON Schema of a backend entry with this transport.
    schema: Mapping[str, Any] = field(repr=False)

    def load(self) -> Callable[[TransportContext], Transport]:
        return load_factory(self.factory)  # type: ignore[no-any-return]


#: Ours. A new transport of this package is one module, its schema and one line here.
BUILTIN: tuple[TransportKind, ...] = (
    TransportKind("local", "jupyter_rpc.transports.local:from_context", schemas.LOCAL),
    TransportKind("broker", "jupyter_rpc.transports.broker:from_context", schemas.BROKER),
    TransportKind("ssh", "jupyter_rpc.transports.ssh:from_context", schemas.SSH),
)


@functools.cache
def kinds() -> dict[str, TransportKind]:
    """Every transport by name: ours, then those of installed packages (a package's entry
    point cannot replace one of ours, and a broken one is left out with a log line)."""
    return discover(BUILTIN, entry_points(group=ENTRY_POINT_GROUP), TransportKind, "transport", log)


def names() -> list[str]:
    """The choices for a backend's ``transport``."""
    return list(kinds())


def config_schema() -> dict[str, Any]:
    """The JSON Schema of one backend entry: ``transport`` is one of :func:`names`, and the
    rest follows that transport's schema (``local``'s when it names none)."""
    found = kinds()
    chain: dict[str, Any] = dict(found[DEFAULT].schema)
    for kind in reversed([k for k in found.values() if k.name != DEFAULT]):
        chain = {
            "if": {"properties": {"transport": {"const": kind.name}}, "required": ["transport"]},
            "then": dict(kind.schema),
            "else": chain,
        }
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"transport": {"enum": names(), "description": "how the backend is reached"}},
    }
    if "if" in chain:
        schema.update(chain)
    else:  # no transport but the default
        schema["allOf"] = [chain]
    return schema


def make(ctx: TransportContext) -> Transport:
    """The transport of one backend entry.

    Raises
    ------
    ValueError
        For a transport that is not registered (the message names the choices), or an
        entry its factory refuses.
    Unavailable
        For a backend that cannot be built on this server (see :class:`Unavailable`).
    ImportError
        When the transport's module cannot be imported.
    """
    name = str(ctx.config.get("transport") or DEFAULT)
    kind = kinds().get(name)
    if kind is None:
        raise ValueError(f"there is no transport '{name}' (choices: {', '.join(names())})")
    return kind.load()(ctx)


__all__ = [
    "BUILTIN",
    "DEFAULT",
    "ENTRY_POINT_GROUP",
    "LoginNode",
    "TransportContext",
    "TransportKind",
    "Unavailable",
    "config_schema",
    "kinds",
    "make",
    "names",
]
