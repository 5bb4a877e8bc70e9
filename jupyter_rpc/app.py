"""The Jupyter server extension: site configuration, services, routes, shutdown."""

from __future__ import annotations

from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Dict, Float, Int, TraitError, validate

from .backends import BACKEND_CONFIG_VALIDATOR, BackendRegistry
from .calls import CallManager
from .handlers import Services, routes

#: The embedded default: the example backend as a local process.
EXAMPLES = {
    "examples": {
        "module": "jupyter_rpc.examples.demo",
        "display_name": "Examples",
        "description": "Example scientific functions shipped with jupyter_rpc.",
    }
}


class RPCApp(ExtensionApp):
    """Remote functions (and, later, HPC jobs and remote files) for JupyterLab.

    Configure it like any Jupyter server extension, e.g. in
    ``etc/jupyter/jupyter_server_config.d/zz-site-rpc.json`` or on the command line
    (``--RPCApp.call_timeout=120``).
    """

    name = "jupyter_rpc"

    backends = Dict(
        default_value=EXAMPLES,
        config=True,
        help="""Backends by name. Each is a dict with either 'module' (a Python module
        name or .py path, served with `python -m jupyter_rpc.backend`) or 'command' (an
        argv list of a process speaking the protocol on stdio), and optionally
        'display_name', 'description', 'cwd', 'env' (dict of strings added to the
        server's environment, minus the server's own tokens), 'python' (interpreter for
        'module'; default: the server's), 'timeout' (seconds a call may take; default
        RPCApp.call_timeout) and 'start_timeout' (seconds). The default is the example
        backend; setting this replaces it.
        A DASF backend module on a message broker has "transport": "broker", 'url' (the
        broker's websocket base: ws(s)://host:port/ws for dasf-broker-django, or
        ws(s)://host:port/ws/v2 for Apache Pulsar), 'topic', at most one of 'token',
        'token_env' (an environment variable) or 'token_file' (sent as the Authorization
        header, never logged or shown), and optionally 'ca_bundle' (PEM file for wss://;
        default: the system's CA store), 'pulsar' ({"tenant", "namespace",
        "persistent"}), 'connect_timeout', 'timeout', 'start_timeout' (seconds to answer
        api_info), 'display_name', 'description'.
        Example: {"climate": {"module": "mylab.climate", "timeout": 600},
                  "ocean": {"transport": "broker", "url": "wss://dasf.example.org/ws",
                            "topic": "ocean", "token_file": "/etc/jupyter/dasf-token"}}""",
    )

    call_timeout = Float(
        300.0,
        config=True,
        help="Seconds a call may run before it is cancelled and fails with call.timeout, "
        "unless a backend sets its own 'timeout'. A caller may ask for less, never more.",
    )

    start_timeout = Float(
        30.0,
        config=True,
        help="Seconds a backend process has to start and describe its API.",
    )

    max_request_size = Int(
        16 * 1024 * 1024,
        config=True,
        help="Largest request body accepted, in bytes (a call's arguments); larger ones get 413.",
    )

    max_message_size = Int(
        512 * 1024 * 1024,
        config=True,
        help="Largest single message (e.g. a result) read from a backend, in bytes.",
    )

    max_wait = Float(
        60.0,
        config=True,
        help="Longest a client may ask a request to wait for a call to change (long poll), seconds.",
    )

    call_history = Int(
        500,
        config=True,
        help="How many calls the server remembers (running calls are always kept).",
    )

    @validate("backends")
    def _check_backends(self, proposal: dict[str, Any]) -> dict[str, Any]:
        value = proposal["value"]
        for name, config in value.items():
            if not isinstance(name, str) or not name or "/" in name:
                raise TraitError(f"RPCApp.backends: invalid backend name {name!r}")
            errors = list(BACKEND_CONFIG_VALIDATOR.iter_errors(config))
            if errors:
                detail = "; ".join(
                    f"{'.'.join(map(str, e.absolute_path)) or 'entry'}: {e.message}" for e in errors
                )
                raise TraitError(f"RPCApp.backends['{name}'] is not valid: {detail}")
        return value

    def initialize_settings(self) -> None:
        backends = BackendRegistry(
            self.backends,
            timeout=self.call_timeout,
            start_timeout=self.start_timeout,
            max_message_size=self.max_message_size,
        )
        self.services = Services(
            backends=backends,
            calls=CallManager(backends, history_size=self.call_history),
            max_request_size=self.max_request_size,
            max_wait=self.max_wait,
        )
        self.log.info("jupyter_rpc: backends %s", ", ".join(self.backends) or "(none)")

    def initialize_handlers(self) -> None:
        self.handlers.extend(routes(self.services))

    async def stop_extension(self) -> None:
        """Cancel running calls, then stop the backend processes (bounded waits)."""
        await self.services.calls.close()
        await self.services.backends.close()
