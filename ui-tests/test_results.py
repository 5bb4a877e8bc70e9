"""Results render like notebook outputs (rendermime)."""

from __future__ import annotations

from helpers import choose, field, open_panel, result, run, status
from playwright.sync_api import Page, expect


def test_table_result_renders_as_a_table(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "stations")
    field(call, "limit").fill("3")
    run(call)
    # A table is wide: it opens in a main-area tab (ui-tests/test_main_area.py).
    table = lab.locator('#jp-main-dock-panel .jp-rpc-ResultView[data-function="stations"] table')
    expect(table).to_be_visible()
    expect(table.locator("thead th")).to_contain_text(["id", "name", "lat", "lon"])
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.locator("tbody tr").first).to_contain_text("Hamburg")


def test_image_result_renders_as_an_img(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "heatmap")
    run(call)
    image = result(call).locator("img")
    expect(image).to_be_visible()
    assert image.get_attribute("src").startswith("data:image/png;base64,")
    assert image.evaluate("img => img.naturalWidth") == 96


def test_svg_result_renders_as_an_img(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "sparkline")
    # At least two values: the list starts with two empty entries.
    field(call, "values", "0").fill("3")
    field(call, "values", "1").fill("1")
    call.get_by_title("Add item").click()
    field(call, "values", "2").fill("4")
    run(call)
    expect(status(call)).to_have_attribute("data-state", "succeeded")
    image = result(call).locator("img")
    expect(image).to_be_visible()
    assert image.get_attribute("src").startswith("data:image/svg+xml")


def test_vega_lite_chart_renders(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "temperature_chart")
    run(call)
    chart = lab.locator(
        '#jp-main-dock-panel .jp-rpc-ResultView[data-function="temperature_chart"] .vega-embed'
    )
    expect(chart).to_be_visible(timeout=30_000)
    expect(chart.locator("canvas, svg").first).to_be_visible()


def test_markdown_result_renders(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "station_report")
    run(call)
    expect(result(call).get_by_role("heading", name="Potsdam (ST02)")).to_be_visible()
