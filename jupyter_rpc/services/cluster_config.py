"""What a cluster's config may say: the schema ``RPCApp.clusters`` and a user's own
clusters are checked against, and the embedded default (this machine).

The ``scheduler`` and ``files`` choices come from their registries
(:mod:`jupyter_rpc.schedulers.registry`, :mod:`jupyter_rpc.files.registry`).
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from ..errors import problems_text, schema_problems
from ..files import registry as files
from ..schedulers import registry as schedulers

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

_FIELD_OVERRIDE = {
    "type": "object",
    "properties": {
        "default": {},
        "enum": {"type": "array"},
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "const": {},
        "hidden": {"type": "boolean"},
        "title": {"type": "string"},
        "description": {"type": "string"},
    },
    "additionalProperties": False,
}

#: A kernel's environment (docs/kernels.md): each value is one shell word on the cluster.
_KERNEL_CONDA_ENV: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "pattern": "^[^\\x00-\\x1f]+$",
    "description": "a conda environment (its name, or a path; ~/ is the home) the kernels "
    "run in, activated before the kernel (its python, unless kernel_python says another)",
}
_KERNEL_MODULES: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string", "minLength": 1, "pattern": "^[^\\x00-\\x1f]+$"},
    "description": "environment modules loaded before the kernel (module load NAME ...)",
}
#: A kernel profile: a notebook kernel in a batch job with these resources (the submit
#: form's fields; the cluster's ``submit`` overrides apply to them as to a job).
_KERNEL_PROFILE = {
    "type": "object",
    "properties": {
        "display_name": {"type": "string", "minLength": 1, "maxLength": 80},
        "resources": {
            "type": "object",
            "properties": {
                "partition": {"type": "string", "minLength": 1},
                "time_limit": {"type": "integer", "minimum": 1},
                "cpus": {"type": "integer", "minimum": 1},
                "memory_mb": {"type": "integer", "minimum": 1},
                "gpus": {"type": "integer", "minimum": 0},
                "nodes": {"type": "integer", "minimum": 1},
                "account": {"type": "string", "minLength": 1},
                "qos": {"type": "string", "minLength": 1},
                "hold": {"type": "boolean"},
            },
            "additionalProperties": False,
        },
        "kernel_python": {"type": "string", "minLength": 1, "pattern": "^[^\\x00-\\x1f]+$"},
        "kernel_conda_env": _KERNEL_CONDA_ENV,
        "kernel_modules": _KERNEL_MODULES,
        "queue_timeout": {"type": "number", "exclusiveMinimum": 0},
    },
    "additionalProperties": False,
}

#: What an admin (or, without ``submit``, a user) may write for one cluster.
CLUSTER_CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "display_name": {"type": "string"},
        "description": {"type": "string"},
        "host": {
            "type": "string",
            "minLength": 1,
            "pattern": r"^[^\s/@]+$",
            "description": "host name, address or ~/.ssh/config alias; absent = this machine",
        },
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "user": {"type": "string", "minLength": 1, "pattern": r"^[A-Za-z0-9_.][A-Za-z0-9_.@-]*$"},
        "identity_file": {
            "oneOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "items": {"type": "string", "minLength": 1}},
            ]
        },
        "agent": {"type": "boolean"},
        "jump": {
            "oneOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string", "minLength": 1}},
            ]
        },
        "ssh_config": {"oneOf": [{"type": "boolean"}, {"type": "string", "minLength": 1}]},
        "known_hosts": {"type": "string", "minLength": 1},
        "scheduler": {"enum": schedulers.names()},
        "scheduler_bin": {
            "type": "string",
            # absolute, no '.', '..' or '//' (a restricted key's gate compares it as written)
            "pattern": "^(?!.*//)(?!.*/\\.\\.?(/|$))/[^\\x00-\\x1f]*$",
            "description": "the folder of the scheduler's commands when they are not on the "
            "login shell's PATH (PBS: /opt/pbs/bin); Grid Engine, PBS and LSF",
        },
        "files": {"enum": files.names()},
        "workdir": {"type": "string", "minLength": 1},
        "roots": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"},
            "additionalProperties": {"type": "string", "minLength": 1},
        },
        "submit": {"type": "object", "additionalProperties": _FIELD_OVERRIDE},
        "max_channels": {"type": "integer", "minimum": 1, "maximum": 64},
        "connect_timeout": {"type": "number", "exclusiveMinimum": 0},
        "command_timeout": {"type": "number", "exclusiveMinimum": 0},
        "kill_grace": {"type": "number", "minimum": 0, "maximum": 600},
        "allow_terminals": {"type": "boolean"},
        "kernel_python": {
            "type": "string",
            "minLength": 1,
            "pattern": "^[^\\x00-\\x1f]+$",
            "description": "the Python (with ipykernel) of the cluster's notebook kernels",
        },
        "kernel_conda_env": _KERNEL_CONDA_ENV,
        "kernel_modules": _KERNEL_MODULES,
        "allow_kernels": {"type": "boolean"},
        "kernel_profiles": {
            "type": "object",
            "propertyNames": {"pattern": r"^[a-z0-9][a-z0-9_.-]{0,31}$"},
            "additionalProperties": _KERNEL_PROFILE,
            "description": "kernels in a batch job: name -> display_name, resources",
        },
        "queue_timeout": {"type": "number", "exclusiveMinimum": 0},
        # placement advice (docs/placement.md): what a core-hour costs here
        "cost_per_core_hour": {"type": "number", "minimum": 0, "maximum": 1e9},
        "cost_unit": {"type": "string", "minLength": 1, "maxLength": 32},
        "energy_factor": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1000,
            "description": "multiplies the cost per core-hour (1: as priced)",
        },
    },
    "dependentRequired": {
        "energy_factor": ["cost_per_core_hour"],
        "cost_unit": ["cost_per_core_hour"],
    },
    "additionalProperties": False,
}
CLUSTER_CONFIG_VALIDATOR = Draft202012Validator(CLUSTER_CONFIG_SCHEMA)

#: A cluster a user adds from the UI: SSH only, no admin-only keys.
USER_CLUSTER_SCHEMA: dict[str, Any] = {
    **CLUSTER_CONFIG_SCHEMA,
    "properties": {
        "name": {"type": "string", "pattern": NAME_PATTERN},
        **{
            k: v
            for k, v in CLUSTER_CONFIG_SCHEMA["properties"].items()
            # admin only (kill_grace: local jobs only; a price is the site's)
            if k
            not in (
                "submit",
                "kill_grace",
                "allow_terminals",
                "cost_per_core_hour",
                "cost_unit",
                "energy_factor",
            )
        },
        "scheduler": {"enum": schedulers.names(remote=True)},
        "files": {"enum": files.names(remote=True)},
    },
    "required": ["name", "host"],
}
USER_CLUSTER_VALIDATOR = Draft202012Validator(USER_CLUSTER_SCHEMA)

#: The embedded default: this machine.
LOCAL_DEFAULT = {
    "local": {
        "display_name": "This computer",
        "description": "Jobs run as processes of the Jupyter server; files are your home folder.",
        "scheduler": "local",
        "roots": {"home": "~"},
    }
}


def config_problems(config: Any, validator: Draft202012Validator = CLUSTER_CONFIG_VALIDATOR) -> str:
    """A readable list of what is wrong with a cluster config ('' if nothing)."""
    return problems_text(schema_problems(validator, config))


def user_cluster_problems(config: Any) -> str:
    """What is wrong with a cluster a user adds ('' if nothing): the schema, then the
    options a user cluster may not have because they run commands or read files on
    the Jupyter server (a site cluster may have them).

    The same check for a ``POST .../clusters`` and for each entry of the stored
    ``clusters.json`` at start-up (a file a user can write through the files API).
    """
    problems = [_user_option_problems(config)] if isinstance(config, dict) else []
    problems.append(config_problems(config, USER_CLUSTER_VALIDATOR))
    return "; ".join(p for p in problems if p)


def _user_option_problems(config: dict[str, Any]) -> str:
    problems = []
    if config.get("ssh_config", False) is not False:
        problems.append(
            "ssh_config: a cluster you add cannot use an ssh_config file (its ProxyCommand "
            "and 'Match exec' lines would run commands on the Jupyter server); give host, "
            "port, user and jump here, or ask your administrator for a site cluster"
        )
    if "known_hosts" in config:
        problems.append(
            "known_hosts: a cluster you add checks host keys against ~/.ssh/known_hosts and "
            "the keys you trust in the panel; it cannot name another file"
        )
    return "; ".join(problems)
