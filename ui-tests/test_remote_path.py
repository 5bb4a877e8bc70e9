"""A path argument picked from a cluster's files: the form's "Browse…" button.

A real JupyterLab serves the default "examples" backend and the ``local`` cluster
(a temp folder as its root ``home``). ``file_summary(path: Path)`` gets a path field
(``format: "path"``) with a Browse… button; the dialog holds a cluster picker and
JupyterLab's file browser over the cluster's files; the chosen file's absolute path
goes into the field and the call reads that file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LabServer, open_lab, start_lab
from files_helpers import item, open_files_panel, open_item
from helpers import choose, field, open_panel, result, run, status
from playwright.sync_api import Locator, Page, expect

LINES = 7


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The local cluster's root ``home``: a text file, and another in a folder."""
    root = tmp_path_factory.mktemp("path-home")
    (root / "notes.txt").write_text("".join(f"line {i}\n" for i in range(1, LINES + 1)))
    (root / "runs").mkdir()
    (root / "runs" / "out.log").write_text("started\nfinished\n")
    return root


@pytest.fixture(scope="module")
def path_server(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    config = {
        "RPCApp": {
            "clusters": {
                "local": {"scheduler": "local", "roots": {"home": str(home)}},
            }
        }
    }
    with start_lab(tmp_path_factory.mktemp("path-lab"), config) as server:
        yield server


@pytest.fixture
def lab(page: Page, path_server: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from open_lab(page, path_server, request)


def _entry(call: Locator, key: str, value: object) -> Locator:
    """A ``key value`` row of the result's JSON tree."""
    text = re.compile(rf"^\s*{re.escape(key)}\s*{re.escape(str(value))}\s*$")
    return result(call).get_by_role("listitem").filter(has_text=text)


def _browse(call: Locator) -> Locator:
    """Press the path field's Browse… button; returns the dialog."""
    call.get_by_role("button", name="Browse clusters for path").click()
    dialog = call.page.locator(".jp-Dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Cluster", exact=True)).to_have_value("local")
    return dialog


def test_double_click_on_a_file_puts_its_absolute_path_in_the_field(lab: Page, home: Path) -> None:
    panel = open_panel(lab)
    call = choose(panel, "file_summary")
    # The field and its button share a row; the dialog's file list fills the dialog.
    entry = field(call, "path").bounding_box()
    button = call.get_by_role("button", name="Browse clusters for path").bounding_box()
    assert (
        entry
        and button
        and abs((entry["y"] + entry["height"] / 2) - (button["y"] + button["height"] / 2)) < 8
    )
    assert button["x"] >= entry["x"] + entry["width"] - 1
    dialog = _browse(call)
    listing = dialog.locator(".jp-rpc-RemotePathPicker-browser .jp-DirListing")
    expect(listing).to_be_visible()
    box, picker = listing.bounding_box(), dialog.locator(".jp-rpc-RemotePathPicker").bounding_box()
    assert box and picker and box["height"] > 0.5 * picker["height"] and picker["width"] > 400, (
        box,
        picker,
    )
    open_item(dialog, "home")
    open_item(dialog, "notes.txt")
    expect(dialog).to_have_count(0)
    # The file did not open in an editor: choosing is all a double-click does here.
    expect(lab.locator(".jp-FileEditor")).to_have_count(0)
    expect(field(call, "path")).to_have_value(str(home / "notes.txt"))
    run(call)
    expect(status(call)).to_have_attribute("data-state", "succeeded", timeout=60_000)
    expect(_entry(call, "lines", LINES)).to_have_count(1)
    expect(_entry(call, "path", f'"{home / "notes.txt"}"')).to_have_count(1)


def test_select_button_starts_at_the_current_file_and_cancel_keeps_the_value(
    lab: Page, home: Path
) -> None:
    panel = open_panel(lab)
    call = choose(panel, "file_summary")
    field(call, "path").fill(str(home / "notes.txt"))
    dialog = _browse(call)
    # The browser opens at the field's file, selected.
    expect(item(dialog, "notes.txt")).to_have_class(re.compile("jp-mod-selected"))
    open_item(dialog, "runs")
    item(dialog, "out.log").click()
    dialog.get_by_role("button", name="Select").click()
    expect(dialog).to_have_count(0)
    expect(field(call, "path")).to_have_value(str(home / "runs" / "out.log"))

    dialog = _browse(call)
    item(dialog, "out.log").click()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(field(call, "path")).to_have_value(str(home / "runs" / "out.log"))

    run(call)
    expect(status(call)).to_have_attribute("data-state", "succeeded", timeout=60_000)
    expect(_entry(call, "lines", 2)).to_have_count(1)
    expect(_entry(call, "size", len("started\nfinished\n"))).to_have_count(1)


def test_a_missing_file_is_a_clear_error(lab: Page, home: Path) -> None:
    panel = open_panel(lab)
    call = choose(panel, "file_summary")
    field(call, "path").fill(str(home / "gone.txt"))
    run(call)
    expect(status(call)).to_have_attribute("data-state", "failed", timeout=60_000)
    expect(call).to_contain_text(f"there is no file '{home / 'gone.txt'}'")


def test_without_clusters_a_path_is_a_plain_text_field(
    page: Page, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> None:
    config = {"RPCApp": {"clusters": {}}}
    with start_lab(tmp_path_factory.mktemp("no-cluster-lab"), config) as server:
        session = open_lab(page, server, request)
        lab = next(session)
        # The clusters are known once the Remote files panel says there are none.
        files = open_files_panel(lab)
        expect(files).to_contain_text("No clusters are configured.")
        panel = open_panel(lab)
        call = choose(panel, "file_summary")
        field(call, "path").fill("/etc/hostname")
        expect(call.get_by_role("button", name="Browse clusters for path")).to_have_count(0)
        run(call)
        expect(status(call)).to_have_attribute("data-state", "succeeded", timeout=60_000)
        expect(_entry(call, "lines", 1)).to_have_count(1)
        next(session, None)  # save the browser's errors, if any
