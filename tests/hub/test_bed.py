"""The hub test bed itself: both users' servers start through the hub, run as their Unix
users, and load the extension from the site-wide venv with the site's config (the venv's
etc/jupyter/jupyter_rpc_config.json: a file in jupyter_server_config.d/ was ignored)."""

from __future__ import annotations

import pwd

from tests.hub.conftest import Client, Hub


def test_both_users_servers_run_as_themselves_with_the_extension(
    hub: Hub, alice: str, bob: str
) -> None:
    for user, url in (("alice", alice), ("bob", bob)):
        server = hub.server_model(user)
        assert server and server["ready"], server
        with open(f"/proc/{server['state']['pid']}/status") as f:
            uid = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
        assert pwd.getpwuid(uid).pw_name == user
        status, answer = Client(url, hub.user_token(user))("GET", "backends")
        assert status == 200, answer
        assert [b["name"] for b in answer["backends"]] == ["examples"], answer
        # the site's cluster, not the built-in default ("This computer")
        status, answer = Client(url, hub.user_token(user))("GET", "clusters")
        assert status == 200, answer
        assert [(c["name"], c["display_name"]) for c in answer["clusters"]] == [
            ("local", "This server")
        ]
