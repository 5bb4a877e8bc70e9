"""A kernel's environment (issue 20): module lines (``kernel_modules``) and a conda
environment (``kernel_conda_env``) made before the kernel starts, on the login node and
in a batch job, through a real Jupyter server on the HPC test bed.

The bed has neither Environment Modules/Lmod nor conda (none is installed for this), so
the test gives the bed's user stand-ins the way a site gives the real ones: shell
functions ``module`` and ``conda`` defined in ``/etc/profile.d`` (sourced by login
shells, not by the non-login shells of an SSH exec channel or a batch script; the kernel's
start sources ``/etc/profile`` when ``module``/``conda`` is not a command yet). ``module
load NAME`` adds NAME to ``$LOADEDMODULES`` (``nosuch*`` fails in Lmod's words); ``conda
shell.posix activate kenv`` prints what conda prints: exports of ``CONDA_PREFIX``,
``CONDA_DEFAULT_ENV`` and ``PATH`` for the bed user's venv ``~/kenv`` (with ipykernel),
which plays the conda environment; the stand-in also sets ``d`` as a site's profile
scripts may (the start keeps its own variables). What is real: the quoting, the order (modules, then
the environment, then its ``python``), the shells (the login node's and Slurm's
``/bin/sh``), the failure's report; what is not: Lmod and conda themselves."""

from __future__ import annotations

import os
import pathlib
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.hpc import HPCTestbed
from tests.kernels.conftest import remote_home, ssh_cluster

FAKES = r"""# jupyter_rpc tests (tests/kernels/test_kernel_env.py): stand-ins for the bed user only
[ "$(id -un)" = {user} ] || return 0
d=/profile-scripts-use-short-names  # as a site's may: the start keeps its own $d
module() {
  [ "$1" = load ] || { echo "fake module: $*" >&2; return 1; }
  shift
  for m in "$@"; do
    case "$m" in
      nosuch*) echo "Lmod has detected the following error: The following module(s) are unknown: \"$m\"" >&2; return 1;;
    esac
    LOADEDMODULES="${LOADEDMODULES:+$LOADEDMODULES:}$m"
  done
  export LOADEDMODULES
}
conda() {
  if [ "$1 $2" = "shell.posix activate" ] && { [ "$3" = kenv ] || [ "$3" = "$HOME/kenv" ]; }; then
    echo "export CONDA_PREFIX='$HOME/kenv'"
    echo "export CONDA_DEFAULT_ENV='$3'"
    echo "export PATH='$HOME/kenv/bin':\"\$PATH\""
    return 0
  fi
  echo "EnvironmentNameNotFound: Could not find conda environment: $3" >&2
  return 1
}
"""

#: A module name no shell may read as anything but one word.
ODD = "odd;$(touch {marker})`touch {marker}`'\"name"


@pytest.fixture(scope="module")
def fake_modules(hpc_testbed: HPCTestbed) -> Iterator[None]:
    folder = pathlib.Path("/etc/profile.d")
    if not os.access(folder, os.W_OK):
        pytest.skip("the stand-in module/conda need /etc/profile.d (root on the bed's machine)")
    path = folder / f"zz-jupyter-rpc-test-{secrets.token_hex(4)}.sh"
    path.write_text(FAKES.replace("{user}", hpc_testbed.user))
    try:
        yield
    finally:
        path.unlink()


@pytest.fixture
def marker(hpc_testbed: HPCTestbed) -> Iterator[pathlib.Path]:
    path = remote_home(hpc_testbed) / f"marker-{secrets.token_hex(4)}"
    yield path
    assert not path.exists(), "a module name ran as a command"


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any],
    hpc_testbed: HPCTestbed,
    kernel_python: str,
    tmp_path: Any,
    fake_modules: None,
    marker: pathlib.Path,
) -> dict[str, Any]:
    odd = ODD.replace("{marker}", str(marker))
    profiles = {
        "env": {
            "resources": {"partition": "debug", "time_limit": 5, "cpus": 1},
            "kernel_modules": ["gcc/12", "cuda/12.4"],
            "kernel_conda_env": "~/kenv",
        }
    }
    return {
        **jp_server_config,
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {
                # no kernel_python: the conda environment's python
                "envs": ssh_cluster(
                    hpc_testbed,
                    scheduler="slurm",
                    kernel_modules=["gcc/12", odd],
                    kernel_conda_env="kenv",
                    kernel_profiles=profiles,
                ),
                "badmod": ssh_cluster(
                    hpc_testbed, kernel_python=kernel_python, kernel_modules=["nosuch/1.0"]
                ),
                "badenv": ssh_cluster(hpc_testbed, kernel_conda_env="nosuch-env"),
            },
            "state_dir": str(tmp_path / "state"),
        },
    }


SHOW = (
    "import os, sys\n"
    "print(repr(os.environ.get('LOADEDMODULES')), os.environ.get('CONDA_DEFAULT_ENV'), "
    "sys.prefix, os.environ.get('SLURM_JOB_ID', '-'), sep='|')"
)


async def run_cell(api: Any, kernel_ws: Any, name: str) -> list[str]:
    status, kernel = await api("POST", "kernels", body={"name": name}, request_timeout=90)
    assert status == 201, kernel
    try:
        ws = await kernel_ws(kernel["id"])
        out = await ws.execute(SHOW)
        assert out["status"] == "ok", out
        ws.close()
        return out["stdout"].strip().split("|")
    finally:
        await api("DELETE", "kernels", kernel["id"], request_timeout=60)


async def test_modules_and_conda_env_on_the_login_node(
    api: Any, kernel_ws: Any, hpc_testbed: HPCTestbed, marker: pathlib.Path
) -> None:
    modules, env, prefix, job = await run_cell(api, kernel_ws, "rpc-envs")
    assert modules == repr("gcc/12:" + ODD.replace("{marker}", str(marker)))
    assert env == "kenv"
    assert prefix == str(remote_home(hpc_testbed) / "kenv")  # the environment's python
    assert job == "-"


async def test_a_profiles_environment_in_a_batch_job(
    api: Any, kernel_ws: Any, hpc_testbed: HPCTestbed
) -> None:
    modules, env, prefix, job = await run_cell(api, kernel_ws, "rpc-envs-env")
    assert modules == repr("gcc/12:cuda/12.4")  # the profile's, not the cluster's
    assert env == "~/kenv" or env.endswith("/kenv"), env
    assert prefix == str(remote_home(hpc_testbed) / "kenv")
    assert job.isdigit(), job


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("rpc-badmod", ["module load nosuch/1.0", "The following module(s) are unknown"]),
        ("rpc-badenv", ["conda activate nosuch-env", "Could not find conda environment"]),
    ],
)
async def test_an_environment_that_fails_says_so(api: Any, name: str, words: list[str]) -> None:
    status, answer = await api("POST", "kernels", body={"name": name}, request_timeout=90)
    assert status == 500, answer
    message = answer["message"]
    assert "its environment could not be set up there" in message, message
    assert "kernel_modules and kernel_conda_env" in message, message
    for word in words:
        assert word in message, message


async def test_your_own_environment_replaces_the_clusters(
    api: Any, rpc: Any, kernel_ws: Any, tmp_path: pathlib.Path
) -> None:
    """A user sets their own environment on a site's cluster whose modules fail: their
    kernels there start with theirs (the cluster's is back once it is forgotten)."""
    status, env = await rpc("GET", "clusters", "badmod", "kernel-env")
    assert status == 200, env
    assert env["site"]["kernel_modules"] == ["nosuch/1.0"] and env["yours"] == {}, env

    for values, key in [
        ({"kernel_modules": ["gcc/12\nrm -rf ~"]}, "kernel_modules"),  # not one word
        ({"kernel_python": ""}, None),  # empty: the cluster's (nothing refused)
    ]:
        status, answer = await rpc(
            "PUT", "clusters", "badmod", "kernel-env", body={"values": values}
        )
        if key is None:
            assert status == 200 and answer["yours"] == {}, answer
        else:
            assert status == 400 and answer["details"]["field"] == key, answer
            assert "kernel_modules" in answer["message"], answer

    status, env = await rpc(
        "PUT", "clusters", "badmod", "kernel-env", body={"values": {"kernel_modules": ["gcc/12"]}}
    )
    assert status == 200, env
    assert env["effective"]["kernel_modules"] == ["gcc/12"], env
    kept = tmp_path / "state" / "kernel-env.json"
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    modules, _, _, job = await run_cell(api, kernel_ws, "rpc-badmod")
    assert modules == repr("gcc/12") and job == "-"

    status, env = await rpc("DELETE", "clusters", "badmod", "kernel-env")
    assert (
        status == 200
        and env["yours"] == {}
        and env["effective"]["kernel_modules"] == ["nosuch/1.0"]
    ), env
