"""Page helpers for the "Jobs" panel (what a user does, step by step)."""

from __future__ import annotations

import re

from helpers import open_by_palette
from playwright.sync_api import Locator, Page, expect

PANEL = "#jp-rpc-jobs"


def open_jobs_panel(page: Page) -> Locator:
    """Open the panel through the command palette, as a user would."""
    return open_by_palette(page, "Open Jobs", PANEL)


def choose_cluster(panel: Locator, label: str) -> None:
    """Pick a cluster by its display name."""
    select = panel.get_by_label("Cluster", exact=True)
    select.select_option(label=label)
    expect(select.locator("option:checked")).to_have_text(label)


def job_row(panel: Locator, job_id: str) -> Locator:
    """The table row of a job."""
    return panel.locator(f'tr[data-job-id="{job_id}"]')


def submit_through_dialog(
    page: Page, panel: Locator, script: str, name: str, *, hold: bool = False, **fields: str
) -> str:
    """Open "Submit job…", fill the script and name (and other fields by label), submit;
    return the id of the job the panel then shows."""
    panel.get_by_role("button", name="Submit job…").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".jp-Dialog-header")).to_have_text("Submit a job")
    script_box = dialog.locator("#jp-rpc-job_script")
    expect(script_box).to_be_visible(timeout=30_000)
    script_box.fill(script)
    dialog.locator("#jp-rpc-job_name").fill(name)
    for field, value in fields.items():
        dialog.locator(f"#jp-rpc-job_{field}").fill(value)
    if hold:
        dialog.locator("#jp-rpc-job_hold").check()
    dialog.get_by_role("button", name="Submit", exact=True).click()
    expect(dialog).to_have_count(0, timeout=30_000)
    return submitted_job_id(panel, name)


def submitted_job_id(panel: Locator, name: str) -> str:
    """The id of the job named ``name`` that the panel's detail shows after a submit.

    The detail of a job shown before may stay for a moment: wait for this one's name,
    then read its id."""
    detail = panel.locator(".jp-rpc-JobDetail")
    expect(detail).to_be_visible(timeout=30_000)
    named = detail.locator(".jp-rpc-JobDetail-facts dd").filter(
        has_text=re.compile(f"^{re.escape(name)}$")
    )
    expect(named).to_have_count(1, timeout=30_000)
    title = detail.locator(".jp-rpc-JobDetail-title").inner_text()
    return title.removeprefix("Job ").strip()


def detail_state(panel: Locator) -> Locator:
    """The state badge of the job detail."""
    return panel.locator(".jp-rpc-JobDetail .jp-rpc-JobState")


def output(panel: Locator) -> Locator:
    """The output tail of the job detail."""
    return panel.locator(".jp-rpc-JobOutput-text")


def show_history(panel: Locator) -> None:
    """Switch the panel to its "History" tab."""
    tab = panel.get_by_role("tab", name="History")
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")


def history_row(panel: Locator, job_id: str, *, timeout: float = 30_000) -> Locator:
    """The history row of a job, refreshing the history until accounting has it."""
    table = panel.get_by_role("table", name="Ended jobs")
    row = table.locator(f'tr[data-job-id="{job_id}"]')
    refresh = panel.get_by_role("button", name="Refresh the history")
    step = 3_000
    waited = 0.0
    while True:
        try:
            expect(row).to_be_visible(timeout=step)
            return row
        except AssertionError:
            waited += step
            if waited >= timeout:
                raise
            refresh.click()


def history_cells(row: Locator) -> dict[str, str]:
    """The texts of a history row by column: id, name, state, exit, elapsed, cpu, memory,
    ended."""
    texts = row.locator("td").all_inner_texts()
    columns = ["id", "name", "state", "exit", "elapsed", "cpu", "memory", "ended"]
    return dict(zip(columns, texts, strict=True))
