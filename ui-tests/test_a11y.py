"""Accessibility of each panel (issue 16): axe-core (the npm package of the lab build's
devDependencies, node_modules/axe-core) is injected into the page and run on one panel
at a time, as it looks in use; no serious or critical finding is allowed.

Panels: Remote functions (a function chosen, a call run), the result's main-area tab,
Jobs (side panel with a job's detail, and the main-area tab), Remote files, the
cluster dialog (Add a cluster), the interactive apps' launch form. WCAG 2.x A/AA and
axe's best practices; findings inside JupyterLab's own widgets that we only host (its
file browser listing) count too, as a user meets them in our panel.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RESULTS, LabServer, open_lab, start_lab
from files_helpers import choose_cluster as choose_files_cluster
from files_helpers import open_files_panel
from helpers import choose, field, open_by_palette, open_panel, result, run
from jobs_helpers import choose_cluster, open_jobs_panel
from playwright.sync_api import Page, expect

AXE = Path(__file__).parent.parent / "node_modules" / "axe-core" / "axe.min.js"
DISPLAY = "This computer"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
# Whole-page rules that do not apply to one panel checked on its own.
PAGE_RULES = ["region", "landmark-one-main", "page-has-heading-one", "bypass"]


@pytest.fixture(scope="module")
def a11y_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    home = tmp_path_factory.mktemp("a11y-home")
    (home / "data").mkdir()
    (home / "data" / "notes.txt").write_text("hello\n")
    (home / "run.sh").write_text("#!/bin/bash\necho hi\n")
    config = {
        "RPCApp": {
            "clusters": {
                "local": {
                    "display_name": DISPLAY,
                    "scheduler": "local",
                    "roots": {"home": str(home)},
                    "workdir": str(home),
                }
            },
            "state_dir": str(tmp_path_factory.mktemp("a11y-state")),
        }
    }
    with start_lab(tmp_path_factory.mktemp("a11y-lab"), config) as server:
        yield server


@pytest.fixture
def lab(page: Page, a11y_server: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from open_lab(page, a11y_server, request)


def axe_findings(page: Page, selector: str, name: str) -> list[str]:
    """Run axe on the element ``selector``; its serious and critical findings, one line
    each (rule, what it checks, the elements). All findings go to test-results."""
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(AXE))
    expect(page.locator(selector).first).to_be_visible()
    report = page.evaluate(
        """async ([selector, tags, off]) => {
            const rules = Object.fromEntries(off.map(r => [r, { enabled: false }]));
            const r = await window.axe.run(document.querySelector(selector), {
                runOnly: { type: 'tag', values: tags }, rules, resultTypes: ['violations']
            });
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({ target: n.target.join(' '), summary: n.failureSummary }))
            }));
        }""",
        [selector, TAGS, PAGE_RULES],
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"axe-{name}.json").write_text(json.dumps(report, indent=1))
    return [
        f"{v['impact']}: {v['id']} ({v['help']}): "
        + "; ".join(f"{n['target']} [{n['summary']}]" for n in v["nodes"][:5])
        for v in report
        if v["impact"] in ("serious", "critical")
    ]


def check(page: Page, selector: str, name: str) -> None:
    """No serious or critical axe finding in ``selector`` (the findings in the message)."""
    findings = axe_findings(page, selector, name)
    assert not findings, "\n".join(findings)


def test_functions_panel_and_result_tab(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "add")
    field(call, "a").fill("2")
    field(call, "b").fill("40")
    run(call)
    expect(result(call)).to_have_text("42")
    check(lab, "#jp-rpc-functions", "functions")
    # A field is named after its title (without the required mark).
    expect(call.get_by_role("spinbutton", name="a", exact=True)).to_have_value("2")
    # A list's items and a nested optional object.
    choose(panel, "sparkline")
    check(lab, "#jp-rpc-functions", "functions-list")
    choose(panel, "stations")
    check(lab, "#jp-rpc-functions", "functions-nested")
    call = choose(panel, "stations")
    field(call, "limit").fill("3")
    run(call)
    tab = lab.locator('#jp-main-dock-panel .jp-rpc-ResultView[data-function="stations"]')
    expect(tab.locator("tbody tr")).to_have_count(3, timeout=30_000)
    check(lab, ".jp-rpc-ResultPanel:not(.lm-mod-hidden)", "result-tab")


def test_jobs_panel_and_tab(lab: Page, a11y_server: LabServer) -> None:
    job = a11y_server.api(
        "jupyter-rpc/clusters/local/jobs", "POST", {"script": "sleep 90\n", "name": "a11y"}
    )
    assert isinstance(job, dict)
    try:
        panel = open_jobs_panel(lab)
        choose_cluster(panel, DISPLAY)
        row = panel.locator(f'tr[data-job-id="{job["id"]}"]')
        row.click()
        expect(panel.locator(".jp-rpc-JobDetail")).to_be_visible()
        check(lab, "#jp-rpc-jobs", "jobs-panel")
        panel.get_by_role("tab", name="History").click()
        expect(panel.get_by_role("button", name="Refresh the history")).to_be_visible()
        check(lab, "#jp-rpc-jobs", "jobs-history")
        view = open_by_palette(lab, "Open Jobs in a Tab", "#jp-rpc-jobs-main")
        view.locator(f'tr[data-job-id="{job["id"]}"]').click()
        expect(view.locator(".jp-rpc-JobDetail")).to_be_visible()
        check(lab, "#jp-rpc-jobs-main", "jobs-tab")
        # The submit dialog's form.
        panel = open_jobs_panel(lab)
        panel.get_by_role("tab", name="Current").click()
        panel.get_by_role("button", name="Submit job…").click()
        dialog = lab.locator(".jp-Dialog")
        expect(dialog.locator("#jp-rpc-job_script")).to_be_visible(timeout=30_000)
        check(lab, ".jp-Dialog-content", "submit-dialog")
        dialog.get_by_role("button", name="Cancel").click()
    finally:
        with contextlib.suppress(Exception):  # ended already
            a11y_server.api(f"jupyter-rpc/clusters/local/jobs/{job['id']}", method="DELETE")


def test_remote_files_panel(lab: Page) -> None:
    panel = open_files_panel(lab)
    choose_files_cluster(panel, DISPLAY)
    expect(panel.locator(".jp-DirListing-item").first).to_be_visible(timeout=30_000)
    check(lab, "#jp-rpc-files", "files")


def test_cluster_dialog(lab: Page) -> None:
    panel = open_jobs_panel(lab)
    panel.get_by_role("button", name="Add a cluster").click()
    dialog = lab.locator(".jp-Dialog")
    expect(dialog.locator(".jp-Dialog-header")).to_be_visible()
    check(lab, ".jp-Dialog-content", "cluster-dialog")
    dialog.get_by_role("button", name="Cancel").click()


def test_app_launch_form(lab: Page) -> None:
    section = lab.locator(".jp-Launcher-section", has_text="Interactive Apps")
    section.locator(".jp-LauncherCard", has_text="Web app").click()
    dialog = lab.locator(".jp-Dialog")
    expect(dialog.locator("#jp-rpc-app_command")).to_be_visible(timeout=20_000)
    check(lab, ".jp-Dialog-content", "app-launch")
    dialog.get_by_role("button", name="Cancel").click()
