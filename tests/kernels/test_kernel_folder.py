"""Which folder a cluster's kernel starts in (issue 20): a notebook opened from the
cluster's Remote files (its session's path on the drive ``rpc-<cluster>:``, as JupyterLab
sends it) starts the kernel in the notebook's folder there, on the login node and in a
batch job; a notebook elsewhere (this server's files, another cluster's drive) starts it
in the home folder. A real Jupyter server, the HPC test bed's SSH and Slurm."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.hpc import HPCTestbed
from tests.kernels.conftest import remote_home, ssh_cluster


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], hpc_testbed: HPCTestbed, kernel_python: str, tmp_path: Any
) -> dict[str, Any]:
    profiles = {"debug": {"resources": {"partition": "debug", "time_limit": 5, "cpus": 1}}}
    return {
        **jp_server_config,
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {
                "testbed": ssh_cluster(
                    hpc_testbed,
                    scheduler="slurm",
                    kernel_python=kernel_python,
                    kernel_profiles=profiles,
                    roots={"home": "~"},
                ),
                "other": ssh_cluster(hpc_testbed, roots={"home": "~"}),
            },
            "state_dir": str(tmp_path / "state"),
        },
    }


@pytest.fixture
def notebook_folder(hpc_testbed: HPCTestbed, tmp_path: Any) -> Iterator[str]:
    """``nb-test-<n>/sub folder`` in the bed user's home (a space in its name), made as
    that user; its drive path under ``home``."""
    name = f"nb-test-{tmp_path.name[-12:]}"
    script = f"mkdir -p ~/{name}/'sub folder' && echo '{{}}' > ~/{name}/'sub folder'/nb.ipynb"
    subprocess.run(["ssh", "-F", hpc_testbed.ssh_config, "testbed", script], check=True, timeout=30)
    yield f"{name}/sub folder"
    shutil.rmtree(remote_home(hpc_testbed) / name, ignore_errors=True)


CWD = "import os; print(os.getcwd())"


async def cwd_of_session(api: Any, kernel_ws: Any, path: str, kernel: str) -> str:
    """Start a notebook's session as JupyterLab does (its path, its name, a kernelspec),
    run ``os.getcwd()`` in it, end it."""
    body = {
        "path": path,
        "name": path.rsplit("/", 1)[-1],
        "type": "notebook",
        "kernel": {"name": kernel},
    }
    status, session = await api("POST", "sessions", body=body, request_timeout=90)
    assert status == 201, session
    try:
        ws = await kernel_ws(session["kernel"]["id"])
        out = await ws.execute(CWD)
        assert out["status"] == "ok", out
        ws.close()
        return str(out["stdout"].strip())
    finally:
        await api("DELETE", "sessions", session["id"], request_timeout=60)


async def test_a_notebook_from_the_clusters_files_starts_in_its_folder(
    api: Any, kernel_ws: Any, hpc_testbed: HPCTestbed, notebook_folder: str
) -> None:
    home = remote_home(hpc_testbed)
    real = str(home / notebook_folder)
    path = f"rpc-testbed:home/{notebook_folder}/nb.ipynb"
    assert await cwd_of_session(api, kernel_ws, path, "rpc-testbed") == real
    # in a batch job too
    assert await cwd_of_session(api, kernel_ws, path, "rpc-testbed-debug") == real
    # a notebook of this server, or on another cluster's drive: the home folder
    assert await cwd_of_session(api, kernel_ws, "local/nb.ipynb", "rpc-testbed") == str(home)
    other = f"rpc-other:home/{notebook_folder}/nb.ipynb"
    assert await cwd_of_session(api, kernel_ws, other, "rpc-testbed-debug") == str(home)


async def test_a_folder_that_is_gone_starts_the_kernel_at_home(
    api: Any, kernel_ws: Any, hpc_testbed: HPCTestbed
) -> None:
    path = "rpc-testbed:home/no-such-folder-here/nb.ipynb"
    cwd = await cwd_of_session(api, kernel_ws, path, "rpc-testbed")
    assert pathlib.Path(cwd) == remote_home(hpc_testbed)
