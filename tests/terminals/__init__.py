"""Terminals on clusters (issue 19): local shells and PTY channels on the pooled SSH connection."""
