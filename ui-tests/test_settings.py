"""User settings: the call timeout is sent, cancelling asks first."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from conftest import LabServer
from helpers import choose, field, open_panel, run, status
from playwright.sync_api import Page, expect

SETTINGS = "lab/api/settings/jupyter-rpc:functions"


@pytest.fixture
def user_settings(lab_server: LabServer) -> Iterator[None]:
    lab_server.api(
        SETTINGS, "PUT", {"raw": json.dumps({"defaultTimeout": 7, "confirmCancel": True})}
    )
    yield
    lab_server.api(SETTINGS, "PUT", {"raw": "{}"})


def test_settings_are_used(user_settings: None, lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "simulate")
    field(call, "steps").fill("20")
    field(call, "delay").fill("1")
    with lab.expect_request(
        lambda r: r.method == "POST" and "/jupyter-rpc/backends/examples/calls" in r.url
    ) as req:
        run(call)
    assert req.value.post_data_json["timeout"] == 7
    expect(status(call)).to_have_attribute("data-state", "running")
    call.get_by_role("button", name="Cancel").click()
    dialog = lab.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Cancel the call?")
    dialog.get_by_role("button", name="Keep running").click()
    expect(status(call)).to_have_attribute("data-state", "running")
    call.get_by_role("button", name="Cancel").click()
    lab.locator(".jp-Dialog").get_by_role("button", name="Cancel call").click()
    expect(status(call)).to_have_attribute("data-state", "cancelled")


def test_view_menu_has_the_panel(lab: Page) -> None:
    lab.get_by_role("menuitem", name="View").click()
    lab.get_by_role("menuitem", name="Remote Functions").click()
    expect(lab.locator("#jp-rpc-functions")).to_be_visible()
