"""Browser tests of the "Remote files" panel: Lab's file browser over a cluster's drive.

A real JupyterLab serves two clusters: ``local`` (this computer; a temp folder as
the root ``home``) and, when the HPC test bed runs, ``testbed`` (hpcuser's home over
SSH). Every check is what a user sees, plus the file on disk / on the cluster.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import testbed
from conftest import LabServer, open_lab, start_lab
from files_helpers import (
    breadcrumbs,
    choose_cluster,
    context_menu,
    editor_text,
    item,
    listing,
    menu_labels,
    open_files_panel,
    open_item,
)
from playwright.sync_api import Page, expect

SSH = [
    "ssh",
    "-p", "2222",
    "-i", str(testbed.KEYS / "id_ed25519"),
    "-o", f"UserKnownHostsFile={testbed.KEYS / 'known_hosts'}",
    "-o", "BatchMode=yes",
    "-F", "/dev/null",
    "hpcuser@127.0.0.1",
]  # fmt: skip


def wait_for(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    """Poll ``check`` until it is true (a file on disk changes after a save)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def ssh(command: str, *, data: bytes | None = None) -> bytes:
    """Run a command on the test bed's login node as hpcuser."""
    done = subprocess.run([*SSH, command], input=data, capture_output=True, timeout=60, check=False)  # noqa: S603
    if done.returncode != 0:
        raise AssertionError(f"ssh {command!r} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The local cluster's root ``home`` with a folder of files per test."""
    root = tmp_path_factory.mktemp("remote-home")
    (root / "edit" / "sub").mkdir(parents=True)
    (root / "edit" / "notes.txt").write_text("first line\n")
    (root / "edit" / "sub" / "deep.txt").write_text("deep\n")
    (root / "transfer").mkdir()
    (root / "transfer" / "report.bin").write_bytes(bytes(range(256)) * 40)
    (root / "manage").mkdir()
    (root / "manage" / "old.txt").write_text("rename me\n")
    (root / "manage" / "trash.txt").write_text("delete me\n")
    (root / "conflict").mkdir()
    (root / "conflict" / "shared.txt").write_text("original\n")
    (root / "paths").mkdir()
    (root / "paths" / "run.sh").write_text("#!/bin/bash\necho hi\n")
    (root / "paths" / "data.txt").write_text("x\n")
    (root / "nb").mkdir()
    (root / "nb" / "analysis.ipynb").write_text(
        '{"cells": [{"cell_type": "markdown", "id": "a1", "metadata": {}, "source": ["# Remote analysis heading"]}],'
        ' "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n'
    )
    return root


@pytest.fixture(scope="module")
def files_server(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A lab with the local cluster and, when the test bed runs, the SSH one."""
    clusters: dict[str, dict] = {
        "local": {
            "display_name": "This computer",
            "scheduler": "local",
            "roots": {"home": str(home)},
            "workdir": str(home),
        }
    }
    # Nothing listens on port 1: connections are refused at once.
    clusters["unreachable"] = {
        "display_name": "Unreachable",
        "host": "127.0.0.1",
        "port": 1,
        "user": "nobody",
        "ssh_config": False,
        "scheduler": "none",
        "connect_timeout": 5,
    }
    if testbed.available():
        clusters["testbed"] = {
            "display_name": "Test bed",
            "host": "127.0.0.1",
            "port": 2222,
            "user": "hpcuser",
            "identity_file": str(testbed.KEYS / "id_ed25519"),
            "known_hosts": str(testbed.KEYS / "known_hosts"),
            "ssh_config": False,
            "scheduler": "slurm",
            "workdir": "/home/hpcuser",
        }
    config = {"RPCApp": {"clusters": clusters}, "LabApp": {"expose_app_in_browser": True}}
    with start_lab(tmp_path_factory.mktemp("files-lab"), config) as server:
        yield server


@pytest.fixture
def lab(page: Page, files_server: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from open_lab(page, files_server, request)


def open_local(page: Page, folder: str):
    """Open the panel on "This computer" and browse into home/<folder>."""
    panel = open_files_panel(page)
    choose_cluster(panel, "This computer")
    open_item(panel, "home")
    open_item(panel, folder)
    expect(breadcrumbs(panel)).to_contain_text(folder)
    return panel


def save_editor(page: Page) -> None:
    page.locator(".jp-FileEditor .cm-content").first.click()
    page.keyboard.press("Control+s")


def test_browse_open_edit_save(lab: Page, home: Path) -> None:
    panel = open_local(lab, "edit")
    expect(item(panel, "sub")).to_be_visible()
    open_item(panel, "notes.txt")
    expect(editor_text(lab)).to_contain_text("first line")
    tab = lab.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="notes.txt")
    expect(tab).to_be_visible()
    editor_text(lab).click()
    lab.keyboard.press("Control+End")
    lab.keyboard.type("added in the browser")
    expect(tab).to_have_class(re.compile("jp-mod-dirty"))
    save_editor(lab)
    wait_for(
        lambda: "added in the browser" in (home / "edit" / "notes.txt").read_text(),
        "the save on disk",
    )
    assert (home / "edit" / "notes.txt").read_text().startswith("first line\n")
    expect(tab).not_to_have_class(re.compile("jp-mod-dirty"))
    # Deeper folders open too, and the path bar follows.
    open_item(panel, "sub")
    expect(item(panel, "deep.txt")).to_be_visible()


def test_notebook_opens_from_the_cluster(lab: Page) -> None:
    panel = open_local(lab, "nb")
    open_item(panel, "analysis.ipynb")
    notebook = lab.locator(".jp-NotebookPanel")
    expect(notebook).to_be_visible(timeout=30_000)
    expect(notebook.locator("h1", has_text="Remote analysis heading")).to_be_visible()


def test_upload_small_and_chunked_then_download(lab: Page, home: Path, tmp_path: Path) -> None:
    panel = open_local(lab, "transfer")
    small = tmp_path / "small.txt"
    small.write_bytes(b"uploaded through the file browser\n")
    big = tmp_path / "big.dat"
    big.write_bytes(os.urandom(2 * 1024 * 1024 + 12345))  # > 1 MB: Lab uploads in chunks
    upload = panel.locator(".jp-id-upload")
    for source in (small, big):
        with lab.expect_file_chooser() as chooser:
            upload.click()
        chooser.value.set_files(str(source))
        expect(item(panel, source.name)).to_be_visible(timeout=60_000)
        target = home / "transfer" / source.name
        wait_for(
            lambda t=target, s=source: t.exists() and t.read_bytes() == s.read_bytes(),
            f"{source.name} on disk",
            60,
        )
    assert not [p.name for p in (home / "transfer").iterdir() if p.name.startswith(".")], (
        "no temporary upload files left"
    )

    with lab.expect_download() as download:
        context_menu(panel, "report.bin", "Download")
    path = download.value.path()
    assert download.value.suggested_filename == "report.bin"
    assert Path(path).read_bytes() == (home / "transfer" / "report.bin").read_bytes()


def test_new_folder_rename_delete(lab: Page, home: Path) -> None:
    panel = open_local(lab, "manage")
    panel.get_by_title("New Folder").click()
    editor = panel.locator(".jp-DirListing-editor")
    expect(editor).to_be_visible()
    editor.fill("results")
    editor.press("Enter")
    expect(item(panel, "results")).to_be_visible()
    wait_for(lambda: (home / "manage" / "results").is_dir(), "the new folder on disk")

    context_menu(panel, "old.txt", "Rename")
    editor = panel.locator(".jp-DirListing-editor")
    expect(editor).to_be_visible()
    editor.fill("new.txt")
    editor.press("Enter")
    expect(item(panel, "new.txt")).to_be_visible()
    wait_for(lambda: (home / "manage" / "new.txt").exists(), "the renamed file")
    assert not (home / "manage" / "old.txt").exists()
    assert (home / "manage" / "new.txt").read_text() == "rename me\n"

    # A cluster has no trash: the entry and the confirmation say the deletion is
    # permanent (Lab's own entry is named after the server's trash setting).
    context_menu(panel, "trash.txt", "Delete Permanently")
    dialog = lab.locator(".jp-Dialog")
    expect(dialog).to_contain_text("permanently delete: trash.txt")
    dialog.get_by_role("button", name="Delete").click()
    expect(item(panel, "trash.txt")).to_have_count(0)
    assert not (home / "manage" / "trash.txt").exists()


def test_save_conflict_asks_before_overwriting(
    lab: Page, home: Path, files_server: LabServer
) -> None:
    target = home / "conflict" / "shared.txt"
    panel = open_local(lab, "conflict")
    open_item(panel, "shared.txt")
    expect(editor_text(lab)).to_contain_text("original")
    # Someone else changes the file on the cluster after it was opened.
    target.write_text("changed on the cluster\n")
    later = time.time() + 5
    os.utime(target, (later, later))
    editor_text(lab).click()
    lab.keyboard.press("Control+End")
    lab.keyboard.type("mine")
    save_editor(lab)
    dialog = lab.locator(".jp-Dialog")
    expect(dialog).to_contain_text("File Changed")
    dialog.get_by_role("button", name="Cancel").click()
    assert target.read_text() == "changed on the cluster\n", "nothing was overwritten"
    # Saving again and choosing "Overwrite" replaces it on purpose.
    save_editor(lab)
    expect(dialog).to_contain_text("File Changed")
    dialog.get_by_role("button", name="Overwrite").click()
    wait_for(lambda: "mine" in target.read_text(), "the overwrite")

    # The server refuses a save that carries an older read time (what the drive
    # sends), with the error a user would read.
    stale = "2000-01-01T00:00:00+00:00"
    with pytest.raises(Exception) as refused:
        files_server.api(
            "jupyter-rpc/clusters/local/files/home/conflict/shared.txt",
            "PUT",
            {"type": "file", "format": "text", "content": "late", "last_modified": stale},
        )
    assert getattr(refused.value, "code", None) == 409
    assert "mine" in target.read_text()


def test_copy_remote_path_and_submit_menu(lab: Page, home: Path) -> None:
    panel = open_local(lab, "paths")
    context_menu(panel, "data.txt", "Copy Remote Path")
    expected = str((home / "paths" / "data.txt").resolve())
    expect(lab.locator(".Toastify__toast", has_text=expected).first).to_be_visible()
    wait_for(lambda: lab.evaluate("navigator.clipboard.readText()") == expected, "the clipboard")

    assert "Submit as Job" in menu_labels(panel, "run.sh")
    assert "Submit as Job" not in menu_labels(panel, "data.txt")
    # The jobs panel's command receives the cluster and the real path.
    lab.evaluate(
        """() => {
          const app = window.jupyterapp;
          window.__submitted = [];
          if (!app.commands.hasCommand('jupyter-rpc:submit-job')) {
            app.commands.addCommand('jupyter-rpc:submit-job', {
              label: 'test', execute: args => { window.__submitted.push(args); }
            });
          } else {
            app.commands.commandExecuted.connect((_, e) => {
              if (e.id === 'jupyter-rpc:submit-job') { window.__submitted.push(e.args); }
            });
          }
        }"""
    )
    context_menu(panel, "run.sh", "Submit as Job")
    wait_for(lambda: lab.evaluate("window.__submitted.length") > 0, "the submit command")
    assert lab.evaluate("window.__submitted[0]") == {
        "cluster": "local",
        "path": str((home / "paths" / "run.sh").resolve()),
    }


def test_open_remote_folder_command(lab: Page, home: Path) -> None:
    panel = open_files_panel(lab)
    choose_cluster(panel, "This computer")
    absolute = str((home / "edit" / "sub").resolve())
    lab.evaluate(
        "args => window.jupyterapp.commands.execute('jupyter-rpc:open-remote-folder', args)",
        {"cluster": "local", "path": absolute},
    )
    expect(item(panel, "deep.txt")).to_be_visible()
    expect(breadcrumbs(panel)).to_contain_text("sub")
    # A drive path works too, and a path outside the roots is refused with a message.
    lab.evaluate(
        "args => window.jupyterapp.commands.execute('jupyter-rpc:open-remote-folder', args)",
        {"cluster": "local", "path": "home/manage"},
    )
    expect(breadcrumbs(panel)).to_contain_text("manage")
    lab.evaluate(
        "args => window.jupyterapp.commands.execute('jupyter-rpc:open-remote-folder', args)",
        {"cluster": "local", "path": "/etc"},
    )
    expect(
        lab.locator(".Toastify__toast", has_text="outside the folders this cluster shows").first
    ).to_be_visible()


def test_unreachable_cluster_shows_the_error_as_text(lab: Page) -> None:
    panel = open_files_panel(lab)
    choose_cluster(panel, "Unreachable")
    alert = panel.get_by_role("alert")
    expect(alert).to_contain_text("127.0.0.1", timeout=30_000)
    expect(alert.get_by_role("button", name="Retry")).to_be_visible()
    # Another cluster still works, and its listing replaces the error.
    choose_cluster(panel, "This computer")
    expect(item(panel, "home")).to_be_visible()
    expect(panel.get_by_role("alert")).to_have_count(0)


@pytest.fixture
def testbed_folder() -> Iterator[str]:
    """A unique folder in hpcuser's home on the test bed, removed afterwards."""
    testbed.require()
    name = f"rpc-files-test-{uuid.uuid4().hex[:8]}"
    ssh(f"mkdir {name} && printf 'on the cluster\\n' > {name}/remote.txt && mkdir {name}/inner")
    try:
        yield name
    finally:
        ssh(f"rm -rf -- {name}")


def test_testbed_browse_edit_upload_delete(lab: Page, testbed_folder: str, tmp_path: Path) -> None:
    panel = open_files_panel(lab)
    choose_cluster(panel, "Test bed")
    open_item(panel, "home")
    open_item(panel, testbed_folder)
    expect(item(panel, "inner")).to_be_visible()
    open_item(panel, "remote.txt")
    expect(editor_text(lab)).to_contain_text("on the cluster")
    editor_text(lab).click()
    lab.keyboard.press("Control+End")
    lab.keyboard.type("edited over ssh")
    save_editor(lab)
    wait_for(
        lambda: b"edited over ssh" in ssh(f"cat {testbed_folder}/remote.txt"),
        "the save on the cluster",
        30,
    )

    source = tmp_path / "payload.bin"
    source.write_bytes(os.urandom(1536 * 1024))  # chunked
    with lab.expect_file_chooser() as chooser:
        panel.locator(".jp-id-upload").click()
    chooser.value.set_files(str(source))
    expect(item(panel, "payload.bin")).to_be_visible(timeout=60_000)
    remote_sum = ssh(f"sha256sum {testbed_folder}/payload.bin").split()[0].decode()

    assert remote_sum == hashlib.sha256(source.read_bytes()).hexdigest()

    context_menu(panel, "remote.txt", "Copy Remote Path")
    expected = f"/home/hpcuser/{testbed_folder}/remote.txt"
    wait_for(
        lambda: lab.evaluate("navigator.clipboard.readText()") == expected,
        "the remote path in the clipboard",
    )

    context_menu(panel, "payload.bin", "Delete Permanently")
    dialog = lab.locator(".jp-Dialog")
    expect(dialog).to_contain_text("permanently delete: payload.bin")
    dialog.get_by_role("button", name="Delete").click()
    expect(item(panel, "payload.bin")).to_have_count(0)
    assert ssh(f"ls {testbed_folder}").decode().split() == ["inner", "remote.txt"]


def test_the_menu_offers_only_what_works_on_a_cluster(lab: Page) -> None:
    """Issue 16 item 5: Lab's own menu entries broke on remote files ("Copy Shareable
    Link": 'Cannot read properties of undefined'; "Open in New Browser Tab": a blank tab;
    "Copy Path": the drive path rpc-local:...). The panel's menu has what works there."""
    panel = open_local(lab, "paths")
    labels = menu_labels(panel, "data.txt")
    for wanted in (
        "Open",
        "Rename",
        "Delete Permanently…",
        "Cut",
        "Copy",
        "Duplicate",
        "Download",
    ):
        assert wanted in labels, (wanted, labels)
    assert "Copy Remote Path" in labels
    for broken in (
        "Open in New Browser Tab",
        "Copy Shareable Link",
        "Copy Path",
        "Copy Download Link",
        "Move to Trash",
    ):
        assert broken not in labels, (broken, labels)
    assert labels[0] == "Open" and "Submit as Job" in menu_labels(panel, "run.sh")
    # the folder's background: new file and folder, paste
    listing(panel).click(button="right", position={"x": 40, "y": 200})
    menu = lab.locator(".jp-rpc-FilesContextMenu")
    expect(menu).to_be_visible()
    expect(menu.locator(".lm-Menu-itemLabel", has_text="New Folder")).to_be_visible()
    lab.keyboard.press("Escape")
