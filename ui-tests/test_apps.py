"""Interactive apps in the browser (issue 14): a real JupyterLab in headless Chromium with
a local cluster (the local scheduler). The Launcher's "Web app" card opens the launch
form; Launch starts the app's job and opens the session's tab, which shows the app's page
through the server's proxy once it runs; End ends it and the tab says so. A session's job
row in the Jobs panel says it is one, with Open and End. On the HPC test bed's Slurm, the
Remote desktop draws in its tab and a key typed into its xterm reaches the shell."""

from __future__ import annotations

import os
import pwd
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import testbed
from conftest import LabServer, open_lab, start_lab
from jobs_helpers import choose_cluster, job_row, open_jobs_panel
from playwright.sync_api import Page, expect

DISPLAY = "This computer (apps)"


@pytest.fixture(scope="module")
def apps_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    base = Path(tmp_path_factory.mktemp("apps-lab"))
    site = base / "root" / "site"
    site.mkdir(parents=True)
    (site / "index.html").write_text(
        "<html><body><h1 id='hello'>Hello from the app</h1></body></html>"
    )
    config = {
        "RPCApp": {
            "clusters": {
                "here": {
                    "display_name": DISPLAY,
                    "scheduler": "local",
                    "roots": {"home": str(base / "root")},
                }
            },
            "state_dir": str(base / "state"),
        }
    }
    with start_lab(base, config) as server:
        yield server


@pytest.fixture
def page_of(page: Page, apps_lab: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from open_lab(page, apps_lab, request)


def _tab_session(tab: Any) -> str:
    """The id of the session a session's tab shows (its id is jp-rpc-app-<session>)."""
    tab_id = tab.get_attribute("id") or ""
    assert tab_id.startswith("jp-rpc-app-"), tab_id
    return tab_id[len("jp-rpc-app-") :]


def test_launch_a_web_app_and_see_its_page(page_of: Page, apps_lab: LabServer) -> None:
    lab = page_of
    site = apps_lab.root / "site"
    section = lab.locator(".jp-Launcher-section", has_text="Interactive Apps")
    section.locator(".jp-LauncherCard", has_text="Web app").click()
    dialog = lab.locator(".jp-Dialog")
    command = dialog.locator("#jp-rpc-app_command")
    expect(command).to_be_visible(timeout=20_000)
    command.fill(f'exec {sys.executable} -m http.server --bind "$HOST" --directory {site} "$PORT"')
    dialog.get_by_role("button", name="Launch").click()

    tab = lab.locator(".jp-MainAreaWidget:has(.jp-rpc-Session)").last
    expect(tab).to_be_visible()
    expect(tab.locator(".jp-rpc-Session-state")).to_have_text("Running", timeout=30_000)
    frame = tab.frame_locator("iframe.jp-rpc-Session-frame")
    expect(frame.locator("#hello")).to_have_text("Hello from the app", timeout=20_000)

    sid = _tab_session(tab)
    session = apps_lab.api(f"jupyter-rpc/sessions/{sid}")
    assert session["state"] == "running" and session["cluster"] == "here"  # type: ignore[index]

    tab.get_by_role("button", name="End").click()
    expect(tab.locator(".jp-rpc-Session-state")).to_have_text("Ended", timeout=20_000)
    session = apps_lab.api(f"jupyter-rpc/sessions/{sid}")
    assert session["state"] == "ended"  # type: ignore[index]
    job = apps_lab.api(f"jupyter-rpc/clusters/here/jobs/{session['job_id']}")
    assert job["state"] == "cancelled"  # type: ignore[index]


def test_a_session_in_the_jobs_panel(page_of: Page, apps_lab: LabServer) -> None:
    """A session's job row says it is an app session (the Launcher card's name, its
    state and time left) with Open (its tab) and End (its job cancelled)."""
    lab = page_of
    site = apps_lab.root / "site"
    command = f'exec {sys.executable} -m http.server --bind "$HOST" --directory {site} "$PORT"'
    session = apps_lab.api(
        "jupyter-rpc/sessions",
        method="POST",
        body={"app": "webapp", "cluster": "here", "values": {"command": command}},
    )
    assert isinstance(session, dict)
    try:
        panel = open_jobs_panel(lab)
        choose_cluster(panel, DISPLAY)
        badge = job_row(panel, session["job_id"]).locator(".jp-rpc-JobSession")
        expect(badge).to_have_attribute("data-session-id", session["id"], timeout=30_000)
        expect(badge.locator(".jp-rpc-JobSession-app")).to_have_text("Web app")
        expect(badge.locator(".jp-rpc-JobSession-state")).to_have_text("Running", timeout=30_000)
        expect(badge.locator(".jp-rpc-JobSession-left")).to_contain_text("left")
        expect(badge.locator("svg")).to_have_count(1)  # the Launcher card's icon

        badge.get_by_role("button", name="Open").click()
        tab = lab.locator(".jp-MainAreaWidget:has(.jp-rpc-Session)").last
        expect(tab.locator(".jp-rpc-Session-state")).to_have_text("Running", timeout=30_000)
        expect(tab.locator(".jp-rpc-Session-where")).to_contain_text(session["job_id"])
        expect(panel.locator(".jp-rpc-JobDetail")).to_have_count(0)  # Open did not select

        badge.get_by_role("button", name="End").click()
        expect(tab.locator(".jp-rpc-Session-state")).to_have_text("Ended", timeout=30_000)
        job = apps_lab.api(f"jupyter-rpc/clusters/here/jobs/{session['job_id']}")
        assert job["state"] == "cancelled"  # type: ignore[index]
    finally:
        apps_lab.api(f"jupyter-rpc/sessions/{session['id']}", method="DELETE")


@pytest.fixture(scope="module")
def desktop_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    testbed.require()
    keys = testbed.KEYS
    config = {
        "RPCApp": {
            "clusters": {
                "tb": {
                    "display_name": "Test bed (apps)",
                    "host": "127.0.0.1",
                    "port": int(os.environ.get("TESTBED_SSH_PORT", "2222")),
                    "user": os.environ.get("TESTBED_USER", "hpcuser"),
                    "identity_file": str(keys / "id_ed25519"),
                    "known_hosts": str(keys / "known_hosts"),
                    "ssh_config": False,
                    "scheduler": "slurm",
                }
            }
        }
    }
    base = Path(tmp_path_factory.mktemp("desktop-lab"))
    with start_lab(base, config) as server:
        yield server


@pytest.fixture
def desktop_page(
    page: Page, desktop_lab: LabServer, request: pytest.FixtureRequest
) -> Iterator[Page]:
    yield from open_lab(page, desktop_lab, request)


#: The visible canvas's pixels: how many differ from its first pixel. A frame of the
#: VNC server drawn by noVNC has at least its pointer (Xvnc draws it into the frame:
#: 128 pixels). The xterm comes later (it maps after the first frame, and its shell
#: after it): the keystroke check waits for both, up to 30 s, before it types.
DRAWN = """canvas => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let other = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] !== data[0] || data[i + 1] !== data[1] || data[i + 2] !== data[2]) other++;
  }
  return {width: canvas.width, height: canvas.height, other};
}"""


#: Where the desktop template's xterm is (-geometry 100x30+20+20, 604x394 pixels, below
#: openbox's title bar): its frame's top left corner in the canvas, and a strip of its
#: first lines, where typed text appears.
XTERM = (20, 20)
XTERM_TEXT = {"x": 30, "y": 50, "width": 500, "height": 100}
USER = os.environ.get("TESTBED_USER", "hpcuser")

#: A region of the visible canvas: how many pixels are white, and a digest of them.
REGION = """(canvas, r) => {
  const data = canvas.getContext('2d').getImageData(r.x, r.y, r.width, r.height).data;
  let white = 0, hash = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] > 240 && data[i + 1] > 240 && data[i + 2] > 240) white++;
    hash = (hash * 31 + data[i] + 7 * data[i + 1] + 13 * data[i + 2]) | 0;
  }
  return {white, hash, total: data.length / 4};
}"""


def _xterm_shell(job_id: str) -> bool:
    """Whether the job's xterm runs a shell (the node is this machine on the bed)."""
    xterms = set()
    parents: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text()
            environ = Path("/proc", entry, "environ").read_bytes()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if f"SLURM_JOB_ID={job_id}".encode() not in environ.split(b"\0"):
            continue
        parents[int(entry)] = (ppid, comm)
        if comm == "xterm":
            xterms.add(int(entry))
    return any(ppid in xterms and comm != "xterm" for ppid, comm in parents.values())


def _wait_for_xterm(canvas: Any, job_id: str, folder: Path, limit: float = 30.0) -> None:
    """Until the xterm is drawn (its white) and its shell runs; typing earlier can be
    lost (notes/desktop.md). Fails with the job's log if it never does."""
    end = time.monotonic() + limit
    while True:
        region = canvas.evaluate(REGION, XTERM_TEXT)
        shell = _xterm_shell(job_id)
        if (region["white"] > region["total"] // 2 and shell) or time.monotonic() > end:
            break
        time.sleep(0.3)
    log = folder / "job.log"
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no job.log)"
    assert region["white"] > region["total"] // 2, f"no xterm drawn: {region}; log:\n{tail}"
    assert shell, f"the xterm runs no shell; log:\n{tail}"


def test_a_remote_desktop_draws_in_its_tab(desktop_page: Page, desktop_lab: LabServer) -> None:
    lab = desktop_page
    section = lab.locator(".jp-Launcher-section", has_text="Interactive Apps")
    section.locator(".jp-LauncherCard", has_text="Remote desktop").click()
    dialog = lab.locator(".jp-Dialog")
    expect(dialog.locator("#jp-rpc-app_geometry")).to_be_visible(timeout=30_000)
    dialog.locator("#jp-rpc-app_geometry").select_option("1024x768")
    dialog.get_by_role("button", name="Launch").click()
    tab = lab.locator(".jp-MainAreaWidget:has(.jp-rpc-Session)").last
    try:
        expect(tab.locator(".jp-rpc-Session-state")).to_have_text("Running", timeout=60_000)
        canvas = tab.locator(".jp-rpc-Desktop-screen canvas")
        expect(canvas).to_be_visible(timeout=20_000)
        expect(tab.locator(".jp-rpc-Desktop-status")).to_have_count(0, timeout=20_000)
        end = time.monotonic() + 20
        while True:
            drawn = canvas.evaluate(DRAWN)
            if drawn["other"] >= 100 or time.monotonic() > end:
                break
            time.sleep(0.3)
        assert (drawn["width"], drawn["height"]) == (1024, 768), drawn
        assert drawn["other"] >= 100, f"the desktop was not drawn: {drawn}"
        # the page never had the VNC password: the server logged in for it
        assert "password" not in lab.content()

        # a key typed into the desktop's xterm reaches its shell, and the xterm shows it
        session = desktop_lab.api(f"jupyter-rpc/sessions/{_tab_session(tab)}")
        assert isinstance(session, dict) and session["state"] == "running", session
        folder = Path(pwd.getpwnam(USER).pw_dir, ".jupyter-rpc", "sessions", session["id"])
        _wait_for_xterm(canvas, session["job_id"], folder)
        before = canvas.evaluate(REGION, XTERM_TEXT)
        canvas.click(position={"x": XTERM[0] + 200, "y": XTERM[1] + 100})  # focus it
        marker = f"typed-{os.urandom(4).hex()}"
        lab.keyboard.type(f'echo {marker} > "$RPC_SESSION_DIR/typed"')
        lab.keyboard.press("Enter")
        typed = folder / "typed"
        end = time.monotonic() + 15
        while not (typed.exists() and typed.read_text().strip()) and time.monotonic() < end:
            time.sleep(0.2)
        assert typed.exists(), "the typed command did not run in the xterm's shell"
        assert typed.read_text().strip() == marker
        end = time.monotonic() + 10
        while canvas.evaluate(REGION, XTERM_TEXT) == before and time.monotonic() < end:
            time.sleep(0.2)
        assert canvas.evaluate(REGION, XTERM_TEXT) != before, "the xterm did not show it"
    finally:
        # only this test's session: the listing also has the sessions other servers
        # of the bed's user left in its session folders
        if tab.count():
            desktop_lab.api(f"jupyter-rpc/sessions/{_tab_session(tab)}", method="DELETE")
    expect(tab.locator(".jp-rpc-Session-state")).to_have_text("Ended", timeout=30_000)
