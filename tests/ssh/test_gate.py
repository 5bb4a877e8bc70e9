"""``jupyter-rpc-gate``, the forced command of a restricted SSH key (issue 19).

The matcher on the one table (the commands jupyter_rpc really builds pass, anything else is
refused with one line), the gate as a program, the admin docs generated from the table, and
on the HPC test bed: keys of hpcuser whose ``authorized_keys`` line runs the gate, a
real Jupyter server using them (jobs, files and calls work; a key without ``jobs`` gives
``cluster.command_refused`` naming the command; a backend the key does not allow says why;
a terminal is refused, by sshd or with the gate's line; a key allowed ``terminal`` gets a
login shell in the folder) and commands sent through the gate with the ``ssh`` client
(``rm -rf ~`` is refused and a marker survives).
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import pwd
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from jupyter_rpc.backend import gate
from jupyter_rpc.backend.gate import REFUSAL_PREFIX, REFUSED, Refused, plan
from jupyter_rpc.schedulers.base import JobSpec
from jupyter_rpc.schedulers.slurm import sbatch_argv
from jupyter_rpc.services.terminals import job_shell
from jupyter_rpc.ssh.channels import LOGIN_SHELL
from jupyter_rpc.ssh.runner import shell_join
from jupyter_rpc.transports.ssh import remote_command
from tests.fixtures.hpc import HPCTestbed
from tests.terminals.conftest import TermClient

ROOT = pathlib.Path(__file__).resolve().parents[2]
JOBS_FILES_RUNNER = ["jobs", "files", "runner"]


# --- the matcher on the table -------------------------------------------------------------


def _full_spec(**extra: Any) -> JobSpec:
    return JobSpec(
        script="#!/bin/bash\necho hi\n",
        name="a job; rm -rf ~ $(id)",
        partition="debug",
        account="proj1",
        qos="normal",
        time_limit=10,
        cpus=2,
        memory_mb=512,
        gpus=1,
        nodes=1,
        ntasks=2,
        array="0-9%2",
        workdir="runs/one",
        stdout="out-%j.txt",
        stderr="err-%j.txt",
        hold=True,
        env={"MY_VAR": "x y"},
        **extra,
    )


def _sent(argv: list[str], env: dict[str, str] | None = None) -> str:
    """What SSHRunner sends for ``argv``: SSH_ORIGINAL_COMMAND at the gate."""
    return shell_join(argv, env)


SENT_BY_JUPYTER_RPC = [
    _sent(sbatch_argv(_full_spec()), {"MY_VAR": "x y"}),
    _sent([*sbatch_argv(_full_spec())[:1], "--test-only", *sbatch_argv(_full_spec())[1:]]),
    _sent(sbatch_argv(JobSpec(script_path="jobs/run.sh"))),
    _sent(
        ["squeue", "-h", "--noconvert", "-r", "--format=%i\x1f%j|%T", "--me"],
        {"SLURM_TIME_FORMAT": "%s"},
    ),
    _sent(["squeue", "-h", "--noconvert", "-r", "--format=%i", "--user=hpcuser"]),
    _sent(["scontrol", "show", "job", "-o", "123_4"], {"SLURM_TIME_FORMAT": "%s"}),
    _sent(["scontrol", "show", "partition", "-o"]),
    _sent(["sinfo", "-h", "--format=%R\x1f%c\x1f%m\x1f%G"]),
    _sent(["scontrol", "write", "batch_script", "42", "-"]),
    _sent(["scontrol", "hold", "42"]),
    _sent(["scontrol", "release", "42"]),
    _sent(["scancel", "42"]),
    _sent(
        ["sacct", "-n", "-X", "-P", "--delimiter=\x1f", "--format=JobID,State", "--jobs=42"],
        {"SLURM_TIME_FORMAT": "%s"},
    ),
    _sent(
        [
            "sacct",
            "-n",
            "-P",
            "--delimiter=|",
            "--format=JobID",
            "--starttime=now-10080minutes",
            "--endtime=now",
            "--state=CA,CD,F,TO",
            "--user=hpcuser",
        ]  # fmt: skip
    ),
    remote_command(
        ["/opt/venv/bin/python", "-m", "jupyter_rpc.backend", "serve", "pkg.mod"],
        "~/work",
        {"PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "4"},
    ),
    remote_command(["python3", "-m", "jupyter_rpc.backend", "serve", "m"], None, None),
]


@pytest.mark.parametrize("command", SENT_BY_JUPYTER_RPC)
def test_every_command_jupyter_rpc_sends_matches_one_form(command: str) -> None:
    done = plan(command, JOBS_FILES_RUNNER)
    assert done.group in ("jobs", "runner")


def test_the_runner_form_runs_the_argv_with_its_env_and_folder() -> None:
    command = remote_command(
        ["/v/bin/python", "-m", "jupyter_rpc.backend", "serve", "m.n"], "~/a b", {"A": "1"}
    )
    done = plan(command, JOBS_FILES_RUNNER)
    assert done.argv == ["/v/bin/python", "-m", "jupyter_rpc.backend", "serve", "m.n"]
    assert done.env == {"A": "1"} and done.cwd == "a b"
    # --python / --module pin what the runner may start
    with pytest.raises(Refused, match="Python '/v/bin/python' is not one"):
        plan(command, JOBS_FILES_RUNNER, pythons=["/opt/bin/python3"])
    with pytest.raises(Refused, match="module 'm.n' is not one"):
        plan(command, JOBS_FILES_RUNNER, modules=["jupyter_rpc.examples.demo"])


def test_the_terminal_form_is_jupyter_rpcs_login_shell() -> None:
    assert gate.LOGIN_SHELL == LOGIN_SHELL  # the gate reads the line channels.py sends
    with pytest.raises(Refused, match="a terminal is not something this key allows"):
        plan(LOGIN_SHELL, JOBS_FILES_RUNNER)
    done = plan(f"cd -- '/home/u/my dir' && {LOGIN_SHELL}", ["terminal"])
    assert done.group == "terminal" and done.cwd == "/home/u/my dir" and done.argv[1:] == ["-l"]
    done = plan(f"cd -- {shlex.quote('/home/u/a && b')} && {LOGIN_SHELL}", ["terminal"])
    assert done.cwd == "/home/u/a && b"
    with pytest.raises(Refused, match="it cannot be read as words"):
        plan(f"cd -- 'unbalanced && {LOGIN_SHELL}", ["terminal"])


def test_the_job_shell_form_is_the_terminal_services_line() -> None:
    """A shell on a running Slurm job's node (services/terminals.py job_shell): in the
    terminal group, srun with the job's id and the user's login shell, in the folder."""
    line = job_shell("123")
    with pytest.raises(Refused, match="a terminal is not something this key allows"):
        plan(line, JOBS_FILES_RUNNER)
    done = plan(line, ["terminal"])
    assert done.group == "terminal" and done.env == {"LANG": done.env["LANG"]}
    assert done.argv[:4] == ["srun", "--jobid=123", "--overlap", "--pty"]
    assert done.argv[5:] == ["-l"] and done.argv[4].startswith("/")  # the password database's
    done = plan(f"cd -- '/home/u/my dir' && {line}", ["terminal"])
    assert done.cwd == "/home/u/my dir" and done.argv[0] == "srun"
    assert plan(job_shell("77_3"), ["terminal"]).argv[1] == "--jobid=77_3"
    # the job id is a job id, and nothing else may ride along in srun's line
    for bad in (
        line.replace("--jobid=123", "--jobid='1;rm'"),
        line.replace("--jobid=123", "--jobid=$(rm)"),
        line.replace("--overlap", "--overlap --export=LD_PRELOAD=/x"),
        line.replace("--pty ", ""),
        line.replace("srun", "salloc"),
        line.replace(" -l", " -l; rm -rf ~"),
    ):
        with pytest.raises(Refused):
            plan(bad, ["terminal", *JOBS_FILES_RUNNER])
    with pytest.raises(Refused, match="outside the allowed folders"):
        plan(f"cd -- /etc && {line}", ["terminal"], ["~/projects"])


@pytest.mark.parametrize(
    ("command", "why"),
    [
        ("rm -rf /home/u", "rm is not a command this key allows (allowed: jobs, files, runner)"),
        ("rm -rf ~", "rm is not a command this key allows"),
        ("sh -c 'rm -rf ~'", "sh is not a command this key allows"),
        ("bash -l", "bash is not a command this key allows"),
        ("sbatch --parsable --wrap='rm -rf ~'", "sbatch option '--wrap=rm -rf ~' is not allowed"),
        ("squeue -h --format=%i; rm -rf ~", "squeue takes 0 arguments, not 3"),
        ("scancel $(rm -rf ~)", "scancel takes 1 argument, not 3"),
        ("scancel '$(id)'", "the job id '$(id)' is not a job id"),
        ("scancel `id`", "the job id '`id`' is not a job id"),
        ("scancel 1 && rm -rf ~", "scancel takes 1 argument"),
        ("scontrol update JobId=1 Partition=x", "is not scontrol"),
        ("env LD_PRELOAD=/tmp/x.so scancel 1", "env may not set LD_PRELOAD"),
        ("env PATH=/tmp scancel 1", "env may not set PATH"),
        ("env -i scancel 1", "env option '-i' is not allowed"),
        ("exec sh", "sh is not a command"),
        ("python3 -c 'import os'", "is not python3 -m jupyter_rpc.backend serve"),
        ("python3 -m jupyter_rpc.backend serve 'os; id'", "is not a module"),
        ("/bin/evil -m jupyter_rpc.backend serve m", "/bin/evil is not a command this key allows"),
        ("scancel 1\nrm -rf ~", "a command with a newline"),
        ("", "an interactive shell is not something this key allows"),
        ("squeue -h --format=x --me --me", "squeue option --me is given twice"),
        ("sbatch --export=ALL", "sbatch needs --parsable here"),
    ],
)
def test_anything_else_is_refused_saying_why(command: str, why: str) -> None:
    with pytest.raises(Refused) as refused:
        plan(command, JOBS_FILES_RUNNER)
    assert why in str(refused.value)


def test_groups_and_roots() -> None:
    with pytest.raises(Refused, match="squeue needs the jobs group, which this key does not"):
        plan("squeue -h --format=%i --me", ["files"])
    with pytest.raises(Refused, match="python3 needs the runner group"):
        plan("python3 -m jupyter_rpc.backend serve m", ["jobs"])
    home = os.path.expanduser("~")
    roots = [f"{home}/projects"]
    assert plan("sbatch --parsable --chdir=projects/a --export=ALL", ["jobs"], roots)
    assert plan(f"sbatch --parsable --export=ALL {home}/projects/run.sh", ["jobs"], roots)
    assert plan(
        "sbatch --parsable --chdir=projects/a --output=../out.txt --export=ALL", ["jobs"], roots
    )
    for outside in (
        "sbatch --parsable --chdir=/etc --export=ALL",
        "sbatch --parsable --output=projects/../../x --export=ALL",
        "sbatch --parsable --export=ALL /tmp/run.sh",
        "env --chdir=/tmp python3 -m jupyter_rpc.backend serve m",
    ):
        with pytest.raises(Refused, match="outside the allowed folders"):
            plan(outside, ["jobs", "runner"], roots)
    # sbatch writes relative output files in the job's --chdir: checked there, not in
    # the home (where this one would be inside ~/projects)
    other = "/srv/gate-scratch"
    sneaky = f"--output=../{os.path.basename(home)}/projects/x"
    with pytest.raises(Refused, match="outside the allowed folders"):
        plan(f"sbatch --parsable --chdir={other} {sneaky} --export=ALL", ["jobs"], [*roots, other])


def _gate(
    command: str | None, *args: str, cwd: pathlib.Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SSH_ORIGINAL_COMMAND"}
    if command is not None:
        env["SSH_ORIGINAL_COMMAND"] = command
    return subprocess.run(
        [sys.executable, "-m", "jupyter_rpc.backend.gate", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_sftp_subsystem_runs_the_systems_sftp_server() -> None:
    """sshd puts the Subsystem line's command (or internal-sftp) in SSH_ORIGINAL_COMMAND."""
    ran: list[list[str]] = []

    def execvpe(path: str, argv: list[str], env: dict[str, str]) -> None:
        ran.append(argv)

    system = next((p for p in gate.SFTP_SERVERS if os.access(p, os.X_OK)), None)
    if system is None:
        pytest.skip("no sftp-server on this machine")
    for command in (system, f"{system} -f AUTHPRIV -l INFO", "internal-sftp"):
        ran.clear()
        gate.main([], environ={"SSH_ORIGINAL_COMMAND": command}, execvpe=execvpe)
        assert ran == [[system]], command  # the client's arguments are not passed on
    ran.clear()
    assert gate.main(["--allow", "jobs"], environ={"SSH_ORIGINAL_COMMAND": system}) == REFUSED
    gate.main(
        ["--sftp-server", "/opt/sftp-server"],
        environ={"SSH_ORIGINAL_COMMAND": "internal-sftp"},
        execvpe=execvpe,
    )
    assert ran == [["/opt/sftp-server"]]


def test_the_program_refuses_with_126_and_one_line(tmp_path: pathlib.Path) -> None:
    marker = tmp_path / "marker"
    marker.write_text("still here")
    done = _gate(f"rm -rf {tmp_path}")
    assert done.returncode == REFUSED
    assert done.stderr == (
        f"jupyter-rpc-gate: refused 'rm -rf {tmp_path}': rm is not a command this key allows "
        "(allowed: jobs, files, runner)\n"
    )
    assert marker.read_text() == "still here"
    done = _gate(None, "--allow", "jobs")
    assert done.returncode == REFUSED and done.stderr.count("\n") == 1
    assert "an interactive shell is not something this key allows (allowed: jobs)" in done.stderr
    done = _gate("squeue", "--allow", "jobs,shell")
    assert done.returncode == 2 and "unknown group shell in --allow" in done.stderr


def test_the_refusal_is_one_line_whatever_the_command() -> None:
    from jupyter_rpc.ssh.runner import Completed, gate_refusal

    for command in ("scontrol show\x1ejob -o 1", "scontrol\x0bx", "x" * 5000, "sc\u2028ancel 1"):
        with pytest.raises(Refused) as refused:
            plan(command, JOBS_FILES_RUNNER)
        line = gate.refusal_line(command, str(refused.value))
        assert len(line.splitlines()) == 1 and len(line) < 1000, line
        error = gate_refusal(Completed(["scontrol"], REFUSED, "", line + "\n"), "tb")
        assert error is not None and error.code == "cluster.command_refused", line


def test_the_program_runs_what_matches(tmp_path: pathlib.Path) -> None:
    """The runner form, run for real: the gate execs Python serving a module, in the
    folder, with the variable (the module's api_info answers on stdin/stdout)."""
    folder = tmp_path / "work dir"
    folder.mkdir()
    command = remote_command(
        [sys.executable, "-m", "jupyter_rpc.backend", "schema", "jupyter_rpc.examples.demo"],
        str(folder),
        {"PYTHONUNBUFFERED": "1"},
    )
    # "schema" is not "serve": refused; the table's form is serve
    done = _gate(command, "--allow", "runner")
    assert (
        done.returncode == REFUSED and "is not python3 -m jupyter_rpc.backend serve" in done.stderr
    )
    serve = remote_command(
        [sys.executable, "-m", "jupyter_rpc.backend", "serve", "jupyter_rpc.examples.demo"],
        str(folder),
        {"PYTHONUNBUFFERED": "1"},
    )
    env = {k: v for k, v in os.environ.items()}
    env["SSH_ORIGINAL_COMMAND"] = serve
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_rpc.backend.gate", "--allow", "runner"],
        env=env,
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    # EOF on stdin: the runner starts and ends cleanly (not refused, no gate line)
    assert proc.returncode == 0, proc.stderr
    assert REFUSAL_PREFIX not in proc.stderr


def test_the_gate_needs_only_the_standard_library(tmp_path: pathlib.Path) -> None:
    """On the cluster nothing but Python: the module alone, without site-packages (-S -I)."""
    alone = tmp_path / "gate.py"
    shutil.copyfile(ROOT / "jupyter_rpc" / "backend" / "gate.py", alone)
    env = {"SSH_ORIGINAL_COMMAND": "rm -rf ~", "PATH": os.environ.get("PATH", "")}
    done = subprocess.run(
        [sys.executable, "-S", "-I", str(alone)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == REFUSED, done.stderr
    assert done.stderr.startswith(REFUSAL_PREFIX + "'rm -rf ~': rm is not a command")


def test_the_docs_are_current() -> None:
    page = ROOT / "docs" / "restricted-keys.md"
    text = page.read_text()
    assert gate.docs_section() in text, (
        "docs/restricted-keys.md is out of date: python -m jupyter_rpc.backend.gate "
        "--docs docs/restricted-keys.md"
    )


def test_the_backend_distribution_ships_the_script() -> None:
    text = (ROOT / "packages" / "jupyter-rpc-backend" / "pyproject.toml").read_text()
    assert 'jupyter-rpc-gate = "jupyter_rpc.backend.gate:cli"' in text


# --- on the HPC test bed ------------------------------------------------------------------


@dataclass
class GateKey:
    key: str  # the private key's path
    line: str  # its authorized_keys line


def _install_gate(tb: HPCTestbed) -> str:
    """The bed's venv with this tree's gate (the bed's wheel may predate it)."""
    venv = tb.dir / "venv"
    site = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
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
            f"#!{venv}/bin/python3\nimport sys\nfrom jupyter_rpc.backend.gate import cli\n"
            "if __name__ == '__main__':\n    cli()\n"
        )
        tmp.chmod(0o755)
        tmp.replace(script)
    return str(script)


@pytest.fixture(scope="module")
def gate_keys(hpc_testbed: HPCTestbed, tmp_path_factory: Any) -> Iterator[dict[str, GateKey]]:
    """Keys of hpcuser whose authorized_keys line runs the gate (removed at the end):
    ``full`` with --allow jobs,files,runner, ``files`` with --allow files,runner, ``pty``
    as ``full`` but with a PTY (restrict,pty), ``term`` that and --allow terminal."""
    if os.geteuid() != 0:
        pytest.skip("adding a key to the test bed user's authorized_keys needs root")
    tb = hpc_testbed
    script = _install_gate(tb)
    folder = tmp_path_factory.mktemp("gate-keys")
    user = pwd.getpwnam(tb.user)
    authorized = pathlib.Path(user.pw_dir) / ".ssh" / "authorized_keys"
    tag = f"jupyter-rpc-gate-test-{secrets.token_hex(4)}"
    keys: dict[str, GateKey] = {}
    for name, allow, options in (
        ("full", "jobs,files,runner", "restrict"),
        ("files", "files,runner", "restrict"),
        ("pty", "jobs,files,runner", "restrict,pty"),
        ("term", "jobs,files,runner,terminal", "restrict,pty"),
        ("pinned", "runner --module jupyter_rpc.examples.demo", "restrict"),
    ):
        key = folder / f"id_{name}"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{tag}-{name}", "-f", str(key)],
            check=True,
        )
        public = (folder / f"id_{name}.pub").read_text().strip()
        keys[name] = GateKey(str(key), f'command="{script} --allow {allow}",{options} {public}')

    def rewrite(keep: Any, add: list[str]) -> None:
        lines = [line for line in authorized.read_text().splitlines() if keep(line)]
        tmp = authorized.with_name(f".authorized_keys.{tag}")
        tmp.write_text("\n".join([*lines, *add]) + "\n")
        os.chown(tmp, user.pw_uid, user.pw_gid)
        tmp.chmod(0o600)
        tmp.replace(authorized)

    rewrite(lambda line: True, [k.line for k in keys.values()])
    try:
        yield keys
    finally:
        rewrite(lambda line: tag not in line, [])


def _ssh(
    tb: HPCTestbed, key: str, command: str | None, *, tty: bool = False
) -> subprocess.CompletedProcess[str]:
    argv = [
        "ssh", "-F", "none", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
        "-o", f"UserKnownHostsFile={tb.known_hosts}", "-p", str(tb.port),
        "-tt" if tty else "-T", f"{tb.user}@127.0.0.1",
    ]  # fmt: skip
    if command is not None:
        argv.append(command)
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


@pytest.fixture
def marker(hpc_testbed: HPCTestbed) -> Iterator[pathlib.Path]:
    """A file in hpcuser's home that a refused ``rm -rf ~`` must leave."""
    user = pwd.getpwnam(hpc_testbed.user)
    path = pathlib.Path(user.pw_dir) / f"gate-marker-{secrets.token_hex(4)}"
    path.write_text("still here\n")
    os.chown(path, user.pw_uid, user.pw_gid)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def test_rm_rf_home_through_the_gate_is_refused(
    hpc_testbed: HPCTestbed, gate_keys: dict[str, GateKey], marker: pathlib.Path
) -> None:
    key = gate_keys["full"].key
    # First a harmless command that must be refused too: if the gate let it through,
    # stop before sending rm -rf ~ (the bed's home is shared by every test).
    canary = marker.with_name(marker.name + "-canary")
    done = _ssh(hpc_testbed, key, f"touch {canary}")
    assert done.returncode == REFUSED and not canary.exists(), (done, "the gate let touch run")
    for command, why in [
        ("rm -rf ~", "rm is not a command this key allows (allowed: jobs, files, runner)"),
        ("sh -c 'rm -rf ~'", "sh is not a command this key allows"),
        ("sbatch --parsable --wrap='rm -rf ~'", "sbatch option '--wrap=rm -rf ~' is not allowed"),
        ("scancel 1; rm -rf ~", "scancel takes 1 argument, not 4"),
        ("scancel $(rm -rf ~)", "scancel takes 1 argument, not 3"),
    ]:
        done = _ssh(hpc_testbed, key, command)
        assert done.returncode == REFUSED, (command, done)
        lines = done.stderr.splitlines()
        assert lines == [f"jupyter-rpc-gate: refused {command!r}: {why}"] or (
            len(lines) == 1 and lines[0].startswith(REFUSAL_PREFIX) and why in lines[0]
        ), (command, done.stderr)
        assert marker.read_text() == "still here\n"
    # an interactive shell, with or without a PTY
    done = _ssh(hpc_testbed, key, None)
    assert done.returncode == REFUSED
    assert "an interactive shell is not something this key allows" in done.stderr
    done = _ssh(hpc_testbed, key, None, tty=True)
    assert done.returncode != 0
    assert "PTY allocation request failed" in done.stderr  # `restrict`: no PTY at all
    # what the gate does allow runs for real
    done = _ssh(hpc_testbed, key, "squeue -h --format=%i --me")
    assert done.returncode == 0, done.stderr


def _cluster(tb: HPCTestbed, key: str, scheduler: str = "slurm") -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": tb.port,
        "user": tb.user,
        "identity_file": key,
        "known_hosts": tb.known_hosts,
        "ssh_config": False,
        "agent": False,
        "scheduler": scheduler,
    }


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any],
    hpc_testbed: HPCTestbed,
    gate_keys: dict[str, GateKey],
    tmp_path: pathlib.Path,
) -> dict[str, Any]:
    tb = hpc_testbed
    if tb.python is None:
        pytest.skip("the test bed has no Python with jupyter_rpc for the test user")
    return {
        **jp_server_config,
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {
                "gated": _cluster(tb, gate_keys["full"].key),
                "nojobs": _cluster(tb, gate_keys["files"].key),
                "ptykey": _cluster(tb, gate_keys["pty"].key),
                "termkey": _cluster(tb, gate_keys["term"].key),
                "pinned": _cluster(tb, gate_keys["pinned"].key, scheduler="none"),
            },
            "backends": {
                "remote": {
                    "transport": "ssh",
                    "cluster": "gated",
                    "module": "jupyter_rpc.examples.demo",
                    "python": tb.python,
                    "cwd": "~",
                },
                "unlisted": {
                    "transport": "ssh",
                    "cluster": "pinned",
                    "module": "jupyter_rpc.examples.unlisted",
                    "python": tb.python,
                },
            },
            "state_dir": str(tmp_path / "state"),
            "jobs_refresh_min": 0.0,
        },
    }


async def _wait_state(rpc: Any, job_id: str, states: set[str], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, job = await rpc("GET", "clusters", "gated", "jobs", job_id)
        assert status == 200, job
        if job["state"] in states:
            return job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.5)


async def test_jobs_files_and_calls_work_through_the_gate(
    rpc: Any, hpc_testbed: HPCTestbed
) -> None:
    # a function call on the SSH backend (the runner started through the gate)
    status, call = await rpc(
        "POST", "backends", "remote", "calls",
        body={"function": "add", "arguments": {"a": 2, "b": 40}, "wait": 60},
    )  # fmt: skip
    assert status == 201 and call["state"] == "succeeded" and call["result"] == 42, call
    # files over SFTP (the subsystem through the gate)
    folder = f"home/gate-{secrets.token_hex(4)}"
    status, made = await rpc(
        "PUT", "clusters", "gated", "files", folder, body={"type": "directory"}
    )
    assert status == 201, made
    job_id = None
    try:
        status, saved = await rpc(
            "PUT", "clusters", "gated", "files", f"{folder}/in.txt",
            body={"type": "file", "format": "text", "content": "alpha\n"},
        )  # fmt: skip
        assert status == 200, saved
        status, opened = await rpc("GET", "clusters", "gated", "files", f"{folder}/in.txt")
        assert status == 200 and opened["content"] == "alpha\n", opened
        status, listing = await rpc("GET", "clusters", "gated", "files", folder)
        assert status == 200 and [e["name"] for e in listing["content"]] == ["in.txt"], listing
        # a Slurm job: submit (script on stdin, options checked by the gate), detail, list,
        # output tail, cancel
        status, job = await rpc(
            "POST", "clusters", "gated", "jobs",
            body={
                "script": "#!/bin/bash\necho started\nsleep 120\n",
                "name": "gate test",
                "time_limit": 5,
                "workdir": folder[5:],
                "env": {"GATE_VAR": "1"},
            },
        )  # fmt: skip
        assert status == 201, job
        job_id = job["id"]
        running = await _wait_state(rpc, job_id, {"running"})
        status, jobs = await rpc("GET", "clusters", "gated", "jobs")
        assert status == 200 and job_id in {j["id"] for j in jobs["jobs"]}, jobs
        deadline = time.monotonic() + 30
        while True:
            status, out = await rpc(
                "GET", "clusters", "gated", "jobs", job_id, "output", params={"stream": "stdout"}
            )
            if status == 200 and "started" in out["data"]:
                break
            assert time.monotonic() < deadline, (status, out, running)
            await asyncio.sleep(0.5)
        status, _ = await rpc("DELETE", "clusters", "gated", "jobs", job_id)
        assert status in (200, 202, 204), _
        job_id = None
    finally:
        if job_id is not None:
            _ssh(hpc_testbed, hpc_testbed.key, f"scancel {job_id}")
        status, _ = await rpc("DELETE", "clusters", "gated", "files", folder)


async def test_every_job_action_works_through_the_gate(rpc: Any, hpc_testbed: HPCTestbed) -> None:
    """The rest of the scheduler's commands, each through the gate for real: the submit
    form (scontrol show partition, sinfo), Test (sbatch --test-only), a held job (hold,
    release), its script for Resubmit (scontrol write batch_script), history (sacct)."""
    status, form = await rpc("GET", "clusters", "gated", "submit-schema")
    assert status == 200 and form, form
    status, estimate = await rpc(
        "POST", "clusters", "gated", "jobs", "test", body={"script": "sleep 1", "time_limit": 1}
    )
    assert status == 200 and estimate["expected_start"], estimate
    ids: list[str] = []
    try:
        status, held = await rpc(
            "POST", "clusters", "gated", "jobs",
            body={"script": "#!/bin/bash\nsleep 30\n", "time_limit": 1, "hold": True},
        )  # fmt: skip
        assert status == 201, held
        ids.append(held["id"])
        assert (await _wait_state(rpc, held["id"], {"held"}))["state"] == "held"
        status, released = await rpc(
            "POST", "clusters", "gated", "jobs", held["id"], "release", body={}
        )
        assert status == 200 and released["state"] != "held", released
        status, again = await rpc(
            "POST", "clusters", "gated", "jobs", held["id"], "resubmit", body={}
        )
        assert status == 201, again
        ids.append(again["id"])
        for job_id in ids:
            status, cancelled = await rpc("DELETE", "clusters", "gated", "jobs", job_id)
            assert status == 200, cancelled
        ids = []
        status, history = await rpc("GET", "clusters", "gated", "history", params={"days": "1"})
        assert status == 200 and isinstance(history["jobs"], list), history
    finally:
        if ids:
            _ssh(hpc_testbed, hpc_testbed.key, "scancel " + " ".join(ids))


async def test_a_refused_scheduler_command_names_it(rpc: Any) -> None:
    """A key without ``jobs``: the jobs panel's list says the cluster's key does not allow
    squeue; its files still work."""
    status, err = await rpc("GET", "clusters", "nojobs", "jobs")
    assert status == 403, err
    assert err["code"] == "cluster.command_refused", err
    assert "does not allow squeue" in err["message"]
    assert "squeue needs the jobs group, which this key does not allow" in err["message"]
    assert err["details"]["refused"].startswith(REFUSAL_PREFIX)
    status, listing = await rpc(
        "GET", "clusters", "nojobs", "files", "home", params={"content": "0"}
    )
    assert status == 200, listing


async def test_a_backend_the_key_does_not_allow_says_why(rpc: Any) -> None:
    status, err = await rpc("GET", "backends", "unlisted", "functions")
    assert status == 503, err
    assert "the module 'jupyter_rpc.examples.unlisted' is not one this key allows" in err["message"]


async def test_a_terminal_through_the_key_is_refused(rpc: Any, jp_ws_fetch: Any) -> None:
    # restrict: sshd refuses the PTY before the gate runs; the terminal's error says the
    # key gets no terminal (services/terminals.py, 520fa39)
    status, err = await rpc("POST", "clusters", "gated", "terminals", body={})
    assert status == 403 and err["code"] == "terminal.refused", err
    assert "gated gives this SSH key no terminal" in err["message"], err
    # restrict,pty without the terminal group: the shell is the gate, which says why and ends
    status, model = await rpc("POST", "clusters", "ptykey", "terminals", body={})
    assert status == 201, model
    ws = await jp_ws_fetch(
        "jupyter-rpc", "clusters", "ptykey", "terminals", model["name"], "websocket"
    )
    term = TermClient(ws)
    try:
        await term.expect(
            r"jupyter-rpc-gate: refused .*: a terminal is not something this key allows "
            r"\(allowed: jobs, files, runner\)"
        )
    finally:
        term.close()


async def test_a_key_allowed_terminals_gets_a_login_shell(rpc: Any, jp_ws_fetch: Any) -> None:
    """--allow ...,terminal and restrict,pty: the gate runs the login shell, in the folder."""
    folder = f"home/gate-term-{secrets.token_hex(4)}"
    status, made = await rpc(
        "PUT", "clusters", "termkey", "files", folder, body={"type": "directory"}
    )
    assert status == 201, made
    try:
        status, model = await rpc("POST", "clusters", "termkey", "terminals", body={"cwd": folder})
        assert status == 201, model
        ws = await jp_ws_fetch(
            "jupyter-rpc", "clusters", "termkey", "terminals", model["name"], "websocket"
        )
        term = TermClient(ws)
        try:
            assert (await term.run("echo $((6*7))")).strip() == "42"
            assert (await term.run("pwd")).strip() == made["real_path"]
        finally:
            term.close()
        await rpc("DELETE", "clusters", "termkey", "terminals", model["name"])
    finally:
        await rpc("DELETE", "clusters", "termkey", "files", folder)


async def test_a_job_shell_through_a_key_allowed_terminals(
    rpc: Any, jp_ws_fetch: Any, hpc_testbed: HPCTestbed
) -> None:
    """Shell on the job's node (srun --jobid=ID --overlap --pty) through the gate: a key
    with ``terminal`` runs it inside the job ($SLURM_JOB_ID is the job's); a restrict,pty
    key without it shows the gate's line naming the terminal."""
    status, job = await rpc(
        "POST", "clusters", "termkey", "jobs",
        body={"script": "#!/bin/sh\nsleep 300\n", "time_limit": 5, "name": "gate job shell"},
    )  # fmt: skip
    assert status == 201, job
    job_id = str(job["id"])
    try:
        deadline = time.monotonic() + 60
        while True:
            status, info = await rpc("GET", "clusters", "termkey", "jobs", job_id)
            if info.get("state") == "running":
                break
            assert time.monotonic() < deadline, info
            await asyncio.sleep(0.5)
        status, model = await rpc("POST", "clusters", "termkey", "terminals", body={"job": job_id})
        assert status == 201 and model["job"] == job_id, model
        ws = await jp_ws_fetch(
            "jupyter-rpc", "clusters", "termkey", "terminals", model["name"], "websocket"
        )
        term = TermClient(ws)
        try:
            assert (await term.run("echo $SLURM_JOB_ID", timeout=20)).strip() == job_id
        finally:
            term.close()
        await rpc("DELETE", "clusters", "termkey", "terminals", model["name"])
        # the same job through a key without the terminal group
        status, model = await rpc("POST", "clusters", "ptykey", "terminals", body={"job": job_id})
        assert status == 201, model
        ws = await jp_ws_fetch(
            "jupyter-rpc", "clusters", "ptykey", "terminals", model["name"], "websocket"
        )
        term = TermClient(ws)
        try:
            await term.expect(
                r"jupyter-rpc-gate: refused .*srun --jobid=" + job_id + r".*: a terminal is not "
                r"something this key allows \(allowed: jobs, files, runner\)"
            )
        finally:
            term.close()
        await rpc("DELETE", "clusters", "ptykey", "terminals", model["name"])
    finally:
        _ssh(hpc_testbed, hpc_testbed.key, f"scancel {job_id}")
