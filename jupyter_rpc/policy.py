"""Group policy: which backends, clusters, apps and submit choices each user may use.

A site maps hub groups or user names to what they may use (``RPCApp.policy``)::

    {"rules": [
        {"name": "students", "groups": ["students"],
         "backends": ["examples"], "clusters": ["local"], "apps": ["webapp"],
         "submit": {"partition": {"enum": ["debug"]}, "time_limit": {"maximum": 60}}},
        {"name": "staff", "groups": ["staff"], "users": ["alice"],
         "backends": "*", "clusters": "*", "apps": "*"}],
     "default": {"backends": ["examples"], "clusters": []}}

Rules are read top to bottom; the first whose ``groups`` or ``users`` include the user
applies, else ``default``. ``"*"`` is everything, a list names what may be used, a
missing key is nothing. ``user_clusters`` says whether the user may add and use their own
clusters (default: only with ``"clusters": "*"``). ``apps`` names the site's interactive
app templates (``RPCApp.apps`` and the built-ins); a user's own templates need ``"apps":
"*"``, and an app runs only on a cluster the rule allows. ``submit`` narrows the submit form of
every cluster the rule allows (the keys of a cluster's own ``submit``). An empty policy
(the default) allows everything. The user's groups come from the authenticated user:
JupyterHub's single-user server gives its user model (``hub_user["groups"]``); another
identity provider may give a ``groups`` attribute; else only ``users`` can match.

Tornado-free: the handlers ask a :class:`Grant` (``Policy.grant``) before they act, the
services narrow lists and submit choices with it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from .errors import RPCError, problems_text, schema_problems
from .schedulers.forms import check_overrides

ANY = "*"

_NAMES = {
    "oneOf": [
        {"const": ANY},
        {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True},
    ]
}
_GRANT = {
    "backends": _NAMES,
    "clusters": _NAMES,
    "apps": _NAMES,
    "user_clusters": {"type": "boolean"},
    "submit": {"type": "object", "additionalProperties": {"type": "object"}},
}
_LIST = {"type": "array", "items": {"type": "string", "minLength": 1}}

POLICY_SCHEMA = {
    "type": "object",
    "properties": {
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "groups": _LIST,
                    "users": _LIST,
                    **_GRANT,
                },
                "required": ["name"],
                "additionalProperties": False,
            },
        },
        "default": {"type": "object", "properties": _GRANT, "additionalProperties": False},
    },
    "additionalProperties": False,
}
POLICY_VALIDATOR = Draft202012Validator(POLICY_SCHEMA)


class PolicyForbidden(RPCError):
    """403 ``policy.forbidden``: the site's policy does not let this user do it."""

    status = 403
    code = "policy.forbidden"


def check_policy(value: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the bad key of a policy (at start-up, like the cluster
    config): its shape, a rule without groups or users, a duplicate rule name, rules
    without a ``default``, a submit override of an unknown field or key."""
    problems = problems_text(schema_problems(POLICY_VALIDATOR, value), "policy")
    if problems:
        raise ValueError(problems)
    rules = value.get("rules") or []
    if rules and "default" not in value:
        raise ValueError(
            "'default' is missing: say what a user in no rule may use "
            '({"backends": [], "clusters": []} for nothing, {"backends": "*", "clusters": "*"} '
            "for everything)"
        )
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        where = f"rules[{index}] ('{rule['name']}')"
        if rule["name"] in seen:
            raise ValueError(f"{where}: another rule has this name")
        seen.add(rule["name"])
        if not rule.get("groups") and not rule.get("users"):
            raise ValueError(f"{where}: give 'groups' or 'users' (whom the rule is for)")
        _check_submit(where, rule)
    _check_submit("default", value.get("default") or {})


def _check_submit(where: str, grant: dict[str, Any]) -> None:
    try:
        check_overrides(grant.get("submit") or {})
    except ValueError as exc:
        raise ValueError(f"{where}.submit: {exc}") from None


def unknown_names(
    value: dict[str, Any],
    backends: Iterable[str],
    clusters: Iterable[str],
    apps: Iterable[str] | None = None,
) -> str:
    """The first backend, cluster or app a policy names that the site does not configure
    ('': none), e.g. ``"rules[0] ('students').backends: no backend 'climte'"`` (apps are
    checked when ``apps`` is given)."""
    known = {"backends": set(backends), "clusters": set(clusters)}
    if apps is not None:
        known["apps"] = set(apps)
    grants = [(f"rules[{i}] ('{r['name']}')", r) for i, r in enumerate(value.get("rules") or [])]
    grants.append(("default", value.get("default") or {}))
    for where, grant in grants:
        for kind, names in known.items():
            listed = grant.get(kind)
            if isinstance(listed, list):
                for name in listed:
                    if name not in names:
                        return f"{where}.{kind}: there is no {kind[:-1]} '{name}'"
    return ""


@dataclass(frozen=True)
class Grant:
    """What one user may use, and the rule that says so."""

    #: The rule's name; ``None``: the policy's default; ``""``: no policy (everything).
    rule: str | None = ""
    #: Backends and site clusters by name; ``None``: every one.
    backends: frozenset[str] | None = None
    clusters: frozenset[str] | None = None
    #: The site's app templates by name; ``None``: every one (and the user's own).
    apps: frozenset[str] | None = None
    #: Whether the user's own clusters may be added and used.
    user_clusters: bool = True
    #: Submit-form overrides (a cluster's ``submit`` keys) on every cluster.
    submit: dict[str, Any] = field(default_factory=dict)

    @property
    def why(self) -> str:
        """The rule, in words for a message."""
        if self.rule is None:
            return "the site's policy default (you are in none of its rules' groups or users)"
        return f"the site's policy rule '{self.rule}'"

    def _refuse(self, what: str, details: dict[str, Any]) -> PolicyForbidden:
        return PolicyForbidden(
            f"{what} is not allowed for you by {self.why}. Ask the site's administrators "
            "if you need it.",
            details={"rule": self.rule, **details},
        )

    def allows_backend(self, name: str) -> bool:
        """Whether the backend ``name`` may be used."""
        return self.backends is None or name in self.backends

    def check_backend(self, name: str) -> None:
        """403 ``policy.forbidden`` unless the backend may be used."""
        if not self.allows_backend(name):
            raise self._refuse(f"The backend '{name}'", {"backend": name})

    def allows_cluster(self, name: str, *, user_defined: bool = False) -> bool:
        """Whether the cluster may be used (a user's own: ``user_clusters``)."""
        if user_defined:
            return self.user_clusters
        return self.clusters is None or name in self.clusters

    def check_cluster(self, name: str, *, user_defined: bool = False) -> None:
        """403 ``policy.forbidden`` unless the cluster may be used."""
        if not self.allows_cluster(name, user_defined=user_defined):
            what = f"Your own cluster '{name}'" if user_defined else f"The cluster '{name}'"
            raise self._refuse(what, {"cluster": name})

    def allows_app(self, name: str, *, user_defined: bool = False) -> bool:
        """Whether the app template ``name`` may be seen and launched (a user's own: only
        under ``"apps": "*"``)."""
        if self.apps is None:
            return True
        return not user_defined and name in self.apps

    def check_app(self, name: str, *, user_defined: bool = False) -> None:
        """403 ``policy.forbidden`` unless the app may be launched."""
        if not self.allows_app(name, user_defined=user_defined):
            what = f"Your own app '{name}'" if user_defined else f"The app '{name}'"
            raise self._refuse(what, {"app": name})

    def check_add_cluster(self) -> None:
        """403 ``policy.forbidden`` unless the user may add clusters of their own."""
        if not self.user_clusters:
            raise self._refuse("Adding a cluster of your own", {})

    def merged_submit(self, cluster: dict[str, Any] | None) -> dict[str, Any]:
        """A cluster's own submit overrides narrowed by this grant's: the policy's
        ``const`` and ``default`` win, enums are intersected, the tighter bound is kept;
        a policy ``enum`` without a default defaults to its first value (a job that names
        none would otherwise get the scheduler's default, which the rule may not allow)."""
        merged = copy.deepcopy(cluster or {})
        for name, rules in self.submit.items():
            mine = merged.setdefault(name, {})
            if "enum" in rules:
                allowed = list(rules["enum"])
                if "enum" in mine:
                    allowed = [v for v in mine["enum"] if v in allowed]
                mine["enum"] = allowed
            if "minimum" in rules:
                mine["minimum"] = max(rules["minimum"], mine.get("minimum", rules["minimum"]))
            if "maximum" in rules:
                mine["maximum"] = min(rules["maximum"], mine.get("maximum", rules["maximum"]))
            for key in ("const", "default", "hidden"):
                if key in rules:
                    mine[key] = rules[key]
            if "enum" in rules and "default" not in rules and "const" not in mine:
                if mine.get("default") not in mine["enum"] and mine["enum"]:
                    mine["default"] = mine["enum"][0]
        return merged

    def check_submit(self, values: dict[str, Any]) -> None:
        """403 ``policy.forbidden`` naming the field and the rule for a job value this
        grant's submit overrides do not allow (a value not given passes)."""
        for name, rules in self.submit.items():
            value = values.get(name)
            if value is None or value == "":
                continue
            problem = _submit_problem(name, value, rules)
            if problem:
                raise self._refuse(problem, {"field": name})


def _submit_problem(name: str, value: Any, rules: dict[str, Any]) -> str:
    """What is wrong with ``value`` of the job field ``name`` under ``rules`` ('' if
    nothing)."""
    if "const" in rules and value != rules["const"]:
        return f"The {name} {value!r} (only {rules['const']!r})"
    if rules.get("hidden") and value != rules.get("default"):
        return f"Choosing the {name}"
    if "enum" in rules and value not in rules["enum"]:
        choices = ", ".join(map(repr, rules["enum"]))
        return f"The {name} {value!r} (only {choices})"
    number = value if isinstance(value, int | float) else None
    if number is not None and "minimum" in rules and number < rules["minimum"]:
        return f"A {name} of {value} (at least {rules['minimum']})"
    if number is not None and "maximum" in rules and number > rules["maximum"]:
        return f"A {name} of {value} (at most {rules['maximum']})"
    return ""


#: The grant of a server without a policy.
EVERYTHING = Grant()


def _names(value: Any) -> frozenset[str] | None:
    if value == ANY:
        return None
    return frozenset(value or ())


def _grant(rule: str | None, config: dict[str, Any]) -> Grant:
    clusters = config.get("clusters")
    return Grant(
        rule=rule,
        backends=_names(config.get("backends")),
        clusters=_names(clusters),
        apps=_names(config.get("apps")),
        user_clusters=bool(config.get("user_clusters", clusters == ANY)),
        submit=copy.deepcopy(config.get("submit") or {}),
    )


@dataclass(frozen=True)
class _Rule:
    grant: Grant
    groups: frozenset[str]
    users: frozenset[str]


def identity(user: Any) -> tuple[str | None, frozenset[str]]:
    """The user name and groups of jupyter_server's authenticated user: on JupyterHub
    (``jupyterhub.singleuser``) its hub model's ``groups``; else a ``groups`` attribute if
    the identity provider gives one; else no groups."""
    if user is None:
        return None, frozenset()
    if isinstance(user, str):
        return user, frozenset()
    name = getattr(user, "username", None)
    hub = getattr(user, "hub_user", None)
    groups = hub.get("groups") if isinstance(hub, dict) else getattr(user, "groups", None)
    if isinstance(groups, str) or not isinstance(groups, Iterable):
        groups = ()
    return (str(name) if name is not None else None), frozenset(str(g) for g in groups)


class Policy:
    """The site's policy (``RPCApp.policy``, checked by :func:`check_policy`)."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        config = config or {}
        self.enabled = bool(config)
        self._rules = [
            _Rule(
                grant=_grant(rule["name"], rule),
                groups=frozenset(rule.get("groups") or ()),
                users=frozenset(rule.get("users") or ()),
            )
            for rule in config.get("rules") or []
        ]
        self._default = _grant(None, config.get("default") or {}) if self.enabled else EVERYTHING
        #: Whether a rule names groups (a user's grant then needs their groups).
        self.uses_groups = any(rule.groups for rule in self._rules)

    def grant(self, user: Any) -> Grant:
        """What the authenticated ``user`` may use: the first rule naming them or one of
        their groups, else the default."""
        if not self.enabled:
            return EVERYTHING
        name, groups = identity(user)
        for rule in self._rules:
            if (name is not None and name in rule.users) or rule.groups & groups:
                return rule.grant
        return self._default


__all__ = [
    "ANY",
    "EVERYTHING",
    "POLICY_SCHEMA",
    "Grant",
    "Policy",
    "PolicyForbidden",
    "check_policy",
    "identity",
    "unknown_names",
]
