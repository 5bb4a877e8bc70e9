"""Tests of jupyter_rpc/notebook (see tests/fixtures for what they share)."""
