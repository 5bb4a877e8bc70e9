"""Host key checking: strict known_hosts, unknown keys reported with their fingerprint."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncssh

from ..errors import InvalidRequest, RemoteFailed, RPCError
from ..private import private_dir


@dataclass
class HostKeyCheck:
    """The known_hosts lookup of one connection attempt, and what it saw.

    Used as asyncssh's ``known_hosts`` callable. When the server's key is not among the
    trusted ones, asyncssh asks :meth:`SSHClient.validate_host_public_key`, which records
    the key here (``seen``); ``known`` says whether the files had *other* keys for the host
    (a changed key) or none (an unknown host).
    """

    files: Sequence[str]
    host: str = ""
    port: int | None = None
    known: bool = False
    seen: asyncssh.SSHKey | None = None

    def __call__(self, host: str, addr: str, port: int | None) -> Any:
        self.host, self.port = host, port
        files = [f for f in self.files if os.path.isfile(f)]
        if not files:
            return ((), (), ())
        result = asyncssh.read_known_hosts(files).match(host, addr, port)
        self.known = bool(result[0] or result[1])
        return result

    def error(self, target_name: str, port: int) -> RPCError:
        """The error for a key that was not trusted."""
        assert self.seen is not None
        key_type = self.seen.get_algorithm()
        fp = fingerprint(self.seen)
        where = f"{self.host}:{port}"
        details = {"host": self.host, "port": port, "key_type": key_type, "fingerprint": fp}
        if self.known:
            return RemoteFailed(
                f"The host key of {where} ({target_name}) has CHANGED: it now sends a {key_type} key "
                f"with fingerprint {fp}, which is not the key on record. This can mean someone is "
                "intercepting the connection. The connection was refused; ask the cluster's "
                "administrators whether the key changed, then update your known_hosts file.",
                code="ssh.host_key_changed",
                details=details,
            )
        return RPCError(
            f"The host {where} ({target_name}) is not known. Its {key_type} key has the fingerprint "
            f"{fp}. Compare it with the one your cluster documents and, if it matches, trust it.",
            code="ssh.host_unknown",
            status=428,
            details=details,
        )


def fingerprint(key: asyncssh.SSHKey) -> str:
    """``SHA256:...`` as OpenSSH prints it."""
    return str(key.get_fingerprint("sha256"))


def host_pattern(host: str, port: int | None) -> str:
    """The known_hosts name of ``host`` on ``port``."""
    return host if port in (None, 22) else f"[{host}]:{port}"


def append_trusted(path: str, host: str, port: int | None, key: asyncssh.SSHKey) -> None:
    """Add ``key`` for ``host``:``port`` to our trusted-hosts file (created with mode 0600)."""
    if not host or any(c.isspace() or c in "*?!,#[]|\\" for c in host) or host.startswith("@"):
        # A known_hosts name with pattern characters would trust this key for other hosts.
        raise InvalidRequest(
            f"The host name {host!r} cannot be recorded in known_hosts (it contains a pattern "
            "or separator character); nothing was trusted.",
            code="ssh.trust_unavailable",
            details={"host": host},
        )
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):  # ours to make (the state folder): private
        private_dir(folder)
    algorithm, data = key.export_public_key("openssh").decode().split()[:2]
    line = f"{host_pattern(host, port)} {algorithm} {data}\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, line.encode())
    finally:
        os.close(fd)
