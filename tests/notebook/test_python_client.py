"""The Python client ("Copy as Python" code) against a real server and backend."""

from __future__ import annotations

import asyncio
import inspect

import pytest

from jupyter_rpc import RemoteError, connect
from jupyter_rpc.notebook.client import InvalidArguments


async def in_thread(fn, *args, **kwargs):
    # The client is synchronous (notebook code); the server runs on this test's loop.
    return await asyncio.to_thread(fn, *args, **kwargs)


async def test_functions_are_methods_with_signatures(server_url):
    url, token = server_url
    examples = await in_thread(connect, "examples", url=url, token=token)
    signature = inspect.signature(examples.add)
    assert list(signature.parameters) == ["a", "b"]
    assert signature.parameters["a"].annotation is int
    assert signature.parameters["a"].default is inspect.Parameter.empty
    assert signature.parameters["b"].default == 1
    assert examples.add.__doc__.splitlines()[0]
    assert "add" in dir(examples) and "Accumulator" in dir(examples)
    assert await in_thread(examples.add, a=2, b=40) == 42


async def test_class_methods(server_url):
    url, token = server_url
    examples = await in_thread(connect, "examples", url=url, token=token)
    acc = examples.Accumulator(start=10.0)
    assert "start=10.0" in repr(acc)
    assert await in_thread(acc.add_all, values=[1.0, 2.5]) == 13.5


async def test_errors_name_the_field_and_carry_the_call(server_url):
    url, token = server_url
    examples = await in_thread(connect, "examples", url=url, token=token)
    with pytest.raises(InvalidArguments) as info:
        await in_thread(examples.add, a="two")
    assert "a:" in str(info.value) and info.value.code == "request.schema"
    with pytest.raises(TypeError):
        examples.add(c=1)  # not an argument: refused before any request
    faulty = await in_thread(connect, "faulty", url=url, token=token)
    with pytest.raises(RemoteError) as info:
        await in_thread(faulty.boom, message="disk full")
    assert "disk full" in info.value.message and info.value.call_id
    with pytest.raises(RemoteError) as info:
        await in_thread(connect, "nope", url=url, token=token)
    assert info.value.code == "backend.not_found"


async def test_rich_results_stay_plain_values(server_url):
    url, token = server_url
    examples = await in_thread(connect, "examples", url=url, token=token)
    rows = await in_thread(examples.stations, limit=3)
    assert isinstance(rows, list) and len(rows) == 3 and isinstance(rows[0], dict)
    assert "<table" in rows._repr_html_()
    png = await in_thread(examples.heatmap, width=16, height=8)
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG")
    assert "image/png" in png._repr_mimebundle_()
    chart = await in_thread(examples.temperature_chart, days=5)
    assert (
        isinstance(chart, dict) and "application/vnd.vegalite.v5+json" in chart._repr_mimebundle_()
    )
    report = await in_thread(examples.station_report)
    assert isinstance(report, str) and report._repr_mimebundle_()["text/markdown"] == report


def test_backend_html_is_sandboxed_in_notebooks():
    from jupyter_rpc.notebook.display import rich_value

    value = rich_value("<script>alert(1)</script><b>x</b>", {"text/html": "..."})
    assert value == "<script>alert(1)</script><b>x</b>"
    shown = value._repr_mimebundle_()["text/html"]
    assert shown.startswith('<iframe sandbox=""') and "<script>" not in shown
    md = rich_value("# t <img src=x onerror=alert(1)>", {"text/markdown": "..."})
    assert "text/markdown" not in md._repr_mimebundle_()  # raw HTML in Markdown: shown as text


async def test_asynchronous_functions_can_be_awaited_and_cancelled(server_url, rpc):
    url, token = server_url
    examples = await in_thread(connect, "examples", url=url, token=token, asynchronous=True)
    assert await examples.add(a=1, b=2) == 3
    assert await examples.Accumulator(start=1.0).scaled(factor=3.0) == 3.0
    faulty = await in_thread(connect, "faulty", url=url, token=token, asynchronous=True)
    task = asyncio.ensure_future(faulty.sleep(seconds=60))
    for _ in range(100):
        await asyncio.sleep(0.05)
        _, listing = await rpc("GET", "calls")
        if listing["calls"] and listing["calls"][0]["function"] == "sleep":
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    _, listing = await rpc("GET", "calls")
    assert (
        listing["calls"][0]["function"] == "sleep" and listing["calls"][0]["state"] == "cancelled"
    )


async def test_help_reads_like_local_code(server_url):
    import pydoc

    url, token = server_url
    examples = await in_thread(connect, "examples", url=url, token=token)
    text = pydoc.render_doc(examples.greet, renderer=pydoc.plaintext)
    assert "greet(name: str, style: str = 'plain')" in text  # the function's own kinds
    assert "Parameters" in text and "name : string" in text
    acc = pydoc.render_doc(examples.Accumulator, renderer=pydoc.plaintext)
    assert "add_all(self, values: list)" in acc and "scaled(self, factor: float = 2.0)" in acc


async def test_found_from_a_jupyterhub_single_user_environment(server_url, monkeypatch):
    # What a JupyterHub single-user server gives its kernels: its own URL (with the
    # user's prefix) and its API token. The test server has a prefix like a hub's user.
    url, token = server_url
    monkeypatch.delenv("JUPYTER_RPC_URL", raising=False)
    monkeypatch.setenv("JUPYTERHUB_SERVICE_URL", url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", token)
    examples = await in_thread(connect, "examples")
    assert await in_thread(examples.add, a=1, b=2) == 3
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "not-the-token")
    with pytest.raises(RemoteError) as info:
        await in_thread(connect, "examples")
    assert info.value.code.startswith("auth.") or "403" in str(info.value)
