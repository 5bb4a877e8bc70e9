"""jupyter_rpc: remote functions, HPC jobs and remote files beside your notebooks."""

from __future__ import annotations

import pkgutil
import warnings
from typing import Any

# jupyter_rpc/backend, protocol and examples ship in their own distribution
# (jupyter-rpc-backend, what a login node installs); pip may put it in another site folder
# than this one (a user's site beside a system-wide jupyter_rpc), so look in every folder.
__path__ = pkgutil.extend_path(__path__, __name__)

from ._dependencies import quiet_dependency_warnings

quiet_dependency_warnings()

try:
    from ._version import __version__
except ImportError:  # pragma: no cover - only before the first build
    warnings.warn("Importing 'jupyter_rpc' outside a proper installation.", stacklevel=2)
    __version__ = "dev"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-rpc"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import RPCApp

    return [{"module": "jupyter_rpc", "app": RPCApp}]


__all__ = [
    "OpenPanelFirst",
    "RemoteError",
    "__version__",
    "apps",
    "cluster",
    "clusters",
    "connect",
    "executor",
    "place",
    "sessions",
]


def __getattr__(name: str) -> Any:
    # The notebook entry points, imported on first use: backend processes import this
    # package too and should not pay for an HTTP client at start-up.
    if name in ("connect", "RemoteError", "OpenPanelFirst"):
        from .notebook import client

        return getattr(client, name)
    if name == "executor":
        from .notebook import executor as notebook_executor

        return notebook_executor.executor
    if name in ("cluster", "clusters"):
        from .notebook import clusters as notebook_clusters

        return getattr(notebook_clusters, name)
    if name == "place":
        from .notebook import placement as notebook_placement

        return notebook_placement.place
    if name in ("apps", "sessions"):
        from .notebook import apps as notebook_apps

        return getattr(notebook_apps, name)
    raise AttributeError(f"module 'jupyter_rpc' has no attribute {name!r}")
