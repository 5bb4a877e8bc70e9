"""A result too large to keep, read by someone else first: the panel says why it is gone."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LabServer, open_lab, start_lab
from helpers import choose, field, open_panel, result, run, status
from playwright.sync_api import Page, Route, expect

# The long poll the panel follows a running call with: GET .../calls/<id>?wait=...
FOLLOW = re.compile(r".*/jupyter-rpc/calls/([^/?]+)\?.*wait=.*")


@pytest.fixture(scope="module")
def small_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A server that keeps no result over 16 bytes for more than its first reader."""
    config = {"RPCApp": {"max_kept_result_size": 16}}
    with start_lab(Path(tmp_path_factory.mktemp("dropped-lab")), config) as server:
        yield server


@pytest.fixture
def page_of_small_lab(
    page: Page, small_lab: LabServer, request: pytest.FixtureRequest
) -> Iterator[Page]:
    yield from open_lab(page, small_lab, request)


def test_a_result_read_elsewhere_first_shows_why_it_is_gone(
    page_of_small_lab: Page, small_lab: LabServer
) -> None:
    lab = page_of_small_lab
    held: list[Route] = []

    def hold(route: Route) -> None:
        # The panel's long poll waits here until the REST client below has read the call.
        if route.request.method == "GET":
            held.append(route)
        else:
            route.continue_()

    lab.route(FOLLOW, hold)
    panel = open_panel(lab)
    call = choose(panel, "simulate")
    field(call, "steps").fill("3")
    field(call, "delay").fill("1")  # about 3 s: longer than the panel's POST waits (1 s)
    run(call)
    deadline = time.monotonic() + 20
    while not held and time.monotonic() < deadline:
        lab.wait_for_timeout(100)
    assert held, "the panel did not follow its call"
    match = FOLLOW.match(held[0].request.url)
    assert match is not None
    call_id = match[1]

    # Another reader (a notebook, a script) waits for the call and reads it in full...
    model: dict = {}
    while time.monotonic() < deadline + 20:
        answer = small_lab.api(f"jupyter-rpc/calls/{call_id}?wait=10")
        assert isinstance(answer, dict)
        model = answer
        if model["state"] != "running" and model["state"] != "pending":
            break
    assert model["state"] == "succeeded"
    assert "result" in model and "result_dropped" not in model
    # ...so the server no longer has the result.
    again = small_lab.api(f"jupyter-rpc/calls/{call_id}")
    assert isinstance(again, dict) and "result" not in again and "result_dropped" in again

    for route in held:
        route.continue_()
    lab.unroute(FOLLOW, hold)

    expect(status(call)).to_have_attribute("data-state", "succeeded")
    notice = call.locator(".jp-rpc-DroppedResult")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("The result is no longer available")
    expect(notice).to_contain_text("RPCApp.max_kept_result_size")
    expect(notice).to_contain_text("run the call again to get it")
    expect(result(call)).to_have_count(0)

    # Run again: the panel is the first reader this time and gets the result.
    notice.get_by_role("button", name="Run again").click()
    expect(panel.locator(".jp-rpc-HistoryItem")).to_have_count(2, timeout=30_000)
    expect(result(call)).to_be_visible(timeout=30_000)
    expect(call.locator(".jp-rpc-DroppedResult")).to_have_count(0)
