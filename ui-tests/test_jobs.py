"""Browser tests of the "Jobs" panel: a real JupyterLab with the local cluster (jobs
run as local processes) and, when the HPC test bed runs, a real Slurm cluster over SSH.

Every job a test starts is short or cancelled by the test.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
import testbed
from conftest import LabServer, open_lab, start_lab
from jobs_helpers import (
    choose_cluster,
    detail_state,
    history_cells,
    history_row,
    job_row,
    open_jobs_panel,
    output,
    show_history,
    submit_through_dialog,
    submitted_job_id,
)
from playwright.sync_api import Locator, Page, expect


def _testbed_config() -> dict | None:
    """The Slurm cluster of the test bed, or ``None`` when it is not there."""
    if not testbed.available():
        return None
    return {
        "display_name": "Test bed (Slurm)",
        "host": "127.0.0.1",
        "port": 2222,
        "user": "hpcuser",
        "identity_file": str(testbed.KEYS / "id_ed25519"),
        "known_hosts": str(testbed.KEYS / "known_hosts"),
        "ssh_config": False,
        "scheduler": "slurm",
        "workdir": "/home/hpcuser",
    }


@pytest.fixture(scope="module")
def jobs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    home = tmp_path_factory.mktemp("jobs-home")
    clusters: dict = {
        "local": {
            "display_name": "This computer",
            "scheduler": "local",
            "roots": {"home": str(home)},
            "workdir": str(home),
        }
    }
    slurm_cluster = _testbed_config()
    if slurm_cluster:
        clusters["testbed"] = slurm_cluster
    config = {"RPCApp": {"clusters": clusters}}
    with start_lab(tmp_path_factory.mktemp("jobs-lab"), config) as server:
        yield server


@pytest.fixture
def lab(page: Page, jobs_server: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from open_lab(page, jobs_server, request)


@pytest.fixture
def cleanup(jobs_server: LabServer) -> Iterator[list[tuple[str, str]]]:
    """Jobs (cluster, id) a test started; those still active are cancelled afterwards."""
    started: list[tuple[str, str]] = []
    yield started
    for cluster, job_id in started:
        try:
            jobs_server.api(f"jupyter-rpc/clusters/{cluster}/jobs/{job_id}", method="DELETE")
        except Exception:  # noqa: BLE001 - already ended: nothing to cancel
            pass


@pytest.fixture
def slurm(jobs_server: LabServer) -> str:
    testbed.require()
    return "testbed"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_submit_see_running_then_completed_with_output(lab: Page, cleanup: list) -> None:
    panel = open_jobs_panel(lab)
    choose_cluster(panel, "This computer")
    name = unique("hello")
    job_id = submit_through_dialog(lab, panel, "#!/bin/bash\necho hello\nsleep 3\n", name)
    cleanup.append(("local", job_id))
    row = job_row(panel, job_id)
    expect(row).to_be_visible()
    expect(row).to_contain_text(name)
    expect(detail_state(panel)).to_have_text("running", timeout=15_000)
    # The live tail shows the output while the job runs.
    expect(output(panel)).to_contain_text("hello", timeout=15_000)
    expect(detail_state(panel)).to_have_text("completed", timeout=30_000)
    expect(row.locator(".jp-rpc-JobState")).to_have_text("completed")
    # A notification says so, with a "Show" action.
    toast = lab.locator(".Toastify__toast", has_text=job_id)
    expect(toast).to_be_visible(timeout=30_000)
    expect(toast.get_by_role("button", name="Show")).to_be_visible()


def test_cancel_a_long_job_after_confirming(lab: Page, cleanup: list) -> None:
    panel = open_jobs_panel(lab)
    choose_cluster(panel, "This computer")
    job_id = submit_through_dialog(lab, panel, "#!/bin/bash\nsleep 300\n", unique("long"))
    cleanup.append(("local", job_id))
    expect(detail_state(panel)).to_have_text("running", timeout=15_000)
    panel.locator(".jp-rpc-JobDetail").get_by_role("button", name="Cancel", exact=True).click()
    dialog = lab.locator(".jp-Dialog")
    expect(dialog.get_by_text(f"Cancel job {job_id}")).to_be_visible()
    dialog.get_by_role("button", name="Cancel job").click()
    expect(detail_state(panel)).to_have_text("cancelled", timeout=20_000)
    expect(job_row(panel, job_id).locator(".jp-rpc-JobState")).to_have_text("cancelled")


def test_filter_and_sort(lab: Page, cleanup: list) -> None:
    panel = open_jobs_panel(lab)
    choose_cluster(panel, "This computer")
    a = unique("alpha")
    b = unique("beta")
    id_a = submit_through_dialog(lab, panel, "#!/bin/bash\necho a\n", a)
    cleanup.append(("local", id_a))
    id_b = submit_through_dialog(lab, panel, "#!/bin/bash\necho b\n", b)
    cleanup.append(("local", id_b))
    filter_box = panel.get_by_label("Filter jobs")
    filter_box.fill(a)
    expect(job_row(panel, id_a)).to_be_visible()
    expect(job_row(panel, id_b)).to_have_count(0)
    filter_box.fill("no-such-job-anywhere")
    expect(panel.get_by_text("No job matches the filter.")).to_be_visible()
    filter_box.fill("")
    expect(job_row(panel, id_b)).to_be_visible()
    # Sort by name: ascending, then descending.
    panel.get_by_role("button", name=re.compile("^Name")).click()
    expect(panel.locator('th[aria-sort="ascending"]')).to_have_text(re.compile("Name"))
    names = panel.locator("tbody tr td:nth-child(2)")
    expect(names.first).to_be_visible()
    first = names.all_inner_texts()
    assert first == sorted(first), first
    panel.get_by_role("button", name=re.compile("^Name")).click()
    expect(panel.locator('th[aria-sort="descending"]')).to_have_text(re.compile("Name"))
    second = names.all_inner_texts()
    assert second == sorted(second, reverse=True), second


def test_array_of_three_is_grouped(lab: Page, cleanup: list) -> None:
    panel = open_jobs_panel(lab)
    choose_cluster(panel, "This computer")
    name = unique("arr")
    job_id = submit_through_dialog(
        lab, panel, "#!/bin/bash\necho task $SLURM_ARRAY_TASK_ID\nsleep 2\n", name, array="0-2"
    )
    cleanup.append(("local", job_id))
    array_id = job_id.split("_")[0]
    panel.get_by_label("Filter jobs").fill(name)
    group = panel.locator("tr.jp-rpc-mod-array", has_text=array_id)
    expect(group).to_be_visible(timeout=30_000)
    expect(group).to_contain_text("3 tasks", timeout=30_000)
    panel.get_by_role("button", name=f"Show the tasks of array {array_id}").click()
    expect(panel.locator("tr.jp-rpc-mod-task")).to_have_count(3)


def test_slurm_hold_and_release(lab: Page, slurm: str, cleanup: list) -> None:
    panel = open_jobs_panel(lab)
    choose_cluster(panel, "Test bed (Slurm)")
    job_id = submit_through_dialog(
        lab, panel, "#!/bin/bash\nsleep 120\n", unique("held"), hold=True
    )
    cleanup.append((slurm, job_id))
    detail = panel.locator(".jp-rpc-JobDetail")
    expect(detail_state(panel)).to_have_text("held", timeout=30_000)
    detail.get_by_role("button", name="Release").click()
    expect(detail_state(panel)).to_have_text(re.compile("pending|running"), timeout=30_000)
    if detail_state(panel).inner_text() == "pending":
        # Slurm may start the job between the look and the click: then it runs on.
        detail.get_by_role("button", name="Hold").click()
        expect(detail_state(panel)).to_have_text(re.compile("held|running"), timeout=30_000)
    detail.get_by_role("button", name="Cancel", exact=True).click()
    lab.locator(".jp-Dialog").get_by_role("button", name="Cancel job").click()
    expect(detail_state(panel)).to_have_text("cancelled", timeout=60_000)
    # The queue row is not checked: squeue forgets ended jobs within seconds, and
    # `sacct --starttime` leaves out a job cancelled before it was ever eligible.


def test_slurm_check_start_time_then_submit_and_read_output(
    lab: Page, slurm: str, cleanup: list
) -> None:
    panel = open_jobs_panel(lab)
    choose_cluster(panel, "Test bed (Slurm)")
    panel.get_by_role("button", name="Submit job…").click()
    dialog = lab.locator(".jp-Dialog")
    script = dialog.locator("#jp-rpc-job_script")
    expect(script).to_be_visible(timeout=30_000)
    script.fill("#!/bin/bash\necho hello from slurm\nsleep 2\n")
    name = unique("slurm-hello")
    dialog.locator("#jp-rpc-job_name").fill(name)
    dialog.get_by_role("button", name="Check start time").click()
    # sbatch --test-only answers with the expected start (and where).
    expect(dialog.locator(".jp-rpc-SubmitJob-checkResult")).to_have_text(
        re.compile(r"\S"), timeout=30_000
    )
    expect(dialog.locator(".jp-rpc-SubmitJob-checkResult")).not_to_have_text(
        "Asking the scheduler…", timeout=30_000
    )
    dialog.get_by_role("button", name="Submit", exact=True).click()
    job_id = submitted_job_id(panel, name)
    cleanup.append((slurm, job_id))
    expect(job_row(panel, job_id)).to_contain_text(name)
    expect(detail_state(panel)).to_have_text("completed", timeout=90_000)
    expect(output(panel)).to_contain_text("hello from slurm", timeout=30_000)


def test_history_lists_ended_jobs_with_exit_code(lab: Page, cleanup: list) -> None:
    panel = open_jobs_panel(lab)
    choose_cluster(panel, "This computer")
    ok_name = unique("hist-ok")
    # Busy on its one CPU for 2 s (the other job only sleeps).
    busy = "#!/bin/bash\nend=$((SECONDS + 2))\nwhile [ $SECONDS -lt $end ]; do :; done\necho fine\n"
    ok_id = submit_through_dialog(lab, panel, busy, ok_name)
    cleanup.append(("local", ok_id))
    expect(detail_state(panel)).to_have_text("completed", timeout=30_000)
    bad_name = unique("hist-bad")
    bad_id = submit_through_dialog(lab, panel, "#!/bin/bash\nsleep 1\nexit 3\n", bad_name)
    cleanup.append(("local", bad_id))
    expect(detail_state(panel)).to_have_text("failed", timeout=30_000)
    show_history(panel)
    # The queue's table is gone; the history's has both jobs, the latest end first.
    expect(panel.get_by_role("table", name="Jobs", exact=True)).to_have_count(0)
    bad = history_cells(history_row(panel, bad_id))
    ok = history_cells(history_row(panel, ok_id))
    assert (bad["name"], bad["state"], bad["exit"]) == (bad_name, "failed", "3"), bad
    assert (ok["name"], ok["state"], ok["exit"]) == (ok_name, "completed", "0"), ok
    assert re.fullmatch(r"\d+s", bad["elapsed"]) and int(bad["elapsed"][:-1]) >= 1, bad
    assert bad["ended"] and ok["ended"], (bad, ok)
    # What each used: the busy job kept its CPU busy, the sleeping one did not; both
    # show their (few MB of) peak memory. The busy job's share depends on the machine's
    # load (17 % at load 20 on 2 cores), so it is compared with the sleeping job's.
    cpu = {
        which: re.fullmatch(r"(<?)(\d+) %", cells["cpu"])
        for which, cells in (("ok", ok), ("bad", bad))
    }
    assert cpu["ok"] and cpu["bad"], (ok, bad)
    busy, idle = int(cpu["ok"][2]), (0 if cpu["bad"][1] else int(cpu["bad"][2]))
    assert busy >= 5 and idle < 10 and busy >= 3 * max(idle, 1), (ok, bad)
    peak = re.compile(r"\d+(\.\d)? MB( <?\d+ %)?")
    assert peak.fullmatch(ok["memory"]) and peak.fullmatch(bad["memory"]), (ok, bad)
    ids = panel.locator(".jp-rpc-JobsHistory tbody tr td:first-child").all_inner_texts()
    assert ids.index(bad_id) < ids.index(ok_id), ids
    # The filter works here too; the period can change.
    panel.get_by_label("Filter jobs").fill(bad_name)
    expect(panel.locator(".jp-rpc-JobsHistory tbody tr")).to_have_count(1)
    panel.get_by_label("Period").select_option(label="Last day")
    expect(history_row(panel, bad_id)).to_be_visible()
    # A row shows the job's detail (with its output), like in the queue.
    panel.get_by_label("Filter jobs").fill("")
    history_row(panel, ok_id).click()
    expect(panel.locator(".jp-rpc-JobDetail-title")).to_have_text(f"Job {ok_id}")
    expect(output(panel)).to_contain_text("fine", timeout=15_000)
    facts = panel.locator(".jp-rpc-JobDetail-facts")
    expect(facts.locator("dt", has_text="CPU used")).to_have_count(1)
    expect(
        facts.locator("dd", has_text=re.compile(r"^\d+s · \d+ % of 1 CPU over \d+s$"))
    ).to_have_count(1)
    expect(facts.locator("dt", has_text="Memory peak")).to_have_count(1)
    # Back to the current jobs.
    panel.get_by_role("tab", name="Current").click()
    expect(panel.get_by_role("table", name="Jobs", exact=True)).to_be_visible()


def test_slurm_history_from_accounting(lab: Page, slurm: str, cleanup: list) -> None:
    panel = open_jobs_panel(lab)
    choose_cluster(panel, "Test bed (Slurm)")
    name = unique("slurm-hist")
    job_id = submit_through_dialog(lab, panel, "#!/bin/bash\necho bye\nsleep 1\nexit 3\n", name)
    cleanup.append((slurm, job_id))
    expect(detail_state(panel)).to_have_text("failed", timeout=90_000)
    show_history(panel)
    panel.get_by_label("Filter jobs").fill(name)
    cells = history_cells(history_row(panel, job_id, timeout=60_000))
    assert (cells["name"], cells["state"], cells["exit"]) == (name, "failed", "3"), cells
    assert re.fullmatch(r"\d+s|\d+:\d\d", cells["elapsed"]), cells
    assert cells["ended"], cells
    # sacct's TotalCPU over elapsed × CPUs: the job mostly slept.
    assert re.fullmatch(r"<1 %|\d %", cells["cpu"]), cells


def test_submit_a_script_from_the_file_browser(
    lab: Page, jobs_server: LabServer, cleanup: list
) -> None:
    marker = unique("from-file")
    (jobs_server.root / "hello.sh").write_text(f"#!/bin/bash\necho hello {marker}\n")
    browser = lab.locator("#filebrowser")
    expect(browser).to_be_visible()
    browser.get_by_role("button", name=re.compile("Refresh the file browser")).click()
    entry = browser.locator(".jp-DirListing-item", has_text="hello.sh")
    expect(entry).to_be_visible(timeout=15_000)
    entry.click(button="right")
    lab.locator(".lm-Menu-item", has_text="Submit as Job…").click()
    dialog = lab.locator(".jp-Dialog")
    expect(dialog.locator(".jp-Dialog-header")).to_have_text("Submit a job")
    dialog.get_by_label("Cluster", exact=True).select_option(label="This computer")
    # The form holds the file's text and is named after it.
    script = dialog.locator("#jp-rpc-job_script")
    expect(script).to_have_value(re.compile(marker), timeout=30_000)
    expect(dialog.locator("#jp-rpc-job_name")).to_have_value("hello.sh")
    dialog.get_by_role("button", name="Submit", exact=True).click()
    expect(dialog).to_have_count(0, timeout=30_000)
    panel = lab.locator("#jp-rpc-jobs")
    job_id = submitted_job_id(panel, "hello.sh")
    cleanup.append(("local", job_id))
    expect(job_row(panel, job_id)).to_contain_text("hello.sh")
    expect(detail_state(panel)).to_have_text("completed", timeout=30_000)
    expect(output(panel)).to_contain_text(f"hello {marker}", timeout=30_000)


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


#: the WCAG contrast ratio of an element's text against the first opaque background
#: at or above it
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


@pytest.mark.parametrize(
    ("theme", "light"), [("JupyterLab Dark", False), ("JupyterLab Light", True)]
)
def test_the_selected_job_row_is_readable_in_both_themes(
    lab: Page, cleanup: list, theme: str, light: bool
) -> None:
    """Issue 16 item 6: in the dark theme the selected row was white text on light blue."""
    _use_theme(lab, theme, light)
    try:
        panel = open_jobs_panel(lab)
        choose_cluster(panel, "This computer")
        name = unique("contrast")
        job_id = submit_through_dialog(lab, panel, "#!/bin/bash\necho hi\n", name)
        cleanup.append(("local", job_id))
        row = job_row(panel, job_id)
        expect(row).to_be_visible()
        if "jp-mod-selected" not in (row.get_attribute("class") or ""):
            row.click()  # a new job is selected already; a click would unselect it
        expect(row).to_have_class(re.compile(r"\bjp-mod-selected\b"))
        lab.mouse.move(0, 0)  # no hover colour
        for cell in row.locator("td").all():
            if not cell.inner_text().strip():
                continue
            ratio = cell.evaluate(CONTRAST)
            assert ratio >= 4.5, (theme, cell.inner_text(), ratio)
    finally:
        _use_theme(lab, "JupyterLab Light", True)


def test_resubmit_opens_the_dialog_filled_with_the_old_job(lab: Page, cleanup: list) -> None:
    """Issue 16 item 7: Resubmit ran the job again at once, with no chance to see or
    change it (on a cluster that spends allocation). It now opens the submit dialog with
    the job's script and resources; Cancel submits nothing, Submit the edited job."""
    panel = open_jobs_panel(lab)
    choose_cluster(panel, "This computer")
    name = unique("again")
    job_id = submit_through_dialog(lab, panel, "#!/bin/bash\necho first run\n", name)
    cleanup.append(("local", job_id))
    expect(detail_state(panel)).to_have_text("completed", timeout=30_000)
    rows_before = panel.locator("tr[data-job-id]").count()
    detail = panel.locator(".jp-rpc-JobDetail")

    def open_resubmit() -> Locator:
        detail.get_by_role("button", name="Resubmit…", exact=True).click()
        dialog = lab.locator(".jp-Dialog")
        expect(dialog.locator("#jp-rpc-job_script")).to_have_value(
            "#!/bin/bash\necho first run\n", timeout=30_000
        )
        expect(dialog.locator("#jp-rpc-job_name")).to_have_value(name)
        return dialog

    dialog = open_resubmit()
    dialog.get_by_role("button", name="Cancel", exact=True).click()
    expect(dialog).to_have_count(0)
    lab.wait_for_timeout(1500)  # a submit would show in the list by now
    expect(panel.locator("tr[data-job-id]")).to_have_count(rows_before)

    dialog = open_resubmit()
    edited = unique("edited")
    dialog.locator("#jp-rpc-job_script").fill("#!/bin/bash\necho second run\n")
    dialog.locator("#jp-rpc-job_name").fill(edited)
    dialog.get_by_role("button", name="Submit", exact=True).click()
    expect(dialog).to_have_count(0, timeout=30_000)
    new_id = submitted_job_id(panel, edited)
    cleanup.append(("local", new_id))
    assert new_id != job_id
    expect(detail_state(panel)).to_have_text("completed", timeout=30_000)
    expect(output(panel)).to_contain_text("second run")


def test_the_submit_dialog_says_what_is_wrong_next_to_the_field(lab: Page) -> None:
    """Issue 16 item 4: the batch script was the 12th field of a small dialog; CPUs = 0
    gave no message at the field; an empty script's error showed at the top, far from the
    script box; "Submit held" appeared twice; the environment had a bare "+"."""
    panel = open_jobs_panel(lab)
    choose_cluster(panel, "This computer")
    panel.get_by_role("button", name="Submit job…").click()
    dialog = lab.locator(".jp-Dialog")
    script = dialog.locator("#jp-rpc-job_script")
    expect(script).to_be_visible(timeout=30_000)
    # the script comes first, and is the large field
    inputs = dialog.locator(".jp-rpc-SubmitJob-body input, .jp-rpc-SubmitJob-body textarea")
    first = inputs.evaluate_all(
        "els => els.filter(e => e.offsetParent !== null && e.type !== 'hidden').map(e => e.id)"
    )
    assert first[0] == "jp-rpc-job_script", first
    box = dialog.locator(".jp-Dialog-content").bounding_box()
    assert box is not None and box["width"] >= 600, box
    # "Submit held" once
    shown = dialog.evaluate(
        """d => [...d.querySelectorAll('*')].filter(e => e.children.length === 0
            && e.textContent.trim() === 'Submit held' && e.getClientRects().length > 0).length"""
    )
    assert shown == 1, shown
    # the environment is text, NAME=value per line, not a bare "+" per variable
    expect(dialog.locator("textarea#jp-rpc-job_env")).to_be_visible()
    # an empty script: the message is at the script box, the dialog stays
    script.fill("")
    dialog.get_by_role("button", name="Submit", exact=True).click()
    dialog = lab.locator(".jp-Dialog")
    expect(dialog).to_be_visible()

    def errors_of(field: str) -> Locator:
        group = dialog.locator(f"#jp-rpc-job_{field}").locator(
            "xpath=ancestor::div[contains(concat(' ', normalize-space(@class), ' '), "
            "' form-group ')][1]"
        )
        return group.locator(".validationErrors")

    expect(errors_of("script")).to_contain_text("Write a script")
    expect(dialog.locator(".jp-rpc-SubmitJob-problems")).to_contain_text(
        "Please correct the highlighted fields"
    )
    # CPUs = 0: Submit is disabled (an input is invalid) and the field says why
    dialog.locator("#jp-rpc-job_cpus").fill("0")
    expect(errors_of("cpus")).to_contain_text("Must be at least 1")
    # a bad environment line is named at the field
    dialog.locator("#jp-rpc-job_cpus").fill("1")
    script.fill("#!/bin/bash\ntrue\n")
    dialog.locator("#jp-rpc-job_env").fill("GOOD=1\nnot a variable")
    dialog.get_by_role("button", name="Submit", exact=True).click()
    dialog = lab.locator(".jp-Dialog")
    expect(errors_of("env")).to_contain_text("line 2")
    dialog.get_by_role("button", name="Cancel", exact=True).click()
