"""Kernels on a cluster in the browser (issue 20): a real JupyterLab in headless Chromium
and the HPC test bed's SSH and Slurm. A kernel whose job is held shows a notification
"Python 3 on Test bed, held: waiting in queue debug, job N (JobHeldUser)"; its Cancel
button cancels the job, the kernel's start fails with "cancelled" and the notification
goes. A notebook opened from the cluster's Remote files runs its cells in its folder
there. A kernel profile's Launcher card asks for its job's values first: the kernel's
job has the ones chosen, and Cancel starts nothing."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import pytest
import testbed
from conftest import LabServer, open_lab, start_lab
from playwright.sync_api import Locator, Page, expect


@pytest.fixture(scope="module")
def kernels_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    testbed.require()
    keys = testbed.KEYS
    config = {
        "RPCApp": {
            "clusters": {
                "tb": {
                    "display_name": "Test bed",
                    "host": "127.0.0.1",
                    "port": int(os.environ.get("TESTBED_SSH_PORT", "2222")),
                    "user": os.environ.get("TESTBED_USER", "hpcuser"),
                    "identity_file": str(keys / "id_ed25519"),
                    "known_hosts": str(keys / "known_hosts"),
                    "ssh_config": False,
                    "scheduler": "slurm",
                    "kernel_python": "~/kenv/bin/python",
                    "kernel_profiles": {
                        "held": {
                            "display_name": "held",
                            "resources": {"partition": "debug", "time_limit": 5, "hold": True},
                        },
                        "small": {
                            "display_name": "small",
                            "resources": {"partition": "debug", "time_limit": 10, "cpus": 1},
                        },
                    },
                }
            }
        }
    }
    with start_lab(Path(tmp_path_factory.mktemp("kernels-lab")), config) as server:
        yield server


@pytest.fixture
def page_of(page: Page, kernels_lab: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from open_lab(page, kernels_lab, request)


def test_a_queued_kernel_is_shown_and_cancel_ends_its_job(
    page_of: Page, kernels_lab: LabServer
) -> None:
    lab = page_of
    outcome: list[object] = []

    def start() -> None:
        try:
            outcome.append(kernels_lab.api("api/kernels", "POST", {"name": "rpc-tb-held"}))
        except urllib.error.HTTPError as exc:
            outcome.append((exc.code, exc.read().decode()))

    threading.Thread(target=start, daemon=True).start()
    toast = lab.locator(".Toastify__toast", has_text="Python 3 on Test bed, held: waiting in")
    expect(toast).to_be_visible(timeout=20_000)
    text = toast.inner_text()
    assert "waiting in queue debug, job " in text and "(JobHeldUser)" in text, text
    job_id = text.split("job ", 1)[1].split()[0]
    state = subprocess.run(
        ["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True, text=True
    )
    assert state.stdout.strip() == "PENDING"

    toast.get_by_role("button", name="Cancel").click()
    end = time.monotonic() + 20
    while not outcome and time.monotonic() < end:
        time.sleep(0.2)
    assert outcome, "the kernel's start did not end after Cancel"
    code, body = outcome[0]  # type: ignore[misc]
    assert code == 409 and "cancelled" in body, outcome
    expect(toast).to_be_hidden(timeout=10_000)
    end = time.monotonic() + 10
    while subprocess.run(
        ["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True, text=True
    ).stdout.strip() not in ("", "CANCELLED"):
        assert time.monotonic() < end, f"job {job_id} still in the queue"
        time.sleep(0.3)


def test_a_notebook_from_the_clusters_files_runs_in_its_folder(
    page_of: Page, kernels_lab: LabServer
) -> None:
    """A notebook opened from the cluster's Remote files, with the cluster's kernel in its
    metadata: JupyterLab starts that kernel, and ``os.getcwd()`` in a cell is the
    notebook's folder on the cluster (issue 20)."""
    import json
    import pwd
    import secrets
    import shutil

    from files_helpers import choose_cluster, open_files_panel, open_item

    user = pwd.getpwnam(os.environ.get("TESTBED_USER", "hpcuser"))
    top = Path(user.pw_dir) / f"nb-ui-{secrets.token_hex(4)}"
    folder = top / "sub"
    folder.mkdir(parents=True)
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "cwd",
                "metadata": {},
                "outputs": [],
                "source": ["import os; print(os.getcwd())"],
            }
        ],
        "metadata": {
            "kernelspec": {"name": "rpc-tb", "display_name": "Python 3 on Test bed (login node)"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (folder / "cwd.ipynb").write_text(json.dumps(notebook))
    for path in (top, folder, folder / "cwd.ipynb"):
        os.chown(path, user.pw_uid, user.pw_gid)
    try:
        lab = page_of
        panel = open_files_panel(lab)
        choose_cluster(panel, "Test bed")
        open_item(panel, "home")
        open_item(panel, top.name)
        open_item(panel, "sub")
        open_item(panel, "cwd.ipynb")
        nb = lab.locator(".jp-NotebookPanel")
        expect(nb).to_be_visible(timeout=30_000)
        # the kernel is up (Lab drops a cell run before its kernel is connected)
        expect(lab.locator(".jp-StatusBar-Widget", has_text="(login node) | Idle")).to_be_visible(
            timeout=60_000
        )
        cell = nb.locator(".jp-CodeCell").first
        cell.locator(".jp-InputArea-prompt").click()
        lab.keyboard.press("Shift+Enter")
        expect(cell.locator(".jp-OutputArea-output")).to_have_text(str(folder), timeout=60_000)
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_a_notebook_from_the_clusters_files_offers_its_kernels_first(
    page_of: Page, kernels_lab: LabServer
) -> None:
    """A notebook on the cluster's drive without a kernel: Lab's Select Kernel dialog lists
    that cluster's kernels first, in a group of their own, the login node's before the
    profile's (issue 20); Lab's own kernel comes after them."""
    import json
    import pwd
    import secrets
    import shutil

    from files_helpers import choose_cluster, open_files_panel, open_item

    user = pwd.getpwnam(os.environ.get("TESTBED_USER", "hpcuser"))
    top = Path(user.pw_dir) / f"nb-pick-{secrets.token_hex(4)}"
    top.mkdir()
    notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (top / "pick.ipynb").write_text(json.dumps(notebook))
    for path in (top, top / "pick.ipynb"):
        os.chown(path, user.pw_uid, user.pw_gid)
    try:
        lab = page_of
        panel = open_files_panel(lab)
        choose_cluster(panel, "Test bed")
        open_item(panel, "home")
        open_item(panel, top.name)
        open_item(panel, "pick.ipynb")
        dialog = lab.locator(".jp-Dialog", has_text="Select Kernel")
        expect(dialog).to_be_visible(timeout=30_000)
        groups = dialog.locator("select optgroup")
        first = groups.first
        assert first.get_attribute("label") == "Start Kernel on cluster tb", [
            groups.nth(i).get_attribute("label") for i in range(groups.count())
        ]
        assert first.locator("option").all_inner_texts() == [
            "Python 3 on Test bed (login node)",
            "Python 3 on Test bed, held",
            "Python 3 on Test bed, small",
        ]
        others = dialog.locator("select option").all_inner_texts()
        assert others.index("Python 3 (ipykernel)") > 1, others
        lab.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _kernel_jobs() -> list[str]:
    """The test bed's queued and running jobs of the profile "small" (their ids)."""
    out = subprocess.run(
        ["squeue", "-h", "-n", "rpc-kernel-small", "-o", "%i"],
        capture_output=True,
        text=True,
        timeout=20,
    ).stdout
    return out.split()


def _end_kernels(lab_server: LabServer) -> None:
    for kernel in lab_server.api("api/kernels"):  # type: ignore[union-attr]
        lab_server.api(f"api/kernels/{kernel['id']}", "DELETE")  # type: ignore[index]
    end = time.monotonic() + 30
    while _kernel_jobs() and time.monotonic() < end:
        time.sleep(0.3)


def _start_dialog(lab: Page, new_launcher: bool = False) -> Locator:
    if new_launcher:
        lab.get_by_role("menuitem", name="File").click()
        lab.get_by_role("menuitem", name="New Launcher").click()
    lab.locator(
        '.jp-LauncherCard[data-category="Notebook"]', has_text="Python 3 on Test bed, small"
    ).click()
    dialog = lab.locator(".jp-Dialog", has_text="Start Python 3 on Test bed, small")
    expect(dialog).to_be_visible(timeout=30_000)
    return dialog


def test_a_profile_kernel_asks_for_its_jobs_values_first(
    page_of: Page, kernels_lab: LabServer
) -> None:
    lab = page_of
    try:
        dialog = _start_dialog(lab)
        cpus = dialog.get_by_label("CPUs per task")
        time_limit = dialog.get_by_label("Time limit (minutes)")
        expect(dialog.get_by_label("Partition").locator("option:checked")).to_have_text("debug")
        expect(time_limit).to_have_value("10")  # the profile's values
        expect(cpus).to_have_value("1")
        # beyond the debug partition's hour: refused at its field, asked again
        time_limit.fill("90")
        dialog.get_by_role("button", name="Start").click()
        dialog = lab.locator(".jp-Dialog", has_text="Start Python 3 on Test bed, small")
        expect(dialog.get_by_text("Please correct the highlighted field.")).to_be_visible()
        expect(dialog.locator(".jp-rpc-KernelValues")).to_contain_text("60")
        assert _kernel_jobs() == [], "a job was submitted with a refused value"
        dialog.get_by_label("Time limit (minutes)").fill("7")
        dialog.get_by_label("CPUs per task").fill("2")
        dialog.get_by_role("button", name="Start").click()
        expect(dialog).to_be_hidden()
        expect(
            lab.locator(".jp-StatusBar-Widget", has_text="Test bed, small | Idle")
        ).to_be_visible(timeout=120_000)
        cell = lab.locator(".jp-NotebookPanel .jp-CodeCell").first
        cell.locator(".cm-content").click()
        lab.keyboard.type("import os; print(os.environ['SLURM_CPUS_ON_NODE'])")
        lab.keyboard.press("Shift+Enter")
        expect(cell.locator(".jp-OutputArea-output")).to_have_text("2", timeout=60_000)
        [job] = _kernel_jobs()
        limit = subprocess.run(
            ["squeue", "-h", "-j", job, "-o", "%l"], capture_output=True, text=True, timeout=20
        ).stdout.strip()
        assert limit == "7:00", limit

        # the next start opens with the values chosen; Cancel starts nothing
        _end_kernels(kernels_lab)
        dialog = _start_dialog(lab, new_launcher=True)
        expect(dialog.get_by_label("CPUs per task")).to_have_value("2")
        expect(dialog.get_by_label("Time limit (minutes)")).to_have_value("7")
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_be_hidden()
        expect(lab.locator(".jp-StatusBar-Widget", has_text="No Kernel")).to_be_visible()
        time.sleep(2)  # a start would have submitted by now
        assert _kernel_jobs() == []
        assert kernels_lab.api("api/kernels") == []
    finally:
        _end_kernels(kernels_lab)


def test_your_own_kernel_environment_on_a_sites_cluster(
    page_of: Page, kernels_lab: LabServer
) -> None:
    """Kernel Environment on a Cluster… (issue 20): the cluster's values show as
    placeholders; a Python of your own is kept and the cluster's login-node kernel runs
    it; Use the cluster's forgets it."""
    import pwd

    from helpers import open_by_palette

    lab = page_of
    user = pwd.getpwnam(os.environ.get("TESTBED_USER", "hpcuser"))
    mine = f"{user.pw_dir}/kenv/bin/python3"  # the site's is ~/kenv/bin/python
    command = "Kernel Environment on a Cluster"
    title = ".jp-Dialog:has-text('Kernel environment on Test bed')"
    dialog = open_by_palette(lab, command, title)
    python = dialog.get_by_label("Python")
    expect(python).to_have_attribute("placeholder", "~/kenv/bin/python")
    expect(python).to_have_value("")
    python.fill(mine)
    dialog.get_by_role("button", name="Save").click()
    toast = lab.locator(".Toastify__toast", has_text=f"start with your environment: {mine}")
    expect(toast).to_be_visible()
    kept = kernels_lab.api("jupyter-rpc/clusters/tb/kernel-env")
    assert kept["yours"] == {"kernel_python": mine}, kept  # type: ignore[index]
    try:
        lab.locator(
            '.jp-LauncherCard[data-category="Notebook"]', has_text="Test bed (login node)"
        ).click()
        expect(lab.locator(".jp-StatusBar-Widget", has_text="(login node) | Idle")).to_be_visible(
            timeout=60_000
        )
        cell = lab.locator(".jp-NotebookPanel .jp-CodeCell").first
        cell.locator(".cm-content").click()
        lab.keyboard.type("import sys; print(sys.executable)")
        lab.keyboard.press("Shift+Enter")
        expect(cell.locator(".jp-OutputArea-output")).to_have_text(mine, timeout=60_000)
    finally:
        _end_kernels(kernels_lab)

    dialog = open_by_palette(lab, command, title)
    expect(dialog.get_by_label("Python")).to_have_value(mine)
    dialog.get_by_role("button", name="Use the cluster’s").click()
    expect(dialog).to_be_hidden()
    kept = kernels_lab.api("jupyter-rpc/clusters/tb/kernel-env")
    assert kept["yours"] == {}, kept  # type: ignore[index]
