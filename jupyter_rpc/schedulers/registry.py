"""Which schedulers a cluster may name: one registry, the only place that maps a name to
an implementation.

A scheduler is one module with a factory ``(SchedulerContext) -> Scheduler`` plus one
:class:`SchedulerKind` line: in :data:`BUILTIN` for ours, or, for a package of a site's
own, an entry point in the ``jupyter_rpc.schedulers`` group whose object is a
:class:`SchedulerKind`::

    [project.entry-points."jupyter_rpc.schedulers"]
    htcondor = "mysite.condor:KIND"

The cluster config's ``scheduler`` choices (and the error that names them at start-up)
come from here. ``none`` means a cluster without jobs (files and backends only).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from .._plugins import discover, load_factory
from ..ssh.runner import CommandRunner
from .base import Scheduler

log = logging.getLogger(__name__)

#: The entry-point group of schedulers from other packages.
ENTRY_POINT_GROUP = "jupyter_rpc.schedulers"
#: A cluster without a scheduler.
NONE = "none"


@dataclass(frozen=True)
class SchedulerContext:
    """What a factory may use to build a cluster's scheduler."""

    #: The cluster's name.
    cluster: str
    #: Runs the scheduler's commands: over SSH, or on this machine.
    runner: CommandRunner
    #: Whose jobs (None: the login user).
    user: str | None
    #: True over SSH, False on the Jupyter server's machine.
    remote: bool
    #: Seconds one command may take (None: the scheduler's default).
    command_timeout: float | None
    #: A folder of the server's own for this cluster's job state, if the scheduler keeps any.
    state_dir: Path
    #: Seconds a job has between SIGTERM and SIGKILL when it is cancelled or runs out of
    #: time, where the scheduler sends them itself (None: the scheduler's default).
    kill_grace: float | None = None
    #: The folder of the scheduler's commands (``scheduler_bin``), None: the login PATH.
    commands_dir: str | None = None


@dataclass(frozen=True)
class SchedulerKind:
    """A scheduler a cluster can name."""

    name: str
    #: ``"module:callable"``, the factory, imported when a cluster first needs it.
    factory: str
    #: Where it can run: on the server's machine (no ``host``) and over SSH.
    local: bool = True
    remote: bool = True

    def load(self) -> Callable[[SchedulerContext], Scheduler]:
        return load_factory(self.factory)  # type: ignore[no-any-return]


#: Ours. A new scheduler of this package is one module and one line here.
BUILTIN: tuple[SchedulerKind, ...] = (
    SchedulerKind("slurm", "jupyter_rpc.schedulers.slurm:from_context"),
    SchedulerKind("local", "jupyter_rpc.schedulers.local:from_context", remote=False),
    SchedulerKind("pbs", "jupyter_rpc.schedulers.pbs:from_context"),
    SchedulerKind("lsf", "jupyter_rpc.schedulers.lsf:from_context"),
    SchedulerKind("sge", "jupyter_rpc.schedulers.sge:from_context"),
)


@functools.cache
def kinds() -> dict[str, SchedulerKind]:
    """Every scheduler by name: ours, then those of installed packages (a package's
    entry point cannot replace one of ours, and a broken one is left out with a log line)."""
    return discover(
        BUILTIN,
        entry_points(group=ENTRY_POINT_GROUP),
        SchedulerKind,
        "scheduler",
        log,
        reserved=frozenset({NONE}),
    )


def names(*, remote: bool | None = None) -> list[str]:
    """The choices for a cluster's ``scheduler``: all, or those that run over SSH
    (``remote=True``) or on this machine (``remote=False``); ``none`` last."""
    chosen = [
        k.name for k in kinds().values() if remote is None or (k.remote if remote else k.local)
    ]
    return [*chosen, NONE]


def make(name: str, ctx: SchedulerContext) -> Scheduler | None:
    """The scheduler ``name`` for a cluster (None for ``none``).

    Raises
    ------
    ValueError
        For a name that is not registered, or one that cannot run where the cluster is;
        the message names the choices.
    """
    if name == NONE:
        return None
    kind = kinds().get(name)
    if kind is None:
        raise ValueError(f"there is no scheduler '{name}' (choices: {', '.join(names())})")
    if ctx.remote and not kind.remote:
        raise ValueError(
            f"the {name} scheduler runs on this machine only (no 'host'); over SSH the "
            f"choices are {', '.join(names(remote=True))}"
        )
    if not ctx.remote and not kind.local:
        raise ValueError(
            f"the {name} scheduler needs a 'host'; on this machine the choices are "
            f"{', '.join(names(remote=False))}"
        )
    return kind.load()(ctx)
