"""Results open in the main area (issue 16, item 1): a main-area tab per call.

A wide result (a table, a chart, an image) opens in a tab of its own by itself, and
the side panel then shows a one-line summary with an Open button; any call (from the
form or the history) can be opened in a tab. The tab says which call it shows,
follows a running call until it ends, comes back after a reload and closes cleanly.
"""

from __future__ import annotations

from helpers import PANEL, choose, field, open_panel, run, status
from playwright.sync_api import Locator, Page, expect

MAIN = "#jp-main-dock-panel"


def result_tab(page: Page, function: str) -> Locator:
    """The main-area result view of a call of ``function``."""
    return page.locator(f'{MAIN} .jp-rpc-ResultView[data-function="{function}"]')


def test_a_table_opens_in_a_main_area_tab_and_the_panel_summarizes_it(lab: Page) -> None:
    lab.set_viewport_size({"width": 1400, "height": 900})
    panel = open_panel(lab)
    call = choose(panel, "stations")
    field(call, "limit").fill("5")
    run(call)
    expect(status(call)).to_have_attribute("data-state", "succeeded")

    view = result_tab(lab, "stations")
    expect(view).to_be_visible()
    # The tab's title names the call; its header says which call it is.
    expect(lab.locator(f"{MAIN} .lm-TabBar-tab.lm-mod-current")).to_contain_text("stations")
    header = view.locator(".jp-rpc-ResultView-header")
    expect(header).to_contain_text("stations")
    expect(header).to_contain_text("limit=5")
    expect(header).to_contain_text("Succeeded")
    # The whole table shows: every column, none cut off by the tab's width.
    table = view.locator("table")
    expect(table.locator("tbody tr")).to_have_count(5)
    box = table.bounding_box()
    area = view.bounding_box()
    assert box and area and box["x"] + box["width"] <= area["x"] + area["width"], (box, area)

    # The side panel shows a summary and Open, not the squeezed table.
    summary = call.locator(".jp-rpc-ResultSummary")
    expect(summary).to_contain_text("Table")
    expect(call.locator(".jp-rpc-CallResult table")).to_have_count(0)

    # Closed, it leaves nothing behind; Open brings it back.
    lab.locator(f"{MAIN} .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon").click()
    expect(lab.locator(f"{MAIN} .jp-rpc-ResultView")).to_have_count(0)
    summary.get_by_role("button", name="Open").click()
    expect(result_tab(lab, "stations").locator("tbody tr")).to_have_count(5)
    expect(lab.locator(f"{MAIN} .jp-rpc-ResultView")).to_have_count(1)


def test_a_chart_opens_whole_in_a_tab(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "temperature_chart")
    run(call)
    chart = result_tab(lab, "temperature_chart").locator(".vega-embed")
    expect(chart).to_be_visible(timeout=30_000)
    width = chart.locator("canvas, svg").first.evaluate("e => e.getBoundingClientRect().width")
    assert width > 300, width


def test_a_text_result_stays_in_the_panel_and_opens_on_request(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "station_report")
    run(call)
    expect(call.get_by_role("heading", name="Potsdam (ST02)")).to_be_visible()
    expect(lab.locator(f"{MAIN} .jp-rpc-ResultView")).to_have_count(0)
    call.get_by_role("button", name="Open in a tab").click()
    view = result_tab(lab, "station_report")
    expect(view.get_by_role("heading", name="Potsdam (ST02)")).to_be_visible()


def test_a_running_call_opened_from_the_history_updates_when_it_ends(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "simulate")
    field(call, "steps").fill("6")
    field(call, "delay").fill("1")
    run(call)
    expect(status(call)).to_have_attribute("data-state", "running")
    item = panel.locator(".jp-rpc-HistoryItem", has_text="steps=6").first
    item.get_by_title("Open in the main area").click()
    view = result_tab(lab, "simulate")
    expect(view.locator(".jp-rpc-ResultView-header")).to_contain_text("Running")
    expect(view.locator(".jp-rpc-ResultView-header")).to_contain_text("Succeeded", timeout=15_000)
    expect(view.locator(".jp-rpc-CallResult")).to_contain_text("energy")


def test_a_result_tab_comes_back_after_a_reload(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "stations")
    field(call, "limit").fill("4")
    run(call)
    expect(result_tab(lab, "stations").locator("tbody tr")).to_have_count(4)
    # Let the layout be saved, then reload (no ?reset: the workspace is kept).
    lab.wait_for_timeout(1500)
    lab.reload()
    lab.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    view = result_tab(lab, "stations")
    expect(view.locator("tbody tr")).to_have_count(4, timeout=30_000)
    expect(view.locator(".jp-rpc-ResultView-header")).to_contain_text("limit=4")


def test_the_run_bar_stays_visible_while_a_long_form_scrolls(lab: Page) -> None:
    lab.set_viewport_size({"width": 900, "height": 700})
    panel = open_panel(lab)
    call = choose(panel, "distance")
    section = call.locator(
        "xpath=ancestor::*[contains(@class, 'jp-rpc-FunctionsPanel-section')][1]"
    )
    section.evaluate("s => s.scrollTo(0, 0)")
    button = call.get_by_role("button", name="Run", exact=True)
    frame = section.bounding_box()
    box = button.bounding_box()
    assert frame and box
    assert box["y"] >= frame["y"] and box["y"] + box["height"] <= frame["y"] + frame["height"], (
        box,
        frame,
    )
    assert lab.locator(PANEL).is_visible()
