"""A site's settings in the extension's own config file are applied.

Jupyter reads only ``jpserver_extensions`` from ``jupyter_server_config.d/*.json`` (the
server's extension manager); any other setting there is silently ignored (the hub test
bed ran on the built-in defaults that way). A site's file for this extension is
``jupyter_rpc_config.json`` (or ``.py``) in any Jupyter config folder
(``{sys.prefix}/etc/jupyter``, ``/etc/jupyter``): it holds ``RPCApp`` settings only, so it
never collides with another extension's file."""

from __future__ import annotations

import json
import pathlib

from .conftest import ServerStarter

#: a policy that leaves every user without a backend: visible in GET /backends
NO_BACKENDS = {
    "rules": [{"name": "nobody", "users": ["no-such-user"], "backends": "*", "clusters": "*"}],
    "default": {"backends": [], "clusters": "*"},
}


def _site(tmp_path: pathlib.Path, name: str, config: dict[str, object]) -> pathlib.Path:
    site = tmp_path / "site-etc-jupyter"
    (site / name).parent.mkdir(parents=True, exist_ok=True)
    (site / name).write_text(json.dumps(config))
    return site


def test_the_extension_file_in_a_site_folder_is_applied(
    jupyter_server_process: ServerStarter, tmp_path: pathlib.Path
) -> None:
    site = _site(tmp_path, "jupyter_rpc_config.json", {"RPCApp": {"policy": NO_BACKENDS}})
    server = jupyter_server_process(env={"JUPYTER_CONFIG_PATH": str(site)})
    answer = server.request("GET", "backends")
    assert answer.status == 200
    assert answer.json()["backends"] == [], "the site file's policy was not applied"


def test_a_server_config_d_file_is_not_where_settings_go(
    jupyter_server_process: ServerStarter, tmp_path: pathlib.Path
) -> None:
    """What the docs used to say, kept as a fact: the same setting in the .d folder is
    ignored by Jupyter (so the docs must not send sites there)."""
    site = _site(
        tmp_path, "jupyter_server_config.d/zz-site-rpc.json", {"RPCApp": {"policy": NO_BACKENDS}}
    )
    server = jupyter_server_process(env={"JUPYTER_CONFIG_PATH": str(site)})
    names = [b["name"] for b in server.request("GET", "backends").json()["backends"]]
    assert names == ["test"]
