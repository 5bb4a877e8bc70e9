"""Screenshots of the panels: the Remote functions panel with a result in the main
area, and the Jobs panel and tab, Remote files, the cluster dialog and the apps' launch
form (those also in JupyterLab's high-contrast theme), each checked to follow the theme.

Light and dark theme, at 1400×900 and 900×700; they go to ui-tests/test-results
(kept as the run's artefacts). With RPC_UPDATE_SCREENSHOTS=1 the light 1400×900 one
also replaces docs/images/functions-panel.png (the README's picture).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator

import pytest
from conftest import RESULTS, LabServer, open_lab, start_lab
from files_helpers import choose_cluster as choose_files_cluster
from files_helpers import open_files_panel
from helpers import choose, field, open_notebook, open_panel, result, run, status
from jobs_helpers import choose_cluster, open_jobs_panel
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


# The other panels: Jobs (side panel and tab), Remote files, the cluster dialog and
# the apps' launch form, in JupyterLab's light, dark and high-contrast themes.

THEMES = {
    "light": "JupyterLab Light",
    "dark": "JupyterLab Dark",
    "high-contrast": "JupyterLab Dark High Contrast",
}
STYLE = RESULTS.parent.parent / "style"
# The style files of the panels shot here (the maps' own, with their land and sea
# colours per theme, are not a panel's chrome).
PANEL_STYLES = ["base.css", "jobs.css", "files.css", "apps.css", "results.css"]
# A colour written out instead of one of Lab's CSS variables (--jp-...).
LITERAL_COLOUR = re.compile(
    r"#[0-9a-fA-F]{3,8}\b|\b(?:rgba?|hsla?)\(|:\s*(?:white|black|red|green|blue|gr[ae]y)\s*;"
)


@pytest.fixture(scope="module")
def panels_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    home = tmp_path_factory.mktemp("shots-home")
    for name in ("analysis", "results"):
        (home / name).mkdir()
    (home / "run.sh").write_text("#!/bin/bash\n#SBATCH --time=10\necho hello\n")
    (home / "notes.md").write_text("# Notes\n")
    config = {
        "RPCApp": {
            "clusters": {
                "local": {
                    "display_name": "This computer",
                    "scheduler": "local",
                    "roots": {"home": str(home)},
                    "workdir": str(home),
                }
            },
            "state_dir": str(tmp_path_factory.mktemp("shots-state")),
        }
    }
    with start_lab(tmp_path_factory.mktemp("shots-lab"), config) as server:
        for name, script in (
            ("preprocess", "echo done\n"),
            ("train-model", "sleep 120\n"),
            ("evaluate", "exit 2\n"),
        ):
            server.api("jupyter-rpc/clusters/local/jobs", "POST", {"script": script, "name": name})
        yield server
        for job in server.api("jupyter-rpc/clusters/local/jobs")["jobs"]:  # type: ignore[index]
            if job["state"] in ("running", "pending"):
                server.api(f"jupyter-rpc/clusters/local/jobs/{job['id']}", method="DELETE")


@pytest.fixture
def panels_lab(
    page: Page, panels_server: LabServer, request: pytest.FixtureRequest
) -> Iterator[Page]:
    yield from open_lab(page, panels_server, request)


def _use_theme(page: Page, theme: str) -> None:
    if theme == "light":
        return
    _run_palette_command(page, f"Use Theme: {THEMES[theme]}")
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false", timeout=30_000)
    if theme == "high-contrast":
        expect(page.locator("body")).to_have_attribute(
            "data-jp-theme-name", THEMES[theme], timeout=30_000
        )


def _shot(page: Page, name: str, theme: str, size: tuple[int, int]) -> None:
    page.mouse.move(size[0] - 10, size[1] - 10)
    page.wait_for_timeout(300)
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / f"{name}-{theme}-{size[0]}x{size[1]}.png"))


def _follows_theme(page: Page, selector: str, theme: str) -> None:
    colours = _luminance(page, selector)
    if theme == "light":
        assert colours["bg"] > 0.7 and colours["fg"] < 0.4, (selector, colours)
    else:
        assert colours["bg"] < 0.3 and colours["fg"] > 0.6, (selector, colours)


def test_the_style_uses_labs_colour_variables() -> None:
    """Every colour of the panels' style is one of Lab's CSS variables, so every theme
    (dark, high contrast, a user's own) applies; an exception says why on its line."""
    found = []
    for path in (STYLE / name for name in PANEL_STYLES):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if LITERAL_COLOUR.search(line) and "theme-independent" not in line:
                found.append(f"{path.name}:{number}: {line.strip()}")
    assert found == []


@pytest.mark.parametrize("theme", list(THEMES))
@pytest.mark.parametrize("size", [(1400, 900), (900, 700)], ids=["1400x900", "900x700"])
def test_panels_screenshots(panels_lab: Page, theme: str, size: tuple[int, int]) -> None:
    lab = panels_lab
    lab.set_viewport_size({"width": size[0], "height": size[1]})
    _use_theme(lab, theme)
    try:
        # Jobs: the side panel with a running job's detail.
        panel = open_jobs_panel(lab)
        choose_cluster(panel, "This computer")
        row = panel.locator("tbody tr[data-job-id]", has_text="train-model").first
        expect(row).to_be_visible(timeout=30_000)
        row.click()
        expect(panel.locator(".jp-rpc-JobDetail")).to_be_visible()
        _shot(lab, "jobs-panel", theme, size)
        _follows_theme(lab, "#jp-rpc-jobs .jp-rpc-JobDetail-title", theme)
        # The Jobs tab (the side bar folds away for it).
        panel.get_by_role("button", name="Open the jobs in a tab").click()
        view = lab.locator(f"{MAIN} .jp-rpc-JobsMainView")
        expect(view.get_by_role("table", name="Ended jobs")).to_be_visible(timeout=30_000)
        view.locator("tbody tr[data-job-id]", has_text="evaluate").first.click()
        expect(view.locator(".jp-rpc-JobDetail")).to_be_visible()
        _shot(lab, "jobs-tab", theme, size)
        _follows_theme(lab, f"{MAIN} .jp-rpc-JobsMainView-heading", theme)
        # Remote files.
        files = open_files_panel(lab)
        choose_files_cluster(files, "This computer")
        expect(files.locator(".jp-DirListing-item").first).to_be_visible(timeout=30_000)
        files.locator(".jp-DirListing-item").first.dblclick()
        expect(files.locator(".jp-DirListing-item", has_text="run.sh")).to_be_visible(
            timeout=30_000
        )
        _shot(lab, "files-panel", theme, size)
        _follows_theme(lab, "#jp-rpc-files .jp-rpc-FilesPanel-heading, #jp-rpc-files h2", theme)
        # Clusters: the Add-a-cluster dialog.
        panel = open_jobs_panel(lab)
        panel.get_by_role("button", name="Add a cluster").click()
        dialog = lab.locator(".jp-Dialog")
        expect(dialog.locator(".jp-Dialog-header")).to_be_visible()
        _shot(lab, "cluster-dialog", theme, size)
        _follows_theme(lab, ".jp-Dialog-content .jp-Dialog-header", theme)
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_have_count(0)
        # Apps: the launch form of the Web app.
        lab.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Launcher").click()
        section = lab.locator(".jp-Launcher-section", has_text="Interactive Apps")
        section.locator(".jp-LauncherCard", has_text="Web app").click()
        expect(dialog.locator("#jp-rpc-app_command")).to_be_visible(timeout=20_000)
        _shot(lab, "app-launch", theme, size)
        _follows_theme(lab, ".jp-Dialog-content .jp-Dialog-header", theme)
        dialog.get_by_role("button", name="Cancel").click()
    finally:
        if theme != "light":
            _run_palette_command(lab, "Use Theme: JupyterLab Light")
            expect(lab.locator("body")).to_have_attribute(
                "data-jp-theme-light", "true", timeout=30_000
            )
