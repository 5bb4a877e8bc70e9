"""Interactive apps in the browser (issue 14): a real JupyterLab in headless Chromium with
a local cluster (the local scheduler). The Launcher's "Web app" card opens the launch
form; Launch starts the app's job and opens the session's tab, which shows the app's page
through the server's proxy once it runs; End ends it and the tab says so."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LabServer, open_lab, start_lab
from playwright.sync_api import Page, expect

DISPLAY = "This computer (apps)"


@pytest.fixture(scope="module")
def apps_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    base = Path(tmp_path_factory.mktemp("apps-lab"))
    site = base / "root" / "site"
    site.mkdir(parents=True)
    (site / "index.html").write_text(
        "<html><body><h1 id='hello'>Hello from the app</h1></body></html>"
    )
    config = {
        "RPCApp": {
            "clusters": {
                "here": {
                    "display_name": DISPLAY,
                    "scheduler": "local",
                    "roots": {"home": str(base / "root")},
                }
            },
            "state_dir": str(base / "state"),
        }
    }
    with start_lab(base, config) as server:
        yield server


@pytest.fixture
def page_of(page: Page, apps_lab: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from open_lab(page, apps_lab, request)


def test_launch_a_web_app_and_see_its_page(page_of: Page, apps_lab: LabServer) -> None:
    lab = page_of
    site = apps_lab.root / "site"
    section = lab.locator(".jp-Launcher-section", has_text="Interactive Apps")
    section.locator(".jp-LauncherCard", has_text="Web app").click()
    dialog = lab.locator(".jp-Dialog")
    command = dialog.locator("#jp-rpc-app_command")
    expect(command).to_be_visible(timeout=20_000)
    command.fill(f'exec {sys.executable} -m http.server --bind "$HOST" --directory {site} "$PORT"')
    dialog.get_by_role("button", name="Launch").click()

    tab = lab.locator(".jp-MainAreaWidget:has(.jp-rpc-Session)").last
    expect(tab).to_be_visible()
    expect(tab.locator(".jp-rpc-Session-state")).to_have_text("Running", timeout=30_000)
    frame = tab.frame_locator("iframe.jp-rpc-Session-frame")
    expect(frame.locator("#hello")).to_have_text("Hello from the app", timeout=20_000)

    [session] = apps_lab.api("jupyter-rpc/sessions")["sessions"]  # type: ignore[index]
    assert session["state"] == "running" and session["cluster"] == "here"

    tab.get_by_role("button", name="End").click()
    expect(tab.locator(".jp-rpc-Session-state")).to_have_text("Ended", timeout=20_000)
    [session] = apps_lab.api("jupyter-rpc/sessions")["sessions"]  # type: ignore[index]
    assert session["state"] == "ended"
    job = apps_lab.api(f"jupyter-rpc/clusters/here/jobs/{session['job_id']}")
    assert job["state"] == "cancelled"  # type: ignore[index]
