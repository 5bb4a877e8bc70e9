"""Which remote-file implementations a cluster may name: one registry, the only place that
maps a name to an implementation.

An implementation is one module with a factory ``(FilesContext) -> RemoteFiles`` plus one
:class:`FilesKind` line: in :data:`BUILTIN` for ours, or, for a package of a site's own,
an entry point in the ``jupyter_rpc.files`` group whose object is a :class:`FilesKind`::

    [project.entry-points."jupyter_rpc.files"]
    irods = "mysite.irods:KIND"

A cluster names one with its ``files`` key; without it a cluster on this machine has
``local`` files and one reached over SSH has ``sftp`` files. The cluster config's
``files`` choices (and the error that names them at start-up) come from here.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from .._plugins import discover, load_factory
from ..ssh.runner import CommandRunner
from .base import RemoteFiles

if TYPE_CHECKING:
    from asyncssh import SFTPClient

log = logging.getLogger(__name__)

#: The entry-point group of remote-file implementations from other packages.
ENTRY_POINT_GROUP = "jupyter_rpc.files"


@dataclass(frozen=True)
class FilesContext:
    """What a factory may use to build a cluster's files."""

    #: The cluster's name (used in messages).
    cluster: str
    #: The allowed folders by name, as configured (``{"home": "~"}``).
    roots: dict[str, str]
    #: Whose files: the SSH user ("" when ~/.ssh/config decides), or this machine's user.
    user: str
    #: True over SSH, False on the Jupyter server's machine.
    remote: bool
    #: Runs commands where the files are: over SSH, or on this machine.
    runner: CommandRunner
    #: Opens (or reuses) the cluster's SFTP session; ``None`` on this machine.
    open_sftp: Callable[[], Awaitable[SFTPClient]] | None = None


@dataclass(frozen=True)
class FilesKind:
    """A remote-file implementation a cluster can name."""

    name: str
    #: ``"module:callable"``, the factory, imported when a cluster first needs it.
    factory: str
    #: Where it can serve files from: the server's machine (no ``host``) and over SSH.
    local: bool = True
    remote: bool = True

    def load(self) -> Callable[[FilesContext], RemoteFiles]:
        return load_factory(self.factory)  # type: ignore[no-any-return]


#: Ours. A new implementation of this package is one module and one line here.
BUILTIN: tuple[FilesKind, ...] = (
    FilesKind("local", "jupyter_rpc.files.local:from_context", remote=False),
    FilesKind("sftp", "jupyter_rpc.files.sftp:from_context", local=False),
)


def default(*, remote: bool) -> str:
    """The files of a cluster that does not name any: ``sftp`` over SSH, else ``local``."""
    return "sftp" if remote else "local"


@functools.cache
def kinds() -> dict[str, FilesKind]:
    """Every implementation by name: ours, then those of installed packages (a package's
    entry point cannot replace one of ours, and a broken one is left out with a log line)."""
    return discover(BUILTIN, entry_points(group=ENTRY_POINT_GROUP), FilesKind, "files", log)


def names(*, remote: bool | None = None) -> list[str]:
    """The choices for a cluster's ``files``: all, or those that work over SSH
    (``remote=True``) or on this machine (``remote=False``)."""
    return [k.name for k in kinds().values() if remote is None or (k.remote if remote else k.local)]


def make(name: str, ctx: FilesContext) -> RemoteFiles:
    """The files ``name`` of a cluster.

    Raises
    ------
    ValueError
        For a name that is not registered, or one that cannot serve files where the
        cluster is; the message names the choices.
    """
    kind = kinds().get(name)
    if kind is None:
        raise ValueError(f"there are no files '{name}' (choices: {', '.join(names())})")
    if ctx.remote and not kind.remote:
        raise ValueError(
            f"the {name} files are on this machine only (no 'host'); over SSH the "
            f"choices are {', '.join(names(remote=True))}"
        )
    if not ctx.remote and not kind.local:
        raise ValueError(
            f"the {name} files need a 'host'; on this machine the choices are "
            f"{', '.join(names(remote=False))}"
        )
    return kind.load()(ctx)
