"""The demo notebook as a user opens it (issue 16, item 10): it showed as unsaved the
moment it opened (Lab filled in the kernel's display name, "Python 3 (ipykernel)", and
its language info, which the shipped file lacked), and the server warned that it is not
trusted (now the demo script trusts it for the user, as ``jupyter trust`` does)."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LabServer, open_lab, start_lab
from playwright.sync_api import Page, expect

DEMO = Path(__file__).parent.parent / "demo"
NOTEBOOK = "remote-functions.ipynb"


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    base = tmp_path_factory.mktemp("demo-lab")
    (base / "root").mkdir()
    shutil.copy(DEMO / NOTEBOOK, base / "root" / NOTEBOOK)
    # What scripts/demo.sh does before it starts the server, with this server's data dir.
    env = {**os.environ, "JUPYTER_DATA_DIR": str(base / "data")}
    demo_sh = (Path(__file__).parent.parent / "scripts" / "demo.sh").read_text()
    assert f'jupyter trust "$ROOT/demo/{NOTEBOOK}"' in demo_sh
    subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "nbformat.sign", str(base / "root" / NOTEBOOK)],
        env=env,
        check=True,
        capture_output=True,
    )
    with start_lab(base) as server:
        yield server


@pytest.fixture
def lab(page: Page, demo_server: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from open_lab(page, demo_server, request)


def test_the_demo_notebook_opens_saved_and_trusted(lab: Page, demo_server: LabServer) -> None:
    # Lab writes the kernel's language_info (its Python's version too) into the notebook:
    # the shipped one is this machine's, or the notebook opens unsaved.
    shipped = json.loads((DEMO / NOTEBOOK).read_text())["metadata"]["language_info"]["version"]
    if shipped != platform.python_version():
        pytest.fail(
            f"demo/{NOTEBOOK} says Python {shipped}, the kernel is {platform.python_version()}: "
            "Lab fills in the kernel's version and shows the notebook unsaved"
        )
    item = lab.locator("#filebrowser .jp-DirListing-item", has_text=NOTEBOOK)
    expect(item).to_be_visible(timeout=30_000)
    item.dblclick()
    expect(lab.locator(".jp-NotebookPanel")).to_be_visible()
    expect(lab.locator(".jp-StatusBar-Widget", has_text="Idle").first).to_be_visible(timeout=60_000)
    lab.wait_for_timeout(2000)  # what Lab fills in once the kernel is there
    tab = lab.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=NOTEBOOK)
    expect(tab).to_be_visible()
    assert "jp-mod-dirty" not in (tab.get_attribute("class") or "")
    log = (demo_server.root.parent / "lab.log").read_text()
    assert f"Notebook {NOTEBOOK} is not trusted" not in log
