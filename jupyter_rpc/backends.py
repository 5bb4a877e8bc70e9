"""Configured backends: their transports, their function specs, their state."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from .errors import NotFound
from .functions import FunctionSpec, specs_from_api_info
from .transports import LocalTransport, Transport

#: What an admin may write for one backend in ``c.RPCApp.backends``.
BACKEND_CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "transport": {"enum": ["local"], "description": "how the backend is reached"},
        "module": {"type": "string", "minLength": 1, "description": "module name or .py path to serve"},
        "command": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "description": "argv of a process speaking the protocol on stdio (instead of module)",
        },
        "python": {"type": "string", "description": "interpreter for 'module' (default: the server's)"},
        "display_name": {"type": "string"},
        "description": {"type": "string"},
        "cwd": {"type": "string", "description": "working folder of the backend process"},
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "description": "call time limit, seconds"},
        "start_timeout": {"type": "number", "exclusiveMinimum": 0, "description": "seconds to start"},
    },
    "additionalProperties": False,
    "oneOf": [{"required": ["module"]}, {"required": ["command"]}],
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

    @property
    def argv(self) -> list[str]:
        """The command that starts the backend process."""
        if self.command:
            return list(self.command)
        assert self.module is not None
        return [self.python, "-m", "jupyter_rpc.backend", "serve", self.module]


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
        """The REST model of this backend."""
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
    ) -> None:
        self._backends: dict[str, Backend] = {}
        for name, raw in configs.items():
            config = BackendConfig(name=name, **raw)
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
