"""Where an SSH connection goes: :class:`SSHTarget`, built from a cluster's config."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import InvalidRequest

CONFIG_ERROR = "cluster.config_invalid"

_HOP = re.compile(
    r"^(?:(?P<user>[^@\s]+)@)?(?:\[(?P<addr6>[0-9a-fA-F:.]+)\]|(?P<host>[^:@\s\[\]]+))(?::(?P<port>\d+))?$"
)


#: Whether a site cluster without its own ``ssh_config`` path reads ``~/.ssh/config``
#: (``RPCApp.user_ssh_config``, set by the app as it starts: one per process).
_read_user_config = True


def configure(read_user_config: bool) -> None:
    """Set whether :func:`default_ssh_config` gives ``~/.ssh/config`` (the app, at start)."""
    global _read_user_config
    _read_user_config = read_user_config


def default_ssh_config() -> tuple[str, ...]:
    """``~/.ssh/config`` when it exists and the site lets it be read: the server's user can
    write it (the files API, a terminal), and its ``ProxyCommand``, ``Match exec`` and
    ``Include`` run or read what they name when a connection is made."""
    if not _read_user_config:
        return ()
    path = os.path.expanduser("~/.ssh/config")
    return (path,) if os.path.isfile(path) else ()


def default_known_hosts() -> tuple[str, ...]:
    """``~/.ssh/known_hosts`` (it need not exist yet)."""
    return (os.path.expanduser("~/.ssh/known_hosts"),)


@dataclass(frozen=True)
class SSHTarget:
    """One SSH destination and how to reach it.

    ``host`` may be a name, an address or a ``Host`` alias of an ssh_config file in
    ``config_files``; ``port``, ``user`` and ``identity_files`` left empty come from that
    config (``Port``, ``User``, ``IdentityFile``), as with OpenSSH. ``jump`` is the chain of
    jump hosts, first hop first.
    """

    host: str
    port: int | None = None
    user: str | None = None
    label: str = ""
    identity_files: tuple[str, ...] = ()
    agent: bool = True
    jump: tuple[SSHTarget, ...] = ()
    config_files: tuple[str, ...] = field(default_factory=default_ssh_config)
    known_hosts: tuple[str, ...] = field(default_factory=default_known_hosts)
    connect_timeout: float = 15.0
    keepalive_interval: float = 30.0
    max_channels: int = 8
    command_timeout: float = 60.0

    @property
    def name(self) -> str:
        """The label, or ``user@host:port``."""
        return self.label or self.address

    @property
    def address(self) -> str:
        """``user@host:port`` as far as known (config may fill in the rest)."""
        text = self.host if ":" not in self.host else f"[{self.host}]"
        if self.port is not None:
            text = f"{text}:{self.port}"
        return f"{self.user}@{text}" if self.user else text

    @property
    def key(self) -> tuple[Any, ...]:
        """What makes two targets share one connection."""
        # Everything that decides whom we trust and who we are: two clusters with the same
        # host but other known_hosts or keys never share a connection (or its key check).
        return (
            self.host,
            self.port,
            self.user,
            tuple(j.key for j in self.jump),
            self.identity_files,
            self.agent,
            self.config_files,
            self.known_hosts,
        )

    def hop(self, index: int) -> SSHTarget:
        """Jump host ``index`` of the chain, reached through the hops before it."""
        return replace(self.jump[index], jump=self.jump[:index])

    @classmethod
    def from_config(cls, name: str, config: Mapping[str, Any]) -> SSHTarget:
        """Build a target from a cluster's ``ClusterConfig`` (docs/rest-api.md).

        Keys that are not about SSH (``scheduler``, ``roots``, ...) are ignored; SSH keys
        with a wrong type or value raise :class:`InvalidRequest` (``cluster.config_invalid``)
        naming the cluster and the key.
        """
        return _Parser(name, config).target()


class _Parser:
    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        self.name = name
        self.config = config

    def fail(self, key: str, why: str) -> InvalidRequest:
        return InvalidRequest(
            f"Cluster '{self.name}': {key} {why}.",
            code=CONFIG_ERROR,
            details={"cluster": self.name, "key": key},
        )

    def string(self, key: str, required: bool = False) -> str | None:
        value = self.config.get(key)
        if value is None or value == "":
            if required:
                raise self.fail(key, "is required (a host name, an address or an ssh_config alias)")
            return None
        if not isinstance(value, str) or any(c.isspace() for c in value):
            raise self.fail(key, f"must be a string without spaces, not {value!r}")
        return value

    def number(
        self, key: str, default: float, integer: bool = False, maximum: float | None = None
    ) -> Any:
        value = self.config.get(key)
        if value is None:
            return default
        kind = int if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
            raise self.fail(
                key, f"must be a positive {'integer' if integer else 'number'}, not {value!r}"
            )
        if maximum is not None and value > maximum:
            raise self.fail(key, f"must be at most {maximum:g}, not {value!r}")
        return value

    def paths(self, key: str) -> tuple[str, ...]:
        value = self.config.get(key)
        if value is None:
            return ()
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(p, str) and p for p in items):
            raise self.fail(key, "must be a path or a list of paths")
        return tuple(os.path.expanduser(p) for p in items)

    def target(self) -> SSHTarget:
        host = self.string("host", required=True)
        assert host is not None
        port = self.number("port", 0, integer=True, maximum=65535) or None
        agent = self.config.get("agent", True)
        if not isinstance(agent, bool):
            raise self.fail("agent", f"must be true or false, not {agent!r}")
        ssh_config = self.config.get("ssh_config", True)
        if ssh_config is True:
            config_files = default_ssh_config()
        elif ssh_config is False or ssh_config is None:
            config_files = ()
        else:
            config_files = self.paths("ssh_config")
        base = SSHTarget(
            host=host,
            port=port,
            user=self.string("user"),
            label=self.name,
            identity_files=self.paths("identity_file"),
            agent=agent,
            config_files=config_files,
            known_hosts=default_known_hosts() + self.paths("known_hosts"),
            connect_timeout=float(self.number("connect_timeout", 15.0, maximum=600)),
            max_channels=self.number("max_channels", 8, integer=True, maximum=1000),
            command_timeout=float(self.number("command_timeout", 60.0, maximum=86400)),
        )
        return replace(base, jump=self.jump_chain(base))

    def jump_chain(self, base: SSHTarget) -> tuple[SSHTarget, ...]:
        value = self.config.get("jump")
        if value is None or value == "" or value == []:
            return ()
        hops = value.split(",") if isinstance(value, str) else value
        if not isinstance(hops, list) or not all(isinstance(h, str) for h in hops):
            raise self.fail(
                "jump", 'must be "user@host:port", a comma-separated chain, or a list of them'
            )
        return parse_jump(hops, base, fail=lambda why: self.fail("jump", why))


def parse_jump(hops: Sequence[str], base: SSHTarget, *, fail: Any = None) -> tuple[SSHTarget, ...]:
    """``["user@host:port", ...]`` as targets that share ``base``'s keys, config and known_hosts."""
    chain = []
    for hop in hops:
        match = _HOP.match(hop.strip())
        port = int(match["port"]) if match and match["port"] else None
        if match is None or (port is not None and not 0 < port < 65536):
            why = f"has a hop that is not [user@]host[:port]: {hop!r}"
            raise fail(why) if fail else ValueError(why)
        chain.append(
            replace(
                base,
                host=match["host"] or match["addr6"],
                port=port,
                user=match["user"],
                label="",
                jump=(),
            )
        )
    return tuple(chain)
