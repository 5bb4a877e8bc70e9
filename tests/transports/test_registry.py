"""Transports are found in one registry (jupyter_rpc.transports.registry): ours by one
line each, other packages' by an entry point; the backend config's choices and schema
come from it, and a backend naming an unknown one is refused naming the choices."""

from __future__ import annotations

import logging
import time
from importlib.metadata import EntryPoint
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from jupyter_rpc.errors import CallFailed
from jupyter_rpc.services.backends import BackendRegistry
from jupyter_rpc.transports import BrokerTransport, LocalTransport, Transport, registry
from jupyter_rpc.transports.registry import TransportContext, TransportKind, Unavailable
from jupyter_rpc.transports.schemas import COMMON


class InProcess(Transport):
    """What a site's package might add: functions of this process, no protocol at all
    (so the interface's default ping and check_soon are what it has)."""

    kind = "inprocess"

    def __init__(self, name: str, greeting: str) -> None:
        super().__init__(name)
        self.greeting = greeting

    async def api_info(self) -> dict[str, Any]:
        self.state = "running"
        schema = {
            "type": "object",
            "properties": {"who": {"type": "string"}},
            "required": ["who"],
            "description": "Greet someone.",
        }
        return {"functions": [{"name": "greet", "rpc_schema": schema}], "classes": []}

    async def call(self, request: dict[str, Any], *, on_progress: Any = None) -> Any:
        if request.get("func_name") != "greet":
            raise CallFailed(f"no function {request.get('func_name')!r}")
        return f"{self.greeting}, {request['who']}!"

    async def close(self) -> None:
        self.state = "stopped"


def _inprocess(ctx: TransportContext) -> InProcess:
    return InProcess(ctx.backend, ctx.config.get("greeting", "Hello"))


#: What a site's package would declare (here the entry point names this module).
INPROCESS = TransportKind(
    "inprocess",
    f"{__name__}:_inprocess",
    {
        "type": "object",
        "properties": {
            "transport": {"const": "inprocess"},
            "greeting": {"type": "string"},
            **COMMON,
        },
        "required": ["transport"],
        "additionalProperties": False,
    },
)


def _context(config: dict[str, Any], **kw: Any) -> TransportContext:
    return TransportContext("b", config, start_timeout=5.0, max_message_size=1024, **kw)


@pytest.fixture
def site_package(monkeypatch: pytest.MonkeyPatch) -> Any:
    """An installed package that adds the in-process transport (and two bad entry points:
    a taken name, a module that does not import)."""
    points = [
        EntryPoint("inprocess", f"{__name__}:INPROCESS", registry.ENTRY_POINT_GROUP),
        EntryPoint("broker", f"{__name__}:INPROCESS", registry.ENTRY_POINT_GROUP),  # taken
        EntryPoint("broken", "no_such_module_xyz:KIND", registry.ENTRY_POINT_GROUP),
    ]

    def fake(group: str) -> list[EntryPoint]:
        return points if group == registry.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(registry, "entry_points", fake)
    registry.kinds.cache_clear()
    yield
    registry.kinds.cache_clear()


def test_builtin_transports_by_name() -> None:
    assert registry.names() == ["local", "broker", "ssh"]
    local = registry.make(_context({"module": "jupyter_rpc.examples.demo", "start_timeout": 9}))
    assert isinstance(local, LocalTransport) and local.start_timeout == 9
    assert local.argv[1:] == ["-m", "jupyter_rpc.backend", "serve", "jupyter_rpc.examples.demo"]
    broker = registry.make(
        _context({"transport": "broker", "url": "ws://h:1", "topic": "demo", "token": "t"})
    )
    assert isinstance(broker, BrokerTransport) and broker.start_timeout == 5.0
    with pytest.raises(Unavailable, match="no cluster named 'hpc'"):
        registry.make(_context({"transport": "ssh", "cluster": "hpc", "module": "m"}))


def test_an_unknown_transport_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match=r"no transport 'pigeon' \(choices: local, broker, ssh\)"):
        registry.make(_context({"transport": "pigeon"}))
    errors = Draft202012Validator(registry.config_schema()).iter_errors({"transport": "pigeon"})
    assert "['local', 'broker', 'ssh']" in " ".join(e.message for e in errors)


async def test_another_package_adds_a_transport_by_entry_point(site_package, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="jupyter_rpc.transports.registry"):
        assert registry.names() == ["local", "broker", "ssh", "inprocess"]
    assert "'broker'" in caplog.text and "taken" in caplog.text
    assert "no_such_module_xyz" in caplog.text
    assert registry.kinds()["broker"].factory.startswith("jupyter_rpc.")  # not replaced
    # its entries are checked against its schema, next to ours
    validator = Draft202012Validator(registry.config_schema())
    assert not list(validator.iter_errors({"transport": "inprocess", "greeting": "Moin"}))
    assert list(validator.iter_errors({"transport": "inprocess", "module": "m"}))
    assert not list(validator.iter_errors({"module": "m"}))  # no transport: still local
    # and a server's backends are built from it, like ours
    backends = BackendRegistry(
        {
            "hello": {"transport": "inprocess", "greeting": "Moin", "display_name": "Hi"},
            "demo": {"module": "jupyter_rpc.examples.demo"},
        },
        timeout=5,
        start_timeout=5,
        max_message_size=1024,
    )
    hello = backends.get("hello")
    assert isinstance(backends.get("demo").transport, LocalTransport)
    assert hello.to_json()["transport"] == "inprocess"  # check_soon: the default, no-op
    assert hello.to_json()["display_name"] == "Hi"
    assert list(await hello.specs()) == ["greet"]
    assert await hello.transport.call({"func_name": "greet", "who": "Ada"}) == "Moin, Ada!"
    t0 = time.monotonic()
    assert 0 <= await hello.transport.ping(timeout=1) <= time.monotonic() - t0
    await backends.close()
    assert hello.transport.state == "stopped"


def test_a_backend_that_cannot_be_built_here_is_left_out(caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="jupyter_rpc.services.backends"):
        backends = BackendRegistry(
            {
                "remote": {"transport": "ssh", "cluster": "nowhere", "module": "m"},
                "demo": {"module": "jupyter_rpc.examples.demo"},
            },
            timeout=5,
            start_timeout=5,
            max_message_size=1024,
        )
    assert [b.name for b in backends] == ["demo"]
    assert "backend 'remote' is not available: there is no cluster named 'nowhere'" in caplog.text
