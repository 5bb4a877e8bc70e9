"""Module -> DASF api_info, and request validation, in-process."""

from __future__ import annotations

import base64
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from jupyter_rpc.backend import (
    BackendAPI,
    BackendError,
    Cancelled,
    Progress,
    RequestError,
    ResultError,
    build_api,
    load_module,
)
from jupyter_rpc.examples import demo


@pytest.fixture
def module_from(tmp_path: Path) -> Iterator[Callable[[str, str], ModuleType]]:
    """Write source to ``tmp_path/<name>.py`` and import it; sys.path/sys.modules are restored."""
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)

    def load(name: str, source: str) -> ModuleType:
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        return load_module(str(path))[0]

    yield load
    sys.path[:] = saved_path
    for name in set(sys.modules) - saved_modules:
        del sys.modules[name]


# The functions of DASF's own demo backend (notes/dasf-testbed/demo_backend.py), written for
# jupyter_rpc, and what demessaging 0.6.4 published for them (samples/api_info.json).
DASF_LIKE = '''
from typing import Annotated, Dict, List, Literal, Optional

from pydantic import BaseModel, Field

__all__ = ["add", "greet", "stats", "fail", "big_string", "Accumulator"]


class Point(BaseModel):
    """A point in 2D."""

    x: float = Field(description="x coordinate")
    y: float = Field(0.0, description="y coordinate")


def add(a: int, b: int = 1) -> int:
    """Add two integers.

    Parameters
    ----------
    a: int
        first summand
    b: int
        second summand

    Returns
    -------
    int
        the sum ``a + b``
    """
    return a + b


def greet(name: str, style: Literal["plain", "shout"] = "plain") -> str:
    """Greet somebody.

    Parameters
    ----------
    name: str
        Who to greet
    style: str
        ``plain`` or ``shout``
    """
    return name


def stats(points: Annotated[List[Point], Field(min_length=1)], scale: Optional[float] = None) -> Dict[str, float]:
    """Centroid of a list of points (nested pydantic model argument).

    Parameters
    ----------
    points: list of Point
        at least one point
    scale: float, optional
        multiply the centroid by this
    """
    return {"n": len(points)}


def fail(message: str = "boom") -> str:
    """Always raise a ValueError with the given message."""
    raise ValueError(message)


def big_string(n_bytes: int = 5 * 1024 * 1024) -> str:
    """Return a string of n_bytes ASCII characters (to test fragmentation)."""
    return "x" * n_bytes


class Accumulator:
    """Sum numbers on top of a start value."""

    def __init__(self, start: float = 0.0):
        """
        Parameters
        ----------
        start: float
            initial value
        """
        self.start = start

    def add_all(self, values: List[float]) -> float:
        """Return start + sum(values).

        Parameters
        ----------
        values: list of float
            the numbers to add
        """
        return self.start + sum(values)

    def scaled(self, factor: float = 2.0) -> float:
        """Return start * factor."""
        return self.start * factor
'''


def _func_name(name: str, key: str = "func_name") -> dict[str, Any]:
    return {
        "const": name,
        "description": f"The name of the function. Must be '{name}'",
        "title": "Func Name" if key == "func_name" else "Class Name",
        "type": "string",
    }


DASF_FUNCTIONS = {
    "add": {
        "rpc_schema": {
            "description": "Add two integers.",
            "properties": {
                "func_name": _func_name("add"),
                "a": {"description": "first summand", "title": "A", "type": "integer"},
                "b": {
                    "default": 1,
                    "description": "second summand",
                    "title": "B",
                    "type": "integer",
                },
            },
            "required": ["func_name", "a"],
            "title": "FuncAdd",
            "type": "object",
        },
        "return_schema": {
            "default": None,
            "description": "the sum ``a + b``",
            "title": "FuncAdd",
            "type": "integer",
        },
    },
    "greet": {
        "rpc_schema": {
            "description": "Greet somebody.",
            "properties": {
                "func_name": _func_name("greet"),
                "name": {"description": "Who to greet", "title": "Name", "type": "string"},
                "style": {
                    "default": "plain",
                    "description": "``plain`` or ``shout``",
                    "enum": ["plain", "shout"],
                    "title": "Style",
                    "type": "string",
                },
            },
            "required": ["func_name", "name"],
            "title": "FuncGreet",
            "type": "object",
        },
        "return_schema": {"default": None, "title": "FuncGreet", "type": "string"},
    },
    "stats": {
        "rpc_schema": {
            "$defs": {
                "Point": {
                    "description": "A point in 2D.",
                    "properties": {
                        "x": {"description": "x coordinate", "title": "X", "type": "number"},
                        "y": {
                            "default": 0.0,
                            "description": "y coordinate",
                            "title": "Y",
                            "type": "number",
                        },
                    },
                    "required": ["x"],
                    "title": "Point",
                    "type": "object",
                }
            },
            "description": "Centroid of a list of points (nested pydantic model argument).",
            "properties": {
                "func_name": _func_name("stats"),
                "points": {
                    "description": "at least one point",
                    "items": {"$ref": "#/$defs/Point"},
                    "minItems": 1,
                    "title": "Points",
                    "type": "array",
                },
                "scale": {
                    "anyOf": [{"type": "number"}, {"type": "null"}],
                    "default": None,
                    "description": "multiply the centroid by this",
                    "title": "Scale",
                },
            },
            "required": ["func_name", "points"],
            "title": "FuncStats",
            "type": "object",
        },
        "return_schema": {
            "additionalProperties": {"type": "number"},
            "default": None,
            "title": "FuncStats",
            "type": "object",
        },
    },
    "fail": {
        "rpc_schema": {
            "description": "Always raise a ValueError with the given message.",
            "properties": {
                "func_name": _func_name("fail"),
                "message": {"default": "boom", "title": "Message", "type": "string"},
            },
            "required": ["func_name"],
            "title": "FuncFail",
            "type": "object",
        },
        "return_schema": {"default": None, "title": "FuncFail", "type": "string"},
    },
    "big_string": {
        "rpc_schema": {
            "description": "Return a string of n_bytes ASCII characters (to test fragmentation).",
            "properties": {
                "func_name": _func_name("big_string"),
                "n_bytes": {"default": 5242880, "title": "N Bytes", "type": "integer"},
            },
            "required": ["func_name"],
            "title": "FuncBigString",
            "type": "object",
        },
        "return_schema": {"default": None, "title": "FuncBigString", "type": "string"},
    },
}

DASF_CLASS = {
    "name": "Accumulator",
    "rpc_schema": {
        "description": "Sum numbers on top of a start value.",
        "properties": {
            "start": {
                "default": 0.0,
                "description": "initial value",
                "title": "Start",
                "type": "number",
            },
            "class_name": _func_name("Accumulator", "class_name"),
        },
        "required": ["class_name"],
        "title": "ClassAccumulator",
        "type": "object",
    },
    "methods": [
        {
            "name": "add_all",
            "rpc_schema": {
                "description": "Return start + sum(values).",
                "properties": {
                    "func_name": _func_name("add_all"),
                    "values": {
                        "description": "the numbers to add",
                        "items": {"type": "number"},
                        "title": "Values",
                        "type": "array",
                    },
                },
                "required": ["func_name", "values"],
                "title": "MethClassAccumulatorAddAll",
                "type": "object",
            },
            "return_schema": {
                "default": None,
                "title": "MethClassAccumulatorAddAll",
                "type": "number",
            },
        },
        {
            "name": "scaled",
            "rpc_schema": {
                "description": "Return start * factor.",
                "properties": {
                    "func_name": _func_name("scaled"),
                    "factor": {"default": 2.0, "title": "Factor", "type": "number"},
                },
                "required": ["func_name"],
                "title": "MethClassAccumulatorScaled",
                "type": "object",
            },
            "return_schema": {
                "default": None,
                "title": "MethClassAccumulatorScaled",
                "type": "number",
            },
        },
    ],
}


def test_api_info_matches_what_demessaging_publishes(
    module_from: Callable[[str, str], ModuleType],
) -> None:
    api = build_api(module_from("demo_dasf", DASF_LIKE), "demo")
    info = api.api_info
    assert list(info) == ["functions", "classes", "rpc_schema"]
    assert [f["name"] for f in info["functions"]] == list(DASF_FUNCTIONS)
    for entry in info["functions"]:
        assert list(entry) == ["name", "rpc_schema", "return_schema"]
        assert entry["rpc_schema"] == DASF_FUNCTIONS[entry["name"]]["rpc_schema"], entry["name"]
        assert entry["return_schema"] == DASF_FUNCTIONS[entry["name"]]["return_schema"], entry[
            "name"
        ]
        # property order matters to form generators: func_name first, as in DASF
        assert list(entry["rpc_schema"]["properties"]) == list(
            DASF_FUNCTIONS[entry["name"]]["rpc_schema"]["properties"]
        )
    assert info["classes"] == [DASF_CLASS]
    assert list(info["classes"][0]["rpc_schema"]["properties"]) == ["start", "class_name"]

    module = info["rpc_schema"]
    assert list(module) == ["$defs", "anyOf", "description", "title"]
    assert module["title"] == "demo" and module["description"] == "The member to call."
    assert module["anyOf"] == [
        {"$ref": f"#/$defs/{t}"}
        for t in (
            "FuncAdd",
            "FuncGreet",
            "FuncStats",
            "FuncFail",
            "FuncBigString",
            "ClassAccumulator",
        )
    ]
    assert sorted(module["$defs"]) == [
        "ClassAccumulator", "FuncAdd", "FuncBigString", "FuncFail", "FuncGreet", "FuncStats",
        "MethClassAccumulatorAddAll", "MethClassAccumulatorScaled", "Point",
    ]  # fmt: skip
    klass = module["$defs"]["ClassAccumulator"]
    assert klass["required"] == ["class_name", "function"]
    assert klass["properties"]["function"] == {
        "anyOf": [
            {"$ref": "#/$defs/MethClassAccumulatorAddAll"},
            {"$ref": "#/$defs/MethClassAccumulatorScaled"},
        ],
        "description": "The method to call.",
        "title": "Function",
    }
    assert module["$defs"]["FuncStats"]["properties"]["points"]["items"] == {
        "$ref": "#/$defs/Point"
    }


@pytest.fixture(scope="module")
def demo_api() -> BackendAPI:
    return build_api(demo)


def _function(api: BackendAPI, name: str) -> dict[str, Any]:
    return next(f for f in api.api_info["functions"] if f["name"] == name)


def _props(api: BackendAPI, name: str) -> dict[str, Any]:
    return _function(api, name)["rpc_schema"]["properties"]


def test_the_example_module_uses_every_schema_feature(demo_api: BackendAPI) -> None:
    names = [f["name"] for f in demo_api.api_info["functions"]]
    assert names == [n for n in demo.__all__ if n != "Accumulator"]
    assert demo_api.api_info["rpc_schema"]["title"] == "jupyter_rpc.examples.demo"

    add = _function(demo_api, "add")["rpc_schema"]
    assert add["title"] == "FuncAdd" and add["description"] == "Add two integers."
    assert add["properties"]["func_name"] == _func_name("add")
    assert add["properties"]["a"] == {
        "description": "The first summand.",
        "title": "A",
        "type": "integer",
    }

    assert _props(demo_api, "greet")["style"]["enum"] == ["plain", "shout", "whisper"]  # Literal
    convert = _function(demo_api, "convert_temperature")["rpc_schema"]
    assert convert["$defs"]["Unit"]["enum"] == ["celsius", "fahrenheit", "kelvin"]  # Enum
    assert convert["properties"]["source"]["$ref"] == "#/$defs/Unit"

    location = _function(demo_api, "distance")["rpc_schema"]["$defs"]["Location"]  # nested model
    assert (
        location["properties"]["lat"]["minimum"] == -90
        and location["properties"]["lat"]["maximum"] == 90
    )
    assert _props(demo_api, "distance")["start"]["$ref"] == "#/$defs/Location"

    stations = _props(demo_api, "stations")
    assert stations["near"]["anyOf"] == [{"$ref": "#/$defs/Location"}, {"type": "null"}]  # Optional
    assert stations["max_distance_km"]["anyOf"] == [{"type": "number"}, {"type": "null"}]
    assert stations["active_on"]["anyOf"] == [
        {"format": "date", "type": "string"},
        {"type": "null"},
    ]
    assert (stations["limit"]["minimum"], stations["limit"]["maximum"]) == (1, 50)
    assert _props(demo_api, "daylight_hours")["day"]["format"] == "date"
    assert _props(demo_api, "experiment_end")["start"]["format"] == "date-time"
    assert _props(demo_api, "experiment_end")["duration_hours"]["exclusiveMinimum"] == 0

    table = _function(demo_api, "stations")["return_schema"]
    assert table["type"] == "array" and table["items"] == {"$ref": "#/$defs/Station"}
    assert table["$defs"]["Station"]["properties"]["active_since"]["format"] == "date"

    returns = {f["name"]: f["return_schema"] for f in demo_api.api_info["functions"]}
    assert returns["heatmap"] == {
        "contentEncoding": "base64",
        "contentMediaType": "image/png",
        "default": None,
        "description": "The image: blue is low, white is zero, red is high.",
        "title": "FuncHeatmap",
        "type": "string",
    }
    assert returns["temperature_chart"]["type"] == "object"
    assert returns["temperature_chart"]["contentMediaType"] == "application/vnd.vegalite.v5+json"
    assert returns["station_report"]["contentMediaType"] == "text/markdown"
    assert returns["sparkline"]["contentMediaType"] == "image/svg+xml"

    simulate = _function(demo_api, "simulate")["rpc_schema"]
    assert list(simulate["properties"]) == ["func_name", "steps", "delay"]  # no progress parameter
    assert "Parameters" not in simulate["description"] and "Returns" not in simulate["description"]


def test_requests_are_validated_coerced_and_called(demo_api: BackendAPI) -> None:
    call = demo_api.prepare(
        {"func_name": "daylight_hours", "day": "2026-12-21", "latitude": "52.4"}
    )
    assert call.label == "daylight_hours" and not call.is_async
    assert 7 < call.serialize(call.run()) < 8

    call = demo_api.prepare(
        {"class_name": "Accumulator", "start": 1, "function": {"func_name": "scaled"}}
    )
    assert call.label == "Accumulator.scaled"
    assert call.serialize(call.run()) == 2.0

    with pytest.raises(RequestError) as info:
        demo_api.prepare({"func_name": "stations", "near": {"lat": -91, "lon": 0}, "limit": 0})
    assert [e["path"] for e in info.value.errors] == [["near", "lat"], ["limit"]]
    assert str(info.value).startswith(
        "invalid arguments for 'stations': near.lat: Input should be greater"
    )

    with pytest.raises(RequestError) as info:
        demo_api.prepare({"class_name": "Accumulator"})
    assert info.value.errors == [{"path": ["function"], "message": "Field required"}]
    with pytest.raises(RequestError) as info:
        demo_api.prepare({"class_name": "Accumulator", "function": {"func_name": "nope"}})
    assert info.value.errors[0]["path"] == ["function", "func_name"]
    assert "add_all, scaled" in str(info.value)
    with pytest.raises(RequestError) as info:
        demo_api.prepare({"class_name": "Nope", "function": {}})
    assert info.value.errors[0]["path"] == ["class_name"]
    with pytest.raises(RequestError, match="names no function"):
        demo_api.prepare({"a": 1})
    with pytest.raises(RequestError, match="must be a JSON object"):
        demo_api.prepare([1, 2])


def test_results_are_checked_against_the_return_annotation(
    module_from: Callable[[str, str], ModuleType],
) -> None:
    api = build_api(
        module_from(
            "returns",
            """
            import datetime

            def wrong() -> int:
                return "many"

            def unknown():
                return {"when": datetime.date(2026, 1, 2), "items": {1, 2}}

            def opaque():
                return object()
            """,
        )
    )
    assert _function(api, "unknown")["return_schema"] == {"default": None, "title": "FuncUnknown"}
    call = api.prepare({"func_name": "unknown"})
    assert call.serialize(call.run()) == {"when": "2026-01-02", "items": [1, 2]}
    call = api.prepare({"func_name": "wrong"})
    with pytest.raises(
        ResultError, match=r"wrong returned 'many', which does not match its return annotation int"
    ):
        call.serialize(call.run())
    call = api.prepare({"func_name": "opaque"})
    with pytest.raises(ResultError, match="cannot be converted to JSON"):
        call.serialize(call.run())


def test_progress_parameters_are_hidden_and_injected(
    module_from: Callable[[str, str], ModuleType],
) -> None:
    api = build_api(
        module_from(
            "reporting",
            """
            from __future__ import annotations
            from typing import Optional
            from jupyter_rpc.backend import Progress

            def a(n: int, progress: Progress) -> str:
                progress.start("a", steps=n)
                return type(progress).__name__

            def b(progress: Optional[Progress] = None, *, k: int = 0) -> bool:
                return progress is not None

            def c(progress: Progress | None, /, x: int) -> int:
                return x
            """,
        )
    )
    assert list(_props(api, "a")) == ["func_name", "n"]
    assert list(_props(api, "b")) == ["func_name", "k"]
    assert list(_props(api, "c")) == ["func_name", "x"]
    progress = Progress()
    call = api.prepare({"func_name": "a", "n": 2}, progress)
    assert call.run() == "Progress"
    assert progress.to_dict()["step_message"] == "a" and progress.to_dict()["steps"] == 2
    call = api.prepare({"func_name": "b"})
    assert call.run() is True
    assert api.prepare({"func_name": "c", "x": 5}).run() == 5


def test_unsupported_annotations_fail_at_start_naming_function_and_parameter(
    module_from: Callable[[str, str], ModuleType],
) -> None:
    source = """
        class Handle:
            pass

        def use(n: int, handle: Handle) -> int:
            return n
        """
    with pytest.raises(
        BackendError,
        match=r"^use: parameter 'handle' has the type Handle, which cannot be described",
    ):
        build_api(module_from("opaque_arg", source))
    source = """
        import threading

        def make() -> threading.Lock:
            return threading.Lock()
        """
    with pytest.raises(BackendError, match=r"^make: the return type"):
        build_api(module_from("opaque_return", source))
    source = """
        from __future__ import annotations

        def late(x: Missing) -> int:
            return 1
        """
    with pytest.raises(
        BackendError, match=r"Cannot resolve the type annotations of late: .*Missing"
    ):
        build_api(module_from("unresolved", source))
    with pytest.raises(BackendError, match="reserved by DASF"):
        build_api(module_from("reserved", "def f(func_name: str) -> str:\n    return func_name\n"))
    with pytest.raises(BackendError, match="has no public functions or classes"):
        build_api(module_from("empty", "X = 1\n"))


def test_members_without___all__(module_from: Callable[[str, str], ModuleType]) -> None:
    api = build_api(
        module_from(
            "implicit",
            """
            import enum
            from os.path import join
            from pydantic import BaseModel

            class Colour(enum.Enum):
                RED = "red"

            class Options(BaseModel):
                verbose: bool = False

            class Nothing:
                '''No public methods: not published.'''
                def _hidden(self) -> None: ...

            class Counter:
                def __init__(self, start: int = 0) -> None:
                    self.start = start

                def next(self) -> int:
                    return self.start + 1

                @staticmethod
                def zero() -> int:
                    return 0

                @property
                def value(self) -> int:
                    return self.start

            def visible(colour: Colour, options: Options) -> str:
                return colour.value

            def _private() -> None: ...
            """,
        )
    )
    assert [f["name"] for f in api.api_info["functions"]] == ["visible"]
    assert [c["name"] for c in api.api_info["classes"]] == ["Counter"]
    assert [m["name"] for m in api.api_info["classes"][0]["methods"]] == ["next", "zero"]
    call = api.prepare({"class_name": "Counter", "start": 41, "function": {"func_name": "next"}})
    assert call.run() == 42
    call = api.prepare({"func_name": "visible", "colour": "red", "options": {}})
    assert call.run() == "red"


def test_parameter_names_that_clash_with_pydantic(
    module_from: Callable[[str, str], ModuleType],
) -> None:
    api = build_api(
        module_from(
            "clash",
            """
            def f(json: int, copy: bool = False, model_config: str = "x", schema: str = "s") -> list:
                return [json, copy, model_config, schema]
            """,
        )
    )
    props = _props(api, "f")
    assert list(props) == ["func_name", "json", "copy", "model_config", "schema"]
    assert props["json"] == {"title": "Json", "type": "integer"}
    call = api.prepare({"func_name": "f", "json": 3, "schema": "t"})
    assert call.run() == [3, False, "x", "t"]
    with pytest.raises(RequestError) as info:
        api.prepare({"func_name": "f", "json": "x"})
    assert info.value.errors[0]["path"] == ["json"]


def test_binary_arguments_travel_as_base64(module_from: Callable[[str, str], ModuleType]) -> None:
    api = build_api(
        module_from(
            "images",
            """
            from jupyter_rpc.backend import GIF, HTML, JPEG, PNG, VegaLite

            def flip(image: PNG) -> JPEG:
                return image[::-1]

            def page(title: str) -> HTML:
                return f"<h1>{title}</h1>"

            def tiny() -> GIF:
                return b"GIF89a"

            class Chart:  # what an Altair chart looks like to us
                def to_dict(self) -> dict:
                    return {"mark": "bar"}

            def chart() -> VegaLite:
                return Chart()
            """,
        )
    )
    assert _props(api, "flip")["image"] == {
        "contentEncoding": "base64",
        "contentMediaType": "image/png",
        "title": "Image",
        "type": "string",
    }
    call = api.prepare({"func_name": "flip", "image": base64.b64encode(b"abc").decode()})
    assert call.serialize(call.run()) == base64.b64encode(b"cba").decode()
    with pytest.raises(RequestError, match="base64"):
        api.prepare({"func_name": "flip", "image": "not base64!"})
    assert _function(api, "page")["return_schema"]["contentMediaType"] == "text/html"
    assert _function(api, "tiny")["return_schema"]["contentMediaType"] == "image/gif"
    assert _function(api, "chart")["return_schema"] == {
        "contentMediaType": "application/vnd.vegalite.v5+json",
        "default": None,
        "title": "FuncChart",
        "type": "object",
    }
    call = api.prepare({"func_name": "chart"})
    assert call.serialize(call.run()) == {"mark": "bar"}


def test_async_functions_are_marked(module_from: Callable[[str, str], ModuleType]) -> None:
    api = build_api(module_from("asyncmod", "async def wait(x: int) -> int:\n    return x\n"))
    assert api.is_async({"func_name": "wait"}) and not api.is_async({"func_name": "other"})
    call = api.prepare({"func_name": "wait", "x": "4"})
    assert call.is_async
    coroutine = call.run()
    with pytest.raises(StopIteration) as done:
        coroutine.send(None)
    assert done.value.value == 4


# -- Progress -------------------------------------------------------------------------------


def test_progress_builds_a_tree_and_reports_every_change() -> None:
    seen: list[dict[str, Any]] = []
    root = Progress(on_change=lambda node: seen.append(node.to_dict()))
    root.start("Work", steps=2)
    with root.step("one") as one:
        with one.step("one.a"):
            pass
    with pytest.raises(KeyError), root.step("two"):
        raise KeyError("x")
    root.update("Work done")
    tree = root.to_dict()
    assert tree == {
        "report_id": "root",
        "status": "running",
        "step_message": "Work done",
        "steps": 2,
        "children": [
            {
                "report_id": "root",
                "status": "success",
                "step_message": "one",
                "steps": 0,
                "children": [
                    {
                        "report_id": "root",
                        "status": "success",
                        "step_message": "one.a",
                        "steps": 0,
                        "children": [],
                    }
                ],
            },
            {
                "report_id": "root",
                "status": "error",
                "step_message": "two",
                "steps": 0,
                "children": [],
            },
        ],
    }
    assert len(seen) == 8 and seen[-1] == tree
    assert seen[1]["children"][0]["status"] == "running"


def test_a_cancelled_progress_raises_on_the_next_report() -> None:
    root = Progress()
    step = root.step("s")
    root.check()
    root.cancel()
    assert root.cancelled and step.cancelled
    for report in (
        root.check,
        lambda: root.update("x"),
        lambda: step.step("y"),
        lambda: root.start("z"),
    ):
        with pytest.raises(Cancelled):
            report()
    assert not issubclass(Cancelled, Exception)  # a broad "except Exception" does not swallow it
