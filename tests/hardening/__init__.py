"""The hardening suite: hostile inputs, backends and files against a running server (issue 12)."""
