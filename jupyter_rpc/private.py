"""What the extension writes stays the user's, and what it starts does not get the server's secrets.

Files and folders: everything the extension keeps for itself (local jobs' state, the
user's clusters, trusted host keys, temporary files of writes in flight) is created
private, 0600 files and 0700 folders, whatever the server's umask (a Debian home is 0755
and its umask 022: with the defaults, other users could read a job's environment).
A folder made earlier with looser bits is tightened when it is used.

Environments: local jobs and local backends start from the server's environment minus
the server's secrets (:func:`child_environment`), one policy for both, set by
``RPCApp.child_env_drop`` / ``RPCApp.child_env_keep``.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

#: Jupyter's and JupyterHub's own credentials: a child process never needs them.
JUPYTER_SECRETS = (
    "JUPYTER_TOKEN",
    "JPY_API_TOKEN",
    "JUPYTERHUB_API_TOKEN",
    "JUPYTERHUB_OAUTH_SECRET",
    "JPY_COOKIE_SECRET",
    "JUPYTERHUB_COOKIE_SECRET",
    "JUPYTERHUB_CRYPT_KEY",
)

#: ``RPCApp.child_env_drop``'s default: Jupyter's secrets and names that say they hold one
#: (shell patterns, matched ignoring case).
DEFAULT_DROP = (
    *JUPYTER_SECRETS,
    "*_TOKEN",
    "*_SECRET",
    "*_PASSWORD",
    "*_PASSWD",
    "*_API_KEY",
    "*_SECRET_KEY",
    "*_PRIVATE_KEY",
    "*_ACCESS_KEY",
)


class EnvPolicy:
    """Which of the server's variables a child process inherits: all but those matching
    ``drop``, unless they match ``keep`` (shell patterns, case ignored)."""

    def __init__(self, drop: Iterable[str] = DEFAULT_DROP, keep: Iterable[str] = ()) -> None:
        self.drop = tuple(p.upper() for p in drop)
        self.keep = tuple(p.upper() for p in keep)

    def passes(self, name: str) -> bool:
        upper = name.upper()
        if any(fnmatch.fnmatchcase(upper, p) for p in self.keep):
            return True
        return not any(fnmatch.fnmatchcase(upper, p) for p in self.drop)

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (the server's environment) without what it must not pass on."""
        source = os.environ if base is None else base
        return {k: v for k, v in source.items() if self.passes(k)}


#: The policy in force: the app sets it from its traits as it starts (one per process,
#: like the environment it filters).
_policy = EnvPolicy()


def configure(drop: Iterable[str], keep: Iterable[str]) -> None:
    """Set the policy (``RPCApp.initialize_settings``)."""
    global _policy
    _policy = EnvPolicy(drop, keep)


def child_environment() -> dict[str, str]:
    """The server's environment as a local job or local backend inherits it; what the job
    or backend entry sets itself is added by the caller (it is the user's or site's choice)."""
    return _policy.environment()


def private_dir(path: str | os.PathLike[str]) -> Path:
    """``path`` as a folder only the user can enter (0700): missing folders up to it are
    made 0700, and ``path`` itself is set 0700 if an older version made it looser."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists() and probe.parent != probe:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(folder, 0o700)  # the umask may have taken bits the user needs
    if path.stat().st_mode & 0o777 != 0o700:
        os.chmod(path, 0o700)
    return path


def write_private(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` as a 0600 file (an existing file is set 0600 too)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        os.fchmod(fd, 0o600)
        data = memoryview(text.encode("utf-8"))
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)
