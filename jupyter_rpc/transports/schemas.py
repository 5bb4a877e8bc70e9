"""What an admin may write for one backend in ``c.RPCApp.backends``, for each of our
transports: JSON Schemas, checked when the server starts (the transport registry joins
them into the schema of an entry, :func:`jupyter_rpc.transports.registry.config_schema`).

Data only: no transport is imported to validate a config.
"""

from __future__ import annotations

from typing import Any

_ONE_TOKEN = "only one of token, token_env and token_file"

#: Keys every backend entry may have, whatever its transport (a transport's schema
#: includes them: ``"properties": {..., **COMMON}``).
COMMON: dict[str, Any] = {
    "display_name": {"type": "string"},
    "description": {"type": "string"},
    "timeout": {"type": "number", "exclusiveMinimum": 0, "description": "call time limit, seconds"},
    "start_timeout": {
        "type": "number",
        "exclusiveMinimum": 0,
        "description": "seconds to start (local) or to answer api_info (broker)",
    },
}

#: A backend run as a local process speaking the protocol on stdio.
LOCAL: dict[str, Any] = {
    "type": "object",
    "properties": {
        "transport": {"const": "local", "description": "how the backend is reached"},
        "module": {
            "type": "string",
            "minLength": 1,
            "description": "module name or .py path to serve",
        },
        "command": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "description": "argv of a process speaking the protocol on stdio (instead of module)",
        },
        "python": {
            "type": "string",
            "description": "interpreter for 'module' (default: the server's)",
        },
        "cwd": {"type": "string", "description": "working folder of the backend process"},
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
        **COMMON,
    },
    "additionalProperties": False,
    "oneOf": [{"required": ["module"]}, {"required": ["command"]}],
}

#: A DASF backend module listening on a topic of a message broker.
BROKER: dict[str, Any] = {
    "type": "object",
    "properties": {
        "transport": {"const": "broker", "description": "how the backend is reached"},
        "url": {
            "type": "string",
            "pattern": "^(wss?|https?)://[^/?#]+",
            "description": "broker websocket base: ws(s)://host:port/ws (dasf-broker-django) "
            "or ws(s)://host:port/ws/v2 (Apache Pulsar)",
        },
        "topic": {
            "type": "string",
            "pattern": "^[-_.A-Za-z0-9]+$",
            "description": "the topic the DASF backend module listens on",
        },
        "token": {
            "type": "string",
            "minLength": 1,
            "description": "broker token (Authorization header)",
        },
        "token_env": {
            "type": "string",
            "minLength": 1,
            "description": "environment variable holding the token",
        },
        "token_file": {"type": "string", "minLength": 1, "description": "file holding the token"},
        "ca_bundle": {
            "type": "string",
            "minLength": 1,
            "description": "CA certificates for wss:// (PEM file)",
        },
        "pulsar": {
            "type": "object",
            "properties": {
                "tenant": {"type": "string", "minLength": 1},
                "namespace": {"type": "string", "minLength": 1},
                "persistent": {"type": "boolean"},
            },
            "additionalProperties": False,
            "description": "Apache Pulsar topic layout (tenant, namespace, persistent)",
        },
        "connect_timeout": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "seconds to open the broker connection",
        },
        **COMMON,
    },
    "required": ["transport", "url", "topic"],
    "additionalProperties": False,
    # One token source at most. Not "not"/"oneOf": their messages quote the whole entry,
    # token included; this one says "token_file: 'only one of token, ...' was expected".
    "dependentSchemas": {
        "token": {
            "properties": {"token_env": {"const": _ONE_TOKEN}, "token_file": {"const": _ONE_TOKEN}}
        },
        "token_env": {"properties": {"token_file": {"const": _ONE_TOKEN}}},
    },
}

#: A backend module started on a cluster's login node over the pooled SSH connection.
SSH: dict[str, Any] = {
    "type": "object",
    "properties": {
        "transport": {"const": "ssh", "description": "how the backend is reached"},
        "cluster": {
            "type": "string",
            "minLength": 1,
            "description": "a cluster of RPCApp.clusters with a 'host'",
        },
        "module": {
            "type": "string",
            "minLength": 1,
            "description": "module name or .py path on the cluster",
        },
        "command": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "description": "argv run on the login node, speaking the protocol on stdio (instead of module)",
        },
        "python": {
            "type": "string",
            "minLength": 1,
            "description": "interpreter on the cluster (default: python3)",
        },
        "cwd": {"type": "string", "description": "working folder on the cluster"},
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
        **COMMON,
    },
    "required": ["transport", "cluster"],
    "additionalProperties": False,
    "oneOf": [{"required": ["module"]}, {"required": ["command"]}],
}
