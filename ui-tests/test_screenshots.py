"""Screenshots of the panel (light and dark theme).

They go to ui-tests/test-results; with RPC_UPDATE_SCREENSHOTS=1 the light one also
replaces docs/images/functions-panel.png (the README's picture).
"""

from __future__ import annotations

import os
import shutil

from conftest import RESULTS
from helpers import choose, field, open_notebook, open_panel, result, run, status
from playwright.sync_api import Locator, Page, expect

DOCS_IMAGE = RESULTS.parent.parent / "docs" / "images" / "functions-panel.png"


def _widen_left_sidebar(page: Page, width: int) -> None:
    panel = page.locator("#jp-rpc-functions")
    box = panel.bounding_box()
    assert box
    handle_x = box["x"] + box["width"] + 2
    y = box["y"] + box["height"] / 2
    page.mouse.move(handle_x, y)
    page.mouse.down()
    page.mouse.move(box["x"] + width, y, steps=5)
    page.mouse.up()


def _drag_section_border_above(page: Page, title: Locator, y: float) -> None:
    """Drag the split handle just above a section title to height y."""
    box = title.bounding_box()
    assert box
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] - 1)
    page.mouse.down()
    page.mouse.move(x, y, steps=5)
    page.mouse.up()


def _run_palette_command(page: Page, text: str) -> None:
    page.keyboard.press("Control+Shift+C")
    palette = page.locator(".jp-ModalCommandPalette .lm-CommandPalette-input")
    expect(palette).to_be_visible()
    palette.fill(text)
    expect(page.locator(".jp-ModalCommandPalette .lm-CommandPalette-item").first).to_be_visible()
    page.keyboard.press("Enter")


def _chart_call(page: Page) -> Locator:
    panel = open_panel(page)
    call = choose(panel, "temperature_chart")
    field(call, "days").fill("30")
    run(call)
    expect(status(call)).to_have_attribute("data-state", "succeeded")
    expect(result(call).locator(".vega-embed canvas, .vega-embed svg").first).to_be_visible(
        timeout=30_000
    )
    return call


def test_screenshot_light(lab: Page) -> None:
    lab.set_viewport_size({"width": 1360, "height": 900})
    open_notebook(lab)
    panel = open_panel(lab)
    # A first call for the history.
    call = choose(panel, "add")
    field(call, "a").fill("2")
    field(call, "b").fill("40")
    run(call)
    expect(result(call)).to_have_text("42")
    _widen_left_sidebar(lab, 540)
    call = _chart_call(lab)
    panel.locator(".jp-rpc-HistoryItem").first.get_by_title("Insert into notebook").click()
    expect(lab.locator(".jp-NotebookPanel .jp-Cell")).to_have_count(2)
    # Collapse the function list and shrink the history so the form and the chart fit.
    panel.locator(".jp-AccordionPanel-title", has_text="Functions").click()
    _drag_section_border_above(
        lab, panel.locator(".jp-AccordionPanel-title", has_text="History"), 745
    )
    call.locator(".jp-rpc-FunctionHeader").scroll_into_view_if_needed()
    lab.mouse.move(1000, 700)
    lab.wait_for_timeout(500)
    target = RESULTS / "functions-panel.png"
    lab.screenshot(path=str(target))
    if os.environ.get("RPC_UPDATE_SCREENSHOTS") == "1":
        DOCS_IMAGE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(target, DOCS_IMAGE)


def test_screenshot_dark_theme(lab: Page) -> None:
    _run_palette_command(lab, "Use Theme: JupyterLab Dark")
    expect(lab.locator("body")).to_have_attribute("data-jp-theme-light", "false", timeout=30_000)
    try:
        panel = open_panel(lab)
        _chart_call(lab)
        lab.wait_for_timeout(500)
        panel.screenshot(path=str(RESULTS / "functions-panel-dark.png"))
        # Sanity: the panel follows the theme (dark background, light text).
        colours = panel.locator(".jp-rpc-FunctionCall").evaluate(
            """el => {
                const lum = c => { const [r, g, b] = c.match(/\\d+/g).map(Number); return (r + g + b) / 765; };
                let node = el, bg = 'rgba(0, 0, 0, 0)';
                while (node && (bg === 'rgba(0, 0, 0, 0)' || bg === 'transparent')) {
                    bg = getComputedStyle(node).backgroundColor; node = node.parentElement;
                }
                const name = el.querySelector('.jp-rpc-FunctionHeader-name');
                return { bg: lum(bg), fg: lum(getComputedStyle(name).color) };
            }"""
        )
        assert colours["bg"] < 0.3, colours
        assert colours["fg"] > 0.6, colours
    finally:
        _run_palette_command(lab, "Use Theme: JupyterLab Light")
        expect(lab.locator("body")).to_have_attribute("data-jp-theme-light", "true", timeout=30_000)
