"""Tests of jupyter_rpc/schedulers (see tests/fixtures for what they share)."""
