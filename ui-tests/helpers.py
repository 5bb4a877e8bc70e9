"""Page helpers for the Remote functions panel (what a user does, step by step)."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

PANEL = "#jp-rpc-functions"


def open_by_palette(page: Page, command: str, selector: str) -> Locator:
    """Run a palette command that opens a side panel, as a user would; the panel."""
    palette = page.locator(".jp-ModalCommandPalette .lm-CommandPalette-input")
    item = page.locator(".jp-ModalCommandPalette .lm-CommandPalette-item", has_text=command)
    # Retried: the modal palette closes when something else takes focus
    # (the app starting up, a notebook activating its kernel).
    for _ in range(5):
        if not palette.is_visible():  # the shortcut toggles: never close it again
            page.keyboard.press("Control+Shift+C")
        try:
            expect(palette).to_be_visible(timeout=3_000)
            # Bounded: the palette may close under the fill (Lab activating the
            # restored layout's tab after a reload takes the focus).
            palette.fill(command, timeout=3_000)
            expect(item.first).to_be_visible(timeout=3_000)
            page.keyboard.press("Enter")
            break
        except (AssertionError, PlaywrightTimeoutError):
            continue
    panel = page.locator(selector)
    expect(panel).to_be_visible()
    return panel


def open_panel(page: Page) -> Locator:
    """Open the Remote functions panel through the command palette."""
    return open_by_palette(page, "Open Remote Functions", PANEL)


def open_notebook(page: Page) -> Locator:
    """Open a new notebook from the launcher and wait for its kernel."""
    page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click()
    notebook = page.locator(".jp-NotebookPanel")
    expect(notebook).to_be_visible()
    expect(page.locator(".jp-StatusBar-Widget", has_text="Idle").first).to_be_visible(
        timeout=60_000
    )
    return notebook


def function_item(panel: Locator, name: str) -> Locator:
    """The list entry of a function."""
    return panel.locator(f'.jp-rpc-FunctionItem[data-function="{name}"]')


def choose(panel: Locator, name: str) -> Locator:
    """Select a function; returns the call section."""
    item = function_item(panel, name)
    expect(item).to_be_visible(timeout=60_000)
    item.click()
    call = panel.locator(".jp-rpc-FunctionCall")
    expect(call.locator(".jp-rpc-FunctionHeader-name")).to_contain_text(name)
    return call


def field(call: Locator, *path: str) -> Locator:
    """The input of an argument (rjsf ids: ``jp-rpc-arg_<name>[_<name>...]``)."""
    return call.locator("#" + "_".join(["jp-rpc-arg", *path]))


def run(call: Locator) -> None:
    """Press Run."""
    call.get_by_role("button", name="Run", exact=True).click()


def status(call: Locator) -> Locator:
    """The status line under the form (``data-state`` holds the call state)."""
    return call.locator(".jp-rpc-CallActions .jp-rpc-CallStatus")


def result(call: Locator) -> Locator:
    """The rendered result."""
    return call.locator(".jp-rpc-CallResult")


def field_errors(call: Locator, *path: str) -> Locator:
    """The validation messages shown under an argument's input."""
    group = field(call, *path).locator(
        "xpath=ancestor::div[contains(concat(' ', normalize-space(@class), ' '), ' form-group ')][1]"
    )
    return group.locator(".validationErrors")


def filter_box(panel: Locator) -> Locator:
    """The filter text box (the input inside JupyterLab's search web component)."""
    return panel.locator(".jp-rpc-FunctionBrowser-filter input")
