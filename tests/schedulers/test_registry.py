"""Schedulers are found in one registry (jupyter_rpc.schedulers.registry): ours by one
line each, other packages' by an entry point; a cluster naming an unknown one fails at
start-up with the choices named."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from traitlets import TraitError

from jupyter_rpc.app import RPCApp
from jupyter_rpc.schedulers import registry
from jupyter_rpc.schedulers.local import LocalScheduler
from jupyter_rpc.schedulers.slurm import SlurmScheduler
from jupyter_rpc.ssh.runner import LocalRunner


class _Condor(SlurmScheduler):
    kind = "condor"


def _condor(ctx: registry.SchedulerContext) -> _Condor:
    return _Condor(ctx.runner, user=ctx.user)


#: What a site's package would declare (here the entry point names this module).
CONDOR = registry.SchedulerKind("condor", f"{__name__}:_condor", local=False)


def _context(tmp_path: Path, *, remote: bool) -> registry.SchedulerContext:
    return registry.SchedulerContext("c", LocalRunner(), "me", remote, None, tmp_path)


def test_builtin_schedulers_by_name(tmp_path: Path) -> None:
    assert registry.names() == ["slurm", "local", "pbs", "lsf", "sge", "none"]
    assert registry.names(remote=True) == ["slurm", "pbs", "lsf", "sge", "none"]
    assert isinstance(registry.make("slurm", _context(tmp_path, remote=True)), SlurmScheduler)
    assert registry.make("pbs", _context(tmp_path, remote=True)).kind == "pbs"  # type: ignore[union-attr]
    assert registry.make("lsf", _context(tmp_path, remote=True)).kind == "lsf"  # type: ignore[union-attr]
    assert registry.make("sge", _context(tmp_path, remote=True)).kind == "sge"  # type: ignore[union-attr]
    local = registry.make("local", _context(tmp_path, remote=False))
    assert isinstance(local, LocalScheduler) and local.user == "me"
    assert registry.make("none", _context(tmp_path, remote=True)) is None


def test_a_name_that_is_not_there_or_cannot_run_there(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=r"no scheduler 'htcondor' \(choices: slurm, local, pbs, lsf, sge, none\)"
    ):
        registry.make("htcondor", _context(tmp_path, remote=True))
    with pytest.raises(ValueError, match="local scheduler runs on this machine only"):
        registry.make("local", _context(tmp_path, remote=True))


def test_another_package_adds_a_scheduler_by_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    points = [
        EntryPoint("condor", f"{__name__}:CONDOR", registry.ENTRY_POINT_GROUP),
        EntryPoint("slurm", f"{__name__}:CONDOR", registry.ENTRY_POINT_GROUP),  # taken
        EntryPoint("broken", "no_such_module_xyz:KIND", registry.ENTRY_POINT_GROUP),
    ]

    def fake(group: str) -> list[EntryPoint]:
        return points if group == registry.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(registry, "entry_points", fake)
    registry.kinds.cache_clear()
    try:
        assert registry.names() == ["slurm", "local", "pbs", "lsf", "sge", "condor", "none"]
        assert registry.names(remote=False) == ["slurm", "local", "pbs", "lsf", "sge", "none"]
        made = registry.make("condor", _context(tmp_path, remote=True))
        assert isinstance(made, _Condor) and made.kind == "condor"
        assert registry.kinds()["slurm"].factory.startswith("jupyter_rpc.")  # not replaced
    finally:
        registry.kinds.cache_clear()


@pytest.mark.parametrize(
    "trait, value, choices",
    [
        (
            "clusters",
            {"hpc": {"host": "h", "scheduler": "htcondor"}},
            "['slurm', 'local', 'pbs', 'lsf', 'sge', 'none']",
        ),
        ("backends", {"x": {"transport": "pigeon", "module": "m"}}, "['local', 'broker', 'ssh']"),
    ],
)
def test_an_unknown_name_in_the_site_config_fails_at_start_up(
    trait: str, value: dict[str, Any], choices: str
) -> None:
    app = RPCApp()
    with pytest.raises(TraitError) as info:
        setattr(app, trait, value)
    message = str(info.value)
    assert f"RPCApp.{trait}['{next(iter(value))}'] is not valid" in message
    assert choices in message, message
