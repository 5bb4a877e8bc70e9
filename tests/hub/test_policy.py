"""Group policy with the hub's own groups: the bed's site config has a rule for the hub group
``files-only`` (no backends); bob in that group sees no backend and gets 403
``policy.forbidden`` naming the rule for a call, with a token and with his browser session
(whose OAuth token the hub gives only the scopes the server may ask for), while alice,
in no group, keeps everything."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hub.conftest import Client, Hub

ADD = {"function": "add", "arguments": {"a": 2, "b": 3}, "wait": 30}


@pytest.fixture
def bob_files_only(hub: Hub, bob: str) -> Iterator[None]:
    hub.api("POST", "groups/files-only", ok=(201, 409))
    hub.api("POST", "groups/files-only/users", {"users": ["bob"]})
    try:
        yield
    finally:
        hub.api("DELETE", "groups/files-only/users", {"users": ["bob"]})


def assert_policy_forbidden(status: int, answer: object) -> None:
    assert status == 403, (status, answer)
    assert isinstance(answer, dict) and answer["code"] == "policy.forbidden", answer
    assert "files-only" in answer["message"], answer


@pytest.mark.usefixtures("bob_files_only")
@pytest.mark.parametrize("auth", ["token", "cookies"])
def test_a_hub_group_rule_applies_to_its_members(hub: Hub, alice: str, bob: str, auth: str) -> None:
    if auth == "token":
        client = Client(bob, hub.user_token("bob"))  # a new token: the server asks the hub afresh
    else:
        client = Client(bob, session=hub.login("bob"))
    status, answer = client("GET", "backends")
    assert status == 200 and answer["backends"] == [], answer
    assert_policy_forbidden(*client("POST", "backends", "examples", "calls", body=ADD))
    status, answer = client("GET", "clusters", "local", "files", "home")
    assert status == 200, answer

    status, answer = Client(alice, hub.user_token("alice"))("GET", "backends")
    assert status == 200 and [b["name"] for b in answer["backends"]] == ["examples"], answer
