"""Fixtures of the DASF test bed for every test under tests/dasf (see fixtures.py)."""

from .fixtures import (  # noqa: F401
    dasf_backend,
    dasf_broker,
    dasf_env,
    dasf_module_broker,
    dasf_process,
    dasf_runner,
)
