"""Grid Engine in the Jobs panel (issue 15): a real JupyterLab in headless Chromium with a
cluster on the HPC test bed whose scheduler is the bed's Son of Grid Engine
(tests/hpc/testbed/sge_up.sh). A job submitted through the dialog is listed, runs, shows
its output and is cancelled after the confirmation, as Grid Engine sees it (``qstat``
over the bed's SSH). The panel follows what Grid Engine can do (its capabilities):
"Check start time" says why it cannot tell when a job would start, the form has no QOS
or nodes, and Hold/History are there because Grid Engine has them. Skipped without the
bed's Grid Engine; failed in CI."""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import testbed
from conftest import LabServer, open_lab, start_lab
from jobs_helpers import (
    choose_cluster,
    detail_state,
    job_row,
    open_jobs_panel,
    output,
    submit_through_dialog,
)
from playwright.sync_api import Page, expect

LABEL = "Grid Engine (Test bed)"


def bed(*command: str) -> subprocess.CompletedProcess[str]:
    """A command on the bed's login node over its SSH, as the test bed user."""
    return subprocess.run(
        ["ssh", "-F", str(testbed.KEYS / "ssh_config"), "testbed", *command],
        capture_output=True,
        text=True,
        timeout=60,
    )


def require_grid_engine() -> None:
    testbed.require()
    done = bed("qstat", "-xml")
    if done.returncode != 0:
        reason = f"qstat on the bed: {' '.join((done.stderr or done.stdout).split())[:200]}"
        if testbed.IN_CI:
            pytest.fail(f"Grid Engine required under CI=true: {reason}")
        pytest.skip(
            f"Grid Engine absent ({reason}; start it with: sudo tests/hpc/testbed/sge_up.sh)"
        )


@pytest.fixture(scope="module")
def sge_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    require_grid_engine()
    config = {
        "RPCApp": {
            "clusters": {
                "grid": {
                    "display_name": LABEL,
                    "host": "127.0.0.1",
                    "port": 2222,
                    "user": "hpcuser",
                    "identity_file": str(testbed.KEYS / "id_ed25519"),
                    "known_hosts": str(testbed.KEYS / "known_hosts"),
                    "ssh_config": False,
                    "scheduler": "sge",
                    "workdir": "/home/hpcuser",
                }
            }
        }
    }
    with start_lab(Path(tmp_path_factory.mktemp("sge-lab")), config) as server:
        yield server


@pytest.fixture
def lab(page: Page, sge_lab: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from open_lab(page, sge_lab, request)


@pytest.fixture
def cleanup() -> Iterator[list[str]]:
    """Ids of the jobs a test submitted: qdel'd on the bed afterwards (by id)."""
    ids: list[str] = []
    yield ids
    for job_id in ids:
        bed("qdel", job_id)


def test_grid_engine_submit_list_output_and_cancel(lab: Page, cleanup: list[str]) -> None:
    panel = open_jobs_panel(lab)
    choose_cluster(panel, LABEL)
    name = f"sge-ui-{uuid.uuid4().hex[:6]}"
    script = "#!/bin/bash\necho hello from grid engine\nsleep 300\n"
    job_id = submit_through_dialog(lab, panel, script, name)
    cleanup.append(job_id)
    assert re.fullmatch(r"\d+", job_id), job_id
    row = job_row(panel, job_id)
    expect(row).to_be_visible(timeout=30_000)
    expect(row).to_contain_text(name)
    # Grid Engine's own listing has it, by its name
    listed = bed("qstat", "-j", job_id)
    assert listed.returncode == 0 and name in listed.stdout, listed.stdout + listed.stderr
    expect(detail_state(panel)).to_have_text("running", timeout=60_000)
    expect(output(panel)).to_contain_text("hello from grid engine", timeout=60_000)

    detail = panel.locator(".jp-rpc-JobDetail")
    detail.get_by_role("button", name="Cancel", exact=True).click()
    dialog = lab.locator(".jp-Dialog")
    expect(dialog.get_by_text(f"Cancel job {job_id}")).to_be_visible()
    dialog.get_by_role("button", name="Cancel job").click()
    expect(detail_state(panel)).to_have_text("cancelled", timeout=60_000)
    gone = bed("qstat", "-j", job_id)
    assert gone.returncode != 0, gone.stdout  # no longer in Grid Engine's queue


def test_the_panel_follows_grid_engines_capabilities(lab: Page, cleanup: list[str]) -> None:
    panel = open_jobs_panel(lab)
    choose_cluster(panel, LABEL)
    history = panel.get_by_role("tab", name="History")
    expect(history).to_be_enabled()  # Grid Engine keeps accounting (qacct)
    panel.get_by_role("button", name="Submit job…").click()
    dialog = lab.locator(".jp-Dialog")
    expect(dialog.locator("#jp-rpc-job_script")).to_be_visible(timeout=30_000)
    check = dialog.get_by_role("button", name="Check start time")
    expect(check).to_have_attribute(
        "title",
        f"{LABEL}'s scheduler cannot tell when a job would start without submitting it.",
    )
    for field in ("qos", "nodes"):
        expect(dialog.locator(f"#jp-rpc-job_{field}")).to_have_count(0)
    expect(dialog.locator("#jp-rpc-job_hold")).to_have_count(1)
    lab.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
