"""Configured backends: their transports, their function specs, their state."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator

from ..errors import NotFound
from ..transports import Transport
from ..transports import registry as transports
from ..transports.registry import LoginNode, TransportContext, Unavailable
from .functions import FunctionSpec, specs_from_api_info

if TYPE_CHECKING:
    from .clusters import ClusterRegistry

log = logging.getLogger(__name__)

#: What an admin may write for one backend in ``c.RPCApp.backends``: one of the registered
#: transports (:mod:`jupyter_rpc.transports.registry`) and that transport's keys.
BACKEND_CONFIG_SCHEMA: dict[str, Any] = transports.config_schema()

BACKEND_CONFIG_VALIDATOR = Draft202012Validator(BACKEND_CONFIG_SCHEMA)


@dataclass
class BackendConfig:
    """One backend as the site configured it: what every backend has, and the keys of its
    transport (``options``, read by the transport's factory; never shown: a token may be
    among them)."""

    name: str
    transport: str = transports.DEFAULT
    display_name: str = ""
    description: str = ""
    timeout: float | None = None
    options: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_entry(cls, name: str, entry: dict[str, Any]) -> BackendConfig:
        """From an entry of ``c.RPCApp.backends`` (checked against its schema)."""
        return cls(
            name=name,
            transport=str(entry.get("transport") or transports.DEFAULT),
            display_name=str(entry.get("display_name") or ""),
            description=str(entry.get("description") or ""),
            timeout=entry.get("timeout"),
            options=dict(entry),
        )


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
    """All configured backends of this server; each one's transport comes from the
    transport registry (a backend that cannot be built here is left out with a log line)."""

    def __init__(
        self,
        configs: dict[str, dict[str, Any]],
        *,
        timeout: float,
        start_timeout: float,
        max_message_size: int,
        clusters: ClusterRegistry | None = None,
    ) -> None:
        self._backends: dict[str, Backend] = {}
        for name, raw in configs.items():
            config = BackendConfig.from_entry(name, raw)
            ctx = TransportContext(
                backend=name,
                config=config.options,
                start_timeout=start_timeout,
                max_message_size=max_message_size,
                login_node=_login_nodes(clusters) if clusters is not None else None,
            )
            try:
                transport = transports.make(ctx)
            except (Unavailable, ImportError) as exc:
                log.error("jupyter_rpc: backend %r is not available: %s", name, exc)
                continue
            self._backends[name] = Backend(config, transport, timeout=timeout)

    def __iter__(self) -> Iterator[Backend]:
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


def _login_nodes(clusters: ClusterRegistry) -> Callable[[str], LoginNode]:
    """The login node of a cluster by name, for transports that start a backend there."""

    def login_node(name: str) -> LoginNode:
        try:
            cluster = clusters.get(name)
        except NotFound:
            raise Unavailable(f"there is no cluster named '{name}' in RPCApp.clusters") from None
        if cluster.target is None or cluster.pool is None:
            raise Unavailable(f"cluster '{name}' is this machine; use a local backend instead")
        return LoginNode(cluster.pool, cluster.target)

    return login_node
