"""Notebooks as cluster jobs (issue 24): a notebook copied into a run folder and executed
headless in a batch job, with other values for its ``parameters`` cell (papermill's
convention: the cell tagged ``parameters``; the new values go into a cell after it,
tagged ``injected-parameters``), coming back executed as ``out.ipynb`` in the run folder.

It is a workflow run of one step (:mod:`.workflow_runs`): the same folder, states, log
tail, outputs, cancel. The job runs :data:`RUNNER` (standard library, ``nbformat`` and
``nbclient``, which every Jupyter installation has) in the environment the user names (a
shell line: ``module load python``, ``conda activate x``, ``source venv/bin/activate``);
a failing cell ends the job with its number and error in the log, and the notebook as far
as it ran is still written. While it runs, the run folder's ``progress`` file holds the
code cells done and their number (the run's ``progress``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import InvalidRequest
from .workflows import Step, WorkflowTemplate

#: The batch script of a notebook run (the apps' sandboxed engine: every value quoted).
STEP_SCRIPT = """#!/bin/bash
set -u
cd {{ run_dir }} || exit 1
{% if environment %}eval {{ environment }}{% endif %}
PYTHON=$(command -v python3 || command -v python)
exec "$PYTHON" run_notebook.py in.ipynb parameters.json out.ipynb
"""

#: Executes the notebook on the node (written into the run folder as run_notebook.py).
RUNNER = r'''"""jupyter_rpc: execute a notebook headless (its parameters injected after the cell
tagged 'parameters'); exit 1 naming the cell that failed."""
import json
import os
import sys

try:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
except ImportError as exc:
    sys.exit(f"jupyter_rpc: this environment cannot run notebooks ({exc}); "
             "install nbclient and ipykernel in it (pip install nbclient ipykernel)")

source, params_file, target = sys.argv[1:4]
nb = nbformat.read(source, as_version=4)
with open(params_file, encoding="utf-8") as fh:
    params = json.load(fh)
if params:
    where = next((i for i, c in enumerate(nb.cells)
                  if "parameters" in c.get("metadata", {}).get("tags", [])), -1)
    code = "# Parameters (injected by jupyter_rpc)\n" + "\n".join(
        f"{name} = {value!r}" for name, value in params.items())
    cell = nbformat.v4.new_code_cell(code)
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(where + 1, cell)
code_cells = [c for c in nb.cells if c.cell_type == "code"]
print(f"jupyter_rpc: executing {len(code_cells)} code cells", flush=True)
done = 0


def progress(**_):
    """The run folder's 'progress' file: code cells done, and of how many."""
    global done
    done += 1
    with open("progress.tmp", "w", encoding="utf-8") as fh:
        fh.write(f"{min(done, len(code_cells))} {len(code_cells)}\n")
    os.replace("progress.tmp", "progress")


done = -1
progress()
client = NotebookClient(nb, timeout=None, kernel_name="python3",
                        resources={"metadata": {"path": "."}})
if hasattr(client, "on_cell_executed"):  # nbclient 0.6 and later
    client.on_cell_executed = progress
failed = None
try:
    client.execute()
except CellExecutionError:
    for number, c in enumerate(code_cells, 1):
        errors = [o for o in c.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            failed = (number, errors[0].get("ename", ""), errors[0].get("evalue", ""))
            break
    failed = failed or (0, "CellExecutionError", "")
finally:
    nbformat.write(nb, target)
if failed:
    print(f"jupyter_rpc: code cell {failed[0]} of {len(code_cells)} failed: "
          f"{failed[1]}: {failed[2]}", file=sys.stderr, flush=True)
    sys.exit(1)
print(f"jupyter_rpc: all {len(code_cells)} code cells ran", flush=True)
'''

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
#: The start of a notebook run's template name (and so of its run's id).
NOTEBOOK_PREFIX = "nb-"
#: The executed notebook, written when the runner ends (also after a failing cell).
NOTEBOOK_OUTPUT = "out.ipynb"


def notebook_template(name: str) -> WorkflowTemplate:
    """A one-step template that runs a notebook; ``name`` is the notebook's file name."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", name.rsplit("/", 1)[-1].removesuffix(".ipynb"))
    stem = (stem.strip("-.") or "notebook")[:40]
    return WorkflowTemplate(
        name=f"{NOTEBOOK_PREFIX}{stem}",
        display_name=f"Notebook {name}",
        steps=[Step(name="execute", script=STEP_SCRIPT)],
        description="A notebook executed headless in a batch job.",
        form={
            "environment": {
                "type": "string",
                "title": "Python environment",
                "description": "A shell line run before the notebook (module load ..., conda "
                "activate ..., source .../bin/activate); empty: the login environment.",
                "default": "",
                "maxLength": 1000,
            }
        },
        outputs=[NOTEBOOK_OUTPUT],
        source="user",
        file="(a notebook)",
    )


def notebook_files(notebook: dict[str, Any], parameters: dict[str, Any]) -> dict[str, str]:
    """The run folder's files of a notebook run, the values checked (400 naming what)."""
    if not isinstance(notebook.get("cells"), list) or notebook.get("nbformat") != 4:
        raise InvalidRequest(
            "The notebook is not an nbformat 4 notebook (no 'cells' list, or another version).",
            code="request.schema",
            details={"problems": [{"path": ["notebook"], "message": "not an nbformat 4 notebook"}]},
        )
    for key in parameters:
        if not _IDENTIFIER.match(key):
            raise InvalidRequest(
                f"The parameter {key!r} is not a Python name.",
                code="request.schema",
                details={
                    "problems": [{"path": ["parameters", key], "message": "not a Python name"}]
                },
            )
    return {
        "in.ipynb": json.dumps(notebook),
        "parameters.json": json.dumps(parameters),
        "run_notebook.py": RUNNER,
    }
