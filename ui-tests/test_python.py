"""History, "Copy as Python" and "Insert into notebook"."""

from __future__ import annotations

from helpers import choose, field, open_notebook, open_panel, result, run, status
from playwright.sync_api import Locator, Page, expect

ADD_SNIPPET = (
    'from jupyter_rpc import connect\nexamples = connect("examples")\nexamples.add(a=1, b=2)'
)


def _history(panel: Locator) -> Locator:
    return panel.locator(".jp-rpc-HistoryItem")


def _run_add(panel: Locator, a: str, b: str) -> Locator:
    call = choose(panel, "add")
    field(call, "a").fill(a)
    field(call, "b").fill(b)
    run(call)
    expect(status(call)).to_have_attribute("data-state", "succeeded")
    return call


def test_copy_as_python_for_a_function(lab: Page) -> None:
    panel = open_panel(lab)
    call = _run_add(panel, "1", "2")
    # The code is shown under the result ...
    call.get_by_text("Python code for this call").click()
    expect(call.locator(".jp-rpc-PythonCode-source")).to_have_text(ADD_SNIPPET)
    # ... and "Copy as Python" in the history puts it on the clipboard.
    _history(panel).first.get_by_title("Copy as Python").click()
    expect(lab.get_by_text("Python code copied to the clipboard.")).to_be_visible()
    assert lab.evaluate("navigator.clipboard.readText()") == ADD_SNIPPET


def test_copy_as_python_for_a_class_method(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "Accumulator.add_all")
    expect(call).to_contain_text("A method of the class Accumulator")
    field(call, "start").fill("10")
    add_item = call.get_by_title("Add item")
    add_item.click()
    field(call, "function", "values", "0").fill("1")
    add_item.click()
    field(call, "function", "values", "1").fill("2.5")
    run(call)
    expect(result(call)).to_have_text("13.5")
    expect(_history(panel).first).to_contain_text("start=10.0 · values=[1.0, 2.5]")
    call.get_by_text("Python code for this call").click()
    call.locator(".jp-rpc-PythonCode").get_by_role("button", name="Copy as Python").click()
    assert lab.evaluate("navigator.clipboard.readText()") == (
        "from jupyter_rpc import connect\n"
        'examples = connect("examples")\n'
        "examples.Accumulator(start=10.0).add_all(values=[1.0, 2.5])"
    )


def test_history_is_newest_first_and_restores_arguments(lab: Page) -> None:
    panel = open_panel(lab)
    _run_add(panel, "3", "4")
    call = _run_add(panel, "5", "6")
    expect(result(call)).to_have_text("11")
    # Newest first (older calls of the server, listed after a reload, follow).
    entries = _history(panel)
    expect(entries.nth(0)).to_contain_text("a=5, b=6")
    expect(entries.nth(1)).to_contain_text("a=3, b=4")
    # Switch to another function, then restore the older call from the history.
    choose(panel, "greet")
    entries.nth(1).locator(".jp-rpc-HistoryItem-main").click()
    call = panel.locator(".jp-rpc-FunctionCall")
    expect(call.locator(".jp-rpc-FunctionHeader-name")).to_contain_text("add")
    expect(field(call, "a")).to_have_value("3")
    expect(field(call, "b")).to_have_value("4")
    expect(result(call)).to_have_text("7")


def test_insert_into_notebook(lab: Page) -> None:
    notebook = open_notebook(lab)
    panel = open_panel(lab)
    _run_add(panel, "1", "2")
    _history(panel).first.get_by_title("Insert into notebook").click()
    cells = notebook.locator(".jp-Cell")
    expect(cells).to_have_count(2)
    inserted = cells.nth(1)
    expect(inserted).to_contain_class("jp-CodeCell")
    lines = inserted.locator(".cm-line")
    expect(lines).to_have_text(ADD_SNIPPET.splitlines())
    # The code works: run the cell with the notebook client.
    inserted.locator(".jp-InputArea-prompt").click()
    lab.keyboard.press("Shift+Enter")
    expect(inserted.locator(".jp-OutputArea-output")).to_have_text("3", timeout=60_000)
