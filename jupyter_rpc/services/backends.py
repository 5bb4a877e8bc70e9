"""Configured backends: their transports, their function specs, their state."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from ..errors import NotFound
from ..transports import BrokerTransport, LocalTransport, Transport
from .functions import FunctionSpec, specs_from_api_info

log = logging.getLogger(__name__)

_ONE_TOKEN = "only one of token, token_env and token_file"

_COMMON: dict[str, Any] = {
    "display_name": {"type": "string"},
    "description": {"type": "string"},
    "timeout": {"type": "number", "exclusiveMinimum": 0, "description": "call time limit, seconds"},
    "start_timeout": {
        "type": "number",
        "exclusiveMinimum": 0,
        "description": "seconds to start (local) or to answer api_info (broker)",
    },
}

#: A backend run as a local process speaking the protocol on stdio.
LOCAL_CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "transport": {"const": "local", "description": "how the backend is reached"},
        "module": {
            "type": "string",
            "minLength": 1,
            "description": "module name or .py path to serve",
        },
        "command": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "description": "argv of a process speaking the protocol on stdio (instead of module)",
        },
        "python": {
            "type": "string",
            "description": "interpreter for 'module' (default: the server's)",
        },
        "cwd": {"type": "string", "description": "working folder of the backend process"},
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
        **_COMMON,
    },
    "additionalProperties": False,
    "oneOf": [{"required": ["module"]}, {"required": ["command"]}],
}

#: A DASF backend module listening on a topic of a message broker.
BROKER_CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "transport": {"const": "broker", "description": "how the backend is reached"},
        "url": {
            "type": "string",
            "pattern": "^(wss?|https?)://[^/?#]+",
            "description": "broker websocket base: ws(s)://host:port/ws (dasf-broker-django) "
            "or ws(s)://host:port/ws/v2 (Apache Pulsar)",
        },
        "topic": {
            "type": "string",
            "pattern": "^[-_.A-Za-z0-9]+$",
            "description": "the topic the DASF backend module listens on",
        },
        "token": {
            "type": "string",
            "minLength": 1,
            "description": "broker token (Authorization header)",
        },
        "token_env": {
            "type": "string",
            "minLength": 1,
            "description": "environment variable holding the token",
        },
        "token_file": {"type": "string", "minLength": 1, "description": "file holding the token"},
        "ca_bundle": {
            "type": "string",
            "minLength": 1,
            "description": "CA certificates for wss:// (PEM file)",
        },
        "pulsar": {
            "type": "object",
            "properties": {
                "tenant": {"type": "string", "minLength": 1},
                "namespace": {"type": "string", "minLength": 1},
                "persistent": {"type": "boolean"},
            },
            "additionalProperties": False,
            "description": "Apache Pulsar topic layout (tenant, namespace, persistent)",
        },
        "connect_timeout": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "seconds to open the broker connection",
        },
        **_COMMON,
    },
    "required": ["transport", "url", "topic"],
    "additionalProperties": False,
    # One token source at most. Not "not"/"oneOf": their messages quote the whole entry,
    # token included; this one says "token_file: 'only one of token, ...' was expected".
    "dependentSchemas": {
        "token": {
            "properties": {"token_env": {"const": _ONE_TOKEN}, "token_file": {"const": _ONE_TOKEN}}
        },
        "token_env": {"properties": {"token_file": {"const": _ONE_TOKEN}}},
    },
}

#: A backend module started on a cluster's login node over the pooled SSH connection.
SSH_CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "transport": {"const": "ssh", "description": "how the backend is reached"},
        "cluster": {
            "type": "string",
            "minLength": 1,
            "description": "a cluster of RPCApp.clusters with a 'host'",
        },
        "module": {
            "type": "string",
            "minLength": 1,
            "description": "module name or .py path on the cluster",
        },
        "command": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "description": "argv run on the login node, speaking the protocol on stdio (instead of module)",
        },
        "python": {
            "type": "string",
            "minLength": 1,
            "description": "interpreter on the cluster (default: python3)",
        },
        "cwd": {"type": "string", "description": "working folder on the cluster"},
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
        **_COMMON,
    },
    "required": ["transport", "cluster"],
    "additionalProperties": False,
    "oneOf": [{"required": ["module"]}, {"required": ["command"]}],
}

#: What an admin may write for one backend in ``c.RPCApp.backends``.
BACKEND_CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "transport": {
            "enum": ["local", "broker", "ssh"],
            "description": "how the backend is reached",
        }
    },
    "if": {"properties": {"transport": {"const": "broker"}}, "required": ["transport"]},
    "then": BROKER_CONFIG_SCHEMA,
    "else": {
        "if": {"properties": {"transport": {"const": "ssh"}}, "required": ["transport"]},
        "then": SSH_CONFIG_SCHEMA,
        "else": LOCAL_CONFIG_SCHEMA,
    },
}

BACKEND_CONFIG_VALIDATOR = Draft202012Validator(BACKEND_CONFIG_SCHEMA)


@dataclass
class BackendConfig:
    """One backend as the site configured it."""

    name: str
    module: str | None = None
    command: list[str] | None = None
    python: str = sys.executable
    display_name: str = ""
    description: str = ""
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None
    start_timeout: float | None = None
    transport: str = "local"
    # transport "broker"
    url: str | None = None
    topic: str | None = None
    token: str | None = field(default=None, repr=False)
    token_env: str | None = None
    token_file: str | None = None
    ca_bundle: str | None = None
    pulsar: dict[str, Any] | None = None
    connect_timeout: float | None = None
    # transport "ssh"
    cluster: str | None = None

    @property
    def argv(self) -> list[str]:
        """The command that starts the backend process."""
        if self.command:
            return list(self.command)
        assert self.module is not None
        python = self.python
        if self.transport == "ssh" and python == sys.executable:
            python = "python3"  # the server's interpreter means nothing on the cluster
        return [python, "-m", "jupyter_rpc.backend", "serve", self.module]


class Backend:
    """A configured backend and what it offers."""

    def __init__(self, config: BackendConfig, transport: Transport, *, timeout: float) -> None:
        self.config = config
        self.transport = transport
        self.timeout = config.timeout or timeout
        self._api_info: dict[str, Any] | None = None
        self._specs: dict[str, FunctionSpec] = {}

    @property
    def name(self) -> str:
        return self.config.name

    async def specs(self) -> dict[str, FunctionSpec]:
        """Function specs by name (starting the backend if needed)."""
        api_info = await self.transport.api_info()
        if api_info is not self._api_info:  # first use, or the backend restarted
            self._specs = specs_from_api_info(api_info)
            self._api_info = api_info
        return self._specs

    async def spec(self, function: str) -> FunctionSpec:
        """The spec of one function, or a 404 that lists what there is."""
        specs = await self.specs()
        try:
            return specs[function]
        except KeyError:
            available = ", ".join(sorted(specs)) or "none"
            raise NotFound(
                f"Backend '{self.name}' has no function '{function}'. Available: {available}.",
                code="function.not_found",
                details={"backend": self.name, "function": function},
            ) from None

    def to_json(self) -> dict[str, Any]:
        """The REST model of this backend (asks its transport for a liveness check, which
        a broker backend makes when its last sign of life is old; never waits for it)."""
        self.transport.check_soon()
        return {
            "name": self.name,
            "display_name": self.config.display_name or self.name,
            "description": self.config.description,
            "transport": self.transport.kind,
            "state": self.transport.state,
            "error": self.transport.error,
            "restarts": self.transport.restarts,
        }


class BackendRegistry:
    """All configured backends of this server."""

    def __init__(
        self,
        configs: dict[str, dict[str, Any]],
        *,
        timeout: float,
        start_timeout: float,
        max_message_size: int,
        clusters: Any = None,
    ) -> None:
        self._backends: dict[str, Backend] = {}
        for name, raw in configs.items():
            config = BackendConfig(name=name, **raw)
            transport: Transport
            if config.transport == "broker":
                assert config.url is not None and config.topic is not None
                transport = BrokerTransport(
                    name,
                    config.url,
                    config.topic,
                    token=config.token,
                    token_env=config.token_env,
                    token_file=config.token_file,
                    ca_bundle=config.ca_bundle,
                    pulsar=config.pulsar,
                    connect_timeout=config.connect_timeout or 10.0,
                    start_timeout=config.start_timeout or start_timeout,
                    max_message_size=max_message_size,
                )
            elif config.transport == "ssh":
                try:
                    transport = _ssh_transport(config, clusters, start_timeout, max_message_size)
                except (ValueError, ImportError) as exc:
                    log.error("jupyter_rpc: backend %r is not available: %s", name, exc)
                    continue
            else:
                transport = LocalTransport(
                    name,
                    config.argv,
                    cwd=config.cwd,
                    env=config.env,
                    start_timeout=config.start_timeout or start_timeout,
                    max_message_size=max_message_size,
                )
            self._backends[name] = Backend(config, transport, timeout=timeout)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._backends.values())

    def get(self, name: str) -> Backend:
        """One backend, or a 404 that lists what there is."""
        try:
            return self._backends[name]
        except KeyError:
            available = ", ".join(sorted(self._backends)) or "none"
            raise NotFound(
                f"There is no backend named '{name}'. Available: {available}.",
                code="backend.not_found",
                details={"backend": name},
            ) from None

    async def close(self) -> None:
        """Stop every backend."""
        for backend in self._backends.values():
            await backend.transport.close()


def _ssh_transport(
    config: BackendConfig, clusters: Any, start_timeout: float, max_message_size: int
) -> Transport:
    """The transport of a backend on a cluster's login node (through the one SSH pool)."""
    from ..transports.ssh import SSHTransport

    try:
        cluster = clusters.get(config.cluster)
    except (AttributeError, NotFound):
        raise ValueError(
            f"backend '{config.name}': there is no cluster named '{config.cluster}' in RPCApp.clusters"
        ) from None
    if cluster.target is None:
        raise ValueError(
            f"backend '{config.name}': cluster '{config.cluster}' is this machine; use a local backend instead"
        )
    return SSHTransport(
        config.name,
        cluster.pool,
        cluster.target,
        config.argv,
        cwd=config.cwd,
        env=config.env,
        start_timeout=config.start_timeout or start_timeout,
        max_message_size=max_message_size,
    )
