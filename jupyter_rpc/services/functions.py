"""Function specs from a backend's DASF ``api_info``, and validation of call arguments.

The browser, the notebook client and every transport see the same spec: the JSON
Schema of the ``arguments`` object (DASF's ``func_name``/``class_name`` constants and
progress reporters removed) and the return schema. Arguments are checked here, with
``jsonschema``, before a request leaves the server.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

from ..errors import InvalidRequest, RemoteFailed

_HIDDEN = ("func_name", "class_name")

_format_checker = FormatChecker(formats=())


@_format_checker.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    return not isinstance(value, str) or bool(dt.date.fromisoformat(value))


@_format_checker.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    # Lenient like pydantic: a browser's datetime-local value has no seconds and no zone.
    return not isinstance(value, str) or bool(dt.datetime.fromisoformat(_zulu(value)))


@_format_checker.checks("time", raises=ValueError)
def _is_time(value: object) -> bool:
    return not isinstance(value, str) or bool(dt.time.fromisoformat(_zulu(value)))


def _zulu(value: str) -> str:
    return value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value


@dataclass
class FunctionSpec:
    """One callable entry of a backend: a function, or a method of a class."""

    name: str
    kind: str  # "function" | "method"
    schema: dict[str, Any]
    return_schema: dict[str, Any]
    description: str = ""
    class_name: str | None = None
    method: str | None = None
    #: The runner's parameters in signature order with their kinds (None: not published,
    #: as by DASF backends and older runners: keyword-only); a method's constructor's too.
    parameters: list[dict[str, str]] | None = None
    init_parameters: list[dict[str, str]] | None = None
    _validator: Draft202012Validator | None = field(default=None, repr=False)

    @property
    def summary(self) -> str:
        """The first sentence-ish line of the description."""
        return self.description.strip().split("\n\n", 1)[0].replace("\n", " ").strip()

    def to_json(self) -> dict[str, Any]:
        """The REST model of this spec."""
        return {
            "name": self.name,
            "kind": self.kind,
            "class_name": self.class_name,
            "method": self.method,
            "summary": self.summary,
            "description": self.description,
            "schema": self.schema,
            "return_schema": self.return_schema,
            "parameters": self.parameters,
            "init_parameters": self.init_parameters,
        }

    def validate(self, arguments: Any) -> None:
        """Raise :class:`InvalidRequest` naming every field that does not fit the schema."""
        if not isinstance(arguments, dict):
            raise InvalidRequest(
                f"The arguments of '{self.name}' must be a JSON object of named arguments.",
                code="request.schema",
                details={"errors": [{"path": [], "field": "", "message": "must be an object"}]},
            )
        if self._validator is None:
            self._validator = Draft202012Validator(self.schema, format_checker=_format_checker)
        errors = [_describe(e) for e in self._validator.iter_errors(arguments)]
        errors += _unknown_arguments(self.schema, arguments)
        if errors:
            errors.sort(key=lambda e: [str(p) for p in e["path"]])
            listing = "; ".join(f"{e['field'] or 'arguments'}: {e['message']}" for e in errors)
            raise InvalidRequest(
                f"Invalid arguments for '{self.name}': {listing}",
                code="request.schema",
                details={"errors": errors},
            )

    def request(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The DASF request payload for validated ``arguments``."""
        if self.kind == "method":
            request = {k: v for k, v in arguments.items() if k != "function"}
            request["class_name"] = self.class_name
            request["function"] = {**arguments.get("function", {}), "func_name": self.method}
            return request
        return {**arguments, "func_name": self.name}


def specs_from_api_info(api_info: dict[str, Any]) -> dict[str, FunctionSpec]:
    """Every function and class method of a DASF ``api_info`` object, by name."""
    specs: dict[str, FunctionSpec] = {}
    try:
        for entry in api_info.get("functions", []):
            schema, description = _argument_schema(entry["rpc_schema"])
            specs[entry["name"]] = FunctionSpec(
                name=entry["name"],
                kind="function",
                schema={**schema, "title": entry["name"]},
                return_schema=_return_schema(entry.get("return_schema")),
                description=description,
                parameters=_parameters(entry),
            )
        for cls in api_info.get("classes", []):
            init_schema, class_doc = _argument_schema(cls["rpc_schema"])
            for method in cls.get("methods", []):
                name = f"{cls['name']}.{method['name']}"
                method_schema, method_doc = _argument_schema(method["rpc_schema"])
                specs[name] = FunctionSpec(
                    name=name,
                    kind="method",
                    class_name=cls["name"],
                    method=method["name"],
                    schema=_method_schema(
                        cls["name"],
                        init_schema,
                        class_doc,
                        method["name"],
                        method_schema,
                        method_doc,
                    ),
                    return_schema=_return_schema(method.get("return_schema")),
                    description=method_doc or class_doc,
                    parameters=_parameters(method),
                    init_parameters=_parameters(cls),
                )
    except (KeyError, TypeError, AttributeError) as exc:
        raise RemoteFailed(f"The backend's API description is malformed ({exc!r}).") from None
    for spec in specs.values():
        try:
            Draft202012Validator.check_schema(spec.schema)
        except jsonschema.SchemaError as exc:
            raise RemoteFailed(
                f"The schema of '{spec.name}' is not valid JSON Schema: {exc.message}"
            ) from None
    return specs


_KINDS = (
    "positional_only",
    "positional_or_keyword",
    "var_positional",
    "keyword_only",
    "var_keyword",
)


def _parameters(entry: dict[str, Any]) -> list[dict[str, str]] | None:
    """The runner's ``parameters`` of an api_info entry, or None when absent or unusable."""
    published = entry.get("parameters")
    if not isinstance(published, list):
        return None
    kept = []
    for item in published:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("name"), str)
            and item.get("kind") in _KINDS
        ):
            return None
        kept.append({"name": item["name"], "kind": item["kind"]})
    return kept


def _argument_schema(rpc_schema: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A DASF member schema without its name constant and progress reporters."""
    schema = copy.deepcopy(rpc_schema)
    description = schema.pop("description", "") or ""
    props: dict[str, Any] = schema.setdefault("properties", {})
    drop = [
        k
        for k, v in props.items()
        if k in _HIDDEN or (isinstance(v, dict) and v.get("is_reporter"))
    ]
    for key in drop:
        del props[key]
    schema["required"] = [r for r in schema.get("required", []) if r not in drop]
    if not schema["required"]:
        del schema["required"]
    schema["type"] = "object"
    return schema, description


def _method_schema(
    class_name: str,
    init_schema: dict[str, Any],
    class_doc: str,
    method: str,
    method_schema: dict[str, Any],
    method_doc: str,
) -> dict[str, Any]:
    """Constructor arguments at the top, the method's under ``function`` (DASF's layout)."""
    defs = {**init_schema.pop("$defs", {}), **method_schema.pop("$defs", {})}
    method_schema = {**method_schema, "title": method}
    if method_doc:
        method_schema["description"] = method_doc.split("\n\n", 1)[0]
    schema = {**init_schema, "title": f"{class_name}.{method}"}
    if class_doc:
        schema["description"] = class_doc.split("\n\n", 1)[0]
    schema["properties"] = {**init_schema.get("properties", {}), "function": method_schema}
    schema["required"] = [*init_schema.get("required", []), "function"]
    if defs:
        schema["$defs"] = defs
    return schema


def _return_schema(schema: Any) -> dict[str, Any]:
    if not isinstance(schema, dict):
        return {}
    out: dict[str, Any] = dict(schema)
    # DASF wraps returns in a RootModel whose title is the model name ("FuncAdd").
    if re.fullmatch(r"(Func|Meth|Class)[A-Z]\w*", str(out.get("title", ""))):
        out.pop("title")
    if out.get("default", 0) is None:
        out.pop("default")
    return out


def _describe(error: ValidationError) -> dict[str, Any]:
    """One validation error as ``{path, field, message}``, pointing at the field itself."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        # Optional[X] is anyOf[X, null]: the X branch's complaint is the useful one.
        useful = [e for e in error.context if e.validator_value != "null"] or list(error.context)
        inner = best_match(useful)
        if inner is not None:
            error = inner
    path = list(error.absolute_path)
    message = error.message
    required = error.validator_value
    if (
        error.validator == "required"
        and isinstance(error.instance, dict)
        and isinstance(required, list)
    ):
        missing = [p for p in required if p not in error.instance]
        if missing:
            path.append(missing[0])
            message = "is required"
    return {"path": path, "field": _field_name(path), "message": message}


def _unknown_arguments(schema: dict[str, Any], arguments: dict[str, Any]) -> list[dict[str, Any]]:
    """Arguments the function does not take (a typo must not be silently ignored)."""
    if "additionalProperties" in schema:
        return []  # the schema decides (and jsonschema reports a False)
    known = schema.get("properties", {})
    errors = []
    for key in arguments:
        if key not in known:
            expected = ", ".join(known) or "none"
            errors.append(
                {
                    "path": [key],
                    "field": key,
                    "message": f"is not an argument (expected: {expected})",
                }
            )
    method = known.get("function")
    if isinstance(method, dict) and isinstance(arguments.get("function"), dict):
        for err in _unknown_arguments(method, arguments["function"]):
            err["path"] = ["function", *err["path"]]
            err["field"] = _field_name(err["path"])
            errors.append(err)
    return errors


def _field_name(path: list[Any]) -> str:
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name
