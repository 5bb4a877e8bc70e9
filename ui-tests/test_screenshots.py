"""Screenshots of the Remote functions panel with a result in the main area.

Light and dark theme, at 1400×900 and 900×700; they go to ui-tests/test-results
(kept as the run's artefacts). With RPC_UPDATE_SCREENSHOTS=1 the light 1400×900 one
also replaces docs/images/functions-panel.png (the README's picture).
"""

from __future__ import annotations

import os
import shutil

import pytest
from conftest import RESULTS
from helpers import choose, field, open_notebook, open_panel, result, run, status
from playwright.sync_api import Page, expect

DOCS_IMAGE = RESULTS.parent.parent / "docs" / "images" / "functions-panel.png"
MAIN = "#jp-main-dock-panel"


def _run_palette_command(page: Page, text: str) -> None:
    page.keyboard.press("Control+Shift+C")
    palette = page.locator(".jp-ModalCommandPalette .lm-CommandPalette-input")
    expect(palette).to_be_visible()
    palette.fill(text)
    expect(page.locator(".jp-ModalCommandPalette .lm-CommandPalette-item").first).to_be_visible()
    page.keyboard.press("Enter")


def _luminance(page: Page, selector: str) -> dict[str, float]:
    """Background and text luminance (0-1) of the first element matching ``selector``."""
    return page.locator(selector).first.evaluate(
        """el => {
            const lum = c => { const [r, g, b] = c.match(/\\d+/g).map(Number); return (r + g + b) / 765; };
            let node = el, bg = 'rgba(0, 0, 0, 0)';
            while (node && (bg === 'rgba(0, 0, 0, 0)' || bg === 'transparent')) {
                bg = getComputedStyle(node).backgroundColor; node = node.parentElement;
            }
            return { bg: lum(bg), fg: lum(getComputedStyle(el).color) };
        }"""
    )


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("size", [(1400, 900), (900, 700)], ids=["1400x900", "900x700"])
def test_screenshot(lab: Page, theme: str, size: tuple[int, int]) -> None:
    width, height = size
    lab.set_viewport_size({"width": width, "height": height})
    if theme == "dark":
        _run_palette_command(lab, "Use Theme: JupyterLab Dark")
        expect(lab.locator("body")).to_have_attribute(
            "data-jp-theme-light", "false", timeout=30_000
        )
    try:
        if width >= 1400:
            open_notebook(lab)
        panel = open_panel(lab)
        # A first call for the history, its result in the panel.
        call = choose(panel, "add")
        field(call, "a").fill("2")
        field(call, "b").fill("40")
        run(call)
        expect(result(call)).to_have_text("42")
        # A chart: it opens in the main area; the panel says so.
        call = choose(panel, "temperature_chart")
        field(call, "days").fill("30")
        run(call)
        expect(status(call)).to_have_attribute("data-state", "succeeded")
        view = lab.locator(f'{MAIN} .jp-rpc-ResultView[data-function="temperature_chart"]')
        expect(view.locator(".vega-embed canvas, .vega-embed svg").first).to_be_visible(
            timeout=30_000
        )
        expect(call.locator(".jp-rpc-ResultSummary")).to_be_visible()
        lab.mouse.move(width - 10, height - 10)
        lab.wait_for_timeout(500)
        target = RESULTS / f"functions-{theme}-{width}x{height}.png"
        RESULTS.mkdir(exist_ok=True)
        lab.screenshot(path=str(target))
        if theme == "light" and width >= 1400 and os.environ.get("RPC_UPDATE_SCREENSHOTS") == "1":
            DOCS_IMAGE.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(target, DOCS_IMAGE)
        # The panel and the tab follow the theme.
        for selector in (
            "#jp-rpc-functions .jp-rpc-FunctionHeader-name",
            f"{MAIN} .jp-rpc-ResultView-name",
        ):
            colours = _luminance(lab, selector)
            if theme == "dark":
                assert colours["bg"] < 0.3 and colours["fg"] > 0.6, (selector, colours)
            else:
                assert colours["bg"] > 0.7 and colours["fg"] < 0.4, (selector, colours)
    finally:
        if theme == "dark":
            _run_palette_command(lab, "Use Theme: JupyterLab Light")
            expect(lab.locator("body")).to_have_attribute(
                "data-jp-theme-light", "true", timeout=30_000
            )
