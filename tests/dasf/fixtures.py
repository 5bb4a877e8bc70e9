"""pytest fixtures for the DASF test bed (registered for ``tests/dasf`` by its conftest).

Tests elsewhere in ``tests/`` can use them by importing them into their module::

    from dasf.fixtures import dasf_backend, dasf_broker, dasf_env  # noqa: F401

* ``dasf_env`` (session): the DASF venv (:class:`dasf.testbed.DasfEnv`), built on first
  use. If it cannot be built the test is skipped, except in CI (``CI=true``), where it fails.
* ``dasf_broker`` (function): a fresh broker (:class:`dasf.testbed.Broker`), closed after
  the test. ``dasf_module_broker`` (module): one broker shared by a test module.
  For ``wss://``: ``dasf.testbed.start_broker(dasf_env, tls=True)`` (self-signed for
  127.0.0.1; trust ``broker.ca_bundle``; ``broker.close()`` it yourself).
* ``dasf_backend(module, topic, *, broker=None, token=None, timeout=30)``: start a
  demessaging backend module (a .py path) on ``topic`` of ``broker`` (default: the test's
  ``dasf_broker``) and wait until it is online; stopped after the test.
* ``dasf_process(cmd, topic, *, broker=None, ...)``: the same for any command line.
* ``dasf_runner(module, topic, *, broker=None, python=None, token=None, extra_args=(),
  wait=True)``: jupyter_rpc's own runner as a DASF backend (``jupyter-rpc serve MODULE
  --broker URL --topic T``); ``python=dasf_env.python`` runs it next to demessaging.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from .testbed import (
    Backend,
    Broker,
    DasfEnv,
    TestbedError,
    ensure_venv,
    start_backend,
    start_broker,
    start_process,
    start_runner,
)

__all__ = [
    "dasf_backend",
    "dasf_broker",
    "dasf_env",
    "dasf_module_broker",
    "dasf_process",
    "dasf_runner",
]


@pytest.fixture(scope="session")
def dasf_env() -> DasfEnv:
    try:
        return ensure_venv()
    except TestbedError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the DASF test bed cannot be built in CI: {exc}", pytrace=False)
        pytest.skip(f"the DASF venv (.dasf-venv) cannot be built here: {exc}")


@pytest.fixture
def dasf_broker(dasf_env: DasfEnv) -> Iterator[Broker]:
    broker = start_broker(dasf_env)
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture(scope="module")
def dasf_module_broker(dasf_env: DasfEnv) -> Iterator[Broker]:
    broker = start_broker(dasf_env)
    try:
        yield broker
    finally:
        broker.close()


def _broker(request: pytest.FixtureRequest, broker: Broker | None) -> Broker:
    return broker if broker is not None else request.getfixturevalue("dasf_broker")


@pytest.fixture
def dasf_backend(dasf_env: DasfEnv, request: pytest.FixtureRequest) -> Iterator[Any]:
    started: list[Backend] = []

    def start(
        module: str | os.PathLike[str],
        topic: str,
        *,
        broker: Broker | None = None,
        token: str | None = None,
        timeout: float = 30.0,
    ) -> Backend:
        backend = start_backend(
            dasf_env, module, topic, _broker(request, broker), token=token, timeout=timeout
        )
        started.append(backend)
        return backend

    yield start
    for backend in reversed(started):
        backend.stop()


@pytest.fixture
def dasf_process(request: pytest.FixtureRequest) -> Iterator[Any]:
    started: list[Backend] = []

    def start(
        cmd: list[Any], topic: str, *, broker: Broker | None = None, **kwargs: Any
    ) -> Backend:
        backend = start_process(cmd, topic, _broker(request, broker), **kwargs)
        started.append(backend)
        return backend

    yield start
    for backend in reversed(started):
        backend.stop()


@pytest.fixture
def dasf_runner(request: pytest.FixtureRequest) -> Iterator[Any]:
    started: list[Backend] = []

    def start(module: Any, topic: str, *, broker: Broker | None = None, **kwargs: Any) -> Backend:
        backend = start_runner(module, topic, _broker(request, broker), **kwargs)
        started.append(backend)
        return backend

    yield start
    for backend in reversed(started):
        backend.stop()
