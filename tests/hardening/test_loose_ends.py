"""Loose ends of issue 12's upload, files and jobs fixes: a write of local files cancelled
mid-way, a refused large upload from the notebook client, and local job state that must
never land relative to the server's working folder."""

from __future__ import annotations

import os
import pathlib
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient


@pytest.fixture
def cwd(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    """The server's working folder: empty, watched for anything the server leaves in it."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any],
    home: pathlib.Path,
    tmp_path: pathlib.Path,
    cwd: pathlib.Path,
    request: pytest.FixtureRequest,
) -> dict[str, Any]:
    """The local cluster over ``home``, state in ``tmp_path/state``; a test parametrizing
    this fixture (``indirect``) adds ``{"cluster": {...}, "app": {...}}`` settings."""
    extra = getattr(request, "param", {})
    local = {"scheduler": "local", "roots": {"home": str(home)}, "workdir": str(home)}
    local.update(extra.get("cluster", {}))
    app = {"clusters": {"local": local}, "state_dir": str(tmp_path / "state")}
    app.update(extra.get("app", {}))
    return {**jp_server_config, "RPCApp": {**jp_server_config["RPCApp"], **app}}


# --- item 3: the local scheduler's state folder -----------------------------------------


async def _not_served(server_url: tuple[str, str], rest_contract: Any) -> None:
    """The extension did not start: its routes are not there (the REST contract, which
    describes the extension's answers, is not asked about the server's own 404)."""
    url, token = server_url
    answer = await AsyncHTTPClient().fetch(
        f"{url}jupyter-rpc/clusters", headers={"Authorization": f"token {token}"}, raise_error=False
    )
    assert answer.code == 404
    rest_contract.problems[:] = [p for p in rest_contract.problems if "status 404" not in p]


@pytest.mark.parametrize(
    "jp_server_config", [{"cluster": {"no_such_key": 1}}], indirect=True, ids=["unknown-key"]
)
async def test_a_cluster_key_the_schema_does_not_know_stops_the_extension_naming_it(
    capfd: pytest.CaptureFixture[str],
    server_url: tuple[str, str],
    rest_contract: Any,
    cwd: pathlib.Path,
) -> None:
    # Before: the config error was logged, the extension loaded anyway with RPCApp.state_dir
    # '' (the traits as before the bad value) and the default clusters, and the first
    # local job call made ./local-jobs in the server's working folder.
    await _not_served(server_url, rest_contract)
    assert os.listdir(cwd) == []
    logged = capfd.readouterr().err
    assert "no_such_key" in logged
    assert "jupyter_rpc is not started" in logged


@pytest.mark.parametrize(
    "jp_server_config", [{"app": {"state_dir": "state"}}], indirect=True, ids=["relative"]
)
async def test_a_relative_state_dir_is_refused_at_start(
    capfd: pytest.CaptureFixture[str],
    server_url: tuple[str, str],
    rest_contract: Any,
    cwd: pathlib.Path,
) -> None:
    await _not_served(server_url, rest_contract)
    assert os.listdir(cwd) == []
    logged = capfd.readouterr().err
    assert "RPCApp.state_dir must be an absolute path" in logged


async def test_local_jobs_live_under_the_absolute_state_dir(
    jp_serverapp: Any, tmp_path: pathlib.Path, cwd: pathlib.Path
) -> None:
    """The well-configured case: the scheduler's folder is the state dir's, absolute."""
    from jupyter_rpc.app import RPCApp

    app = jp_serverapp.extension_manager.extension_apps["jupyter_rpc"]
    (ext,) = [a for a in app if isinstance(a, RPCApp)]
    assert ext.state_dir == str(tmp_path / "state")
    cluster = ext.services.clusters.get("local")
    scheduler = cluster.scheduler
    assert scheduler.state_dir == tmp_path / "state" / "local-jobs"
    assert os.listdir(cwd) == []


def test_the_default_state_dir_is_absolute(
    monkeypatch: pytest.MonkeyPatch, cwd: pathlib.Path
) -> None:
    from jupyter_rpc.app import RPCApp

    monkeypatch.setenv("JUPYTER_DATA_DIR", "relative-data")
    app = RPCApp()
    assert pathlib.Path(app.state_dir).is_absolute()
    assert app.state_dir == str(cwd / "relative-data" / "jupyter_rpc")
    monkeypatch.delenv("JUPYTER_DATA_DIR")
    assert pathlib.Path(RPCApp().state_dir).is_absolute()


def test_the_local_scheduler_and_the_registry_refuse_a_relative_state_dir() -> None:
    from jupyter_rpc.schedulers.local import LocalScheduler
    from jupyter_rpc.services.clusters import ClusterRegistry

    with pytest.raises(ValueError, match="absolute"):
        LocalScheduler("local-jobs")
    with pytest.raises(ValueError, match="absolute"):
        ClusterRegistry({}, state_dir=pathlib.Path(""))
