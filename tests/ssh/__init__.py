"""Tests of jupyter_rpc/ssh (see tests/fixtures for what they share)."""
