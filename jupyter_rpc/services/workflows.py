"""Workflow templates (issue 24): a site's catalog of multi-step batch jobs with forms.

A template has a name, a description, the clusters it fits, a form (JSON Schema properties
of its inputs, plus the resources with the same overrides as an app's launch form:
:meth:`~jupyter_rpc.services.apps.AppTemplate.schema`'s rules, reused), an optional list
of container images the form offers (the field ``image``; the script runs the image as
the site writes it, nothing here knows a runtime), the ``outputs`` of a run (glob
patterns relative to the run folder) and its ``steps``. Each step is a batch-script
template rendered by the apps' sandboxed Jinja2 environment, where every ``{{ value }}``
is quoted for the shell at one place (:func:`~jupyter_rpc.services.apps.shell_word`);
``after`` names earlier steps it waits for (afterok), ``array`` makes it an array step.

Sources: ``RPCApp.workflows`` (name → template), the files of ``RPCApp.workflow_dirs``
(one template per ``.yaml``/``.yml``/``.json`` file, named by the file), and the user's
own folder ``<state_dir>/workflows`` (templates saved from a job). A template with an
error is refused when it loads, with a message naming its file and field; the others
still load (:attr:`WorkflowCatalog.problems`). Runs are :mod:`.workflow_runs`.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # pyyaml comes with jupyter_server (jupyter_events)
from jinja2 import TemplateError
from jinja2 import nodes as jinja_nodes
from jsonschema import Draft202012Validator

from ..errors import Conflict, InvalidRequest, NotFound, RPCError, problems_text, schema_problems
from ..private import private_dir, write_private
from .apps import (
    _ENV,
    _USER_NODES,
    _USER_TESTS,
    RESOURCES,
    _apply_override,
    template_properties,
)
from .cluster_config import NAME_PATTERN

log = logging.getLogger(__name__)

#: A step's name: a word that is also a file name.
STEP_NAME = r"^[A-Za-z][A-Za-z0-9_-]{0,31}$"
#: An array range (the local scheduler's and Slurm's shape; others convert or refuse it).
ARRAY_RANGE = r"^\d+(-\d+(:\d+)?)?(,\d+(-\d+(:\d+)?)?)*(%\d+)?$"
#: Values the server gives every step's template (a form field may not take these names).
RESERVED = frozenset({"run_dir", "run_id", "workflow", "step", "image"})
#: Template files a folder may hold.
SUFFIXES = (".yaml", ".yml", ".json")
#: Largest template file read (bytes).
MAX_FILE = 256 * 1024

STEP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "pattern": STEP_NAME},
        "script": {"type": "string", "minLength": 1},
        "after": {"type": "array", "items": {"type": "string"}},
        "array": {"type": "string", "pattern": ARRAY_RANGE},
        "resources": {
            "type": "object",
            "description": "fixed values of this step (cpus: 1 for a small collect step)",
            "propertyNames": {"enum": list(RESOURCES)},
            "additionalProperties": {"type": ["number", "string"]},
        },
    },
    "required": ["name", "script"],
    "additionalProperties": False,
}

#: What a site writes for one template.
WORKFLOW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **template_properties("the template's inputs"),
        "images": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "outputs": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "steps": {"type": "array", "items": STEP_SCHEMA, "minItems": 1, "maxItems": 32},
    },
    "required": ["steps"],
    "additionalProperties": False,
}
WORKFLOW_VALIDATOR = Draft202012Validator(WORKFLOW_SCHEMA)


@dataclass
class Step:
    """One step of a template: a batch-script template and what it waits for."""

    name: str
    script: str
    after: list[str] = field(default_factory=list)
    array: str | None = None
    resources: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "after": list(self.after), "array": self.array}


@dataclass
class WorkflowTemplate:
    """One workflow users can run."""

    name: str
    display_name: str
    steps: list[Step]
    description: str = ""
    clusters: str | list[str] = "*"
    form: dict[str, Any] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    images: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    source: str = "site"
    file: str = ""

    def runs_on(self, cluster: str) -> bool:
        return self.clusters == "*" or cluster in self.clusters

    def schema(self, cluster_submit: dict[str, Any] | None = None) -> dict[str, Any]:
        """The run form's JSON Schema: the inputs, ``image`` (when the template lists
        images), then the resources with the cluster's ``submit`` overrides and the
        template's (the same rules as an app's launch form)."""
        properties: dict[str, Any] = {k: copy.deepcopy(v) for k, v in self.form.items()}
        if self.images:
            properties["image"] = {
                "type": "string",
                "title": "Container image",
                "enum": list(self.images),
                "default": self.images[0],
            }
        for key, base in RESOURCES.items():
            prop = copy.deepcopy(base)
            cluster_override = None if key == "hours" else (cluster_submit or {}).get(key)
            for source in (cluster_override, self.resources.get(key)):
                if source:
                    _apply_override(prop, source)
            properties[key] = prop
        return {
            "type": "object",
            "title": self.display_name,
            "properties": properties,
            "required": list(self.required),
            "additionalProperties": False,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "description": self.description,
            "clusters": self.clusters,
            "source": self.source,
            "file": self.file,
            "steps": [s.to_json() for s in self.steps],
            "outputs": list(self.outputs),
            "images": list(self.images),
        }

    def values(self, schema: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """The form's values with defaults, checked against ``schema`` before anything
        is submitted (400 ``request.schema`` naming the field)."""
        unknown = sorted(set(body) - set(schema["properties"]))
        if unknown:
            raise InvalidRequest(
                f"The form of '{self.display_name}' has no field "
                f"{', '.join(map(repr, unknown))} (its fields: "
                f"{', '.join(schema['properties'])}).",
                code="request.schema",
                details={
                    "problems": [
                        {"path": ["values", k], "message": "unknown field"} for k in unknown
                    ]
                },
            )
        values: dict[str, Any] = {}
        for key, prop in schema["properties"].items():
            if key in body:
                values[key] = body[key]
            elif "const" in prop:
                values[key] = prop["const"]
            elif "default" in prop:
                values[key] = copy.deepcopy(prop["default"])
        problems = schema_problems(Draft202012Validator(schema), values)
        if problems:
            raise InvalidRequest(
                f"The form of '{self.display_name}' is not valid: "
                f"{problems_text(problems, 'values')}",
                code="request.schema",
                details={"problems": problems},
            )
        return values

    def render(self, step: Step, values: dict[str, Any], **server: Any) -> str:
        """A step's batch script: its template filled with the inputs and the server's
        values (``run_dir``, ``run_id``, ``workflow``, ``step``), every one quoted."""
        context = {k: v for k, v in values.items() if k not in RESOURCES}
        context.update(server, step=step.name, workflow=self.name)
        try:
            return _ENV.from_string(step.script).render(context)
        except TemplateError as exc:
            raise InvalidRequest(
                f"Step '{step.name}' of '{self.display_name}' could not be prepared: {exc}",
                code="workflow.invalid",
            ) from None


# -- loading -------------------------------------------------------------------------


def _where(path: list[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(the template)"


def template_problems(entry: Any) -> list[str]:
    """What is wrong with a template ``entry``: each as ``field: why``; ``[]``: fine."""
    problems = [
        f"{_where(p['path'])}: {p['message']}" for p in schema_problems(WORKFLOW_VALIDATOR, entry)
    ]
    if problems:
        return problems
    seen: list[str] = []
    for i, step in enumerate(entry["steps"]):
        if step["name"] in seen:
            problems.append(f"steps[{i}].name: {step['name']!r} is the name of an earlier step")
        for j, other in enumerate(step.get("after", [])):
            if other not in seen:
                problems.append(
                    f"steps[{i}].after[{j}]: {other!r} is not an earlier step "
                    f"(earlier: {', '.join(seen) or 'none'})"
                )
        seen.append(step["name"])
        try:
            _ENV.parse(step["script"])
        except TemplateError as exc:
            problems.append(f"steps[{i}].script: not a valid template: {exc}")
    form = entry.get("form", {})
    for key in form:
        if key in RESOURCES or key in RESERVED:
            problems.append(
                f"form.{key}: the name {key!r} is taken (resources and the server's own "
                f"values: {', '.join(sorted({*RESOURCES, *RESERVED}))})"
            )
    for key in entry.get("required", []):
        if key not in form:
            problems.append(f"required: {key!r} is not a field of its form")
    for i, pattern in enumerate(entry.get("outputs", [])):
        if pattern.startswith("/") or ".." in pattern.split("/"):
            problems.append(f"outputs[{i}]: {pattern!r} must be relative to the run folder")
    if not problems:
        try:
            Draft202012Validator.check_schema(build(None, "x", entry).schema())
        except Exception as exc:  # noqa: BLE001 - jsonschema's SchemaError, named for the admin
            problems.append(f"form: not a JSON Schema: {getattr(exc, 'message', exc)}")
    return problems


def build(
    path: str | None, name: str, entry: dict[str, Any], source: str = "site"
) -> WorkflowTemplate:
    """A :class:`WorkflowTemplate` from a checked entry."""
    return WorkflowTemplate(
        name=name,
        display_name=entry.get("display_name", name),
        steps=[
            Step(
                name=s["name"],
                script=s["script"],
                after=list(s.get("after", [])),
                array=s.get("array"),
                resources=dict(s.get("resources", {})),
            )
            for s in entry["steps"]
        ],
        description=entry.get("description", ""),
        clusters=copy.deepcopy(entry.get("clusters", "*")),
        form=copy.deepcopy(entry.get("form", {})),
        required=list(entry.get("required", [])),
        resources=copy.deepcopy(entry.get("resources", {})),
        images=list(entry.get("images", [])),
        outputs=list(entry.get("outputs", [])),
        source=source,
        file=path or "",
    )


def read_file(path: Path) -> Any:
    """A template file's content (YAML or JSON); ``ValueError`` saying why not."""
    try:
        if path.stat().st_size > MAX_FILE:
            raise ValueError(f"larger than {MAX_FILE // 1024} KB")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot be read: {exc}") from None
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ValueError(f"is not valid {path.suffix[1:].upper()}: {exc}") from None


class WorkflowCatalog:
    """Every template users may run: the site's (config and folders) and the user's own
    (``user_dir``). Loaded at start and read again when the user's folder changes."""

    def __init__(
        self,
        config: dict[str, Any] | None = None,
        dirs: Iterable[str] = (),
        user_dir: Path | None = None,
    ) -> None:
        self.config = dict(config or {})
        self.dirs = [Path(os.path.expanduser(d)) for d in dirs]
        self.user_dir = user_dir
        self.templates: dict[str, WorkflowTemplate] = {}
        #: Templates refused when loaded: ``{"file", "message"}`` naming the field.
        self.problems: list[dict[str, str]] = []
        self._refused: dict[str, str] = {}
        self._stamp: tuple[tuple[str, float], ...] = ()
        self.load()

    def _add(self, name: str, entry: Any, file: str, source: str) -> None:
        if not re.match(NAME_PATTERN, name):
            problem = f"{name!r} is not a name (letters, digits, '-', '_', '.')"
            self.problems.append({"file": file, "message": f"{file}: name: {problem}"})
            return
        problems = template_problems(entry)
        if not problems and source == "user":
            problems = user_template_problems(entry)
        if problems:
            message = f"{file}: {'; '.join(problems)}"
            log.warning("jupyter_rpc: workflow template refused: %s", message)
            self.problems.append({"file": file, "message": message})
            self._refused[name] = message
            return
        self.templates[name] = build(file, name, entry, source)

    def _user_stamp(self) -> tuple[tuple[str, float], ...]:
        """The user's folder's template files and their times (a change reloads)."""
        if self.user_dir is None or not self.user_dir.is_dir():
            return ()
        return tuple(
            sorted(
                (p.name, p.stat().st_mtime) for p in self.user_dir.iterdir() if p.suffix in SUFFIXES
            )
        )

    def fresh(self) -> WorkflowCatalog:
        """Read the sources again if the user's folder changed (a file added, edited or
        removed by hand); the catalog."""
        if self._user_stamp() != self._stamp:
            self.load()
        return self

    def load(self) -> None:
        """(Re)read every source; a later one replaces a template of the same name."""
        self._stamp = self._user_stamp()
        self.templates, self.problems, self._refused = {}, [], {}
        for name, entry in self.config.items():
            self._add(name, entry, f"RPCApp.workflows.{name}", "site")
        for folder in self.dirs:
            self._load_dir(folder, "site")
        if self.user_dir is not None and self.user_dir.is_dir():
            self._load_dir(self.user_dir, "user")

    def _load_dir(self, folder: Path, source: str) -> None:
        if not folder.is_dir():
            if source == "site":
                self.problems.append(
                    {
                        "file": str(folder),
                        "message": f"{folder}: no such folder (RPCApp.workflow_dirs)",
                    }
                )
            return
        for path in sorted(folder.iterdir()):
            if path.suffix not in SUFFIXES or path.name.startswith("."):
                continue
            if source == "user" and path.stem in self.templates:
                continue  # a user's file never replaces the site's template
            try:
                entry = read_file(path)
            except ValueError as exc:
                self.problems.append({"file": str(path), "message": f"{path}: {exc}"})
                continue
            self._add(path.stem, entry, str(path), source)

    def for_cluster(self, cluster: str) -> list[WorkflowTemplate]:
        return [t for t in self.templates.values() if t.runs_on(cluster)]

    def get(self, name: str, cluster: str | None = None) -> WorkflowTemplate:
        template = self.templates.get(name)
        if template is None or (cluster is not None and not template.runs_on(cluster)):
            where = f" for cluster '{cluster}'" if cluster else ""
            refused = self._refused.get(name)
            why = f" It was refused when loaded: {refused}" if refused else ""
            raise NotFound(
                f"There is no workflow template '{name}'{where}.{why}",
                code="workflow.not_found",
                details={"workflow": name},
            )
        return template

    # -- the user's own ---------------------------------------------------------------

    def save_user(self, name: str, entry: dict[str, Any]) -> WorkflowTemplate:
        """Keep a template of the user's own (``<user_dir>/<name>.json``, 0600)."""
        if self.user_dir is None:  # pragma: no cover - RPCApp always gives one
            raise RPCError("No folder for templates of the user's own.")
        if name in self.templates:
            raise Conflict(
                f"A workflow template '{name}' exists already; choose another name.",
                code="workflow.exists",
                details={"workflow": name},
            )
        problems = template_problems(entry) or user_template_problems(entry)
        if problems:
            raise InvalidRequest(
                f"The template is not valid: {'; '.join(problems)}", code="workflow.invalid"
            )
        private_dir(self.user_dir)
        path = self.user_dir / f"{name}.json"
        write_private(path, json.dumps(entry, indent=1))
        self.load()
        return self.get(name)

    def remove_user(self, name: str) -> None:
        template = self.get(name)
        if template.source != "user":
            raise RPCError(
                f"The workflow template '{name}' is the site's; it cannot be removed here.",
                code="workflow.site_defined",
                status=403,
            )
        Path(template.file).unlink(missing_ok=True)
        self.load()


def user_template_problems(entry: dict[str, Any]) -> list[str]:
    """A user's own template is rendered by the server and adding one needs only the
    ``write`` permission: its steps may print values and choose with ``{% if %}``, as a
    user's app template (:data:`~jupyter_rpc.services.apps._USER_NODES`), nothing that
    makes the server compute or reach objects."""
    problems = []
    for i, step in enumerate(entry["steps"]):
        for node in _ENV.parse(step["script"]).find_all(jinja_nodes.Node):
            kind = type(node).__name__
            if kind not in _USER_NODES or (
                isinstance(node, jinja_nodes.Test) and node.name not in _USER_TESTS
            ):
                what = f"'is {node.name}'" if isinstance(node, jinja_nodes.Test) else kind
                problems.append(
                    f"steps[{i}].script line {node.lineno}: {what} is not allowed in a template "
                    "of your own (it may print values, {{ name }}, and choose with {% if %})"
                )
                break
    return problems


def template_from_job(
    script: str, resources: dict[str, Any], *, display_name: str, description: str
) -> dict[str, Any]:
    """A one-step template with no inputs from a job's script and resources (*Save as
    template*): the script is kept literally (its ``{``/``}`` escaped for the template
    engine), the resources become the form's defaults."""
    overrides: dict[str, Any] = {}
    for key in ("partition", "cpus", "memory_mb", "gpus"):
        if resources.get(key):
            overrides[key] = {"default": resources[key]}
    if resources.get("time_limit"):
        overrides["hours"] = {"default": round(resources["time_limit"] / 60, 2)}
    if "endraw" in script:
        raise InvalidRequest(
            "The job's script contains 'endraw', which a template cannot keep literally; "
            "make a template of it by hand.",
            code="workflow.invalid",
        )
    literal = "{% raw %}" + script + "{% endraw %}"
    return {
        "display_name": display_name,
        "description": description,
        "resources": overrides,
        "steps": [{"name": "job", "script": literal}],
    }
