"""Tests of the Jupyter server: REST API and its contract, services, warnings."""
