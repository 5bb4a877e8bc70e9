"""Which folder a cluster's kernel starts in: the notebook's, when the notebook was opened
from that cluster's Remote files (the drive ``rpc-<cluster>:``), else the home folder.

jupyter_server does not hand a kernel's API path to its provisioner: the kernel manager
turns it into a local folder (``MappingKernelManager.cwd_for_path``, which walks a drive
path such as ``rpc-hpc:home/run`` up to the server's root) and passes only that as
``cwd``; ``JPY_SESSION_NAME`` is made from the same local folder when JupyterLab names the
session. So :func:`install` wraps the server's kernel manager's ``cwd_for_path`` (its
answer unchanged) to remember a drive path in a context variable of the request's task:
the kernel's start runs in that task (and the tasks it makes, which copy the context), so
the provisioner's ``pre_launch`` reads it for exactly this start.
"""

from __future__ import annotations

import contextvars
import re
from typing import Any

#: The drive path (``rpc-<cluster>:<root>/<path>``) of the kernel being started, if any.
DRIVE_PATH: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "jupyter_rpc_kernel_drive_path", default=None
)

_DRIVE = re.compile(r"^/?rpc-([^/:]+):(.*)$")


def split_drive_path(path: str) -> tuple[str, str] | None:
    """``("hpc", "home/run")`` for ``rpc-hpc:home/run``; ``None`` for another path."""
    match = _DRIVE.match(path)
    if match is None:
        return None
    return match.group(1), match.group(2).strip("/")


def install(kernel_manager: Any) -> bool:
    """Wrap ``kernel_manager.cwd_for_path`` to remember drive paths (once); False when it
    has none (not a jupyter_server kernel manager)."""
    original = getattr(kernel_manager, "cwd_for_path", None)
    if original is None or getattr(original, "_jupyter_rpc", False):
        return original is not None

    def cwd_for_path(path: Any, **kwargs: Any) -> Any:
        DRIVE_PATH.set(path if isinstance(path, str) and _DRIVE.match(path) else None)
        return original(path, **kwargs)

    cwd_for_path._jupyter_rpc = True  # type: ignore[attr-defined]
    kernel_manager.cwd_for_path = cwd_for_path
    return True
