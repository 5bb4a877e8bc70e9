"""PBS and LSF through a restricted key (issue 15): every command their schedulers send
matches exactly one form of the gate's table (jupyter_rpc/backend/gate.py), beside Slurm's
and Grid Engine's (a qsub or qstat of one is never read as the other's), and what they do
not send is refused saying why."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest

from jupyter_rpc.backend.gate import USAGE, Refused, main, plan, scheduler_bin_problem
from jupyter_rpc.schedulers.base import JobSpec
from jupyter_rpc.schedulers.lsf import _OUTPUT as BJOBS_OUTPUT
from jupyter_rpc.schedulers.lsf import bsub_argv
from jupyter_rpc.schedulers.pbs import qsub_argv
from jupyter_rpc.ssh.runner import shell_join

JOBS = ["jobs", "files"]


def spec(**values: Any) -> JobSpec:
    return JobSpec(
        **{
            "script": "#!/bin/bash\necho hi\n",
            "name": "a job; rm -rf ~ $(id)",
            "partition": "main",
            "account": "proj1",
            "time_limit": 90,
            "cpus": 4,
            "memory_mb": 2048,
            "gpus": 1,
            "nodes": 2,
            "ntasks": 4,
            "stdout": "/tmp/o;$(touch x)",
            "stderr": "/tmp/e 'x' \"y\"",
            "hold": True,
            "env": {"INJ": "x,y=z"},
            **values,
        }
    )


SENT_BY_PBS = [
    shell_join(qsub_argv(spec(array="1-10%2")), {"INJ": "x,y=z"}),
    shell_join(qsub_argv(JobSpec(script_path="jobs/run.sh"))),
    shell_join(["qstat", "-f", "-F", "json", "-t"]),
    shell_join(
        [
            "qstat",
            "-x",
            "-f",
            "-F",
            "json",
            "-t",
            "359322.polaris-pbs-01.hsn.cm.polaris.alcf.anl.gov",
        ]
    ),
    shell_join(["qstat", "-x", "-f", "-F", "json", "-t", "123[4].pbs"]),
    shell_join(["qstat", "-x", "-f", "-F", "json", "-t"]),
    shell_join(["qstat", "-Q", "-f", "-F", "json"]),
    shell_join(["qdel", "40.pbs"]),
    shell_join(["qhold", "123[].server"]),
    shell_join(["qrls", "40.pbs"]),
]
SENT_BY_LSF = [
    shell_join(bsub_argv(spec(array="1-10%2", workdir="runs/one")), {"INJ": "x,y=z"}),
    shell_join(bsub_argv(JobSpec(script_path="jobs/run.sh", name="n"))),
    shell_join(["bjobs", "-a", *BJOBS_OUTPUT]),
    shell_join(["bjobs", "-a", "-u", "all", *BJOBS_OUTPUT]),
    shell_join(["bjobs", "-a", *BJOBS_OUTPUT, "542935[3]"]),
    shell_join(["bjobs", "-d", "-u", "hpcuser", *BJOBS_OUTPUT]),
    shell_join(["bqueues", "-o", "queue_name status", "-json"]),
    shell_join(["bhist", "-l", "873209"]),
    shell_join(["bkill", "542935"]),
    shell_join(["bstop", "542935"]),
    shell_join(["bresume", "542935[3]"]),
]


@pytest.mark.parametrize("command", SENT_BY_PBS + SENT_BY_LSF)
def test_every_command_pbs_and_lsf_send_matches_one_form(command: str) -> None:
    assert plan(command, JOBS).group == "jobs"


@pytest.mark.parametrize(
    "command, why",
    [
        ("qsub -V -W depend=afterok:1 x", "qsub option '-W' is not allowed"),
        ("qsub -l walltime=1:00:00 -l nodes=x -V", "qsub -l 'nodes=x' is not a PBS resource"),
        ("qstat -f -F json -t -u root,other", "not a form of qstat this key allows"),
        ("qdel '40.pbs;id'", "'40.pbs;id' is not a Grid Engine or PBS job id"),
        ("bsub -R 'select[type==any]' -H", "bsub -R 'select[type==any]' is not a"),
        ("bsub -Is bash", "bsub option '-Is' is not allowed"),
        ("bjobs -o 'jobid' -json -UF", "bjobs option '-UF' is not allowed"),
        ("bkill 0", "is not a"),
        ("bkill -u all 0", "bkill option '-u' is not allowed"),
    ],
)
def test_what_pbs_and_lsf_do_not_send_is_refused(command: str, why: str) -> None:
    with pytest.raises(Refused) as refused:
        plan(command, JOBS)
    assert why in str(refused.value), refused.value


# --- a cluster with scheduler_bin: its commands by their full path ----------------------------

BIN = "/opt/pbs/bin"


def in_folder(command: str, folder: str) -> str:
    """``command`` as a cluster with ``scheduler_bin: folder`` sends it: the program by
    its full path (after ``env NAME=VALUE...``, as CommandScheduler._run writes it)."""
    words = shlex.split(command)
    at = 0
    if words[0] == "env":
        at = 1
        while "=" in words[at] and not words[at].startswith("-"):
            at += 1
    words[at] = f"{folder}/{words[at]}"
    return shlex.join(words)


@pytest.mark.parametrize("command", SENT_BY_PBS + SENT_BY_LSF)
def test_a_scheduler_bin_command_matches_and_runs_by_its_full_path(command: str) -> None:
    sent = in_folder(command, BIN)
    for folders in ([BIN], [f"{BIN}/"], ["/usr/lsf/bin", BIN]):
        done = plan(sent, JOBS, scheduler_bins=folders)
        assert done.group == "jobs"
        assert done.argv[0].startswith(f"{BIN}/"), done.argv  # exec'd from the folder
        assert shlex.split(sent)[-len(done.argv) :] == done.argv  # the words as sent


@pytest.mark.parametrize(
    "command, folders, why",
    [
        # a key without --scheduler-bin: the folder is named in the refusal
        (f"{BIN}/qstat -f -F json -t", [], f"{BIN} is not a folder of scheduler commands"),
        # another folder, one spelled otherwise, one below, one above
        ("/tmp/qstat -f -F json -t", [BIN], "/tmp is not a folder of scheduler commands"),
        ("/opt/pbs/bin/../../../tmp/qstat -f -F json", [BIN], "not a folder of scheduler"),
        ("/opt//pbs/bin/qstat -f -F json -t", [BIN], "not a folder of scheduler commands"),
        (f"{BIN}/x/qstat -f -F json -t", [BIN], "not a folder of scheduler commands"),
        ("/opt/pbs/qstat -f -F json -t", [BIN], "not a folder of scheduler commands"),
        # the folder's other programs, and the login node's commands, are not the scheduler's
        (f"{BIN}/sh -c id", [BIN], f"{BIN}/sh is not a command this key allows"),
        (f"{BIN}/id -un", [BIN], f"{BIN}/id is not a command this key allows"),
        # the form's checks still apply to the full path's options
        (f"{BIN}/qdel '40.pbs;id'", [BIN], "'40.pbs;id' is not a Grid Engine or PBS job id"),
        (f"{BIN}/qsub -V -W depend=afterok:1 x", [BIN], "qsub option '-W' is not allowed"),
    ],
)
def test_a_full_path_outside_the_keys_scheduler_bin_is_refused(
    command: str, folders: list[str], why: str
) -> None:
    with pytest.raises(Refused) as refused:
        plan(command, JOBS + ["runner"], scheduler_bins=folders)
    assert why in str(refused.value), refused.value


def test_a_scheduler_bin_the_gate_cannot_trust_stops_it(tmp_path: Path) -> None:
    for folder, why in [
        ("opt/pbs/bin", "not an absolute path"),
        ("/", "the root folder"),
        ("/opt/pbs/../pbs/bin", "'..'"),
        ("/opt//pbs/bin", "'//'"),
        ("/opt/pbs/bin\n", "control character"),
    ]:
        assert why in (scheduler_bin_problem(folder) or ""), folder
    assert scheduler_bin_problem("/opt/pbs/bin/") is None
    # a folder the account can write to: a key allowed files could put any program there
    env = {"SSH_ORIGINAL_COMMAND": f"{tmp_path}/qdel 40.pbs"}
    ran: list[list[str]] = []
    assert main(["--scheduler-bin", str(tmp_path)], environ=env, execvpe=_record(ran)) == USAGE
    assert ran == []
    # a runner's Python in that folder is still the runner's (not a scheduler command)
    python = plan(f"{BIN}/python3 -m jupyter_rpc.backend serve m", ["runner"], scheduler_bins=[BIN])
    assert (python.group, python.argv[0]) == ("runner", f"{BIN}/python3")
    env = {"SSH_ORIGINAL_COMMAND": "qstat -f -F json -t"}
    ran: list[list[str]] = []
    assert main(["--scheduler-bin", "/opt/../tmp"], environ=env, execvpe=_record(ran)) == USAGE
    assert ran == []
    env["SSH_ORIGINAL_COMMAND"] = f"{BIN}/qdel 40.pbs"
    assert main(["--allow", "jobs", "--scheduler-bin", BIN], environ=env, execvpe=_record(ran)) == 0
    assert ran == [[f"{BIN}/qdel", f"{BIN}/qdel", "40.pbs"]]


def _record(ran: list[list[str]]) -> Any:
    def execvpe(path: str, argv: list[str], env: dict[str, str]) -> None:
        ran.append([path, *argv])

    return execvpe


@pytest.mark.parametrize(
    "name", ["SGE_ROOT", "SGE_CELL", "SGE_QMASTER_PORT", "PBS_CONF_FILE", "LSF_ENVDIR"]
)
def test_env_may_not_choose_the_schedulers_configuration(name: str) -> None:
    """Which configuration a scheduler's command reads (Grid Engine's sge_request can name
    a script to run): jupyter_rpc never sends these (each scheduler reserves its own)."""
    with pytest.raises(Refused) as refused:
        plan(f"env {name}=/tmp/mine qstat -xml -u hpcuser", JOBS)
    assert f"env may not set {name}" in str(refused.value)


def test_a_cluster_names_scheduler_bin_as_the_gate_can_match_it() -> None:
    """A cluster's ``scheduler_bin`` is refused where the gate could never match its
    commands (it compares the folder as written)."""
    from jupyter_rpc.services.cluster_config import config_problems

    base = {"host": "login.example.org", "scheduler": "pbs"}
    for good in ("/opt/pbs/bin", "/opt/pbs/bin/", "/opt/.pbs-22/bin"):
        assert config_problems({**base, "scheduler_bin": good}) == "", good
    for bad in ("opt/pbs/bin", "/opt//pbs/bin", "/opt/./pbs", "/opt/pbs/../bin", "/opt/pbs/.."):
        assert "scheduler_bin" in config_problems({**base, "scheduler_bin": bad}), bad
