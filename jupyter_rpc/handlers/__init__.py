"""The route table: nouns under ``{base_url}/jupyter-rpc/``, verbs are HTTP methods."""

from __future__ import annotations

from typing import Any

from .base import RPCHandler, Services
from .functions import (
    BackendCallsHandler,
    BackendHandler,
    BackendsHandler,
    CallHandler,
    CallsHandler,
    FunctionsHandler,
    NotFoundHandler,
    RootHandler,
)

NAME = r"(?P<backend>[^/]+)"
CALL_ID = r"(?P<call_id>[^/]+)"


def routes(services: Services) -> list[tuple[str, type[RPCHandler], dict[str, Any]]]:
    """Every route of the extension, with its injected services."""
    kwargs = {"services": services}
    table: list[tuple[str, type[RPCHandler]]] = [
        (r"/jupyter-rpc/?", RootHandler),
        (r"/jupyter-rpc/backends/?", BackendsHandler),
        (rf"/jupyter-rpc/backends/{NAME}/?", BackendHandler),
        (rf"/jupyter-rpc/backends/{NAME}/functions/?", FunctionsHandler),
        (rf"/jupyter-rpc/backends/{NAME}/calls/?", BackendCallsHandler),
        (r"/jupyter-rpc/calls/?", CallsHandler),
        (rf"/jupyter-rpc/calls/{CALL_ID}/?", CallHandler),
        (r"/jupyter-rpc/(?P<path>.*)", NotFoundHandler),
    ]
    return [(pattern, handler, kwargs) for pattern, handler in table]


__all__ = ["RPCHandler", "Services", "routes"]
