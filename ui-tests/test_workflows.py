"""Workflows in the browser (issue 24): a real JupyterLab in headless Chromium with a
local cluster (the local scheduler) and the demo's three-step template
(demo/workflows/three-steps.yaml: prepare -> an array of 4 -> collect).

The Launcher's Workflows section of the cluster lists the template; its card opens the
run form; Run submits every step and opens the Workflows tab on the run, which follows
it until its steps end, lists its outputs and opens one in Lab. A value out of the
form's bounds is said at its field and nothing is submitted. A failed step is named
with its log tail; Run again opens the form with the run's values; Cancel ends every
step; Save as Workflow Template… in the Jobs panel's row menu makes a template of a
job. Screenshots of the tab in the light and dark themes go to ui-tests/test-results.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import RESULTS, LabServer, open_lab, start_lab
from files_helpers import choose_cluster as choose_files_cluster
from files_helpers import context_menu, item, menu_labels, open_files_panel, open_item
from jobs_helpers import choose_cluster, job_row, open_jobs_panel
from playwright.sync_api import Locator, Page, expect

REPO = Path(__file__).resolve().parent.parent
DISPLAY = "This computer (workflows)"
TEMPLATE = "Three steps (demo)"
#: The demo template's members take this long at least (the local scheduler starts
#: them at once); a run of the demo ends within a few seconds.
RUN_TIMEOUT = 90_000


#: A template of the test's own: a folder on the cluster (Browse…) and a container image
#: list (the script only writes what it got).
TOOLS = """
display_name: Folder and image (test)
description: A folder on the cluster and a container image.
clusters: "*"
images: ["docker://python:3.12", "docker://alpine:3"]
form:
  data:
    type: string
    format: directory-path
    title: Data folder
    description: The folder with the ``*.csv`` files.
required: [data]
outputs: [out.txt]
steps:
  - name: only
    script: |
      #!/bin/bash
      printf '%s|%s\\n' {{ image }} {{ data }} > {{ run_dir }}/out.txt
"""


@pytest.fixture(scope="module")
def wf_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    base = Path(tmp_path_factory.mktemp("workflows-lab"))
    root = base / "root"
    (root / "jobs").mkdir(parents=True)
    (root / "data").mkdir()
    own = base / "templates"
    own.mkdir()
    (own / "tools.yaml").write_text(TOOLS)
    config = {
        "RPCApp": {
            "clusters": {
                "here": {
                    "display_name": DISPLAY,
                    "scheduler": "local",
                    "roots": {"home": str(root)},
                    "workdir": str(root / "jobs"),
                }
            },
            "workflow_dirs": [str(REPO / "demo" / "workflows"), str(own)],
            "state_dir": str(base / "state"),
        },
        # the tests open the Workflows tab on a run with its command
        "LabApp": {"expose_app_in_browser": True},
    }
    with start_lab(base, config) as server:
        yield server


@pytest.fixture
def lab(page: Page, wf_lab: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from open_lab(page, wf_lab, request)


def _runs(server: LabServer) -> list[dict[str, Any]]:
    answer = server.api("jupyter-rpc/clusters/here/runs")
    assert isinstance(answer, dict)
    return list(answer["runs"])


def _open_form(lab: Page, template: str = TEMPLATE, first: str = "label") -> Locator:
    """Click the template's card in the cluster's Workflows section; the run form."""
    section = lab.locator(".jp-Launcher-section", has_text=f"Workflows on {DISPLAY}")
    card = section.locator(".jp-LauncherCard", has_text=template)
    # the section comes with the catalog, after Lab's own cards (slower on a busy machine)
    expect(card).to_be_visible(timeout=60_000)
    card.click()
    form = _run_view(lab).locator(".jp-rpc-RunWorkflow")
    expect(form.locator(".jp-rpc-RunWorkflow-title")).to_have_text(f"Run {template}")
    expect(form.locator(f"#jp-rpc-arg_{first}")).to_be_visible(timeout=30_000)
    return form


def _field_errors(dialog: Locator, name: str) -> Locator:
    group = dialog.locator(f"#jp-rpc-arg_{name}").locator(
        "xpath=ancestor::div[contains(concat(' ', normalize-space(@class), ' '), ' form-group ')][1]"
    )
    return group.locator(".validationErrors")


def _run_view(lab: Page) -> Locator:
    return lab.locator("#jp-main-dock-panel .jp-rpc-Workflows")


def _submit(lab: Page, dialog: Locator) -> tuple[Locator, str]:
    """Press Run; the Workflows tab's run detail and the run's id."""
    dialog.get_by_role("button", name="Run", exact=True).click()
    expect(dialog).to_have_count(0, timeout=30_000)
    detail = _run_view(lab).locator(".jp-rpc-WorkflowRun")
    expect(detail).to_be_visible(timeout=30_000)
    run_id = detail.get_attribute("data-run-id") or ""
    assert re.match(r"^[a-z0-9-]+-\d{8}-\d{6}-[0-9a-f]{4}$", run_id), run_id
    return detail, run_id


def _open_workflows(lab: Page, run: str) -> None:
    """Open the Workflows tab on the cluster (and a run) with its command."""
    lab.evaluate(
        "async run => { await window.jupyterapp.commands.execute("
        "'jupyter-rpc:open-workflows', {cluster: 'here', run}); }",
        run,
    )


def _state(detail: Locator) -> Locator:
    return detail.locator(".jp-rpc-WorkflowRun-head .jp-rpc-WorkflowState")


def test_catalog_form_run_follow_and_open_an_output(lab: Page, wf_lab: LabServer) -> None:
    dialog = _open_form(lab)
    # The form: the template's inputs with their defaults, the resources after them.
    expect(dialog.locator("#jp-rpc-arg_scale")).to_have_value("10")
    expect(dialog.locator("#jp-rpc-arg_hours")).to_be_visible()
    expect(dialog.locator(".jp-rpc-RunWorkflow-steps")).to_have_text(
        "3 steps: prepare → simulate ×4 → collect"
    )
    label = 'it\'s $HOME; `id` & "quoted"'
    dialog.locator("#jp-rpc-arg_label").fill(label)
    dialog.locator("#jp-rpc-arg_scale").fill("3")
    detail, run_id = _submit(lab, dialog)

    # The run is followed until its steps end: each step's state and elapsed time.
    steps = detail.locator(".jp-rpc-WorkflowSteps-row")
    expect(steps).to_have_count(3)
    expect(_state(detail)).to_have_text("completed", timeout=RUN_TIMEOUT)
    for name in ("prepare", "simulate", "collect"):
        row = detail.locator(f'.jp-rpc-WorkflowSteps-row[data-step="{name}"]')
        expect(row).to_have_attribute("data-state", "completed")
        expect(row.locator(".jp-rpc-WorkflowSteps-elapsed")).to_have_text(re.compile(r"^\d+s$"))
    expect(detail.locator('.jp-rpc-WorkflowSteps-row[data-step="simulate"]')).to_contain_text(
        "4 completed"
    )
    # The run list says so too.
    item = _run_view(lab).locator(f'.jp-rpc-WorkflowRunItem[data-run-id="{run_id}"]')
    expect(item.locator(".jp-rpc-WorkflowState")).to_have_text("completed")

    # The inputs used, as typed.
    expect(detail.locator('.jp-rpc-WorkflowInputs tr[data-input="label"] td')).to_have_text(label)
    expect(detail.locator('.jp-rpc-WorkflowInputs tr[data-input="scale"] td')).to_have_text("3")

    # The outputs: open one in Lab.
    outputs = detail.locator(".jp-rpc-WorkflowOutputs li")
    expect(outputs.filter(has_text="member-")).to_have_count(4)
    summary = detail.locator('.jp-rpc-WorkflowOutputs li[data-path="results/summary.txt"]')
    summary.get_by_role("button", name="Open").click()
    editor = lab.locator("#jp-main-dock-panel .jp-FileEditor").last
    expect(editor).to_contain_text("total: 30", timeout=30_000)
    expect(editor).to_contain_text(f"label: {label}")

    run = wf_lab.api(f"jupyter-rpc/clusters/here/runs/{run_id}")
    assert isinstance(run, dict)
    assert run["state"] == "completed"
    assert run["inputs"]["label"] == label


def test_where_should_it_run_ranks_the_whole_run(lab: Page) -> None:
    form = _open_form(lab)
    form.locator("#jp-rpc-arg_cpus").fill("2")
    form.get_by_role("button", name="Where should it run?").click()
    # prepare and collect fix 1 CPU; simulate is 4 tasks of 2: 6 jobs
    expect(form.locator(".jp-rpc-RunWorkflow-whole")).to_contain_text(
        "The whole run: 6 jobs", timeout=30_000
    )
    row = form.locator('.jp-rpc-Placement tr[data-cluster="here"]')
    expect(row).to_have_class(re.compile("jp-rpc-Placement-ok"))
    row.get_by_role("button", name="Use").click()
    expect(form.locator(".jp-rpc-SubmitJob-place [role=status]")).to_contain_text("Chosen: here")
    form.get_by_role("button", name="Cancel", exact=True).click()
    expect(form).to_have_count(0)


def test_a_value_out_of_bounds_is_said_at_its_field_and_nothing_is_submitted(
    lab: Page, wf_lab: LabServer
) -> None:
    before = len(_runs(wf_lab))
    form = _open_form(lab)
    form.locator("#jp-rpc-arg_scale").fill("500")
    # Said at once, at the field, in words.
    expect(_field_errors(form, "scale")).to_contain_text("Enter 100 or less")
    form.locator("#jp-rpc-arg_label").fill("")
    expect(_field_errors(form, "label")).to_contain_text("Enter a value for Label")
    # Run (or Enter in a field) submits nothing: the form stays with the problems at
    # their fields.
    form.get_by_role("button", name="Run", exact=True).click()
    expect(form.locator(".jp-rpc-SubmitJob-problems")).to_contain_text(
        "Please correct the highlighted fields."
    )
    form.locator("#jp-rpc-arg_scale").press("Enter")
    expect(_field_errors(form, "scale")).to_contain_text("Enter 100 or less")
    expect(form.locator("#jp-rpc-arg_scale")).to_have_value("500")
    assert len(_runs(wf_lab)) == before
    # Corrected: the messages go.
    form.locator("#jp-rpc-arg_scale").fill("5")
    expect(_field_errors(form, "scale")).to_have_text("")
    form.get_by_role("button", name="Cancel", exact=True).click()
    expect(form).to_have_count(0)
    assert len(_runs(wf_lab)) == before


def test_a_failed_step_is_named_with_its_log_and_run_again_is_filled(lab: Page) -> None:
    dialog = _open_form(lab)
    dialog.locator("#jp-rpc-arg_label").fill("fails")
    dialog.locator("#jp-rpc-arg_fail_member").fill("2")
    detail, _ = _submit(lab, dialog)
    expect(_state(detail)).to_have_text("failed", timeout=RUN_TIMEOUT)
    failed = detail.locator('.jp-rpc-WorkflowSteps-row[data-step="simulate"]')
    expect(failed).to_have_class(re.compile("jp-rpc-mod-failed"))
    expect(detail.locator(".jp-rpc-WorkflowRun-message")).to_contain_text("simulate")
    expect(detail.locator(".jp-rpc-WorkflowRun-logTail")).to_contain_text(
        "member 2: failing on purpose"
    )
    collect = detail.locator('.jp-rpc-WorkflowSteps-row[data-step="collect"]')
    expect(collect).to_have_attribute("data-state", "cancelled", timeout=30_000)

    detail.get_by_role("button", name="Run again…").click()
    again = _run_view(lab).locator(".jp-rpc-RunWorkflow")
    expect(again.locator("#jp-rpc-arg_label")).to_have_value("fails", timeout=30_000)
    expect(again.locator("#jp-rpc-arg_fail_member")).to_have_value("2")
    again.get_by_role("button", name="Cancel", exact=True).click()
    expect(again).to_have_count(0)


def test_cancel_ends_every_step(lab: Page, wf_lab: LabServer) -> None:
    dialog = _open_form(lab)
    dialog.locator("#jp-rpc-arg_seconds").fill("60")
    detail, run_id = _submit(lab, dialog)
    simulate = detail.locator('.jp-rpc-WorkflowSteps-row[data-step="simulate"]')
    expect(simulate).to_have_attribute("data-state", "running", timeout=RUN_TIMEOUT)
    detail.get_by_role("button", name="Cancel", exact=True).click()
    expect(_state(detail)).to_have_text("cancelled", timeout=30_000)
    expect(detail.get_by_role("button", name="Cancel", exact=True)).to_have_count(0)
    run = wf_lab.api(f"jupyter-rpc/clusters/here/runs/{run_id}")
    assert isinstance(run, dict)
    assert {s["name"]: s["state"] for s in run["steps"]} == {
        "prepare": "completed",
        "simulate": "cancelled",
        "collect": "cancelled",
    }


def test_a_folder_with_browse_and_an_image_from_the_list(lab: Page, wf_lab: LabServer) -> None:
    dialog = _open_form(lab, "Folder and image (test)", "data")
    image = dialog.locator("#jp-rpc-arg_image")
    expect(image.locator("option")).to_have_text(["docker://python:3.12", "docker://alpine:3"])
    image.select_option("docker://alpine:3")
    # The site's description renders as Markdown (its reST literal as code).
    expect(dialog.locator("code", has_text="*.csv")).to_be_visible()
    # The folder is picked with Browse… in the cluster's files.
    dialog.locator(".jp-rpc-RemotePath-browse").click()
    picker = lab.locator(".jp-rpc-RemotePathDialog")
    expect(picker).to_be_visible()
    open_item(picker, "home")
    item(picker, "data").click()
    picker.get_by_role("button", name="Select").click()
    expect(picker).to_have_count(0)
    folder = str(wf_lab.root / "data")
    expect(dialog.locator("#jp-rpc-arg_data")).to_have_value(folder)
    detail, _ = _submit(lab, dialog)
    expect(_state(detail)).to_have_text("completed", timeout=RUN_TIMEOUT)
    expect(detail.locator('.jp-rpc-WorkflowInputs tr[data-input="image"] td')).to_have_text(
        "docker://alpine:3"
    )
    detail.locator('.jp-rpc-WorkflowOutputs li[data-path="out.txt"]').get_by_role(
        "button", name="Open"
    ).click()
    editor = lab.locator("#jp-main-dock-panel .jp-FileEditor").last
    expect(editor).to_contain_text(f"docker://alpine:3|{folder}", timeout=30_000)


def test_a_running_run_is_followed_less_often_and_not_while_hidden(
    lab: Page, wf_lab: LabServer
) -> None:
    """The tab asks about a running run 2 s after a change, then less and less often;
    nothing while it is hidden; at once when shown again; nothing once the run ended."""
    run = wf_lab.api(
        "jupyter-rpc/clusters/here/workflows/three-steps",
        method="POST",
        body={"values": {"label": "followed", "seconds": 60}},
    )
    assert isinstance(run, dict)
    run_id = run["id"]
    looks: list[float] = []
    suffix = f"/jupyter-rpc/clusters/here/runs/{run_id}"
    lab.on(
        "request",
        lambda r: looks.append(time.monotonic()) if r.url.split("?")[0].endswith(suffix) else None,
    )
    try:
        _open_workflows(lab, run_id)
        detail = _run_view(lab).locator(f'.jp-rpc-WorkflowRun[data-run-id="{run_id}"]')
        simulate = detail.locator('.jp-rpc-WorkflowSteps-row[data-step="simulate"]')
        expect(simulate).to_have_attribute("data-state", "running", timeout=RUN_TIMEOUT)
        # (the local scheduler runs as many members at once as the machine has cores)
        expect(simulate).to_contain_text(re.compile(r"\d running"), timeout=30_000)
        lab.wait_for_timeout(2_500)
        # Nothing changes while the members sleep: the looks come less and less often.
        looks.clear()
        lab.wait_for_timeout(20_000)
        gaps = [b - a for a, b in zip(looks, looks[1:], strict=False)]
        assert 3 <= len(looks) <= 7, looks
        assert gaps[-1] > gaps[0] + 1, gaps
        # Hidden (another tab in front): no look at all.
        lab.locator(".lm-TabBar-tab", has_text="Launcher").first.click()
        lab.wait_for_timeout(500)
        looks.clear()
        lab.wait_for_timeout(8_000)
        assert looks == [], looks
        # Shown again: a look at once.
        lab.locator(".lm-TabBar-tab", has_text="Workflows").first.click()
        lab.wait_for_timeout(1_500)
        assert len(looks) >= 1, looks
        # Ended: no more looks.
        detail.get_by_role("button", name="Cancel", exact=True).click()
        expect(_state(detail)).to_have_text("cancelled", timeout=30_000)
        lab.wait_for_timeout(1_000)
        looks.clear()
        lab.wait_for_timeout(6_000)
        assert looks == [], looks
    finally:
        with contextlib.suppress(urllib.error.HTTPError):
            wf_lab.api(f"jupyter-rpc/clusters/here/runs/{run_id}", method="DELETE")


def _notebook(path: Path) -> None:
    cells = [
        {
            "cell_type": "code",
            "metadata": {"tags": ["parameters"]},
            "execution_count": None,
            "outputs": [],
            "source": "n = 2\nlabel = 'cell'\n",
        },
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": "print('result', n * 10, label)",
        },
    ]
    path.write_text(
        json.dumps(
            {
                "cells": cells,
                "metadata": {
                    "kernelspec": {
                        "name": "python3",
                        "display_name": "Python 3",
                        "language": "python",
                    }
                },
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        )
    )


def test_run_a_notebook_on_the_cluster_with_other_parameters(lab: Page, wf_lab: LabServer) -> None:
    _notebook(wf_lab.root / "analysis.ipynb")
    # The file browser's menu on the notebook.
    lab.locator(".jp-DirListing-content").first.click(button="right", position={"x": 40, "y": 300})
    lab.keyboard.press("Escape")
    entry = lab.locator('.jp-DirListing-item[data-file-type="notebook"]', has_text="analysis.ipynb")
    expect(entry).to_be_visible(timeout=30_000)
    entry.click(button="right")
    lab.locator(".lm-Menu-item", has_text="Run on Cluster…").click()
    form = _run_view(lab).locator(".jp-rpc-RunNotebook")
    expect(form.locator(".jp-rpc-RunWorkflow-title")).to_have_text(
        "Run analysis.ipynb on a cluster"
    )
    # The parameters cell's variables with their values.
    expect(form.locator("#jp-rpc-arg_n")).to_have_value("2", timeout=10_000)
    expect(form.locator("#jp-rpc-arg_label")).to_have_value("cell")
    form.locator("#jp-rpc-arg_n").fill("5")
    form.locator('input[name="environment"]').fill(f"source {REPO / '.venv' / 'bin' / 'activate'}")
    form.get_by_role("button", name="Run", exact=True).click()
    expect(form).to_have_count(0, timeout=30_000)
    detail = _run_view(lab).locator(".jp-rpc-WorkflowRun")
    expect(_state(detail)).to_have_text("completed", timeout=RUN_TIMEOUT)
    # its two cells and the one with the new values
    expect(detail.locator(".jp-rpc-WorkflowRun-progress")).to_have_text("3 of 3 code cells run")
    detail.locator('.jp-rpc-WorkflowOutputs li[data-path="out.ipynb"]').get_by_role(
        "button", name="Open"
    ).click()
    notebook = lab.locator("#jp-main-dock-panel .jp-NotebookPanel").last
    expect(notebook.locator(".jp-OutputArea-output").first).to_contain_text(
        "result 50 cell", timeout=30_000
    )


def test_run_a_notebook_from_remote_files(lab: Page, wf_lab: LabServer) -> None:
    """Remote files offers Run on Cluster… on a notebook on the cluster (issue 24 left it to
    Lab's own browser), with that cluster chosen and the parameters cell read."""
    _notebook(wf_lab.root / "remote.ipynb")
    panel = open_files_panel(lab)
    choose_files_cluster(panel, DISPLAY)
    open_item(panel, "home")  # the cluster's root named home
    assert "Run on Cluster…" in menu_labels(panel, "remote.ipynb")
    assert "Run on Cluster…" not in menu_labels(panel, "jobs")
    context_menu(panel, "remote.ipynb", "Run on Cluster…")
    form = _run_view(lab).locator(".jp-rpc-RunNotebook")
    expect(form.locator(".jp-rpc-RunWorkflow-title")).to_have_text(
        "Run remote.ipynb on a cluster", timeout=30_000
    )
    expect(form.get_by_label("Cluster", exact=True).locator("option:checked")).to_have_text(DISPLAY)
    expect(form.locator("#jp-rpc-arg_n")).to_have_value("2", timeout=10_000)


def test_save_a_job_as_a_template(lab: Page, wf_lab: LabServer) -> None:
    job = wf_lab.api(
        "jupyter-rpc/clusters/here/jobs",
        method="POST",
        body={"script": "#!/bin/bash\necho saved-template-ran\n", "name": "my analysis"},
    )
    assert isinstance(job, dict)
    panel = open_jobs_panel(lab)
    choose_cluster(panel, DISPLAY)
    row = job_row(panel, job["id"])
    expect(row).to_be_visible(timeout=30_000)
    row.click(button="right")
    lab.locator(".lm-Menu-item", has_text="Save as Workflow Template…").click()
    dialog = lab.locator(".jp-Dialog")
    name = dialog.locator('input[name="name"]')
    expect(name).to_have_value("my-analysis", timeout=10_000)
    dialog.locator('textarea[name="description"]').fill("Mine, from a job.")
    dialog.get_by_role("button", name="Save", exact=True).click()
    expect(dialog).to_have_count(0)
    # It is in the cluster's Launcher section and in the Workflows tab, as the user's.
    lab.locator(".lm-TabBar-tab", has_text="Launcher").first.click()
    section = lab.locator(".jp-Launcher-section", has_text=f"Workflows on {DISPLAY}")
    expect(section.locator(".jp-LauncherCard", has_text="my analysis")).to_be_visible(
        timeout=30_000
    )
    _open_workflows(lab, "")
    card = _run_view(lab).locator('.jp-rpc-WorkflowCard[data-workflow="my-analysis"]')
    expect(card).to_contain_text("yours")
    expect(card).to_contain_text("Mine, from a job.")
    # Removed again (the user's own).
    card.get_by_role("button", name="Remove").click()
    lab.locator(".jp-Dialog").get_by_role("button", name="Remove").click()
    expect(card).to_have_count(0, timeout=30_000)


@pytest.mark.parametrize(
    ("theme", "light"), [("JupyterLab Light", True), ("JupyterLab Dark", False)]
)
def test_screenshot_of_a_run(lab: Page, wf_lab: LabServer, theme: str, light: bool) -> None:
    """The tab with a completed run, light and dark; its text stays readable."""
    done = [r for r in _runs(wf_lab) if r["state"] == "completed"]
    if not done:
        run = wf_lab.api(
            "jupyter-rpc/clusters/here/workflows/three-steps",
            method="POST",
            body={"values": {"label": "screenshot"}},
        )
        assert isinstance(run, dict)
        run_id = run["id"]
    else:
        run_id = done[0]["id"]
    lab.set_viewport_size({"width": 1400, "height": 900})
    if not light:
        _use_theme(lab, theme, light)
    try:
        _open_workflows(lab, run_id)
        detail = _run_view(lab).locator(f'.jp-rpc-WorkflowRun[data-run-id="{run_id}"]')
        expect(_state(detail)).to_have_text("completed", timeout=RUN_TIMEOUT)
        lab.mouse.move(1390, 890)
        lab.wait_for_timeout(300)
        RESULTS.mkdir(exist_ok=True)
        mode = "light" if light else "dark"
        lab.screenshot(path=str(RESULTS / f"workflows-{mode}-1400x900.png"))
        for selector in (
            ".jp-rpc-WorkflowRun-title",
            ".jp-rpc-WorkflowCard-name",
            ".jp-rpc-WorkflowRunItem.jp-mod-selected .jp-rpc-WorkflowRunItem-when",
            ".jp-rpc-WorkflowSteps td",
            ".jp-rpc-WorkflowInputs td",
        ):
            ratio = _run_view(lab).locator(selector).first.evaluate(CONTRAST)
            assert ratio >= 4.5, (selector, ratio)
    finally:
        if not light:
            _use_theme(lab, "JupyterLab Light", True)


def _use_theme(page: Page, name: str, light: bool) -> None:
    page.keyboard.press("Control+Shift+C")
    palette = page.locator(".jp-ModalCommandPalette .lm-CommandPalette-input")
    expect(palette).to_be_visible()
    palette.fill(f"Use Theme: {name}")
    expect(page.locator(".jp-ModalCommandPalette .lm-CommandPalette-item").first).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("body")).to_have_attribute(
        "data-jp-theme-light", "true" if light else "false", timeout=30_000
    )


#: The WCAG contrast ratio of an element's text against the first opaque background at
#: or above it.
CONTRAST = """el => {
    const rgb = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
    const lin = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    const lum = c => { const [r, g, b] = rgb(c).map(lin); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    let node = el, bg = 'rgba(0, 0, 0, 0)';
    while (node && (bg === 'rgba(0, 0, 0, 0)' || bg === 'transparent')) {
        bg = getComputedStyle(node).backgroundColor; node = node.parentElement;
    }
    const [a, b] = [lum(getComputedStyle(el).color), lum(bg)].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
}"""
