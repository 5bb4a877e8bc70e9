"""The submit form: a JSON Schema (draft 2020-12) of :class:`~.base.JobSpec` for one
cluster, its rjsf ``ui_schema``, and the server-side checks that enforce the same limits.

Site overrides come from the cluster config, per field::

    {"account": {"const": "bb1234"}, "partition": {"enum": ["compute"], "default": "compute"},
     "time_limit": {"maximum": 120}, "qos": {"hidden": True}}

A form can be bypassed, so everything the schema promises is checked again on the server:
:func:`apply_overrides` (fixed, bounded and hidden fields) and :func:`check_spec`
(the chosen partition's limits). Both refuse with ``job.invalid`` naming the field.
"""

from __future__ import annotations

import copy
from dataclasses import fields
from typing import Any

from ..errors import InvalidRequest
from .base import Capabilities, JobSpec, Partition

ARRAY_PATTERN = r"^\d+(-\d+(:\d+)?)?(,\d+(-\d+(:\d+)?)?)*(%\d+)?$"
NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
OVERRIDE_KEYS = frozenset({"default", "enum", "minimum", "maximum", "const", "hidden"})
_SPEC_FIELDS = frozenset(f.name for f in fields(JobSpec))
#: Field order of the form: the script first (it is the job), then what it needs.
ORDER = [
    "script", "script_path", "name", "partition", "time_limit", "cpus", "memory_mb", "gpus",
    "nodes", "ntasks", "account", "qos", "array", "workdir", "stdout", "stderr", "env", "hold",
]  # fmt: skip


def _invalid(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, code="job.invalid", details={"field": field})


def _largest(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    # one partition without a limit makes the form's bound unlimited
    return max(known) if known and len(known) == len(values) else None


def _limits_text(partitions: list[Partition], attribute: str, unit: str) -> str:
    parts = []
    for partition in partitions:
        value = getattr(partition, attribute)
        parts.append(f"{partition.name}: {'no limit' if value is None else f'{value} {unit}'}")
    return "; ".join(parts)


def check_overrides(overrides: dict[str, Any]) -> None:
    """Raise ``ValueError`` for an override of an unknown field or with an unknown key
    (call it when the cluster config is loaded, so typos are found at start-up)."""
    for field, rules in overrides.items():
        if field not in _SPEC_FIELDS:
            raise ValueError(f"submit override for unknown field {field!r}")
        unknown = set(rules) - OVERRIDE_KEYS
        if unknown:
            raise ValueError(f"submit override of {field!r} has unknown keys {sorted(unknown)}")


#: The form's field that needs a capability of the scheduler (``Capabilities``).
NEEDS = {"hold": "hold", "array": "arrays", "workdir": "workdir"}


def submit_schema(
    partitions: list[Partition],
    *,
    overrides: dict[str, Any] | None = None,
    kind: str = "slurm",
    capabilities: Capabilities | None = None,
) -> dict[str, Any]:
    """``{"schema": ..., "ui_schema": ...}`` for the submit form of one cluster; a field
    whose capability the scheduler lacks is left out (:data:`NEEDS`)."""
    overrides = overrides or {}
    ordered = sorted(partitions, key=lambda p: not p.default)
    default = ordered[0].name if ordered else None
    integer = {"type": "integer", "minimum": 1}
    props: dict[str, dict[str, Any]] = {
        "name": {
            "type": "string",
            "title": "Job name",
            "maxLength": 200,
            "pattern": r"^[^\x00-\x1f\x7f]*$",
        },
        "partition": {"type": "string", "title": "Partition", "enum": [p.name for p in ordered]},
        "time_limit": {
            **integer,
            "title": "Time limit (minutes)",
            "description": "Per partition: " + _limits_text(ordered, "max_time", "min"),
        },
        "cpus": {
            **integer,
            "title": "CPUs per task",
            "description": "Per partition: " + _limits_text(ordered, "max_cpus_per_node", "CPUs"),
        },
        "memory_mb": {
            **integer,
            "title": "Memory per node (MB)",
            "description": "Per partition: " + _limits_text(ordered, "max_memory_mb", "MB"),
        },
        "gpus": {"type": "integer", "minimum": 0, "title": "GPUs"},
        "nodes": {**integer, "title": "Nodes"},
        "ntasks": {**integer, "title": "Tasks"},
        "account": {"type": "string", "title": "Account", "pattern": NAME_PATTERN},
        "qos": {"type": "string", "title": "QOS", "pattern": NAME_PATTERN},
        "array": {
            "type": "string",
            "title": "Array",
            "pattern": ARRAY_PATTERN,
            "description": "Task indexes: 0-9, 1,3,5, 1-100%10 (at most 10 at once)",
        },
        "workdir": {"type": "string", "title": "Working directory"},
        "stdout": {
            "type": "string",
            "title": "Output file",
            "description": "%j = job id, %x = job name",
        },
        "stderr": {"type": "string", "title": "Error file"},
        "script": {"type": "string", "title": "Batch script", "default": "#!/bin/bash\n"},
        "script_path": {"type": "string", "title": "…or a script file on the cluster"},
        "env": {
            "type": "object",
            "title": "Environment variables",
            "propertyNames": {"pattern": ENV_NAME_PATTERN},
            "additionalProperties": {"type": "string"},
        },
        "hold": {"type": "boolean", "title": "Submit held", "default": False},
    }
    if default is not None:
        props["partition"]["default"] = default
    else:
        del props["partition"]["enum"]
    bounds = {
        "time_limit": _largest([p.max_time for p in ordered]),
        "cpus": _largest([p.max_cpus_per_node for p in ordered]),
        "memory_mb": _largest([p.max_memory_mb for p in ordered]),
        "nodes": _largest([p.max_nodes for p in ordered]),
    }
    for field, bound in bounds.items():
        if bound is not None:
            props[field]["maximum"] = bound
    gpus = [p.gpus or 0 for p in ordered]
    if any(gpus):
        props["gpus"]["maximum"] = max(gpus)
    else:
        del props["gpus"]
    if default is not None and ordered[0].default_time:
        props["time_limit"]["default"] = ordered[0].default_time
    if kind == "local":
        for field in ("account", "qos", "nodes", "gpus"):
            props.pop(field, None)
    elif kind == "sge":  # one host per job, no QOS (qsub_argv refuses them, naming why)
        for field in ("qos", "nodes"):
            props.pop(field, None)
    if capabilities is not None:
        for field, capability in NEEDS.items():
            if not getattr(capabilities, capability):
                props.pop(field, None)
    ui_schema: dict[str, Any] = {
        "script": {"ui:widget": "textarea", "ui:options": {"rows": 12}},
        "hold": {"ui:widget": "checkbox"},
    }
    for field, rules in overrides.items():
        if field not in props:
            continue
        prop = props[field]
        for key in ("enum", "minimum", "maximum", "default"):
            if key in rules:
                prop[key] = rules[key]
        if "const" in rules:
            prop["const"] = prop["default"] = rules["const"]
            ui_schema.setdefault(field, {})["ui:readonly"] = True
        if rules.get("hidden"):
            ui_schema.setdefault(field, {})["ui:widget"] = "hidden"
    ui_schema["ui:order"] = [f for f in ORDER if f in props] + ["*"]
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Submit a job",
        "type": "object",
        "properties": props,
        "additionalProperties": False,
        "oneOf": [{"required": ["script"]}, {"required": ["script_path"]}],
    }
    return {"schema": schema, "ui_schema": ui_schema}


def apply_overrides(spec: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    """``spec`` with the site's fixed and default values filled in; values outside the
    overrides (another ``const``, not in ``enum``, out of bounds, a hidden field set to
    something else than its default) are refused with ``job.invalid``."""
    result = copy.deepcopy(spec)
    for field, rules in (overrides or {}).items():
        value = result.get(field)
        given = value is not None and value != ""
        if "const" in rules:
            if given and value != rules["const"]:
                raise _invalid(
                    field, f"The {field} is fixed to {rules['const']!r} on this cluster."
                )
            result[field] = rules["const"]
            continue
        if rules.get("hidden"):
            if given and value != rules.get("default"):
                raise _invalid(field, f"The {field} cannot be chosen on this cluster.")
            if "default" in rules:
                result[field] = rules["default"]
            else:
                result.pop(field, None)
            continue
        if not given:
            if "default" in rules:
                result[field] = rules["default"]
            continue
        if "enum" in rules and value not in rules["enum"]:
            choices = ", ".join(map(str, rules["enum"]))
            raise _invalid(
                field, f"{value!r} is not allowed for {field} here (choose from {choices})."
            )
        if "minimum" in rules and _number(field, value) < rules["minimum"]:
            raise _invalid(
                field, f"The {field} must be at least {rules['minimum']} on this cluster."
            )
        if "maximum" in rules and _number(field, value) > rules["maximum"]:
            raise _invalid(field, f"The {field} can be at most {rules['maximum']} on this cluster.")
    return result


def _number(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid(field, f"The {field} must be a number.")
    return float(value)


def check_spec(spec: JobSpec, partitions: list[Partition]) -> Partition | None:
    """Refuse a spec beyond its partition's limits (``job.invalid`` naming the field);
    return the partition it goes to (``None`` if the cluster lists none)."""
    if not partitions:
        return None
    if spec.partition:
        names = spec.partition.split(",")
        chosen = [p for p in partitions if p.name in names]
        if len(chosen) != len(names):
            known = ", ".join(p.name for p in partitions)
            raise _invalid(
                "partition", f"There is no partition {spec.partition!r} (there are: {known})."
            )
    else:
        chosen = [next((p for p in partitions if p.default), partitions[0])]
    for partition in chosen:
        checks = [
            ("time_limit", spec.time_limit, partition.max_time, "minutes"),
            ("cpus", spec.cpus, partition.max_cpus_per_node, "CPUs per node"),
            ("memory_mb", spec.memory_mb, partition.max_memory_mb, "MB per node"),
            ("nodes", spec.nodes, partition.max_nodes, "nodes"),
        ]
        for field, value, limit, unit in checks:
            if value is not None and limit is not None and value > limit:
                raise _invalid(
                    field,
                    f"Partition {partition.name} allows at most {limit} {unit}; asked for {value}.",
                )
        if spec.gpus and (partition.gpus or 0) < spec.gpus:
            have = partition.gpus or "no"
            raise _invalid(
                "gpus",
                f"Partition {partition.name} has {have} GPUs per node; asked for {spec.gpus}.",
            )
    return chosen[0]
