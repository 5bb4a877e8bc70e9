"""A finished call's progress in a notebook cell is one summary line (issue 16, item 10):
the live tree (a line per step, 24 lines for simulate(steps=10)) and its bar were left
under the cell once the call ended. A real kernel runs the client against a real server.
"""

from __future__ import annotations

import asyncio
import os

from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook


async def test_a_finished_call_leaves_one_summary_line(server_url, tmp_path):
    url, token = server_url
    nb = new_notebook(
        cells=[
            new_code_cell(
                'from jupyter_rpc import connect\nexamples = connect("examples")\n'
                'r = examples.simulate(steps=10, delay=0.05)\nr["steps"]'
            ),
            new_code_cell(
                "try:\n    examples.divide(a=1, b=0)\nexcept Exception as e:\n    print('raised')"
            ),
        ]
    )
    client = NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    env = {**os.environ, "JUPYTER_RPC_URL": url, "JUPYTER_RPC_TOKEN": token}
    await asyncio.to_thread(lambda: asyncio.run(client.async_execute(env=env)))
    cell = nb.cells[0]
    shown = [o for o in cell.outputs if o.output_type == "display_data"]
    assert len(shown) == 1, cell.outputs  # one live display, updated in place
    # nbclient applies the display's updates: what stays is the last one.
    text = str(shown[0].data["text/plain"])
    html = str(shown[0].data["text/html"])
    assert text.count("\n") == 0, text  # one line, not the tree
    assert text.startswith("✓ examples.simulate: succeeded in "), text
    assert "10/10 steps" in text, text
    assert "<progress" not in html, html  # no bar left over
    assert cell.outputs[-1].output_type == "execute_result"
    assert cell.outputs[-1].data["text/plain"] == "10"
