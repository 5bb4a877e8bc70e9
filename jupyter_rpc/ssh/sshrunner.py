"""Runs argv lists on a cluster through the pool: the :class:`CommandRunner` for SSH."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .pool import SSHPool
from .runner import Completed, shell_join
from .target import SSHTarget


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
        return Completed(list(argv), done.exit_status, done.stdout, done.stderr)
