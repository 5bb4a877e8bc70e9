"""Jobs and files from notebook cells: a real kernel runs the cluster client against a real
server with the local cluster (real processes, a real folder)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from tests.notebook.test_kernel_calls import outputs


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    root.mkdir()
    return root


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], home: Path, with_local_cluster: Any
) -> dict[str, Any]:
    return with_local_cluster(jp_server_config, home, jobs_refresh_min=0.2)


def client_for(nb, tmp_path: Path, **kwargs: Any) -> NotebookClient:
    return NotebookClient(
        nb, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}, **kwargs
    )


async def execute(client: NotebookClient, url: str, token: str) -> None:
    env = {**os.environ, "JUPYTER_RPC_URL": url, "JUPYTER_RPC_TOKEN": token}
    # nbclient blocks; the server under test runs on this loop.
    await asyncio.to_thread(lambda: asyncio.run(client.async_execute(env=env)))


async def test_cells_submit_wait_and_read_output(server_url, tmp_path, home):
    url, token = server_url
    nb = new_notebook(
        cells=[
            new_code_cell(
                'import jupyter_rpc\nc = jupyter_rpc.cluster("local")\n'
                'j = c.submit("echo hi from the kernel")\nj.wait()\nprint(j.output())'
            ),
            new_code_cell("c.jobs()"),
            new_code_cell(
                'c.files.write_text("home/notes.txt", "from a cell")\nc.files.ls("home")'
            ),
            new_code_cell(
                'try:\n    c.files.read_text("home/missing.txt")\nexcept jupyter_rpc.RemoteError as e:\n'
                "    print(e.code, '|', e)"
            ),
            new_code_cell("jupyter_rpc.clusters().names"),
        ]
    )
    client = client_for(nb, tmp_path, timeout=60)
    await execute(client, url, token)
    first = nb.cells[0]
    assert "hi from the kernel" in outputs(first)
    # the live status line is one display, updated in place, ending at the final state
    (status,) = [o for o in first.outputs if o.output_type == "display_data"]
    assert "text/html" in status.data and "completed" in status.data["text/plain"]
    assert "exit code 0" in status.data["text/plain"]
    jobs = outputs(nb.cells[1])
    assert jobs.startswith("text/html text/plain") and "completed" in jobs
    assert (home / "notes.txt").read_text() == "from a cell"
    assert "notes.txt" in outputs(nb.cells[2]) and "text/html" in outputs(nb.cells[2])
    assert outputs(nb.cells[3]).startswith("files.not_found | ") and "missing.txt" in outputs(
        nb.cells[3]
    )
    assert outputs(nb.cells[4]).endswith("['local']")
    nbformat.validate(nb)


async def test_interrupting_a_wait_leaves_the_job_running(server_url, tmp_path, rpc):
    url, token = server_url
    nb = new_notebook(
        cells=[
            new_code_cell(
                'import jupyter_rpc\nc = jupyter_rpc.cluster("local")\n'
                'j = c.submit("sleep 60", name="long")\nj.wait(poll=0.2)'
            ),
            new_code_cell("print('after interrupt:', j.state)"),
            new_code_cell("j.cancel()\nprint('then:', j.state)"),
        ]
    )
    client = client_for(nb, tmp_path, timeout=90, allow_errors=True)
    run = asyncio.ensure_future(execute(client, url, token))
    job = None
    for _ in range(300):  # until the job runs (the cell is then waiting for it)
        await asyncio.sleep(0.1)
        _, listing = await rpc("GET", "clusters", "local", "jobs")
        running = [
            j for j in listing.get("jobs", []) if j["name"] == "long" and j["state"] == "running"
        ]
        if running:
            job = running[0]
            break
    assert job is not None, "the cell never submitted its job"
    await asyncio.sleep(0.5)
    os.kill(client.km.provisioner.pid, signal.SIGINT)  # what Kernel > Interrupt does
    await asyncio.wait_for(run, 60)
    first = outputs(nb.cells[0])
    assert "KeyboardInterrupt" in first and "stopped waiting; the job goes on" in first
    assert "after interrupt: running" in outputs(nb.cells[1])
    assert "then: cancelled" in outputs(nb.cells[2])
    _, after = await rpc("GET", "clusters", "local", "jobs", job["id"])
    assert after["state"] == "cancelled"


async def test_an_asynchronous_cluster_in_cells(server_url, tmp_path, home):
    """Top-level ``await`` in cells: jobs submitted and waited for together, a file read,
    on a cluster opened with ``asynchronous=True``; the live status lines still show."""
    url, token = server_url
    nb = new_notebook(
        cells=[
            new_code_cell(
                "import asyncio, jupyter_rpc\n"
                'c = jupyter_rpc.cluster("local", asynchronous=True)\n'
                'jobs = await asyncio.gather(*(c.submit(f"echo part {i}") for i in range(3)))\n'
                "await asyncio.gather(*(j.wait(poll=0.2) for j in jobs))\n"
                "print(sorted([(await j.output()).strip() for j in jobs]))"
            ),
            new_code_cell(
                'await c.files.write_text("home/a.txt", "written by await")\n'
                'print(await c.files.read_text("home/a.txt"))'
            ),
        ]
    )
    client = client_for(nb, tmp_path, timeout=60)
    await execute(client, url, token)
    first = outputs(nb.cells[0])
    assert "['part 0', 'part 1', 'part 2']" in first
    assert "completed" in first  # the jobs' status lines
    assert "written by await" in outputs(nb.cells[1])
    assert (home / "a.txt").read_text() == "written by await"


async def test_large_transfers_show_a_live_bar_in_the_cell(server_url, tmp_path, home):
    url, token = server_url
    nb = new_notebook(
        cells=[
            new_code_cell(
                "import os, hashlib, jupyter_rpc\n"
                "data = os.urandom(12_000_000)\n"
                "open('big.bin', 'wb').write(data)\n"
                "files = jupyter_rpc.cluster('local').files\n"
                "files.upload('big.bin', 'home/')"
            ),
            new_code_cell(
                "os.makedirs('back', exist_ok=True)\np = files.download('home/big.bin', 'back/')\n"
                "print('same:', hashlib.sha256(open(p, 'rb').read()).digest() == hashlib.sha256(data).digest())"
            ),
            new_code_cell(
                "files.write_text('home/small.txt', 'hi')\nfiles.download('home/small.txt', 'back/')\nprint('small ok')"
            ),
        ]
    )
    await execute(client_for(nb, tmp_path, timeout=120), url, token)
    up, down, small = (outputs(c) for c in nb.cells)
    # The live line ends as the whole copy's size and time (its updates replace it in place).
    assert "Uploading big.bin to local:home/big.bin · 12.0 MB · " in up and "done in" in up
    assert "text/html" in up and "<progress" in str(nb.cells[0].outputs[0].data["text/html"])
    assert (
        "Downloading local:home/big.bin to back" in down
        and "done in" in down
        and "same: True" in down
    )
    assert (home / "big.bin").stat().st_size == 12_000_000
    # Small files copy without a bar.
    assert "Uploading" not in small and "Downloading" not in small and "small ok" in small
    nbformat.validate(nb)
