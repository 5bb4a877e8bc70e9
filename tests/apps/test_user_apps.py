"""App templates of a user's own (issue 14): added and removed over REST (``write``),
kept 0600 in the state folder, checked as a site's and more (a user's template is
rendered by the Jupyter server and adding one needs no ``execute``: no loops, no
attribute access, no SVG icon), only on clusters the user may use, and a site switch
(``RPCApp.allow_user_apps``). A real server with the local cluster; a real local job."""

from __future__ import annotations

import asyncio
import json
import logging
import pathlib
import time
from typing import Any

import pytest

MARKER_SCRIPT = """#!/bin/bash
printf '%s' {{ message }} > "$RPC_SESSION_DIR/message"
{% if loud %}echo loud{% else %}echo quiet{% endif %}
"""

MINE = {
    "name": "marker",
    "display_name": "My marker",
    "kind": "web",
    "clusters": ["local"],
    "form": {"message": {"type": "string"}, "loud": {"type": "boolean", "default": False}},
    "required": ["message"],
    "resources": {"hours": {"maximum": 2}},
    "script": MARKER_SCRIPT,
    "start_timeout": 30,
}


@pytest.fixture
def site(request: Any) -> dict[str, Any]:
    """RPCApp settings of the test (``indirect`` parametrisation), beside the cluster."""
    return getattr(request, "param", {})


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any],
    with_local_cluster: Any,
    home: pathlib.Path,
    tmp_path: pathlib.Path,
    site: dict[str, Any],
) -> dict[str, Any]:
    state = tmp_path / "state"
    stored = site.pop("stored", None)
    if stored is not None:  # an apps.json there before the server starts
        state.mkdir(mode=0o700, exist_ok=True)
        (state / "apps.json").write_text(json.dumps(stored))
    config = with_local_cluster(jp_server_config, home, **site)
    other = tmp_path / "other"
    other.mkdir()
    config["RPCApp"]["clusters"]["other"] = {
        "scheduler": "local",
        "roots": {"home": str(other)},
        "workdir": str(other),
    }
    return config


async def _apps(rpc: Any) -> dict[str, dict[str, Any]]:
    status, body = await rpc("GET", "apps")
    assert status == 200
    return {a["name"]: a for a in body["apps"]}


async def test_add_launch_and_remove_a_template_of_ones_own(
    rpc: Any, tmp_path: pathlib.Path
) -> None:
    status, app = await rpc("POST", "apps", body=MINE)
    assert status == 201, app
    assert app["source"] == "user" and app["display_name"] == "My marker"
    assert (await _apps(rpc))["marker"]["source"] == "user"
    stored = tmp_path / "state" / "apps.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert json.loads(stored.read_text())["marker"]["script"] == MARKER_SCRIPT
    # the form is the template's, with its limits
    status, form = await rpc("GET", "apps", "marker", "form", params={"cluster": "local"})
    assert status == 200 and form["properties"]["hours"]["maximum"] == 2
    # launched, a value with shell metacharacters arrives as text
    value = "a'b; touch $HOME/pwned $(id)"
    status, session = await rpc(
        "POST",
        "sessions",
        body={"app": "marker", "cluster": "local", "values": {"message": value, "loud": True}},
    )
    assert status == 201, session
    message = tmp_path / "state" / "sessions" / session["id"] / "message"
    deadline = time.monotonic() + 20
    while not message.exists() and time.monotonic() < deadline:  # noqa: ASYNC110 - a file
        await asyncio.sleep(0.1)
    assert message.read_text() == value
    assert not (tmp_path / "home" / "pwned").exists()
    await rpc("DELETE", "sessions", session["id"])
    # removed: gone from the list, the file and the server
    status, _ = await rpc("DELETE", "apps", "marker")
    assert status == 204
    assert "marker" not in await _apps(rpc)
    assert json.loads(stored.read_text()) == {}
    status, err = await rpc("GET", "apps", "marker", "form", params={"cluster": "local"})
    assert (status, err["code"]) == (404, "app.not_found")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        # a loop: rendering it would keep the server's event loop busy
        (
            {
                "script": "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}"
            },
            ["script line 1", "For", "{% if %}"],
        ),
        # attribute access, a call, a filter: objects of the server's Python
        ({"script": "{{ message.__class__ }}"}, ["Getattr"]),
        ({"script": "{{ lipsum(1000) }}"}, ["Call"]),
        ({"script": "{{ message | upper }}"}, ["Filter"]),
        ({"script": "{% if message is sameas message %}x{% endif %}"}, ["'is sameas'"]),
        # an SVG document as the icon would be inlined in the user's page
        ({"icon": "<svg onload='alert(1)'/>"}, ["icon", "SVG"]),
        ({"icon": "javascript:alert(1)"}, ["icon"]),
        # a site's checks too: an unknown key, a form field taking a resource's name
        ({"ssh_config": "~/.ssh/config"}, ["ssh_config"]),
        ({"form": {"hours": {"type": "number"}}}, ["hours", "taken"]),
        ({"script": "{% if %}"}, ["not a valid template"]),
    ],
)
async def test_a_template_of_ones_own_is_checked(
    rpc: Any, tmp_path: pathlib.Path, change: dict[str, Any], words: list[str]
) -> None:
    status, err = await rpc("POST", "apps", body={**MINE, **change})
    assert (status, err["code"]) == (400, "app.invalid"), err
    for word in words:
        assert word in err["message"], err["message"]
    assert "marker" not in await _apps(rpc)
    assert not (tmp_path / "state" / "apps.json").exists()


async def test_names_and_site_templates(rpc: Any) -> None:
    status, err = await rpc("POST", "apps", body={**MINE, "name": "webapp"})
    assert (status, err["code"]) == (409, "app.exists") and "webapp" in err["message"]
    status, err = await rpc("POST", "apps", body={**MINE, "name": "../x"})
    assert (status, err["code"]) == (400, "app.invalid")
    status, err = await rpc("DELETE", "apps", "desktop")
    assert (status, err["code"]) == (403, "app.site_defined")
    assert "desktop" in await _apps(rpc)
    status, err = await rpc("DELETE", "apps", "nothing")
    assert (status, err["code"]) == (404, "app.not_found")


@pytest.mark.parametrize(
    "site",
    [{"policy": {"rules": [], "default": {"backends": "*", "clusters": ["local"], "apps": "*"}}}],
    indirect=True,
)
async def test_only_on_clusters_the_user_may_use(rpc: Any) -> None:
    status, err = await rpc("POST", "apps", body={**MINE, "clusters": ["other"]})
    assert (status, err["code"]) == (403, "policy.forbidden"), err
    assert "other" in err["message"]
    assert "marker" not in await _apps(rpc)
    # "*" is fine: launching on a cluster the policy refuses is refused then
    status, _ = await rpc("POST", "apps", body={**MINE, "clusters": "*"})
    assert status == 201
    status, err = await rpc(
        "POST", "sessions", body={"app": "marker", "cluster": "other", "values": {"message": "x"}}
    )
    assert (status, err["code"]) == (403, "policy.forbidden")


LOOP = "{% for a in range(9) %}x{% endfor %}"
STORED = {k: v for k, v in MINE.items() if k != "name"}


@pytest.mark.parametrize(
    "site",
    [{"stored": {"bad": {**STORED, "script": LOOP}, "webapp": STORED, "mine": STORED}}],
    indirect=True,
)
async def test_a_stored_file_is_checked_at_start(rpc: Any, caplog: Any) -> None:
    # apps.json can be written through the files API: each entry is checked as a POST
    caplog.set_level(logging.WARNING, logger="jupyter_rpc")
    apps = await _apps(rpc)
    assert "bad" not in apps and apps["webapp"]["source"] == "builtin"
    assert apps["mine"]["source"] == "user"
    text = "\n".join(r.getMessage() for r in caplog.get_records("setup") + caplog.records)
    assert "your app 'bad' is ignored" in text and "For" in text
    assert "your app 'webapp' is hidden" in text


@pytest.mark.parametrize(
    "site",
    [
        {
            "allow_user_apps": False,
            "stored": {"mine": {k: v for k, v in MINE.items() if k != "name"}},
        }
    ],
    indirect=True,
)
async def test_the_site_can_switch_them_off(rpc: Any, tmp_path: pathlib.Path) -> None:
    status, err = await rpc("POST", "apps", body=MINE)
    assert (status, err["code"]) == (403, "app.user_apps_disabled")
    assert "mine" not in await _apps(rpc)  # a stored one is not loaded either
