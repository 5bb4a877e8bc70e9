"""Calling functions: results, validation, server-side errors, progress, cancel, failures."""

from __future__ import annotations

import json
import re

from conftest import LabServer
from helpers import choose, field, field_errors, open_panel, result, run, status
from playwright.sync_api import Page, Route, expect


def _calls_of(server: LabServer, function: str) -> list[dict]:
    data = server.api("jupyter-rpc/calls")
    assert isinstance(data, dict)
    return [c for c in data["calls"] if c["function"] == function]


def test_add_2_and_40_gives_42(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "add")
    field(call, "a").fill("2")
    field(call, "b").fill("40")
    run(call)
    expect(status(call)).to_have_attribute("data-state", "succeeded")
    expect(status(call)).to_contain_text("Succeeded in")
    expect(result(call)).to_have_text("42")
    entry = panel.locator(".jp-rpc-HistoryItem").first
    expect(entry).to_contain_text("add")
    expect(entry).to_contain_text("a=2, b=40")
    expect(entry).to_contain_text("Succeeded")


def test_invalid_value_is_shown_at_its_field_and_nothing_is_called(
    lab: Page, lab_server: LabServer
) -> None:
    before = len(_calls_of(lab_server, "heatmap"))
    panel = open_panel(lab)
    call = choose(panel, "heatmap")
    field(call, "width").fill("1000")  # maximum is 512
    run(call)
    expect(field_errors(call, "width")).to_contain_text("Enter 512 or less")
    expect(call.locator(".jp-rpc-ErrorNotice")).to_contain_text("width: Enter 512 or less")
    # Live validation after the first submit: fixing the value clears the error.
    field(call, "width").fill("64")
    expect(field_errors(call, "width")).to_have_text("")
    assert len(_calls_of(lab_server, "heatmap")) == before
    expect(panel.locator(".jp-rpc-HistoryItem", has_text="width=1000")).to_have_count(0)


def test_missing_required_argument_is_reported(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "divide")
    field(call, "a").fill("1")
    run(call)
    expect(field_errors(call, "b")).to_contain_text("Enter a value for b")
    args = panel.locator(".jp-rpc-HistoryItem-args", has_text=re.compile(r"^a=1(\.0)?$"))
    expect(args).to_have_count(0)


def test_server_schema_errors_show_next_to_their_fields(lab: Page) -> None:
    """A 400 `request.schema` answer puts each `details.errors[]` message at its field."""
    body = {
        "message": "Invalid arguments for 'distance': start.lat: 95 is greater than the maximum of 90",
        "reason": "Bad Request",
        "code": "request.schema",
        "details": {
            "errors": [
                {
                    "path": ["start", "lat"],
                    "field": "start.lat",
                    "message": "95 is greater than the maximum of 90",
                }
            ]
        },
    }

    def reject(route: Route) -> None:
        route.fulfill(status=400, content_type="application/json", body=json.dumps(body))

    # makeRequest adds a cache-busting query string.
    lab.route(re.compile(r"/jupyter-rpc/backends/examples/calls(\?.*)?$"), reject)
    panel = open_panel(lab)
    call = choose(panel, "distance")
    for name, value in [("start", "52.4"), ("end", "53.6")]:
        field(call, name, "lat").fill(value)
        field(call, name, "lon").fill("10")
    run(call)
    expect(field_errors(call, "start", "lat")).to_contain_text(
        "95 is greater than the maximum of 90"
    )
    notice = call.locator(".jp-rpc-ErrorNotice")
    expect(notice).to_contain_text("The backend rejected these arguments")
    expect(notice).to_contain_text("start.lat: 95 is greater than the maximum of 90")


def test_nested_models_and_optional_arguments(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "distance")
    field(call, "start", "lat").fill("53.55")
    field(call, "start", "lon").fill("9.99")
    field(call, "end", "lat").fill("52.52")
    field(call, "end", "lon").fill("13.40")
    # `name` is Optional[str]: a plain text box, not a type picker; left empty.
    expect(field(call, "start", "name")).to_have_attribute("type", "text")
    run(call)
    expect(status(call)).to_have_attribute("data-state", "succeeded")
    expect(result(call)).to_contain_text("255")  # Hamburg - Berlin, km

    # Optional[Location] = None left empty: no half-filled model is sent.
    call = choose(panel, "stations")
    field(call, "limit").fill("2")
    run(call)
    expect(status(call)).to_have_attribute("data-state", "succeeded")


def test_date_input(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "daylight_hours")
    day = field(call, "day")
    expect(day).to_have_attribute("type", "date")
    day.fill("2026-06-21")
    run(call)
    expect(status(call)).to_have_attribute("data-state", "succeeded")
    expect(result(call)).to_contain_text("16.")


def test_long_call_shows_progress_and_can_be_cancelled(lab: Page, lab_server: LabServer) -> None:
    panel = open_panel(lab)
    call = choose(panel, "simulate")
    field(call, "steps").fill("20")
    field(call, "delay").fill("1")
    run(call)
    expect(status(call)).to_have_attribute("data-state", "running")
    progress = call.locator(".jp-rpc-Progress")
    expect(progress).to_contain_text("Simulating")
    expect(progress.locator(".jp-rpc-ProgressStep").first).to_contain_text("Step 1 of 20")
    expect(progress.locator('[role="progressbar"]').first).to_have_attribute(
        "aria-valuenow", "5", timeout=5_000
    )
    call.get_by_role("button", name="Cancel").click()
    expect(status(call)).to_have_attribute("data-state", "cancelled")
    expect(status(call)).to_contain_text("Cancelled after")
    expect(panel.locator(".jp-rpc-HistoryItem").first).to_contain_text("Cancelled")
    assert _calls_of(lab_server, "simulate")[0]["state"] == "cancelled"


def test_function_that_raises_shows_the_backend_message(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "divide")
    field(call, "a").fill("1")
    field(call, "b").fill("0")
    run(call)
    expect(status(call)).to_have_attribute("data-state", "failed")
    notice = call.locator(".jp-rpc-ErrorNotice")
    expect(notice).to_contain_text("The function raised ValueError")
    expect(notice).to_contain_text("cannot divide by zero: choose a divisor b other than 0")
    expect(result(call)).to_have_count(0)
