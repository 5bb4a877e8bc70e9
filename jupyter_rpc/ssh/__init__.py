"""SSH for jupyter_rpc: targets, the one connection pool, and the command runner over it."""

from .pool import PooledProcess, SSHPool
from .runner import CommandRunner, Completed, LocalRunner, SSHRunner, shell_join
from .target import SSHTarget

__all__ = [
    "Completed",
    "CommandRunner",
    "LocalRunner",
    "PooledProcess",
    "SSHPool",
    "SSHRunner",
    "SSHTarget",
    "shell_join",
]
