"""The pieces of the one remote script that submits a workflow's steps, for every
scheduler driven by command-line tools: each step's submit command waits for the ids the
script read (a real /bin/sh expands them, every other value stays one literal word), and
each scheduler's ``submitted_id_sed`` reads the id from what its submit command prints
(recorded answers; a real sed)."""

from __future__ import annotations

import subprocess

import pytest

from jupyter_rpc.schedulers.base import JobSpec
from jupyter_rpc.schedulers.command import CommandScheduler
from jupyter_rpc.schedulers.lsf import LSFScheduler
from jupyter_rpc.schedulers.pbs import PBSScheduler
from jupyter_rpc.schedulers.sge import SGEScheduler
from jupyter_rpc.schedulers.slurm import SlurmScheduler
from jupyter_rpc.services.workflow_runs import _word
from jupyter_rpc.ssh.runner import LocalRunner

#: (scheduler, what its submit command prints, the id a dependency names, the arguments
#: that make a job wait for ids 11 and 12)
CASES = [
    (SlurmScheduler, "4350\n", "4350", ["--dependency=afterok:11:12", "--kill-on-invalid-dep=yes"]),
    (SlurmScheduler, "4351;cluster\n", "4351", None),
    (SGEScheduler, "4495.1-4:1\n", "4495", ["-hold_jid", "11,12"]),
    (SGEScheduler, "4494\n", "4494", None),
    (PBSScheduler, "41[].pbs\n", "41[].pbs", ["-W", "depend=afterok:11:12"]),
    (PBSScheduler, "40.pbs\n", "40.pbs", None),
    (LSFScheduler, "Job <542935> is submitted to queue <short>.\n", "542935", ["-w", "done(11) && done(12)"]),
]  # fmt: skip


def sh(script: str) -> str:
    return subprocess.run(
        ["/bin/sh", "-c", script], capture_output=True, text=True, check=True, timeout=10
    ).stdout


@pytest.mark.parametrize(("kind", "printed", "wanted", "args"), CASES)
async def test_a_step_waits_for_the_ids_the_script_read(
    kind: type[CommandScheduler], printed: str, wanted: str, args: list[str] | None
) -> None:
    scheduler = kind(LocalRunner())
    assert scheduler.capabilities.dependencies
    # the id as the chain script reads it: sed -n <submitted_id_sed> | head -n 1
    read = sh(
        f"printf %s {_word(printed)} | sed -n {_word(scheduler.submitted_id_sed)} | head -n 1"
    )
    assert read.strip() == wanted
    if args is not None:
        assert scheduler.dependency_args(["11", "12"]) == args
    spec = JobSpec(script_path="/runs/a b/02-simulate.sh", name="x;touch$(id)`id`", array="1-4")
    argv = await scheduler.submit_command(spec, ["\x000\x00", "\x001\x00"])
    words = " ".join(_word(a) for a in argv)
    shown = sh(f"J0=11; J1=12; for a in {words}; do printf '[%s]\\n' \"$a\"; done")
    arrived = [line[1:-1] for line in shown.splitlines()]
    assert arrived == [a.replace("\x000\x00", "11").replace("\x001\x00", "12") for a in argv]
    assert "/runs/a b/02-simulate.sh" in arrived  # one word, the space kept
    assert any("x;touch$(id)`id`" in a for a in arrived)  # a name stays data
    joined = " ".join(arrived)
    assert "11" in joined and "12" in joined and "\x00" not in joined
