"""A field's description renders as the notebook renders Markdown (issue 16, item 9):
docstrings' reST literals (``value``) are code, through rendermime (sanitized); Lab's
form printed ``schema.description`` as plain text (the panel stripped the backticks)."""

from __future__ import annotations

from helpers import choose, field, open_panel
from playwright.sync_api import Page, expect


def _description(call, *path: str):
    group = field(call, *path).locator(
        "xpath=ancestor::div[contains(concat(' ', normalize-space(@class), ' '), ' form-group ')][1]"
    )
    return group.locator(".jp-rpc-FieldDoc")


def test_field_descriptions_render_as_markdown(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "convert_temperature")
    doc = _description(call, "source")
    expect(doc).to_be_visible()
    expect(doc.locator(".jp-RenderedMarkdown code")).to_have_text("value")
    expect(doc).to_have_text("The unit of value.")
    # Only the rendered text shows (not the plain one beside it), and no `` anywhere.
    group = doc.locator("xpath=..")
    expect(group.locator(".jp-FormGroup-description:visible")).to_have_count(1)
    assert "``" not in call.inner_text()
    # A list's description too.
    call = choose(panel, "sparkline")
    doc = call.locator(".jp-rpc-FieldDoc", has_text="At least two numbers")
    expect(doc.locator("code")).to_have_text("[3, 1, 4, 1, 5, 9, 2, 6]")
