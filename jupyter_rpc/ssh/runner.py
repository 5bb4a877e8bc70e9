"""Where commands run: a :class:`CommandRunner` runs an argv list and returns its output.

Scheduler adapters build argv lists and parse output; a runner decides *where* the
argv runs. :class:`LocalRunner` runs it as a child process (no shell); :class:`SSHRunner`
runs it through the pool, quoted once, with :func:`shell_join`, for the remote login
shell. That is the only place where values meet a remote shell.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..backend.gate import REFUSAL_PREFIX, REFUSED
from ..errors import RemoteTimeout, RemoteUnavailable, RPCError
from ..private import child_environment

if TYPE_CHECKING:
    from .pool import SSHPool
    from .target import SSHTarget


@dataclass
class Completed:
    """A finished command."""

    argv: list[str]
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


class CommandRunner(Protocol):
    """Runs an argv list somewhere and returns what it printed."""

    #: Shown in messages ("on levante", "on this machine").
    where: str

    async def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Completed:
        """Run ``argv`` (never through a local shell). Raises ``RemoteTimeout`` after
        ``timeout`` seconds and ``RemoteUnavailable`` when it cannot start at all."""
        ...


def shell_join(argv: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    """One POSIX shell command line that runs ``argv`` literally, with ``env`` set.

    Every value is single-quoted by :func:`shlex.quote`, so ``;``, ``$(...)``, backticks,
    quotes and newlines arrive as data. NUL cannot be passed through a shell and is refused.
    """
    parts: list[str] = []
    if env:
        parts.append("env")
        for key, value in env.items():
            if not key.replace("_", "a").isalnum() or key[0].isdigit():
                raise ValueError(f"invalid environment variable name {key!r}")
            parts.append(shlex.quote(f"{key}={value}"))
    for arg in argv:
        if "\0" in arg:
            raise ValueError("a command argument contains a NUL character")
        parts.append(shlex.quote(arg))
    return " ".join(parts)


_REFUSAL = re.compile(
    re.escape(REFUSAL_PREFIX)
    + r"""(?P<command>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\(no command: a shell\)): (?P<why>.*)"""
)


def gate_refusal(done: Completed, where: str) -> RPCError | None:
    """``cluster.command_refused`` when a restricted key's forced command (jupyter-rpc-gate,
    docs/restricted-keys.md) refused ``done``: exit status 126 and its one stderr line."""
    if done.exit_status != REFUSED:
        return None
    for line in done.stderr.splitlines():
        found = _REFUSAL.fullmatch(line.strip())
        if found:
            command = shlex.join(done.argv[:1]) if done.argv else "the command"
            return RPCError(
                f"The SSH key used for {where} does not allow {command}: its forced command "
                f"(jupyter-rpc-gate) refused it ({found['why']}). Ask the cluster's "
                "administrators to allow it for this key.",
                code="cluster.command_refused",
                status=403,
                details={"command": done.argv[0] if done.argv else "", "refused": line.strip()},
            )
    return None


class LocalRunner:
    """Runs commands as child processes of the server (the local cluster, tests)."""

    where = "this machine"

    async def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Completed:
        # The server's environment minus its secrets (RPCApp.child_env_drop/keep): a local
        # Slurm's sbatch --export=ALL would hand them to every job.
        full_env = {**child_environment(), **(env or {})}
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=full_env,
            )
        except OSError as exc:
            raise RemoteUnavailable(
                f"Cannot run {argv[0]!r} on {self.where}: {exc.strerror or exc}",
                code="cluster.command_not_found",
            ) from None
        try:
            out, err = await asyncio.wait_for(
                proc.communicate(input.encode() if input is not None else None), timeout
            )
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            raise RemoteTimeout(
                f"{shlex.join(argv[:2])} on {self.where} did not finish within {timeout:g} s.",
                code="cluster.timeout",
            ) from None
        except asyncio.CancelledError:
            proc.kill()
            raise
        assert proc.returncode is not None
        return Completed(
            list(argv), proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")
        )


class SSHRunner:
    """A :class:`~jupyter_rpc.ssh.runner.CommandRunner` on ``target``.

    The argv is quoted once, by :func:`shell_join`, for the remote login shell; nothing
    else builds command lines.
    """

    def __init__(self, pool: SSHPool, target: SSHTarget) -> None:
        self.pool = pool
        self.target = target
        self.where = target.label or target.address

    async def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Completed:
        """Run ``argv`` on the cluster (``RemoteTimeout``/``RemoteUnavailable`` as documented)."""
        if not argv:
            raise ValueError("an empty command")
        done = await self.pool.run(self.target, shell_join(argv, env), input=input, timeout=timeout)
        completed = Completed(list(argv), done.exit_status, done.stdout, done.stderr)
        refused = gate_refusal(completed, self.where)
        if refused is not None:
            raise refused
        return completed
