"""Kernelspecs for the clusters: *Python 3 on CLUSTER (login node)*, and one per kernel
profile, *Python 3 on CLUSTER, PROFILE* (a kernel in a batch job).

They are written into a folder of the server's state (``<state_dir>/kernelspecs``,
private to the user) that is added to the server's ``KernelSpecManager.kernel_dirs``, so
they appear wherever the server lists kernelspecs (Lab's Launcher and kernel picker,
``/api/kernelspecs``, a notebook's kernel name for nbclient through the server), without
writing into the user's own Jupyter folders and without replacing the site's
``KernelSpecManager`` class. The folder is written afresh at every start: a cluster that
is gone leaves no kernelspec behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..private import write_private

#: The provisioner's entry point name (``jupyter_client.kernel_provisioners``).
PROVISIONER = "jupyter-rpc-cluster"


def spec_name(cluster: str) -> str:
    """The kernelspec's name for a cluster (kernel names are lower case)."""
    return "rpc-" + re.sub(r"[^a-z0-9._-]", "-", cluster.lower())


def kernel_spec(name: str, config: dict[str, Any]) -> dict[str, Any]:
    """The kernel.json of ``name``'s login-node kernel."""
    label = config.get("display_name") or name
    python = config.get("kernel_python") or "python3"
    return {
        # not run here: the provisioner starts this on the cluster
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python 3 on {label} (login node)",
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": {
            "kernel_provisioner": {
                "provisioner_name": PROVISIONER,
                "config": {"cluster": name},
            },
            "jupyter_rpc": {"cluster": name, "where": "login"},
            "debugger": False,
        },
    }


def profile_spec_name(cluster: str, profile: str) -> str:
    """The kernelspec's name for a cluster's kernel profile: ``rpc-<cluster>-<profile>``."""
    return spec_name(cluster) + "-" + re.sub(r"[^a-z0-9._-]", "-", profile.lower())


def profile_kernel_spec(name: str, config: dict[str, Any], profile: str) -> dict[str, Any]:
    """The kernel.json of ``name``'s kernel in a batch job with kernel profile
    ``profile``. Its interrupt is a message (ipykernel's ``interrupt_request`` on the
    control channel): the login node cannot signal a process on a compute node."""
    label = config.get("display_name") or name
    entry = (config.get("kernel_profiles") or {}).get(profile) or {}
    python = entry.get("kernel_python") or config.get("kernel_python") or "python3"
    return {
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python 3 on {label}, {entry.get('display_name') or profile}",
        "language": "python",
        "interrupt_mode": "message",
        "metadata": {
            "kernel_provisioner": {
                "provisioner_name": PROVISIONER,
                "config": {"cluster": name, "profile": profile},
            },
            "jupyter_rpc": {"cluster": name, "where": "job", "profile": profile},
            "debugger": False,
        },
    }


def write_specs(folder: Path, clusters: Iterable[tuple[str, dict[str, Any]]]) -> list[str]:
    """Write one kernelspec per SSH cluster (one with ``host``) that allows kernels, and
    one per kernel profile of it, into ``folder`` (emptied first; not made when there
    are none); returns their names."""
    if folder.exists():
        shutil.rmtree(folder)
    wanted = [
        (name, config)
        for name, config in clusters
        if config.get("host") and config.get("allow_kernels") is not False
    ]
    if not wanted:
        return []
    folder.mkdir(parents=True, mode=0o700)
    names = []
    for name, config in wanted:
        specs = [(spec_name(name), kernel_spec(name, config))]
        for profile in config.get("kernel_profiles") or {}:
            specs.append(
                (profile_spec_name(name, profile), profile_kernel_spec(name, config, profile))
            )
        for kname, spec in specs:
            (folder / kname).mkdir(mode=0o700)
            # private like all the extension writes (a spec names the user's cluster)
            write_private(folder / kname / "kernel.json", json.dumps(spec, indent=1))
            names.append(kname)
    return names


def install(kernel_spec_manager: Any, folder: Path) -> bool:
    """Make ``kernel_spec_manager`` find the kernelspecs in ``folder`` too (last: a
    kernelspec the user or site named ``rpc-...`` wins). False when it is not one that
    reads folders (a gateway's)."""
    dirs = getattr(kernel_spec_manager, "kernel_dirs", None)
    if not isinstance(dirs, list):
        return False
    path = os.fspath(folder)
    if path not in dirs:
        kernel_spec_manager.kernel_dirs = [*dirs, path]
    return True
