"""Interactive app sessions from notebook cells (issue 14): a real kernel launches the
local cluster's *Web app* through a real server, waits for it, reads a page through the
session's proxy URL, lists the sessions and ends it; an app that never starts makes
``wait()`` raise with its log's end."""

from __future__ import annotations

import pathlib
import sys
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_rpc.notebook.apps import AppSession, SessionList
from jupyter_rpc.notebook.client import Session
from tests.notebook.test_kernel_calls import outputs
from tests.notebook.test_kernel_clusters import client_for, execute

WEBAPP = pathlib.Path(__file__).parents[1] / "apps" / "webapp.py"


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], with_local_cluster: Any, home: pathlib.Path
) -> dict[str, Any]:
    return with_local_cluster(jp_server_config, home)


async def test_launch_wait_open_list_and_end_from_cells(
    server_url: tuple[str, str], tmp_path: pathlib.Path, rpc: Any
) -> None:
    url, token = server_url
    command = f"exec {sys.executable} {WEBAPP}"
    nb = new_notebook(
        cells=[
            new_code_cell(
                "import os, urllib.request, jupyter_rpc\n"
                'hpc = jupyter_rpc.cluster("local")\n'
                f's = hpc.launch("Web app", hours=1, command={command!r}, strip_prefix=False)\n'
                "print('launched', s.state in ('queued', 'starting', 'running'), s.app)"
            ),
            new_code_cell("s.wait(timeout=30, poll=0.2)\nprint('STATE', s.state)"),
            new_code_cell(
                "req = urllib.request.Request(s.url + 'page', headers={'Authorization': "
                "'token ' + os.environ['JUPYTER_RPC_TOKEN']})\n"
                "print('PAGE', urllib.request.urlopen(req, timeout=10).read().decode())"
            ),
            new_code_cell("s"),
            new_code_cell("jupyter_rpc.sessions()"),
            new_code_cell("print('ON LOCAL', [x.id for x in hpc.sessions()] == [s.id])"),
            new_code_cell("s.end()\nprint('AFTER END', s.state, '|', s.message)"),
            new_code_cell(
                'bad = hpc.launch("webapp", command="echo the app is broken >&2; exit 3")\n'
                "try:\n    bad.wait(timeout=40, poll=0.2)\n"
                "except jupyter_rpc.RemoteError as e:\n"
                "    print('ENDED', type(e).__name__, e.code, '|', e)"
            ),
            new_code_cell(
                'try:\n    hpc.launch("webapp", colour="red")\n'
                "except jupyter_rpc.RemoteError as e:\n    print('REFUSED', e.code, '|', e)"
            ),
        ]
    )
    client = client_for(nb, tmp_path, timeout=90)
    await execute(client, url, token)
    cells = [outputs(c) for c in nb.cells]
    assert "launched True webapp" in cells[0]
    assert "STATE running" in cells[1]
    assert "PAGE the page" in cells[2]
    # the session's own display: HTML with a link to the proxy, and a readable repr
    assert cells[3].startswith("text/html text/plain") and "AppSession" in cells[3]
    html_out = nb.cells[3].outputs[0].data["text/html"]
    assert "/jupyter-rpc/sessions/" in html_out and "<a href=" in html_out
    assert "Web app" in cells[4] and "running" in cells[4]
    assert "ON LOCAL True" in cells[5]
    assert "AFTER END ended | Ended by the user." in cells[6]
    # an app that never starts: wait() says so with the end of its job's log
    assert "ENDED SessionEnded session.not_running |" in cells[7], cells[7]
    assert "the app is broken" in cells[7]
    # a field the form does not have is refused, naming it
    assert "REFUSED request.schema" in cells[8] and "colour" in cells[8]
    nbformat.validate(nb)
    status, listing = await rpc("GET", "sessions")
    assert status == 200 and {s["state"] for s in listing["sessions"]} == {"ended"}


def test_a_session_shows_escaped() -> None:
    client = Session("http://127.0.0.1:1/", "t")
    hostile = {
        "id": "0123456789ab",
        "app": "x",
        "display_name": "<img src=x onerror=alert(1)>",
        "cluster": "c&d",
        "job_id": "7",
        "state": "ended",
        "message": "<script>alert(2)</script>",
        "url": '/jupyter-rpc/sessions/0123456789ab/proxy/"><b>',
    }
    session = AppSession(client, hostile)
    page = session._repr_html_() + SessionList([session])._repr_html_()
    assert "<img" not in page and "<script" not in page and "<b>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "c&amp;d" in page
    assert repr(session).startswith("<AppSession 0123456789ab '<img")
    assert session.url.startswith("http://127.0.0.1:1/jupyter-rpc/sessions/0123456789ab/")


async def test_an_asynchronous_session_is_awaited_and_ended(
    server_url: tuple[str, str],
) -> None:
    """On a cluster opened with ``asynchronous=True``: ``await hpc.launch(...)``,
    ``await s.wait()``, ``await s.end()``; ``s.state`` reads the last fetched value."""
    import asyncio

    import jupyter_rpc

    url, token = server_url
    hpc = await asyncio.to_thread(
        jupyter_rpc.cluster, "local", url=url, token=token, asynchronous=True
    )
    command = f"exec {sys.executable} {WEBAPP}"
    s = await hpc.launch("Web app", hours=1, command=command, strip_prefix=False)
    assert isinstance(s, AppSession)
    assert await s.wait(timeout=30, poll=0.2) is s
    assert s.state == "running"
    assert [x.id for x in await hpc.sessions()] == [s.id]
    await s.end()
    assert s.state == "ended"
