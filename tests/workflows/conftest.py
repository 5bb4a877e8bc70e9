"""Fixtures of the workflow tests."""

from __future__ import annotations

import secrets

import pytest


@pytest.fixture
def runs_dir() -> str:
    """A runs folder of this test's own, relative to the cluster user's home."""
    return f"jupyter-rpc-test-runs/{secrets.token_hex(4)}"
