"""Group policy (issue 13): the site maps hub groups or user names to the backends,
clusters and submit choices they may use (``RPCApp.policy``). Two users (and a third in
no group) on one real server: an IdentityProvider gives each request the user a header
names, with its groups in a hub user model as ``jupyterhub.singleuser`` gives them."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth.identity import IdentityProvider, User
from traitlets import TraitError

from jupyter_rpc.app import RPCApp
from jupyter_rpc.events import SCHEMA_ID
from jupyter_rpc.policy import Policy, unknown_names

#: Who is who: user name -> the hub's groups.
GROUPS = {"alice": ["students"], "bob": ["staff", "students"], "carol": []}

POLICY = {
    "rules": [
        {
            "name": "staff",
            "groups": ["staff"],
            "backends": "*",
            "clusters": "*",
            "apps": "*",
        },
        {
            "name": "students",
            "groups": ["students"],
            "backends": ["examples"],
            "clusters": ["local"],
            "apps": ["webapp"],
            "submit": {"cpus": {"maximum": 1}, "time_limit": {"maximum": 60, "default": 10}},
        },
    ],
    "default": {"backends": [], "clusters": []},
}


class HubLikeUser(User):
    """What jupyterhub.singleuser's identity provider gives: a User with the hub's model."""

    hub_user: dict[str, Any]


class HeaderIdentityProvider(IdentityProvider):
    """The token authenticates the request (as usual); ``X-Test-User`` says who it is."""

    async def get_user(self, handler: Any) -> Any:
        user = await super().get_user(handler)
        name = handler.request.headers.get("X-Test-User")
        if user is None or not name:
            return user
        hub_like = HubLikeUser(username=name)
        hub_like.hub_user = {"kind": "user", "name": name, "groups": GROUPS[name]}
        return hub_like


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    clusters = {}
    for name in ("local", "other"):
        root = tmp_path / name
        root.mkdir()
        (root / "notes.txt").write_text("hello\n")
        clusters[name] = {"scheduler": "local", "roots": {"home": str(root)}, "workdir": str(root)}
    return {
        **jp_server_config,
        "ServerApp": {
            **jp_server_config["ServerApp"],
            "identity_provider_class": HeaderIdentityProvider,
        },
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": clusters,
            "state_dir": str(tmp_path / "state"),
            "policy": POLICY,
        },
    }


@pytest.fixture
def as_user(rpc: Any) -> Any:
    """``await as_user("alice", "GET", "backends")`` → (status, body)."""

    async def fetch(user: str, method: str, *parts: str, **kwargs: Any) -> Any:
        return await rpc(method, *parts, headers={"X-Test-User": user}, **kwargs)

    return fetch


def assert_refused(answer: tuple[int, Any], rule: str, *words: str) -> None:
    status, err = answer
    assert (status, err["code"]) == (403, "policy.forbidden"), answer
    assert rule in err["message"], err["message"]
    for word in words:
        assert word in err["message"], err["message"]


async def test_lists_show_only_what_each_user_may_use(as_user: Any) -> None:
    seen = {}
    for user in GROUPS:
        _, backends = await as_user(user, "GET", "backends")
        _, clusters = await as_user(user, "GET", "clusters")
        seen[user] = (
            sorted(b["name"] for b in backends["backends"]),
            sorted(c["name"] for c in clusters["clusters"]),
        )
    assert seen["alice"] == (["examples"], ["local"])  # students
    assert seen["bob"] == (
        ["broken", "examples", "faulty", "geo", "strict"],
        ["local", "other"],
    )  # staff
    assert seen["carol"] == ([], [])  # in no rule: the default


async def test_what_a_rule_does_not_allow_is_refused_naming_it(as_user: Any) -> None:
    call = {"function": "add", "arguments": {"a": 1}}
    assert_refused(
        await as_user("alice", "POST", "backends", "faulty", "calls", body=call),
        "rule 'students'",
        "backend 'faulty'",
    )
    assert_refused(await as_user("alice", "GET", "backends", "faulty", "functions"), "students")
    assert_refused(
        await as_user("alice", "GET", "clusters", "other", "files", "home/notes.txt"),
        "rule 'students'",
        "cluster 'other'",
    )
    assert_refused(
        await as_user("alice", "POST", "clusters", "other", "jobs", body={"script": "true"}),
        "students",
    )
    assert_refused(
        await as_user("alice", "POST", "clusters", body={"name": "mine", "host": "h"}),
        "students",
        "cluster of your own",
    )
    assert_refused(
        await as_user("carol", "POST", "backends", "examples", "calls", body=call),
        "policy default",
    )
    # what the rule allows works; bob (staff first, then students) may use everything
    status, made = await as_user("alice", "POST", "backends", "examples", "calls", body=call)
    assert status == 201, made
    noop = {"function": "noop", "arguments": {}}
    status, made = await as_user("bob", "POST", "backends", "faulty", "calls", body=noop)
    assert status == 201, made
    status, model = await as_user("bob", "GET", "clusters", "other", "files", "home/notes.txt")
    assert status == 200 and model["content"] == "hello\n"
    assert (await as_user("alice", "GET", "clusters", "local", "files", "home/notes.txt"))[0] == 200


async def test_submit_choices_are_narrowed_and_enforced(as_user: Any) -> None:
    # the form: a student's cpus at most 1, time limit 10 by default (at most 60)
    _, form = await as_user("alice", "GET", "clusters", "local", "submit-schema")
    props = form["schema"]["properties"]
    assert props["cpus"]["maximum"] == 1
    assert (props["time_limit"]["default"], props["time_limit"]["maximum"]) == (10, 60)
    _, staff_form = await as_user("bob", "GET", "clusters", "local", "submit-schema")
    assert staff_form["schema"]["properties"]["cpus"].get("maximum") != 1

    job = {"script": "sleep 0.1", "cpus": 2}
    assert_refused(
        await as_user("alice", "POST", "clusters", "local", "jobs", body=job),
        "rule 'students'",
        "cpus of 2 (at most 1)",
    )
    assert_refused(
        await as_user(
            "alice", "POST", "clusters", "local", "jobs", "test", body={**job, "time_limit": 90}
        ),
        "students",
    )
    status, made = await as_user(
        "alice", "POST", "clusters", "local", "jobs", body={**job, "cpus": 1}
    )
    assert status == 201, made
    _, detail = await as_user("alice", "GET", "clusters", "local", "jobs", made["id"])
    assert detail["time_limit"] == 600  # the rule's default, 10 minutes, in seconds
    status, made = await as_user("bob", "POST", "clusters", "local", "jobs", body=job)
    assert status == 201, made


async def test_refused_actions_emit_forbidden_events(as_user: Any, jp_serverapp: Any) -> None:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep()
    jp_serverapp.event_logger.register_handler(handler)
    try:
        await as_user("alice", "POST", "clusters", "other", "jobs", body={"script": "true"})
        await as_user(
            "alice", "POST", "clusters", "local", "jobs", body={"script": "true", "cpus": 2}
        )
    finally:
        jp_serverapp.event_logger.remove_handler(handler)
    events = [json.loads(line) for line in lines]
    events = [e for e in events if e["__schema__"] == SCHEMA_ID]
    assert [(e["action"], e["cluster"], e["user"]) for e in events] == [
        ("job.submit", "other", "alice"),
        ("job.submit", "local", "alice"),
    ]
    for event in events:
        assert (event["outcome"], event["status"], event["error_code"]) == (
            "forbidden",
            403,
            "policy.forbidden",
        )


def test_a_bad_policy_is_refused_at_start_naming_the_key() -> None:
    app = RPCApp()
    bad = [
        ({"rules": [{"name": "x", "grups": ["a"]}], "default": {}}, "grups"),
        ({"rules": [{"name": "x", "groups": ["a"]}]}, "'default' is missing"),
        ({"rules": [{"name": "x"}], "default": {}}, "give 'groups' or 'users'"),
        ({"default": {"backends": "all"}}, "default.backends"),
        ({"default": {"submit": {"cpu": {"maximum": 1}}}}, "unknown field 'cpu'"),
        ({"default": {"submit": {"cpus": {"max": 1}}}}, "max"),
    ]
    for value, words in bad:
        with pytest.raises(TraitError, match="RPCApp.policy") as info:
            app.policy = value
        assert words in str(info.value), (value, str(info.value))
    app.policy = POLICY  # the tests' own is fine
    # names the site does not configure (checked when the server starts)
    assert unknown_names(POLICY, ["examples"], ["local", "other"]) == ""
    assert unknown_names(POLICY, ["demo"], ["local"]) == (
        "rules[1] ('students').backends: there is no backend 'examples'"
    )
    assert unknown_names({"default": {"clusters": ["lcoal"]}}, [], ["local"]) == (
        "default.clusters: there is no cluster 'lcoal'"
    )


def test_groups_come_from_the_hub_user_model_or_the_name() -> None:
    policy = Policy(POLICY)
    hub = HubLikeUser(username="dave")
    hub.hub_user = {"name": "dave", "groups": ["students"]}
    assert policy.grant(hub).rule == "students"
    assert policy.grant(User(username="dave")).rule is None  # no groups: the default
    by_name = Policy({"rules": [{"name": "me", "users": ["dave"]}], "default": {}})
    assert by_name.grant(User(username="dave")).rule == "me"
    assert Policy({}).grant(None).backends is None  # no policy: everything


async def test_apps_are_listed_and_launched_only_as_the_rule_says(as_user: Any) -> None:
    """Interactive apps (issue 14) under the policy: a rule's ``apps`` names the site's
    templates its users may see and launch; the default (no ``apps``) none."""
    listed = {}
    for user in GROUPS:
        status, apps = await as_user(user, "GET", "apps")
        assert status == 200, apps
        listed[user] = sorted(a["name"] for a in apps["apps"])
    assert listed == {"alice": ["webapp"], "bob": ["desktop", "webapp"], "carol": []}

    # alice (students) may not open the desktop's form nor launch it: refused before any job
    assert_refused(
        await as_user("alice", "GET", "apps", "desktop", "form", params={"cluster": "local"}),
        "'students'",
        "desktop",
    )
    launch = {"app": "desktop", "cluster": "local", "values": {}}
    assert_refused(await as_user("alice", "POST", "sessions", body=launch), "'students'", "desktop")
    _, jobs = await as_user("bob", "GET", "clusters", "local", "jobs")
    assert jobs["jobs"] == [], "a refused launch submitted a job"
    # nor add an app of her own (a rule naming apps allows only those)
    own = {"name": "mine", "kind": "web", "script": "echo {{ port }}\n"}
    assert_refused(await as_user("alice", "POST", "apps", body=own), "'students'", "mine")
    # carol (no group): the default allows no app
    assert_refused(
        await as_user("carol", "POST", "sessions", body={**launch, "app": "webapp"}),
        "default",
    )


def test_a_policy_naming_an_app_the_site_lacks_is_refused() -> None:
    policy = {"rules": [], "default": {"backends": "*", "clusters": "*", "apps": ["webap"]}}
    assert "no app 'webap'" in unknown_names(policy, ["examples"], ["local"], apps=["webapp"])
