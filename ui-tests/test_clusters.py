"""Browser tests of cluster connections: a real JupyterLab, real OpenSSH servers of the
HPC test bed (key login on 127.0.0.1:2222, password-only login on 127.0.0.1:2224) and
real Slurm behind them.

What a user meets the first time they open a cluster in the Jobs panel: a host key to
trust, a password to type, a changed host key that is refused; and adding/removing a
cluster of their own.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import testbed
from conftest import LabServer, open_lab, start_lab
from jobs_helpers import choose_cluster, open_jobs_panel
from playwright.sync_api import Locator, Page, expect


def _ssh_cluster(display_name: str, **extra: object) -> dict:
    """A Slurm cluster on the test bed's login node (key login, strict known_hosts)."""
    return {
        "display_name": display_name,
        "host": "127.0.0.1",
        "port": 2222,
        "user": "hpcuser",
        "identity_file": str(testbed.KEYS / "id_ed25519"),
        "known_hosts": str(testbed.KEYS / "known_hosts"),
        "ssh_config": False,
        "scheduler": "slurm",
        "workdir": "/home/hpcuser",
        "roots": {"home": "~"},
        **extra,
    }


def _local_cluster(home: Path) -> dict:
    return {
        "display_name": "This computer",
        "scheduler": "local",
        "roots": {"home": str(home)},
        "workdir": str(home),
    }


def _host_fingerprints() -> set[str]:
    """The login node's host key fingerprints, as ``ssh-keygen -lf`` prints them."""
    found = set()
    for pub in sorted((testbed.ROOT / "etc").glob("ssh_host_*_key.pub")):
        out = subprocess.run(  # noqa: S603 - fixed argv
            ["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True, check=True, timeout=10
        ).stdout
        found.add(out.split()[1])
    return found


def _jobs_shown(panel: Locator) -> Locator:
    """The job list of the panel: a table, or the "No jobs." line."""
    return panel.locator(".jp-rpc-JobsTable").or_(panel.get_by_text("No jobs.", exact=True))


def _state(panel: Locator) -> Locator:
    """The connection state next to the cluster picker."""
    return panel.locator(".jp-rpc-Jobs-clusterBar .jp-rpc-ClusterState")


@pytest.fixture(scope="module")
def trust_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A lab whose test bed cluster has an EMPTY known_hosts file: its host is unknown."""
    testbed.require()
    base = tmp_path_factory.mktemp("trust-lab")
    empty = base / "empty_known_hosts"
    empty.write_text("")
    clusters = {
        "local": _local_cluster(tmp_path_factory.mktemp("trust-home")),
        "newhost": _ssh_cluster("New host", known_hosts=str(empty)),
    }
    with start_lab(base, {"RPCApp": {"clusters": clusters}}) as server:
        yield server


@pytest.fixture(scope="module")
def ssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A lab with a password-only cluster and one whose known_hosts holds another key."""
    testbed.require()
    base = tmp_path_factory.mktemp("ssh-lab")
    # Another key for the login node's address: the client's own public key.
    other = (testbed.KEYS / "id_ed25519.pub").read_text().split()[:2]
    changed = base / "changed_known_hosts"
    changed.write_text(f"[127.0.0.1]:2222 {other[0]} {other[1]}\n")
    clusters = {
        "local": _local_cluster(tmp_path_factory.mktemp("ssh-home")),
        "password": {
            "display_name": "Password login",
            "host": "127.0.0.1",
            "port": 2224,
            "user": "hpcuser",
            "agent": False,
            "known_hosts": str(testbed.KEYS / "known_hosts"),
            "ssh_config": False,
            "scheduler": "slurm",
            "workdir": "/home/hpcuser",
            "roots": {"home": "~"},
        },
        "changed": _ssh_cluster("Changed key", known_hosts=str(changed)),
    }
    with start_lab(base, {"RPCApp": {"clusters": clusters}}) as server:
        yield server


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A lab with only the local cluster (user clusters are added in the test)."""
    testbed.require()
    clusters = {"local": _local_cluster(tmp_path_factory.mktemp("plain-home"))}
    with start_lab(
        tmp_path_factory.mktemp("plain-lab"), {"RPCApp": {"clusters": clusters}}
    ) as server:
        yield server


@pytest.fixture
def trust_lab(
    page: Page, trust_server: LabServer, request: pytest.FixtureRequest
) -> Iterator[Page]:
    yield from open_lab(page, trust_server, request)


@pytest.fixture
def ssh_lab(page: Page, ssh_server: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from open_lab(page, ssh_server, request)


@pytest.fixture
def plain_lab(
    page: Page, plain_server: LabServer, request: pytest.FixtureRequest
) -> Iterator[Page]:
    yield from open_lab(page, plain_server, request)


def test_unknown_host_key_is_shown_and_trusted(trust_lab: Page, trust_server: LabServer) -> None:
    lab = trust_lab
    panel = open_jobs_panel(lab)
    choose_cluster(panel, "New host")
    dialog = lab.locator(".jp-Dialog")
    expect(dialog.locator(".jp-Dialog-header")).to_have_text("Trust this host?", timeout=30_000)
    expect(dialog).to_contain_text("New host")
    # The fingerprint shown is the login node's real host key (as ssh-keygen -lf prints it).
    shown = dialog.locator(".jp-rpc-ClusterDialog-facts dd").nth(2)
    expect(shown).to_have_text(re.compile(r"^SHA256:\S+$"))
    assert shown.inner_text() in _host_fingerprints()
    expect(dialog.locator(".jp-rpc-ClusterDialog-facts")).to_contain_text("127.0.0.1:2222")
    dialog.get_by_role("button", name="Trust and connect").click()
    expect(dialog).to_have_count(0)
    expect(_jobs_shown(panel)).to_be_visible(timeout=30_000)
    expect(_state(panel)).to_have_text("connected", timeout=30_000)
    assert trust_server.api("jupyter-rpc/clusters/newhost")["state"] == "connected"


def test_password_prompt_wrong_then_right(ssh_lab: Page, ssh_server: LabServer) -> None:
    password = (testbed.KEYS / "password").read_text().strip()
    lab = ssh_lab
    panel = open_jobs_panel(lab)
    choose_cluster(panel, "Password login")
    dialog = lab.locator(".jp-Dialog")
    expect(dialog).to_be_visible(timeout=30_000)
    secret = dialog.locator("input")
    expect(secret).to_have_count(1)
    expect(secret).to_have_attribute("type", "password")
    expect(dialog).to_contain_text("Password:")
    expect(dialog).to_contain_text("Password login")
    # A wrong password first: asked again, saying so.
    secret.fill("not-the-password")
    dialog.get_by_role("button", name="Sign in").click()
    expect(dialog).to_contain_text("not accepted", timeout=30_000)
    secret = dialog.locator("input")
    expect(secret).to_have_attribute("type", "password")
    expect(secret).to_have_value("")
    secret.fill(password)
    dialog.get_by_role("button", name="Sign in").click()
    expect(dialog).to_have_count(0, timeout=30_000)
    expect(_jobs_shown(panel)).to_be_visible(timeout=30_000)
    expect(_state(panel)).to_have_text("connected", timeout=30_000)
    # Files work over the same connection (and the password is not echoed back anywhere).
    listing = ssh_server.api("jupyter-rpc/clusters/password/files/home?content=1")
    assert listing["type"] == "directory"
    cluster = ssh_server.api("jupyter-rpc/clusters/password")
    assert cluster["state"] == "connected" and password not in str(cluster)
    assert password not in lab.content()


def test_changed_host_key_is_refused(ssh_lab: Page, ssh_server: LabServer) -> None:
    lab = ssh_lab
    panel = open_jobs_panel(lab)
    choose_cluster(panel, "Changed key")
    dialog = lab.locator(".jp-Dialog")
    expect(dialog.locator(".jp-Dialog-header")).to_have_text(
        "Host key changed: connection refused", timeout=30_000
    )
    expect(dialog).to_contain_text("not the one you trusted before")
    expect(dialog.locator(".jp-rpc-ClusterDialog-facts")).to_contain_text(re.compile(r"SHA256:\S+"))
    # Nothing to trust: only a Close button.
    expect(dialog.get_by_role("button", name=re.compile("Trust"))).to_have_count(0)
    expect(dialog.locator(".jp-Dialog-footer button")).to_have_count(1)
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)
    # The panel says why there are no jobs; it does not ask again on its own.
    expect(panel.locator(".jp-rpc-Jobs-error")).to_contain_text("CHANGED", timeout=30_000)
    panel.get_by_role("button", name="Refresh the jobs").click()
    lab.wait_for_timeout(1_000)
    expect(dialog).to_have_count(0)
    assert ssh_server.api("jupyter-rpc/clusters/changed")["state"] != "connected"


def test_add_and_remove_a_user_cluster(plain_lab: Page, plain_server: LabServer) -> None:
    lab = plain_lab
    panel = open_jobs_panel(lab)
    name = f"mine-{uuid.uuid4().hex[:6]}"
    panel.get_by_role("button", name="Add a cluster").click()
    dialog = lab.locator(".jp-Dialog")
    expect(dialog.locator(".jp-Dialog-header")).to_have_text("Add a cluster")
    # Nothing filled in: the form says what is missing and stays open.
    dialog.get_by_role("button", name="Add", exact=True).click()
    expect(dialog.get_by_role("alert")).to_contain_text("Host: required")
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_label("Display name").fill("My own cluster")
    dialog.get_by_label("Host", exact=True).fill("127.0.0.1")
    dialog.get_by_label("Port").fill("2222")
    dialog.get_by_label("User").fill("hpcuser")
    dialog.get_by_label("Identity file").fill(str(testbed.KEYS / "id_ed25519"))
    dialog.get_by_label("Working folder").fill("~/jobs")
    dialog.get_by_label("SSH agent").uncheck()  # the key file alone
    kernels = dialog.get_by_role("group", name="Notebook kernels on this cluster")
    kernels.get_by_label("Python").fill("~/kenv/bin/python")
    kernels.get_by_label("Modules").fill("python/3.11, cuda")
    dialog.get_by_role("button", name="Add", exact=True).click()
    expect(lab.get_by_text(re.compile("Cluster .* added"))).to_be_visible(timeout=30_000)
    # It is in the picker (and chosen), and the server lists it as the user's.
    select = panel.get_by_label("Cluster", exact=True)
    expect(select.locator("option:checked")).to_have_text("My own cluster")
    # Its host is new to this user: trust it, then its jobs show.
    expect(dialog.locator(".jp-Dialog-header")).to_have_text("Trust this host?", timeout=30_000)
    expect(dialog).to_contain_text("My own cluster")
    dialog.get_by_role("button", name="Trust and connect").click()
    expect(dialog).to_have_count(0)
    expect(_jobs_shown(panel)).to_be_visible(timeout=30_000)
    listed = {c["name"]: c for c in plain_server.api("jupyter-rpc/clusters")["clusters"]}
    assert listed[name]["source"] == "user" and listed[name]["host"] == "127.0.0.1"
    assert listed[name]["workdir"] == "~/jobs"
    # its kernels' environment, kept with the cluster; its kernel in Lab's list
    kept = json.loads(
        (plain_server.root.parent / "data" / "jupyter_rpc" / "clusters.json").read_text()
    )
    assert kept[name]["kernel_python"] == "~/kenv/bin/python", kept[name]
    assert kept[name]["kernel_modules"] == ["python/3.11", "cuda"], kept[name]
    assert "kernel_conda_env" not in kept[name]
    specs = plain_server.api("api/kernelspecs")["kernelspecs"]  # type: ignore[index]
    spec = specs[f"rpc-{name}"]["spec"]
    assert spec["display_name"] == "Python 3 on My own cluster (login node)", spec
    assert spec["argv"][0] == "~/kenv/bin/python", spec
    assert listed["local"]["source"] == "site"
    # Remove it (after confirming): gone from the picker and the server.
    panel.get_by_role("button", name=f"Remove cluster {name}").click()
    confirm = lab.locator(".jp-Dialog")
    expect(confirm.locator(".jp-Dialog-header")).to_have_text("Remove cluster?")
    confirm.get_by_role("button", name="Remove").click()
    expect(select.locator("option", has_text="My own cluster")).to_have_count(0, timeout=30_000)
    names = [c["name"] for c in plain_server.api("jupyter-rpc/clusters")["clusters"]]
    assert name not in names
    # A site cluster offers no Remove button.
    expect(select.locator("option:checked")).to_have_text("This computer")
    expect(panel.get_by_role("button", name=re.compile("^Remove cluster"))).to_have_count(0)
