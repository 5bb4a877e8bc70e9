"""``jupyter-rpc`` / ``python -m jupyter_rpc.backend``: the schema and call verbs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from jupyter_rpc.backend import build_api
from jupyter_rpc.examples import demo
from tests.fixtures import FAULTY, REPO

DEMO = "jupyter_rpc.examples.demo"


def run_cli(
    *args: str, cwd: Path = REPO, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "jupyter_rpc.backend", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        input=stdin,
        timeout=60,
    )


def test_schema_prints_the_api_info() -> None:
    done = run_cli("schema", DEMO, "--indent", "2")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(json.dumps(build_api(demo).api_info))
    assert done.stdout.startswith('{\n  "functions": [\n')
    compact = run_cli("schema", DEMO)
    assert compact.stdout.count("\n") == 1


def test_call_runs_one_request_and_prints_the_json_result() -> None:
    done = run_cli("call", DEMO, '{"func_name": "add", "a": 2, "b": 40}')
    assert (done.returncode, done.stdout) == (0, "42\n"), done.stderr
    request = {
        "class_name": "Accumulator",
        "start": 1,
        "function": {"func_name": "add_all", "values": [2]},
    }
    done = run_cli("call", DEMO, "-", stdin=json.dumps(request))
    assert (done.returncode, done.stdout) == (0, "3.0\n"), done.stderr
    done = run_cli("call", DEMO, '{"func_name": "stations", "limit": 1}', "--indent", "1")
    assert json.loads(done.stdout)[0]["name"] == "Hamburg" and "\n " in done.stdout


def test_call_shows_progress_on_stderr() -> None:
    done = run_cli("call", DEMO, '{"func_name": "simulate", "steps": 2, "delay": 0}')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["steps"] == 2
    assert "progress: Simulating [0/2]" in done.stderr


def test_call_failures_exit_1_with_the_error_text() -> None:
    done = run_cli("call", DEMO, '{"func_name": "divide", "a": 1, "b": 0}')
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.rstrip().endswith(
        "error executing request: ValueError: cannot divide by zero: choose a divisor b other than 0"
    )
    assert "in divide" in done.stderr  # the author's traceback

    done = run_cli("call", DEMO, '{"func_name": "add", "a": "x"}')
    assert done.returncode == 1
    assert done.stderr.startswith(
        "error validating request: invalid arguments for 'add': a: Input should be"
    )

    done = run_cli("call", DEMO, "{not json")
    assert done.returncode == 1 and "the request is not valid JSON" in done.stderr


def test_a_module_given_as_a_file_path(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("FACTOR = 3\n")
    (tmp_path / "mymodel.py").write_text(
        "from helpers import FACTOR\n\n"
        "print('hello from import')\n\n"
        "def triple(x: float) -> float:\n"
        '    """Multiply by three."""\n'
        "    print('inside triple')\n"
        "    return FACTOR * x\n"
    )
    done = run_cli(
        "call", str(tmp_path / "mymodel.py"), '{"func_name": "triple", "x": 1.5}', cwd=REPO
    )
    assert (done.returncode, done.stdout) == (0, "4.5\n"), done.stderr
    assert "hello from import" in done.stderr and "inside triple" in done.stderr
    done = run_cli("schema", "mymodel.py", cwd=tmp_path)
    api_info = json.loads(done.stdout)  # the module's prints did not reach stdout
    assert api_info["functions"][0]["rpc_schema"]["title"] == "FuncTriple"
    assert api_info["rpc_schema"]["title"] == "mymodel"
    done = run_cli(
        "schema", "mymodel", cwd=tmp_path
    )  # a dotted name is also found in the current folder
    assert done.returncode == 0, done.stderr


def test_hygiene_of_the_call_verb() -> None:
    done = run_cli("call", FAULTY, '{"func_name": "chatty", "text": "hi"}')
    assert (done.returncode, done.stdout) == (0, '"hi"\n'), done.stderr
    assert "chatty print: hi" in done.stderr and "chatty fd1: hi" in done.stderr


def test_start_up_errors_are_explained() -> None:
    done = run_cli("schema", "no_such_module_here")
    assert done.returncode == 1
    assert "No module named 'no_such_module_here'" in done.stderr
    done = run_cli("serve", "missing/file.py")
    assert done.returncode == 1 and "No such Python file: missing/file.py" in done.stderr
    done = run_cli()
    assert done.returncode == 2 and "serve" in done.stderr
    done = run_cli("serve", DEMO, "--workers", "0")
    assert done.returncode == 2 and "must be at least 1" in done.stderr


def test_a_module_that_fails_to_import(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text(
        "import math\nraise RuntimeError('no data folder configured')\n"
    )
    done = run_cli("schema", str(tmp_path / "broken.py"))
    assert done.returncode == 1
    assert (
        "cannot import" in done.stderr and "RuntimeError: no data folder configured" in done.stderr
    )
