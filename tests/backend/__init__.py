"""Tests of the runner and its CLI (jupyter_rpc/backend) and of the two distributions."""
