"""Turn a module of type-annotated functions and classes into DASF remote procedures.

:func:`build_api` reads a module once at start and gives a :class:`BackendAPI`:

* ``api_info`` -- DASF's API description (``{"functions", "classes", "rpc_schema"}``),
  with demessaging's model names (``FuncAdd``, ``ClassAccumulator``,
  ``MethClassAccumulatorAddAll``) so DASF clients read it unchanged;
* :meth:`BackendAPI.prepare` -- validates a DASF request (``{"func_name": "add", ...}``
  or ``{"class_name": ..., "function": {"func_name": ...}}``) with the same pydantic
  models and returns a :class:`PreparedCall` that runs it and serializes the result.
"""

from __future__ import annotations

import functools
import inspect
import types
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from pydantic_core import PydanticSerializationError

from .loader import BackendError
from .members import _build_callable, _build_class, _Callable, _camel, _Class, _members, _type_name
from .progress import Progress

__all__ = ["BackendAPI", "BackendError", "PreparedCall", "RequestError", "ResultError", "build_api"]


class RequestError(ValueError):
    """A request that does not fit the schema (DASF: "error validating request").

    Attributes
    ----------
    errors
        ``[{"path": [...], "message": "..."}]``; paths are relative to the arguments
        object (a method's own arguments are under ``"function"``).
    """

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.errors = errors


class ResultError(TypeError):
    """A function returned something its return annotation does not allow."""


@dataclass
class PreparedCall:
    """A validated request, ready to run (in a worker thread, or awaited when async)."""

    label: str
    is_async: bool
    _target: _Callable
    _args: list[Any]
    _kwargs: dict[str, Any]
    _init: tuple[type, list[Any], dict[str, Any]] | None = None

    def run(self) -> Any:
        """Call the function (a fresh instance first, for a method); async ones give a coroutine."""
        func = self._target.func
        if self._init is not None:
            cls, args, kwargs = self._init
            func = getattr(cls(*args, **kwargs), self._target.name)
        return func(*self._args, **self._kwargs)

    @property
    def returns_raster(self) -> bool:
        """Whether the declared result is a raster at its top (``-> Raster``, not
        ``Raster | None``): the one result the server turns back from binary buffers."""
        return _returns_raster(self._target.return_model)

    def serialize(self, result: Any) -> Any:
        """The JSON value of ``result``, checked against the return annotation."""
        return_model = self._target.return_model
        try:
            value = return_model.model_validate(result)
        except ValidationError as exc:
            problems = "; ".join(_format_error(e, []) for e in exc.errors(include_url=False))
            raise ResultError(
                f"{self.label} returned {_short(result)}, which does not match its return "
                f"annotation {_type_name(return_model.model_fields['root'].annotation)}: {problems}"
            ) from None
        try:
            return value.model_dump(mode="json")
        except PydanticSerializationError as exc:
            raise ResultError(
                f"the result of {self.label} cannot be converted to JSON: {exc}"
            ) from None


class BackendAPI:
    """The remote procedures of one module.

    Attributes
    ----------
    name
        The published name (the DASF topic; the module name by default).
    api_info
        DASF's ``{"functions": [...], "classes": [...], "rpc_schema": {...}}``.
    module_schema
        ``api_info["rpc_schema"]``: the whole module as one JSON Schema (``anyOf`` of
        ``$ref`` into ``$defs``), what DASF answers to ``info``.
    """

    def __init__(
        self, name: str, functions: dict[str, _Callable], classes: dict[str, _Class]
    ) -> None:
        self.name = name
        self.functions = functions
        self.classes = classes
        self.module_schema = _module_schema(name, functions, classes)
        self.api_info: dict[str, Any] = {
            "functions": [_entry(f) for f in functions.values()],
            "classes": [
                {
                    "name": c.name,
                    "rpc_schema": c.init.model.model_json_schema(),
                    "methods": [_entry(m) for m in c.methods.values()],
                }
                for c in classes.values()
            ],
            "rpc_schema": self.module_schema,
        }
        #: ``api_info`` plus each entry's ``parameters`` (kinds and order, for clients
        #: that call positionally): what the runner answers over its own protocol. DASF
        #: (the broker's status-ping, ``jupyter-rpc schema``) gets ``api_info`` unchanged.
        self.runner_api_info: dict[str, Any] = {
            "functions": [
                {**entry, "parameters": _parameters(f)}
                for entry, f in zip(self.api_info["functions"], functions.values(), strict=True)
            ],
            "classes": [
                {
                    **entry,
                    "parameters": _parameters(c.init),
                    "methods": [
                        {**m_entry, "parameters": _parameters(m)}
                        for m_entry, m in zip(entry["methods"], c.methods.values(), strict=True)
                    ],
                }
                for entry, c in zip(self.api_info["classes"], classes.values(), strict=True)
            ],
            "rpc_schema": self.module_schema,
        }

    def is_async(self, request: Any) -> bool:
        """Whether ``request`` names an ``async def`` function or method (no validation)."""
        if not isinstance(request, dict):
            return False
        if "class_name" in request:
            owner = (
                self.classes.get(request["class_name"])
                if isinstance(request["class_name"], str)
                else None
            )
            call = request.get("function")
            if (
                owner is None
                or not isinstance(call, dict)
                or not isinstance(call.get("func_name"), str)
            ):
                return False
            method = owner.methods.get(call["func_name"])
            return method is not None and method.is_async
        name = request.get("func_name")
        target = self.functions.get(name) if isinstance(name, str) else None
        return target is not None and target.is_async

    def prepare(self, request: Any, progress: Progress | None = None) -> PreparedCall:
        """Validate a DASF request and bind its arguments.

        Parameters
        ----------
        request
            The decoded request payload.
        progress
            Passed to the parameters annotated :class:`Progress` (a fresh one if ``None``).

        Raises
        ------
        RequestError
            If the request names no known member or its arguments are invalid.
        """
        if progress is None:
            progress = Progress()
        if not isinstance(request, dict):
            raise RequestError(
                "a request must be a JSON object with 'func_name' (or 'class_name' and 'function')",
                [{"path": [], "message": "Input should be an object"}],
            )
        if "class_name" in request:
            return self._prepare_method(request, progress)
        name = request.get("func_name")
        target = self.functions.get(name) if isinstance(name, str) else None
        if target is None:
            raise _unknown("function", name, self.functions, ["func_name"])
        validated = _validate(target, request, [])
        args, kwargs = target.arguments(validated, progress)
        return PreparedCall(target.label, target.is_async, target, args, kwargs)

    def _prepare_method(self, request: dict[str, Any], progress: Progress) -> PreparedCall:
        name = request.get("class_name")
        owner = self.classes.get(name) if isinstance(name, str) else None
        if owner is None:
            raise _unknown("class", name, self.classes, ["class_name"])
        call = request.get("function")
        if not isinstance(call, dict):
            message = (
                "Field required" if call is None else "Input should be an object with 'func_name'"
            )
            raise RequestError(
                f"invalid arguments for '{owner.name}': function: {message}",
                [{"path": ["function"], "message": message}],
            )
        method_name = call.get("func_name")
        method = owner.methods.get(method_name) if isinstance(method_name, str) else None
        if method is None:
            raise _unknown(
                f"method of {owner.name}", method_name, owner.methods, ["function", "func_name"]
            )
        init_args = {k: v for k, v in request.items() if k != "function"}
        errors: list[dict[str, Any]] = []
        texts: list[str] = []
        validated = []
        for target, data, prefix in ((owner.init, init_args, []), (method, call, ["function"])):
            try:
                validated.append(target.model.model_validate(data))
            except ValidationError as exc:
                _collect(exc, prefix, errors, texts)
        if errors:
            raise RequestError(
                f"invalid arguments for '{method.label}': " + "; ".join(texts), errors
            )
        init_a, init_kw = owner.init.arguments(validated[0], progress)
        args, kwargs = method.arguments(validated[1], progress)
        return PreparedCall(
            method.label, method.is_async, method, args, kwargs, (owner.cls, init_a, init_kw)
        )


def build_api(module: types.ModuleType, name: str | None = None) -> BackendAPI:
    """Describe the public functions and classes of ``module``.

    Members are the names in the module's ``__all__`` where it has one, else the public
    functions and classes defined in the module. Argument types, defaults and
    descriptions come from signatures and docstrings (numpy, Google or reST style).

    Parameters
    ----------
    module
        The imported backend module.
    name
        The published name (defaults to ``module.__name__``).

    Raises
    ------
    BackendError
        If an annotation cannot be resolved or described as JSON Schema (the message
        names the function and the parameter), or if there is nothing to publish.
    """
    name = name or module.__name__
    functions: dict[str, _Callable] = {}
    classes: dict[str, _Class] = {}
    for member_name, obj in _members(module):
        if inspect.isclass(obj):
            built = _build_class(member_name, obj)
            if built is not None:
                classes[member_name] = built
        else:
            functions[member_name] = _build_callable(
                member_name, obj, f"Func{_camel(member_name)}", member_name
            )
    if not functions and not classes:
        raise BackendError(
            f"Module '{name}' has no public functions or classes to publish "
            "(list them in __all__, or define functions whose names do not start with '_')."
        )
    return BackendAPI(name, functions, classes)


@functools.lru_cache(maxsize=1024)
def _returns_raster(return_model: type[Any]) -> bool:
    from .raster import RASTER_MEDIA_TYPE

    schema = return_model.model_json_schema()
    return bool(schema.get("contentMediaType") == RASTER_MEDIA_TYPE)


def _entry(target: _Callable) -> dict[str, Any]:
    return {
        "name": target.name,
        "rpc_schema": target.model.model_json_schema(),
        "return_schema": target.return_model.model_json_schema(),
    }


def _parameters(target: _Callable) -> list[dict[str, str]]:
    """The parameters in the function's own order with their kinds, for clients that call
    positionally (``[{"name": "value", "kind": "positional_or_keyword"}, ...]``; kinds are
    :class:`inspect.Parameter` kinds in lower case). Only the schema's properties, plus any
    ``*args``/``**kwargs`` (which no call can fill: the schema has no place for them).
    Not in DASF's api_info: an api_info without it means keyword-only."""
    named = {p.name for p in target.params if not p.progress}
    try:
        signature = inspect.signature(target.func)
    except (TypeError, ValueError):
        return []
    return [
        {"name": p.name, "kind": p.kind.name.lower()}
        for p in signature.parameters.values()
        if p.name in named or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def _module_schema(
    name: str, functions: dict[str, _Callable], classes: dict[str, _Class]
) -> dict[str, Any]:
    models = [f.model for f in functions.values()] + [c.full_model for c in classes.values()]
    refs, defs = models_json_schema(
        [(m, "validation") for m in models], ref_template="#/$defs/{model}"
    )
    return {
        "$defs": defs.get("$defs", {}),
        "anyOf": [refs[(m, "validation")] for m in models],
        "description": "The member to call.",
        "title": name,
    }


def _validate(target: _Callable, data: dict[str, Any], prefix: list[Any]) -> BaseModel:
    try:
        return target.model.model_validate(data)
    except ValidationError as exc:
        errors: list[dict[str, Any]] = []
        texts: list[str] = []
        _collect(exc, prefix, errors, texts)
        raise RequestError(
            f"invalid arguments for '{target.label}': " + "; ".join(texts), errors
        ) from None


def _collect(
    exc: ValidationError, prefix: list[Any], errors: list[dict[str, Any]], texts: list[str]
) -> None:
    for error in exc.errors(include_url=False):
        path = [*prefix, *error["loc"]]
        errors.append({"path": path, "message": error["msg"]})
        texts.append(_format_error(error, path))


def _format_error(error: Any, path: list[Any]) -> str:
    where = ".".join(str(p) for p in path) or "value"
    text = f"{where}: {error['msg']}"
    if error.get("type") != "missing" and "input" in error:
        text += f" (got {_short(error['input'])})"
    return text


def _unknown(kind: str, name: Any, known: dict[str, Any], path: list[str]) -> RequestError:
    available = ", ".join(known) or "none"
    if name is None:
        message = f"Field required (the {kind} to call; available: {available})"
        text = f"the request names no {kind} ('{path[-1]}' is missing); available: {available}"
    else:
        message = f"Unknown {kind} {_short(name)}; available: {available}"
        text = f"there is no {kind} {_short(name)}; available: {available}"
    return RequestError(text, [{"path": path, "message": message}])


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
