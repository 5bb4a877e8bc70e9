"""Tests of jupyter_rpc/transports (see tests/fixtures for what they share)."""
