"""Build pydantic models from the signatures and docstrings of a module's members.

Internal to :mod:`jupyter_rpc.backend.introspect`: one request model per function or
method (``Func<Name>``, ``MethClass<Class><Method>``) and per class (``Class<Name>``),
one ``RootModel`` per return annotation, with demessaging's names and layout.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated, Any, Literal, Union

import docstring_parser
from pydantic import BaseModel, ConfigDict, Field, RootModel, TypeAdapter, create_model
from pydantic.fields import FieldInfo

from . import geo
from .dasf_compat import field_params, make_report, report_class
from .loader import BackendError
from .progress import Progress

_CONFIG = ConfigDict(protected_namespaces=(), arbitrary_types_allowed=False)
_RESERVED = {"func_name", "class_name", "function"}


@dataclass
class _Param:
    name: str  # the Python parameter name (= the JSON property)
    field: str  # the pydantic field name (differs only when the name clashes)
    positional_only: bool = False
    progress: bool = False  # not in the schema: the runner's Progress is passed
    report: tuple[type, Any] | None = None  # a deprogressapi report class and its default


@dataclass
class _Callable:
    """One function or method: its request model and its return model."""

    name: str
    func: Callable[..., Any]
    model: type[BaseModel]
    return_model: type[RootModel[Any]]
    params: list[_Param]
    is_async: bool
    label: str

    def arguments(
        self, validated: BaseModel, progress: Progress
    ) -> tuple[list[Any], dict[str, Any]]:
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for param in self.params:
            if param.report is not None:
                value = make_report(*param.report, progress)
            elif param.progress:
                value = progress
            else:
                value = getattr(validated, param.field)
            if param.positional_only:
                args.append(value)
            else:
                kwargs[param.name] = value
        return args, kwargs


@dataclass
class _Class:
    name: str
    cls: type
    init: _Callable  # constructor model: constructor arguments + class_name
    full_model: type[BaseModel]  # ... + function (the module schema's member)
    methods: dict[str, _Callable] = field(default_factory=dict)


def _members(module: types.ModuleType) -> list[tuple[str, Any]]:
    exported = getattr(module, "__all__", None)
    if exported is not None:
        members = []
        for member_name in exported:
            if not hasattr(module, member_name):
                raise BackendError(
                    f"'{member_name}' is listed in {module.__name__}.__all__ but not defined"
                )
            obj = getattr(module, member_name)
            if inspect.isfunction(obj) or (inspect.isclass(obj) and _is_service_class(obj)):
                members.append((member_name, obj))
        return members
    return [
        (n, o)
        for n, o in vars(module).items()
        if not n.startswith("_")
        and getattr(o, "__module__", None) == module.__name__
        and (inspect.isfunction(o) or (inspect.isclass(o) and _is_service_class(o)))
    ]


def _is_service_class(cls: type) -> bool:
    """Plain classes only: models, enums, exceptions and the like are argument types."""
    return not issubclass(cls, (BaseModel, Enum, BaseException, tuple, dict)) and not getattr(
        cls, "_is_protocol", False
    )


def _build_class(name: str, cls: type) -> _Class | None:
    methods: dict[str, _Callable] = {}
    for method_name, func, skip in _methods(cls):
        methods[method_name] = _build_callable(
            method_name,
            func,
            f"MethClass{name}{_camel(method_name)}",
            f"{name}.{method_name}",
            skip,
        )
    if not methods:
        return None
    init = _own_attrs(cls).get("__init__")
    doc = _parse_doc(cls.__doc__)
    init_doc = _parse_doc(init.__doc__ if init is not None else None)
    docs = {**_param_docs(doc), **_param_docs(init_doc)}
    fields, params = _fields(init, f"{name}()", docs, skip=1) if init else ({}, [])
    const = (Literal[name], Field(description=f"The name of the function. Must be '{name}'"))
    description = _description(doc) or _description(init_doc)
    title = f"Class{name}"
    init_model = _model(title, description, {**fields, "class_name": const}, name, params)
    union: Any = Union[tuple(m.model for m in methods.values())]  # noqa: UP007 - runtime union of classes
    full = _model(
        title,
        description,
        {
            **fields,
            "class_name": const,
            "function": (union, Field(description="The method to call.")),
        },
        name,
        params,
    )
    init_callable = _Callable(
        name, cls, init_model, _return_model(title, Any, None), params, False, name
    )
    return _Class(name, cls, init_callable, full, methods)


def _own_attrs(cls: type) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__ in ("builtins", "typing", "abc"):
            continue
        attrs.update(vars(klass))
    return attrs


def _methods(cls: type) -> list[tuple[str, Callable[..., Any], int]]:
    found = []
    for method_name, attr in _own_attrs(cls).items():
        if method_name.startswith("_"):
            continue
        if isinstance(attr, staticmethod):
            found.append((method_name, attr.__func__, 0))
        elif isinstance(attr, classmethod):
            found.append((method_name, attr.__func__, 1))
        elif inspect.isfunction(attr):
            found.append((method_name, attr, 1))
    return found


def _build_callable(
    name: str, func: Callable[..., Any], title: str, label: str, skip: int = 0
) -> _Callable:
    doc = _parse_doc(func.__doc__)
    fields, params = _fields(func, label, _param_docs(doc), skip)
    const = (Literal[name], Field(description=f"The name of the function. Must be '{name}'"))
    model = _model(title, _description(doc), {"func_name": const, **fields}, label, params)
    hints = _hints(func, label)
    return_type = hints.get("return", Any)
    returns = doc.returns.description if doc.returns is not None else None
    return_model = _return_model(title, return_type, returns, label)
    is_async = inspect.iscoroutinefunction(inspect.unwrap(func))
    return _Callable(name, func, model, return_model, params, is_async, label)


def _fields(
    func: Callable[..., Any], label: str, docs: dict[str, str], skip: int
) -> tuple[dict[str, Any], list[_Param]]:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise BackendError(f"Cannot read the signature of {label}: {exc}") from None
    hints = _hints(func, label)
    fields: dict[str, Any] = {}
    params: list[_Param] = []
    configured = field_params(func)  # demessaging's @configure(field_params=...)
    for index, param in enumerate(signature.parameters.values()):
        if index < skip or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = hints.get(param.name, Any)
        positional_only = param.kind == param.POSITIONAL_ONLY
        if _is_progress(annotation):
            params.append(_Param(param.name, "", positional_only, progress=True))
            continue
        report = report_class(annotation)
        if report is not None:  # a demessaging module's deprogressapi reporter
            default = None if param.default is param.empty else param.default
            params.append(
                _Param(param.name, "", positional_only, progress=True, report=(report, default))
            )
            continue
        if param.name in _RESERVED:
            raise BackendError(
                f"{label}: the parameter name '{param.name}' is reserved by DASF; please rename it"
            )
        info: dict[str, Any] = {}
        if param.name in docs:
            info["description"] = docs[param.name]
        info.update(configured.get(param.name, {}))
        field_name = param.name
        if param.name.startswith("_") or hasattr(BaseModel, param.name):
            field_name = f"arg_{param.name.lstrip('_')}_{index}"
            info["alias"] = param.name
            info["title"] = param.name.replace("_", " ").strip().title() or param.name
        if isinstance(param.default, FieldInfo):  # def f(x: int = Field(1, ge=0))
            annotation = Annotated[annotation, param.default]
            default = ...
        else:
            default = ... if param.default is param.empty else param.default
        fields[field_name] = (annotation, Field(default, **info))
        params.append(_Param(param.name, field_name, positional_only))
    return fields, params


def _model(
    title: str, description: str | None, fields: dict[str, Any], label: str, params: list[_Param]
) -> type[BaseModel]:
    try:
        model: type[BaseModel] = create_model(
            title, __config__=_CONFIG, __doc__=description or None, **fields
        )
        model.model_json_schema()
    except Exception as exc:
        for param in params:
            if param.progress:
                continue
            annotation = fields[param.field][0]
            try:
                TypeAdapter(annotation).json_schema()
            except Exception as inner:
                raise BackendError(
                    f"{label}: parameter '{param.name}' has the type {_type_name(annotation)}, "
                    f"which cannot be described as JSON Schema ({_first_line(inner)}). Use JSON-like "
                    "types (numbers, str, bool, list, dict, Literal, Enum, date/datetime) or a "
                    "pydantic model."
                ) from None
        raise BackendError(f"{label}: cannot build its schema: {_first_line(exc)}") from None
    return model


def _return_model(
    title: str, annotation: Any, description: str | None, label: str = ""
) -> type[RootModel[Any]]:
    info: dict[str, Any] = {"description": description} if description else {}
    try:
        model = create_model(title, __base__=RootModel, root=(annotation, Field(None, **info)))
        model.model_json_schema()
    except Exception as exc:
        raise BackendError(
            f"{label}: the return type {_type_name(annotation)} cannot be described as JSON "
            f"Schema ({_first_line(exc)})."
        ) from None
    return model


def _hints(func: Callable[..., Any], label: str) -> dict[str, Any]:
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:
        raise BackendError(f"Cannot resolve the type annotations of {label}: {exc!r}") from None
    # GeoJSON models get their map annotations, an xarray.DataArray becomes a Raster
    return {name: geo.annotate(hint) for name, hint in hints.items()}


def _is_progress(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _is_progress(typing.get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        others = [a for a in typing.get_args(annotation) if a is not type(None)]
        return len(others) == 1 and _is_progress(others[0])
    return isinstance(annotation, type) and issubclass(annotation, Progress)


def _parse_doc(doc: str | None) -> docstring_parser.Docstring:
    if not doc:
        return docstring_parser.Docstring()
    text = inspect.cleandoc(doc)
    try:
        return docstring_parser.parse(text)
    except Exception:  # an unusual docstring must not stop the backend: keep it as text
        parsed = docstring_parser.Docstring()
        parsed.short_description = text
        return parsed


def _param_docs(doc: docstring_parser.Docstring) -> dict[str, str]:
    return {p.arg_name: p.description for p in doc.params if p.description}


def _description(doc: docstring_parser.Docstring) -> str | None:
    """The docstring without its parameter, returns, raises and examples sections."""
    parts = [doc.short_description, doc.long_description]
    parts += [m.description for m in doc.meta if m.args and m.args[0] == "notes"]
    text = "\n\n".join(p.strip() for p in parts if p and p.strip())
    return text or None


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and typing.get_origin(annotation) is None:
        return annotation.__name__
    return repr(annotation).replace("typing.", "")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))
