"""Replay scripts: small executables named like a scheduler's commands (``qstat``,
``qsub``, ``bjobs``, ...) put on the HPC test bed's login node, answering from the
recordings beside this file and logging the argv (and stdin, and the environment
variables a test names) they were called with, one JSON line per call.

A test cluster points its ``scheduler_bin`` at the folder, so the whole path runs for
real: a Jupyter server, the SSH pool, the login node's shell and quoting, the command's
argv. A call no rule answers exits 255 and prints nothing (no scheduler words made up).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_rpc.ssh import SSHPool, SSHRunner, SSHTarget
from jupyter_rpc.ssh.runner import Completed
from tests.fixtures.hpc import HPCTestbed

HERE = Path(__file__).parent

#: The one script, installed under every command's name.
SCRIPT = r"""#!/usr/bin/env python3
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
name = os.path.basename(sys.argv[0])
args = sys.argv[1:]
with open(os.path.join(here, "..", "answers.json")) as f:
    answers = json.load(f)
stdin = sys.stdin.read() if name in answers.get("stdin_of", []) else ""
call = {"cmd": name, "argv": args, "stdin": stdin,
        "env": {k: os.environ[k] for k in answers.get("log_env", []) if k in os.environ}}
with open(os.path.join(here, "..", "calls.jsonl"), "a") as log:
    log.write(json.dumps(call) + "\n")
for rule in answers.get("rules", {}).get(name, []):
    if all(word in args for word in rule.get("when", [])):
        sys.stdout.write(rule.get("stdout", ""))
        sys.stderr.write(rule.get("stderr", ""))
        sys.exit(rule.get("exit", 0))
sys.exit(255)
"""


def recording(name: str, **replace: str) -> str:
    """A recording's text (``replace``: one value swapped, e.g. the owner for the login user)."""
    text = (HERE / name).read_text(encoding="utf-8")
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


def target(tb: HPCTestbed) -> SSHTarget:
    return SSHTarget(
        "127.0.0.1", tb.port, tb.user, label="testbed", identity_files=(tb.key,), agent=False,
        config_files=(), known_hosts=(tb.known_hosts,), connect_timeout=10,
    )  # fmt: skip


async def _run(tb: HPCTestbed, argv: list[str], input: str | None = None) -> Completed:
    """One command on the login node as the test user, on a connection of its own (the
    replay is set up outside the server's event loop)."""
    pool = SSHPool()
    try:
        return await SSHRunner(pool, target(tb)).run(argv, input=input, timeout=30)
    finally:
        await pool.close()


@dataclass
class Replay:
    """The installed folder on the login node and how to read its call log."""

    tb: HPCTestbed
    folder: str  # its bin/ holds the commands

    @property
    def bin(self) -> str:
        return f"{self.folder}/bin"

    async def calls(self, command: str | None = None) -> list[dict[str, Any]]:
        done = await _run(self.tb, ["cat", f"{self.folder}/calls.jsonl"])
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        return [c for c in lines if command is None or c["cmd"] == command]

    async def exists(self, path: str) -> bool:
        return (await _run(self.tb, ["test", "-e", path])).ok


async def _install(
    tb: HPCTestbed, folder: str, commands: list[str], answers: dict[str, Any]
) -> None:
    steps: list[tuple[list[str], str | None]] = [
        (["mkdir", "-p", f"{folder}/bin"], None),
        (["tee", f"{folder}/answers.json"], json.dumps(answers)),
        (["tee", f"{folder}/bin/{commands[0]}"], SCRIPT),
        (["chmod", "755", f"{folder}/bin/{commands[0]}"], None),
        *((["ln", "-s", commands[0], f"{folder}/bin/{c}"], None) for c in commands[1:]),
    ]
    for argv, text in steps:
        done = await _run(tb, argv, text)
        assert done.ok, (argv, done.stderr)


@contextmanager
def installed(tb: HPCTestbed, commands: list[str], answers: dict[str, Any]) -> Iterator[Replay]:
    """The replay scripts under ``commands``' names in a fresh folder of the test user's
    home on the login node, answering by ``answers`` (``rules``: per command, a list of
    ``{"when": [argv items], "stdout", "stderr", "exit"}``, the first match answers;
    ``stdin_of``: commands whose stdin is logged; ``log_env``: variables logged).
    Removed afterwards. For sync fixtures (outside the test's event loop)."""
    folder = f"/home/{tb.user}/jrpc-replay-{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_install(tb, folder, commands, answers))
        yield Replay(tb, folder)
    finally:
        asyncio.run(_run(tb, ["rm", "-rf", "--", folder]))
