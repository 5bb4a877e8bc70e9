"""The notebook client's calling conventions: remote functions take their arguments as
their Python signatures say (positional, keyword-only, positional-only), from a real
kernel against a real server; DASF-style backends (no parameter kinds published) stay
keyword-only and say so in help()."""

from __future__ import annotations

import asyncio
import os
import textwrap
from typing import Any

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from .test_kernel_calls import outputs

KINDS = textwrap.dedent(
    '''
    """Parameters of every kind."""


    def scale(value: float, /, factor: float = 2.0, *, offset: float = 0.0) -> float:
        """value * factor + offset."""
        return value * factor + offset


    def total(first: int, *rest: int, **named: int) -> int:
        """first, plus what a local call would add."""
        return first + sum(rest) + sum(named.values())
    '''
)


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], tmp_path: Any) -> dict[str, Any]:
    module = tmp_path / "kinds.py"
    module.write_text(KINDS)
    backends = {**jp_server_config["RPCApp"]["backends"], "kinds": {"module": str(module)}}
    return {**jp_server_config, "RPCApp": {**jp_server_config["RPCApp"], "backends": backends}}


async def run_cells(server_url: tuple[str, str], tmp_path: Any, sources: list[str]) -> list[str]:
    url, token = server_url
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    client = NotebookClient(
        nb,
        timeout=60,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    env = {**os.environ, "JUPYTER_RPC_URL": url, "JUPYTER_RPC_TOKEN": token}
    await asyncio.to_thread(lambda: asyncio.run(client.async_execute(env=env)))
    return [outputs(c) for c in nb.cells]


async def test_positional_calls_follow_the_functions_signature(server_url, tmp_path):
    out = await run_cells(
        server_url,
        tmp_path,
        [
            "import inspect\nfrom jupyter_rpc import connect\nex = connect('examples')\n"
            "print(ex.convert_temperature(100, target='kelvin'))",
            "print(ex.add(2, 40), ex.add(2, b=40), ex.add(a=2, b=40))",
            "print(inspect.signature(ex.convert_temperature))",
            "print(ex.Accumulator(10.0).add_all([1.0, 2.5]))",
            "k = connect('kinds')\nprint(inspect.signature(k.scale), k.scale(3, 4, offset=1))",
            "k.scale(value=3)",
            "k.scale(3, 4, 1)",
            "print(inspect.signature(k.total), k.total(5))",
            "k.total(1, 2, 3)",
            "k.total(1, extra=2)",
            "help(k.total)",
            "ex.add(1, 2, 3)",
        ],
    )
    assert out[0].strip() == "373.15"  # was: convert_temperature() takes 0 positional arguments
    assert out[1].strip() == "42 42 42"
    assert out[2].strip().startswith("(value: float, source: ")
    assert out[3].strip() == "13.5"
    assert out[4].strip() == "(value: float, /, factor: float = 2.0, *, offset: float = 0.0) 13.0"
    # Python's own messages, as for a local function
    assert "TypeError" in out[5] and "positional only" in out[5]
    assert "TypeError" in out[6] and "positional argument" in out[6]
    assert out[7].strip() == "(first: int, *rest, **named) 5"
    assert "TypeError" in out[8] and "*rest cannot be passed" in out[8]
    assert "TypeError" in out[9] and "'extra'" in out[9] and "**named cannot be passed" in out[9]
    assert "total(first: int, *rest, **named)" in out[10]
    assert "rest, named cannot be passed" in out[10]
    assert "TypeError" in out[11] and "too many positional arguments" in out[11]


async def test_without_published_kinds_arguments_go_by_name_and_help_says_so(server_url, tmp_path):
    """A DASF backend's api_info has no parameter kinds: the client keeps keyword-only
    (an older server, which answers no ``parameters``, is the same case)."""
    out = await run_cells(
        server_url,
        tmp_path,
        [
            "import inspect\nfrom jupyter_rpc.notebook import client\n"
            "s = client.Session()\n"
            "specs = s.request('GET', 'backends/examples/functions')['functions']\n"
            "print(all(spec['parameters'] is not None for spec in specs))\n"
            "spec = dict(next(x for x in specs if x['name'] == 'add'), parameters=None)\n"
            "add = client._function(s, 'examples', spec)\n"
            "print(inspect.signature(add), add(a=2, b=40))",
            "add(2, 40)",
            "help(add)",
        ],
    )
    assert out[0].split() == ["True", "(*,", "a:", "int,", "b:", "int", "=", "1)", "42"]
    assert "TypeError" in out[1]
    assert "passed by name only" in out[2]


async def test_the_functions_api_lists_parameter_kinds(rpc):
    status, body = await rpc("GET", "backends", "kinds", "functions")
    assert status == 200
    by_name = {f["name"]: f for f in body["functions"]}
    assert by_name["scale"]["parameters"] == [
        {"name": "value", "kind": "positional_only"},
        {"name": "factor", "kind": "positional_or_keyword"},
        {"name": "offset", "kind": "keyword_only"},
    ]
    assert [p["kind"] for p in by_name["total"]["parameters"]] == [
        "positional_or_keyword",
        "var_positional",
        "var_keyword",
    ]
