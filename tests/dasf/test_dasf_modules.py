"""Modules written for demessaging under our runner, without a broker (``jupyter-rpc call``)."""

from __future__ import annotations

import json
import subprocess

from .testbed import MODULES, REPO

DASF_DEMO = MODULES / "dasf_demo.py"


def _call(env, module, request):
    return subprocess.run(
        [str(env.python), "-m", "jupyter_rpc.backend", "call", str(module), json.dumps(request)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "DASF_REPORT_SHOW_METHOD": "AUTO"},
        cwd=str(REPO),
    )


def test_deprogressapi_reports_become_our_progress(dasf_env, tmp_path):
    done = _call(dasf_env, DASF_DEMO, {"func_name": "count_slowly", "steps": 2, "pause": 0.05})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"
    assert "progress: Counting" in done.stderr  # reports reached the runner, no curses
    # string annotations (which switch demessaging's own progress off) are resolved here
    module = tmp_path / "future_reports.py"
    module.write_text(
        "from __future__ import annotations\n"
        "from typing import Optional\n"
        "from deprogressapi import ProgressReport\n\n"
        "def work(n: int, reporter: Optional[ProgressReport] = None) -> int:\n"
        "    with ProgressReport.from_arg(reporter) as report:\n"
        "        report.step_message = 'Working'\n"
        "        report.submit()\n"
        "    return n\n"
    )
    future = _call(dasf_env, module, {"func_name": "work", "n": 4})
    assert future.returncode == 0, future.stderr
    assert future.stdout.strip() == "4" and "progress: Working" in future.stderr
