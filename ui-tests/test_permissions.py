"""The panels show what the user may not do (issue 13): a Lab whose authorizer grants
only some actions on ``jupyter_rpc`` (what JupyterHub's scopes can express).

Without ``execute`` the Run button, "Submit job…" and a job's Resubmit are disabled and
say which permission is missing, instead of a 403 after the form was filled in; without
``write`` the files are read-only (no New Folder or Upload) and clusters cannot be added.
The server refuses these anyway (tests/server/test_permissions.py).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LabServer, open_lab, start_lab
from files_helpers import choose_cluster as choose_files_cluster
from files_helpers import open_files_panel
from helpers import choose, open_panel
from jobs_helpers import choose_cluster, job_row, open_jobs_panel
from playwright.sync_api import Page, expect

# Importable by the Lab (``python -m jupyterlab`` runs in its root folder, first on
# sys.path): grants on jupyter_rpc the actions listed in granted.json, all else always.
AUTHORIZER = """
import json
from pathlib import Path

from jupyter_server.auth import Authorizer

GRANTED = Path(__file__).with_name("granted.json")


class FileAuthorizer(Authorizer):
    def is_authorized(self, handler, user, action, resource):
        if resource != "jupyter_rpc":
            return True
        return action in json.loads(GRANTED.read_text())
"""


@pytest.fixture(scope="module")
def limited_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    base = Path(tmp_path_factory.mktemp("permissions-lab"))
    root = base / "root"
    (root / "home").mkdir(parents=True)
    (root / "granted_authorizer.py").write_text(AUTHORIZER)
    (root / "granted.json").write_text(json.dumps(["read", "write", "execute"]))
    config = {
        "ServerApp": {"authorizer_class": "granted_authorizer.FileAuthorizer"},
        "RPCApp": {
            "clusters": {
                "local": {
                    "display_name": "This computer",
                    "scheduler": "local",
                    "roots": {"home": str(root / "home")},
                    "workdir": str(root / "home"),
                }
            }
        },
    }
    with start_lab(base, config) as server:
        yield server


def grant(server: LabServer, *actions: str) -> None:
    (server.root / "granted.json").write_text(json.dumps(list(actions)))


@pytest.fixture
def ended_job(limited_lab: LabServer) -> str:
    """A local job that ended, submitted while execute was granted."""
    grant(limited_lab, "read", "write", "execute")
    job = limited_lab.api("jupyter-rpc/clusters/local/jobs", "POST", {"script": "true\n"})
    assert isinstance(job, dict)
    deadline = time.monotonic() + 30
    while limited_lab.api(f"jupyter-rpc/clusters/local/jobs/{job['id']}")["state"] not in (  # type: ignore[index]
        "completed",
        "failed",
    ):
        assert time.monotonic() < deadline, "the job did not end"
        time.sleep(0.2)
    return str(job["id"])


@pytest.fixture
def without_execute(
    page: Page, limited_lab: LabServer, ended_job: str, request: pytest.FixtureRequest
) -> Iterator[Page]:
    grant(limited_lab, "read", "write")
    yield from open_lab(page, limited_lab, request)


@pytest.fixture
def read_only(page: Page, limited_lab: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    grant(limited_lab, "read")
    yield from open_lab(page, limited_lab, request)


def test_without_execute_nothing_offers_to_run_code(without_execute: Page, ended_job: str) -> None:
    lab = without_execute
    call = choose(open_panel(lab), "add")
    run = call.get_by_role("button", name="Run", exact=True)
    expect(run).to_be_disabled()
    expect(run).to_have_attribute("title", re.compile("'execute' permission on jupyter_rpc"))
    expect(call.locator(".jp-rpc-PermissionNotice")).to_contain_text("may not run code")

    jobs = open_jobs_panel(lab)
    choose_cluster(jobs, "This computer")
    submit = jobs.get_by_role("button", name="Submit job…")
    expect(submit).to_be_disabled()
    expect(jobs.locator(".jp-rpc-PermissionNotice")).to_contain_text("'execute' permission")
    show_all = jobs.get_by_label("All users")
    if not show_all.is_checked():
        show_all.check()
    job_row(jobs, ended_job).click()
    detail = jobs.locator(".jp-rpc-JobDetail")
    resubmit = detail.get_by_role("button", name="Resubmit…", exact=True)
    expect(resubmit).to_be_disabled()
    expect(resubmit).to_have_attribute("title", re.compile("'execute' permission"))
    # 'write' is granted: the files panel offers changes
    files = open_files_panel(lab)
    choose_files_cluster(files, "This computer")
    expect(files.locator(".jp-rpc-PermissionNotice")).to_have_count(0)
    expect(files.locator('[data-jp-item-name="new-folder"]')).to_have_count(1)


def test_read_only_files_and_clusters(read_only: Page) -> None:
    lab = read_only
    files = open_files_panel(lab)
    choose_files_cluster(files, "This computer")
    notice = files.locator(".jp-rpc-PermissionNotice")
    expect(notice).to_have_text("Read-only")
    expect(notice).to_have_attribute("title", re.compile("'write' permission on jupyter_rpc"))
    expect(files.locator('[data-jp-item-name="new-folder"]')).to_have_count(0)
    expect(files.locator('[data-jp-item-name="upload"]')).to_have_count(0)
    jobs = open_jobs_panel(lab)
    # "Add a cluster" (its tooltip, which names it, says why instead)
    add = jobs.locator(".jp-rpc-Jobs-clusterBar .jp-ToolbarButtonComponent")
    expect(add).to_have_attribute("aria-disabled", "true")
    expect(add).to_have_attribute("title", re.compile("'write' permission"))
