"""Grid Engine through a restricted key (issue 15): every command the Grid Engine scheduler
sends matches exactly one form of the gate's table (jupyter_rpc/backend/gate.py), what it
does not send is refused saying why, and a cluster whose key runs the gate submits, lists,
holds, releases, cancels and reads the history of real jobs on the bed's Grid Engine."""

from __future__ import annotations

import asyncio
import os
import pathlib
import pwd
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_rpc.backend.gate import Refused, plan
from jupyter_rpc.schedulers.base import JobSpec
from jupyter_rpc.schedulers.sge import qsub_argv
from jupyter_rpc.ssh.runner import shell_join
from tests.fixtures.hpc import HPCTestbed

ROOT = pathlib.Path(__file__).resolve().parents[2]
JOBS = ["jobs", "files"]
#: Debian's Grid Engine commands are in /usr/bin (its wrapper): a real scheduler_bin.
SCHEDULER_BIN = "/usr/bin"


def full_spec(**extra: Any) -> JobSpec:
    values: dict[str, Any] = {
        "script": "#!/bin/bash\necho hi\n",
        "name": "a-job_1.x",
        "partition": "short.q",
        "account": "proj1",
        "time_limit": 10,
        "cpus": 2,
        "memory_mb": 512,
        "ntasks": 2,
        "array": "1-9:2%2",
        "workdir": "runs/one",
        "stdout": "out-%j.txt",
        "stderr": "err-%j.txt",
        "hold": True,
        "env": {"MY_VAR": "x y"},
        **extra,
    }
    return JobSpec(**values)


SUBMIT = qsub_argv(full_spec(), pe="smp", home="/home/hpcuser")
TEST = [*SUBMIT[: SUBMIT.index("-w") + 1], "v", *SUBMIT[SUBMIT.index("-w") + 2 :]]
SENT_BY_GRID_ENGINE = [
    shell_join(SUBMIT, {"MY_VAR": "x y"}),
    shell_join(TEST),
    shell_join(qsub_argv(JobSpec(script_path="jobs/run.sh"))),
    shell_join(qsub_argv(JobSpec(script="#!/bin/sh\ntrue\n", stdout="/tmp/o.txt"))),
    shell_join(["qstat", "-r", "-xml", "-u", "hpcuser"]),
    shell_join(["qstat", "-r", "-xml", "-u", "*"]),
    shell_join(["qstat", "-xml", "-u", "hpcuser"]),
    shell_join(["qstat", "-j", "123", "-xml"]),
    shell_join(["qacct", "-j", "123"]),
    shell_join(["qacct", "-o", "hpcuser", "-d", "7", "-j"]),
    shell_join(["qconf", "-sql"]),
    shell_join(["qconf", "-sq", "short.q"]),
    shell_join(["qconf", "-sp", "smp"]),
    shell_join(["qdel", "123"]),
    shell_join(["qdel", "123.4", "123.6-9:1"]),
    shell_join(["qhold", "123"]),
    shell_join(["qrls", "123.2"]),
    shell_join(["qmod", "-cj", "123"]),
]


@pytest.mark.parametrize("command", SENT_BY_GRID_ENGINE)
def test_every_command_grid_engine_sends_matches_one_form(command: str) -> None:
    assert plan(command, JOBS).group == "jobs"


@pytest.mark.parametrize(
    "command, why",
    [
        ("qsub -terse -w e -b y rm -rf ~", "qsub option '-b' is not allowed"),
        ("qsub -terse -w e -@ /tmp/opts", "qsub option '-@' is not allowed"),
        (
            "qsub -terse -w e -l h_rt=00:10:00 -l arch=x -V",
            "qsub -l 'arch=x' is not a Grid Engine resource",
        ),
        ("qsub -terse -w n -V", "qsub -w 'n' is not a"),
        ("qdel -u hpcuser", "qdel option '-u' is not allowed"),
        ("qdel '123;rm'", "'123;rm' is not a Grid Engine or PBS job id"),
        ("qconf -aq x", "qconf option '-aq' is not allowed"),
        ("qmod -d short.q", "qmod option '-d' is not allowed"),
    ],
)
def test_what_grid_engine_does_not_send_is_refused(command: str, why: str) -> None:
    with pytest.raises(Refused) as refused:
        plan(command, JOBS)
    assert why in str(refused.value), refused.value


# --- on the bed's Grid Engine, through a key that runs the gate ------------------------------


def _install_gate(tb: HPCTestbed) -> str:
    """The bed's venv with this tree's gate (its wheel may predate these forms); the
    gate's script in it."""
    venv = tb.dir / "venv"
    site = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    target = pathlib.Path(site) / "jupyter_rpc" / "backend" / "gate.py"
    source = ROOT / "jupyter_rpc" / "backend" / "gate.py"
    if not target.exists() or target.read_bytes() != source.read_bytes():
        tmp = target.with_suffix(".py.tmp")
        shutil.copyfile(source, tmp)
        tmp.chmod(0o644)
        tmp.replace(target)
    script = venv / "bin" / "jupyter-rpc-gate"
    if not script.exists():
        tmp = script.with_name(".jupyter-rpc-gate.tmp")
        tmp.write_text(
            f"#!{venv}/bin/python3\nfrom jupyter_rpc.backend.gate import cli\n"
            "if __name__ == '__main__':\n    cli()\n"
        )
        tmp.chmod(0o755)
        tmp.replace(script)
    return str(script)


@pytest.fixture(scope="module")
def gated_keys(hpc_testbed: HPCTestbed, tmp_path_factory: Any) -> Iterator[dict[str, str]]:
    """Keys of the bed's user whose authorized_keys lines run the gate with --allow
    jobs,files (removed at the end), by name: ``plain``, and ``bin`` that also allows the
    scheduler's commands by their full path in /usr/bin; their private keys' paths."""
    if os.geteuid() != 0:
        pytest.skip("adding a key to the test bed user's authorized_keys needs root")
    tb = hpc_testbed
    if subprocess.run(["qstat", "-xml"], capture_output=True).returncode != 0:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Grid Engine required in CI (tests/hpc/testbed/sge_up.sh)")
        pytest.skip("Grid Engine absent (start it with: sudo tests/hpc/testbed/sge_up.sh)")
    script = _install_gate(tb)
    folder = tmp_path_factory.mktemp("sge-gate")
    tag = f"jupyter-rpc-sge-gate-{secrets.token_hex(4)}"
    keys: dict[str, str] = {}
    lines: list[str] = []
    for name, extra in (("plain", ""), ("bin", f" --scheduler-bin {SCHEDULER_BIN}")):
        key = folder / f"id_{name}"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", tag, "-f", str(key)],
            check=True,
        )
        public = key.with_name(f"id_{name}.pub").read_text().strip()
        lines.append(f'command="{script} --allow jobs,files{extra}",restrict {public}')
        keys[name] = str(key)
    user = pwd.getpwnam(tb.user)
    authorized = pathlib.Path(user.pw_dir) / ".ssh" / "authorized_keys"

    def rewrite(keep: Any, add: list[str]) -> None:
        kept = [text for text in authorized.read_text().splitlines() if keep(text)]
        tmp = authorized.with_name(f".authorized_keys.{tag}")
        tmp.write_text("\n".join([*kept, *add]) + "\n")
        os.chown(tmp, user.pw_uid, user.pw_gid)
        tmp.chmod(0o600)
        tmp.replace(authorized)

    rewrite(lambda text: True, lines)
    try:
        yield keys
    finally:
        rewrite(lambda text: tag not in text, [])


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any],
    hpc_testbed: HPCTestbed,
    gated_keys: dict[str, str],
    tmp_path: Any,
) -> dict[str, Any]:
    tb = hpc_testbed
    cluster = {
        "host": "127.0.0.1", "port": tb.port, "user": tb.user, "identity_file": gated_keys["plain"],
        "known_hosts": tb.known_hosts, "ssh_config": False, "agent": False, "scheduler": "sge",
    }  # fmt: skip
    in_bin = {**cluster, "scheduler_bin": SCHEDULER_BIN}
    return {
        **jp_server_config,
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {
                "gated": cluster,
                # its commands by full path, through the key that names the folder
                "gated-bin": {**in_bin, "identity_file": gated_keys["bin"]},
                # the same, through the key that does not
                "bin-not-allowed": in_bin,
            },
            "state_dir": str(tmp_path / "state"),
            "jobs_refresh_min": 0.0,
        },
    }


async def _state(
    rpc: Any, cluster: str, job_id: str, states: set[str], timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, job = await rpc("GET", "clusters", cluster, "jobs", job_id)
        assert status == 200, job
        if job["state"] in states:
            return dict(job)
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.5)


@pytest.mark.parametrize("gated", ["gated", "gated-bin"])
async def test_grid_engine_works_through_the_gate(
    rpc: Any, hpc_testbed: HPCTestbed, gated: str
) -> None:
    """Every Grid Engine action a user takes, through a key that runs the gate: the form
    (qconf), the job test (qsub -w v), a held submit with resources, its detail and the
    list (qstat), release, the output tail (SFTP), cancel, history (qacct). ``gated-bin``
    names its commands' folder (``scheduler_bin``): they are sent and run by full path,
    which the key allows with ``--scheduler-bin``."""
    status, form = await rpc("GET", "clusters", gated, "submit-schema")
    assert status == 200, form
    assert {"short.q", "long.q"} <= {p["name"] for p in form["partitions"]}, form
    spec = {
        "script": "#!/bin/bash\necho gated $GATE_VAR\nsleep 120\n",
        "name": "sge-gated",
        "partition": "short.q",
        "time_limit": 5,
        "memory_mb": 256,
        "env": {"GATE_VAR": "through"},
    }
    status, test = await rpc("POST", "clusters", gated, "jobs", "test", body=spec)
    assert status == 200, test
    ids: list[str] = []
    submitted: list[str] = []
    try:
        status, job = await rpc("POST", "clusters", gated, "jobs", body={**spec, "hold": True})
        assert status == 201, job
        ids.append(job["id"])
        submitted.append(job["id"])
        assert (await _state(rpc, gated, job["id"], {"held"}))["partition"] == "short.q"
        status, jobs = await rpc("GET", "clusters", gated, "jobs")
        assert status == 200 and job["id"] in {j["id"] for j in jobs["jobs"]}, jobs
        status, released = await rpc(
            "POST", "clusters", gated, "jobs", job["id"], "release", body={}
        )
        assert status == 200, released
        await _state(rpc, gated, job["id"], {"running"})
        deadline = time.monotonic() + 30
        while True:
            status, out = await rpc(
                "GET", "clusters", gated, "jobs", job["id"], "output",
                params={"stream": "stdout"},
            )  # fmt: skip
            if status == 200 and "gated through" in out["data"]:
                break
            assert time.monotonic() < deadline, (status, out)
            await asyncio.sleep(0.5)
        status, cancelled = await rpc("DELETE", "clusters", gated, "jobs", job["id"])
        assert status == 200, cancelled
        ids = []
        status, history = await rpc("GET", "clusters", gated, "history", params={"days": "1"})
        assert status == 200 and isinstance(history["jobs"], list), history
    finally:
        for job_id in ids:  # only ours, by id
            await asyncio.to_thread(
                subprocess.run, ["ssh", "-F", hpc_testbed.ssh_config, "testbed", "qdel", job_id]
            )
        for job_id in submitted:  # its output files, in the home folder (no working folder)
            outputs = [f"{spec['name']}.{kind}{job_id}" for kind in ("o", "e")]
            await asyncio.to_thread(
                subprocess.run,
                ["ssh", "-F", hpc_testbed.ssh_config, "testbed", "rm", "-f", "--", *outputs],
            )


async def test_a_scheduler_bin_the_key_does_not_name_is_refused_saying_so(rpc: Any) -> None:
    """The commands of a cluster with scheduler_bin go by their full path: a key whose
    gate lacks ``--scheduler-bin`` for that folder refuses them, and the user reads why."""
    status, error = await rpc("GET", "clusters", "bin-not-allowed", "jobs")
    assert status == 403, error
    assert error["code"] == "cluster.command_refused", error
    assert f"{SCHEDULER_BIN} is not a folder of scheduler commands" in error["message"], error
