"""Browser tests of the main-area Jobs view (issue 16, item 8): the side panel's table is
cramped (Elapsed, CPU, Memory, Ended cut in ~245 px); the tab shows the queue, the
history and the selected job's detail side by side, with every column whole, sortable,
driven by the keyboard, and back after a reload.

The jobs run on the local cluster (local processes); long ones are cancelled afterwards.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import pytest
from conftest import RESULTS, LabServer, open_lab, start_lab
from helpers import open_by_palette
from jobs_helpers import choose_cluster, open_jobs_panel
from playwright.sync_api import Locator, Page, expect

VIEW = "#jp-main-dock-panel .jp-rpc-JobsMainView"


@pytest.fixture(scope="module")
def jobs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    home = tmp_path_factory.mktemp("jobs-main-home")
    config = {
        "RPCApp": {
            "clusters": {
                "local": {
                    "display_name": "This computer",
                    "scheduler": "local",
                    "roots": {"home": str(home)},
                    "workdir": str(home),
                }
            }
        }
    }
    with start_lab(tmp_path_factory.mktemp("jobs-main-lab"), config) as server:
        yield server


@pytest.fixture
def lab(page: Page, jobs_server: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from open_lab(page, jobs_server, request)


@pytest.fixture
def jobs(jobs_server: LabServer) -> Iterator[dict[str, str]]:
    """Two ended jobs (one failed) and two running ones on the local cluster, by name."""
    tag = uuid.uuid4().hex[:6]
    scripts = {
        f"done-{tag}": "#!/bin/bash\necho done\n",
        f"failed-{tag}": "#!/bin/bash\nexit 3\n",
        f"long-a-{tag}": "#!/bin/bash\nsleep 120\n",
        f"long-b-{tag}": "#!/bin/bash\nsleep 120\n",
    }
    ids: dict[str, str] = {}
    for name, script in scripts.items():
        job = jobs_server.api(
            "jupyter-rpc/clusters/local/jobs", "POST", {"script": script, "name": name}
        )
        assert isinstance(job, dict)
        ids[name] = str(job["id"])
    # The short ones end within seconds.
    deadline = time.monotonic() + 30
    for name in list(ids)[:2]:
        while True:
            job = jobs_server.api(f"jupyter-rpc/clusters/local/jobs/{ids[name]}")
            assert isinstance(job, dict)
            if job["state"] in ("completed", "failed"):
                break
            assert time.monotonic() < deadline, job
            time.sleep(0.3)
    yield ids
    for job_id in ids.values():
        try:
            jobs_server.api(f"jupyter-rpc/clusters/local/jobs/{job_id}", method="DELETE")
        except Exception:  # noqa: BLE001 - already ended: nothing to cancel
            pass


def open_tab_from_panel(page: Page) -> Locator:
    """Open the Jobs panel, choose the local cluster, press its "Open in a tab" button."""
    panel = open_jobs_panel(page)
    choose_cluster(panel, "This computer")
    panel.get_by_role("button", name="Open the jobs in a tab").click()
    view = page.locator(VIEW)
    expect(view).to_be_visible()
    return view


def queue(view: Locator) -> Locator:
    return view.get_by_role("table", name="Jobs", exact=True)


def history(view: Locator) -> Locator:
    return view.get_by_role("table", name="Ended jobs")


def clipped(cells: Locator) -> list[str]:
    """The texts of the cells that are cut (narrower than their text, or out of view)."""
    return cells.evaluate_all(
        """cells => cells.filter(c => {
            if (!c.innerText.trim()) { return false; }
            const r = c.getBoundingClientRect();
            let box = c.parentElement;
            while (box && getComputedStyle(box).overflowX === 'visible') { box = box.parentElement; }
            const frame = box.getBoundingClientRect();
            return c.scrollWidth > c.clientWidth + 1 || r.right > frame.right + 1
                || r.left < frame.left - 1 || r.width < 8;
        }).map(c => c.innerText)"""
    )


def test_the_tab_shows_queue_history_and_detail_side_by_side(
    lab: Page, jobs: dict[str, str]
) -> None:
    lab.set_viewport_size({"width": 1400, "height": 900})
    view = open_tab_from_panel(lab)
    names = list(jobs)
    # The queue: the running jobs, every column whole.
    expect(queue(view).locator(f'tr[data-job-id="{jobs[names[2]]}"]')).to_be_visible(timeout=30_000)
    # The history beside it: the ended jobs with Exit, Elapsed, CPU, Memory and Ended.
    ended = history(view).locator(f'tr[data-job-id="{jobs[names[1]]}"]')
    expect(ended).to_be_visible(timeout=30_000)
    RESULTS.mkdir(exist_ok=True)
    lab.screenshot(path=str(RESULTS / "jobs-main-1400x900.png"))
    headers = history(view).locator("thead th")
    expect(headers).to_contain_text(
        ["ID", "Name", "State", "Exit", "Elapsed", "CPU", "Memory", "Ended"]
    )
    assert clipped(headers) == []
    assert clipped(history(view).locator("tbody td")) == []
    assert clipped(queue(view).locator("thead th, tbody td")) == []
    # Selecting a row shows its detail to the right of the lists, not under them.
    ended.click()
    detail = view.locator(".jp-rpc-JobDetail")
    expect(detail).to_contain_text(f"Job {jobs[names[1]]}")
    lists = view.locator(".jp-rpc-JobsMainView-lists").bounding_box()
    box = detail.bounding_box()
    assert lists and box
    assert box["x"] >= lists["x"] + lists["width"] - 1, (box, lists)
    assert box["y"] < lists["y"] + 200, (box, lists)
    # The side panel made room for the tab; it stays the compact view (one table).
    panel = lab.locator("#jp-rpc-jobs")
    expect(panel).to_be_hidden()
    expect(panel.get_by_role("table", name="Ended jobs")).to_have_count(0)


def test_the_tab_sorts_and_is_driven_by_the_keyboard(lab: Page, jobs: dict[str, str]) -> None:
    lab.set_viewport_size({"width": 1400, "height": 900})
    view = open_tab_from_panel(lab)
    names = list(jobs)
    a, b = jobs[names[2]], jobs[names[3]]
    table = queue(view)
    expect(table.locator(f'tr[data-job-id="{b}"]')).to_be_visible(timeout=30_000)
    # Only this test's jobs (earlier tests' may still be listed).
    view.get_by_label("Filter jobs").first.fill(names[0].removeprefix("done-"))
    expect(table.locator("tbody tr[data-job-id]")).to_have_count(4)
    # Sort by name, ascending: long-a before long-b.
    table.get_by_role("button", name=re.compile("^Name")).click()
    expect(table.locator('th[aria-sort="ascending"]')).to_have_text(re.compile("Name"))
    ids = table.locator("tbody tr[data-job-id]")
    order = ids.evaluate_all("rows => rows.map(r => r.dataset.jobId)")
    assert order.index(a) < order.index(b), order
    # The history sorts too: by exit code, the failed job (3) after the good one (0).
    hist = history(view)
    expect(hist.locator(f'tr[data-job-id="{jobs[names[1]]}"]')).to_be_visible(timeout=30_000)
    hist.get_by_role("button", name=re.compile("^Exit")).click()
    expect(hist.locator('th[aria-sort="ascending"]')).to_have_text(re.compile("Exit"))
    order = hist.locator("tbody tr[data-job-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.jobId)"
    )
    assert order.index(jobs[names[0]]) < order.index(jobs[names[1]]), order
    # Arrows move the selection; the detail follows.
    table.locator(f'tr[data-job-id="{a}"]').click()
    expect(view.locator(".jp-rpc-JobDetail")).to_contain_text(f"Job {a}")
    lab.keyboard.press("ArrowDown")
    row_b = table.locator(f'tr[data-job-id="{b}"]')
    expect(row_b).to_have_attribute("aria-selected", "true")
    expect(row_b).to_be_focused()
    expect(view.locator(".jp-rpc-JobDetail")).to_contain_text(f"Job {b}")
    lab.keyboard.press("ArrowUp")
    expect(table.locator(f'tr[data-job-id="{a}"]')).to_have_attribute("aria-selected", "true")
    lab.keyboard.press("ArrowDown")
    expect(row_b).to_be_focused()
    # Enter opens (focuses) the detail.
    lab.keyboard.press("Enter")
    expect(view.locator(".jp-rpc-JobDetail")).to_be_focused()
    # Delete on a running job's row asks first, then cancels it.
    row_b.focus()
    lab.keyboard.press("Delete")
    dialog = lab.locator(".jp-Dialog")
    expect(dialog.get_by_text(f"Cancel job {b}")).to_be_visible()
    dialog.get_by_role("button", name="Keep running").click()
    expect(dialog).to_have_count(0)
    expect(row_b.locator(".jp-rpc-JobState")).to_have_text("running")
    row_b.focus()
    lab.keyboard.press("Delete")
    dialog.get_by_role("button", name="Cancel job").click()
    expect(view.locator(".jp-rpc-JobDetail .jp-rpc-JobState")).to_have_text(
        "cancelled", timeout=20_000
    )


def test_the_palette_opens_the_tab_and_a_reload_brings_it_back(
    lab: Page, jobs: dict[str, str]
) -> None:
    view = open_by_palette(lab, "Open Jobs in a Tab", VIEW)
    choose_cluster(view, "This computer")
    expect(queue(view).locator("tbody tr[data-job-id]").first).to_be_visible(timeout=30_000)
    # The tab has a title, the panel is not involved.
    expect(lab.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Jobs")).to_be_visible()
    lab.wait_for_timeout(1500)
    lab.reload()
    lab.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    view = lab.locator(VIEW)
    expect(view).to_be_visible(timeout=30_000)
    expect(view.get_by_label("Cluster", exact=True).locator("option:checked")).to_have_text(
        "This computer"
    )
    expect(queue(view).locator("tbody tr[data-job-id]").first).to_be_visible(timeout=30_000)
