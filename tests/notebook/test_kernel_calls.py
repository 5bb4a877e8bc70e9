"""Remote calls from notebook cells: a real kernel runs the client against a real server."""

from __future__ import annotations

import asyncio
import os

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook


def outputs(cell) -> str:
    """Everything a person sees under a cell, as text (MIME types of rich outputs first).
    Consecutive stream outputs of one name are one text, as Lab shows them: a busy kernel
    may send one printed line in two stream messages."""
    parts = []
    last_stream = None
    for out in cell.outputs:
        if out.output_type == "stream":
            if last_stream == out.name and parts:
                parts[-1] += out.text
            else:
                parts.append(out.text)
            last_stream = out.name
            continue
        last_stream = None
        if out.output_type in ("execute_result", "display_data"):
            parts.append(" ".join(sorted(out.data)) + "\n" + str(out.data.get("text/plain", "")))
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
    return "\n".join(parts)


def test_outputs_shows_a_line_sent_in_two_stream_messages_as_one() -> None:
    """CI saw 'AFTER END' and ' ended | ...' arrive as two stdout messages of one print."""
    from nbformat.v4 import new_code_cell, new_output

    cell = new_code_cell("print('AFTER END', 'ended')")
    cell.outputs = [
        new_output("stream", name="stdout", text="AFTER END"),
        new_output("stream", name="stdout", text=" ended\n"),
        new_output("stream", name="stderr", text="warning\n"),
        new_output("stream", name="stdout", text="next\n"),
    ]
    assert outputs(cell) == "AFTER END ended\n\nwarning\n\nnext\n"


async def test_cells_call_remote_functions(server_url, tmp_path):
    url, token = server_url
    nb = new_notebook(
        cells=[
            new_code_cell(
                'from jupyter_rpc import connect\nexamples = connect("examples")\nexamples.add(a=2, b=40)'
            ),
            new_code_cell("import inspect\nprint(inspect.signature(examples.add))"),
            new_code_cell('faulty = connect("faulty")\nfaulty.sleep(seconds=1.5)'),
            new_code_cell("examples.heatmap(width=16, height=8)"),
            new_code_cell(
                "try:\n    examples.divide(a=1, b=0)\nexcept Exception as e:\n"
                "    print(type(e).__name__, bool(e.call_id), e)"
            ),
            new_code_cell("examples.Accumulator(start=10.0).add_all(values=[1.0, 2.5])"),
            new_code_cell('aio = connect("examples", asynchronous=True)\nawait aio.add(a=20, b=3)'),
        ]
    )
    client = NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    env = {**os.environ, "JUPYTER_RPC_URL": url, "JUPYTER_RPC_TOKEN": token}
    # nbclient blocks; the server under test runs on this loop.
    await asyncio.to_thread(lambda: asyncio.run(client.async_execute(env=env)))
    cells = nb.cells
    assert outputs(cells[0]).endswith("42")
    assert "(a: int, b: int = 1)" in outputs(cells[1])  # positional, as the function says
    progress = outputs(cells[2])
    assert "faulty.sleep: succeeded" in progress and "✓" in progress  # the live progress display
    assert progress.rstrip().endswith("1.5")
    assert "image/png" in outputs(cells[3])
    assert outputs(cells[4]).startswith("RemoteError True") and "zero" in outputs(cells[4]).lower()
    assert outputs(cells[5]).endswith("13.5")
    assert outputs(cells[6]).endswith("23")  # top-level await in a cell
    nbformat.validate(nb)


async def test_interrupting_the_kernel_cancels_the_remote_call(server_url, tmp_path, rpc):
    import signal

    url, token = server_url
    nb = new_notebook(
        cells=[
            new_code_cell('from jupyter_rpc import connect\nconnect("faulty").sleep(seconds=60)')
        ]
    )
    client = NotebookClient(
        nb,
        timeout=90,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    env = {**os.environ, "JUPYTER_RPC_URL": url, "JUPYTER_RPC_TOKEN": token}
    run = asyncio.ensure_future(
        asyncio.to_thread(lambda: asyncio.run(client.async_execute(env=env)))
    )
    call = None
    for _ in range(200):  # until the remote call runs
        await asyncio.sleep(0.1)
        _, listing = await rpc("GET", "calls")
        if listing["calls"] and listing["calls"][0]["state"] == "running":
            call = listing["calls"][0]
            break
    assert call is not None, "the cell never started its call"
    os.kill(client.km.provisioner.pid, signal.SIGINT)  # what Kernel > Interrupt does
    await asyncio.wait_for(run, 60)
    _, call = await rpc("GET", "calls", call["id"])
    assert call["state"] == "cancelled"
    assert "KeyboardInterrupt" in outputs(nb.cells[0])
