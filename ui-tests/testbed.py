"""The HPC test bed as the browser tests see it (tests/hpc/testbed/up.sh starts it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path("/var/lib/hpc-testbed")
KEYS = ROOT / "keys"
IN_CI = os.environ.get("CI") == "true"


def available() -> bool:
    """Whether this user can reach the test bed: its keys exist and are readable (one
    started by root is not usable by another user running the tests on that machine)."""
    return all(os.access(KEYS / n, os.R_OK) for n in ("ssh_config", "id_ed25519", "known_hosts"))


def require() -> None:
    """Skip the test without the test bed; under CI=true, fail it instead."""
    if available():
        return
    what = f"{KEYS}/ssh_config and the keys beside it are missing or unreadable"
    if IN_CI:
        pytest.fail(f"the HPC test bed is required under CI=true, but {what}")
    pytest.skip(f"HPC test bed not running ({what}; start it with: sudo tests/hpc/testbed/up.sh)")
