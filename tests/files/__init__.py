"""Tests of jupyter_rpc/files (see tests/fixtures for what they share)."""
