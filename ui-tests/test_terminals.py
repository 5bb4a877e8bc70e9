"""Terminals on clusters in the browser (issue 19): a real JupyterLab in headless
Chromium, the HPC test bed's OpenSSH as the cluster. The Launcher card opens
JupyterLab's Terminal widget on the cluster; what the shell prints shows in the xterm
(read through xterm's screen-reader rows: Lab's own terminal setting screenReaderMode,
which our terminals follow, is on in this Lab); a reload brings the same shell back with
its screen; closing the tab (after the confirmation) ends the shell."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import testbed
from conftest import LabServer, open_lab, start_lab
from files_helpers import choose_cluster, context_menu, open_files_panel, open_item
from jobs_helpers import choose_cluster as choose_jobs_cluster
from jobs_helpers import job_row, open_jobs_panel
from playwright.sync_api import Locator, Page, expect

DISPLAY = "Test bed (terminals)"
SLURM_DISPLAY = "Test bed Slurm (terminals)"


@pytest.fixture(scope="module")
def term_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    testbed.require()
    keys = testbed.KEYS
    config = {
        "RPCApp": {
            "clusters": {
                "tb": {
                    "display_name": DISPLAY,
                    "host": "127.0.0.1",
                    "port": int(os.environ.get("TESTBED_SSH_PORT", "2222")),
                    "user": os.environ.get("TESTBED_USER", "hpcuser"),
                    "identity_file": str(keys / "id_ed25519"),
                    "known_hosts": str(keys / "known_hosts"),
                    "ssh_config": False,
                    "scheduler": "none",
                },
                "here": {
                    "display_name": "This computer (terminals)",
                    "scheduler": "local",
                    "roots": {"home": "ROOT"},
                },
                "slurm": {
                    "display_name": SLURM_DISPLAY,
                    "host": "127.0.0.1",
                    "port": int(os.environ.get("TESTBED_SSH_PORT", "2222")),
                    "user": os.environ.get("TESTBED_USER", "hpcuser"),
                    "identity_file": str(keys / "id_ed25519"),
                    "known_hosts": str(keys / "known_hosts"),
                    "ssh_config": False,
                    "scheduler": "slurm",
                },
            }
        },
        # the colour test reads xterm's cells through window.jupyterapp
        "LabApp": {"expose_app_in_browser": True},
    }
    base = Path(tmp_path_factory.mktemp("terminals-lab"))
    (base / "root" / "proj").mkdir(parents=True)
    config["RPCApp"]["clusters"]["here"]["roots"]["home"] = str(base / "root")
    settings = base / "settings" / "@jupyterlab" / "terminal-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"screenReaderMode": True}))
    with start_lab(base, config) as server:
        yield server


@pytest.fixture
def page_of(page: Page, term_lab: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from open_lab(page, term_lab, request)
    # a failed test's terminals end here, so the next test starts with none
    for cluster in ("tb", "here", "slurm"):
        listed = term_lab.api(f"jupyter-rpc/clusters/{cluster}/terminals")
        for t in listed["terminals"]:  # type: ignore[index]
            term_lab.api(f"jupyter-rpc/clusters/{cluster}/terminals/{t['name']}", method="DELETE")


def screen(tab: Locator) -> str:
    """The text of the terminal's rows (xterm's screen-reader tree)."""
    return "\n".join(tab.locator(".xterm-accessibility-tree > div").all_inner_texts())


def wrapping(text: str) -> str:
    """A pattern for ``text`` on the terminal, where a long line (a deep folder's path)
    is cut into rows at the terminal's width: a row break may fall anywhere in it."""
    return "\n?".join(re.escape(c) for c in text)


def wait_for_text(tab: Locator, pattern: str, timeout: float = 20.0) -> re.Match[str]:
    end = time.monotonic() + timeout
    while True:
        found = re.search(pattern, screen(tab), re.MULTILINE)
        if found:
            return found
        if time.monotonic() > end:
            raise AssertionError(f"{pattern!r} not on the terminal: {screen(tab)[-800:]!r}")
        time.sleep(0.2)


def terminal_card(lab: Page, display: str) -> Locator:
    """The Launcher's Terminal card of a cluster (its section is named after it; other
    sections' cards may name the cluster too)."""
    cards = lab.locator(f'.jp-LauncherCard[data-category="{display}"]')
    return cards.filter(has_text=re.compile(r"^\s*Terminal\s*$"))


def type_line(page: Page, tab: Locator, text: str) -> None:
    tab.locator(".xterm-helper-textarea").focus()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def test_launcher_terminal_reload_and_close(page_of: Page, term_lab: LabServer) -> None:
    lab = page_of
    terminal_card(lab, DISPLAY).click()
    tab = lab.locator(".jp-MainAreaWidget:has(.jp-Terminal)").last
    expect(tab).to_be_visible()
    title = lab.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
    expect(title).to_have_text(re.compile(r"^hpcuser@tb: "))
    type_line(lab, tab, "echo $((6*7))")
    wait_for_text(tab, r"^42\s*$")
    type_line(lab, tab, "echo pid=$$")
    pid = wait_for_text(tab, r"^pid=(\d+)\s*$")[1]
    [listed] = term_lab.api("jupyter-rpc/clusters/tb/terminals")["terminals"]  # type: ignore[index]

    # a reload: the same shell, its earlier output on screen
    lab.goto(f"{term_lab.url}/lab?token={term_lab.token}")
    lab.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    tab = lab.locator(".jp-MainAreaWidget:has(.jp-Terminal)").last
    expect(tab).to_be_visible(timeout=30_000)
    wait_for_text(tab, rf"^pid={pid}\s*$")  # replayed
    type_line(lab, tab, "echo again=$$")
    wait_for_text(tab, rf"^again={pid}\s*$")
    again = term_lab.api("jupyter-rpc/clusters/tb/terminals")["terminals"]  # type: ignore[index]
    assert [t["name"] for t in again] == [listed["name"]]

    # closing the tab asks, then ends the shell: its process is gone within 5 s
    lab.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon").click()
    lab.locator(".jp-Dialog").get_by_role("button", name="Close and End").click()
    end = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < end:
        time.sleep(0.1)
    assert not _alive(pid), "the shell outlived its tab"
    assert term_lab.api("jupyter-rpc/clusters/tb/terminals") == {"terminals": []}


def test_open_terminal_here_starts_in_that_folder(page_of: Page, term_lab: LabServer) -> None:
    lab = page_of
    panel = open_files_panel(lab)
    choose_cluster(panel, "This computer (terminals)")
    open_item(panel, "home")  # into the root folder
    context_menu(panel, "proj", "Open Terminal Here")
    tab = lab.locator(".jp-MainAreaWidget:has(.jp-Terminal)").last
    expect(tab).to_be_visible()
    title = lab.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
    expect(title).to_have_text(re.compile(r"@here: proj$"))
    type_line(lab, tab, "echo cwd=$(pwd -P)")
    wait_for_text(tab, rf"^{wrapping('cwd=' + str((term_lab.root / 'proj').resolve()))}\s*$")
    [model] = term_lab.api("jupyter-rpc/clusters/here/terminals")["terminals"]  # type: ignore[index]
    assert model["cwd"] == "home/proj"
    term_lab.api(f"jupyter-rpc/clusters/here/terminals/{model['name']}", method="DELETE")


def _current_title(lab: Page) -> Locator:
    return lab.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")


def _wait_job(
    server: LabServer, cluster: str, job_id: str, state: str, timeout: float = 60
) -> dict:
    end = time.monotonic() + timeout
    while True:
        job = server.api(f"jupyter-rpc/clusters/{cluster}/jobs/{job_id}")
        assert isinstance(job, dict)
        if job["state"] == state:
            return job
        assert time.monotonic() < end, job
        time.sleep(0.5)


def test_jobs_panel_terminal_in_the_jobs_folder(page_of: Page, term_lab: LabServer) -> None:
    """A local job's detail: Terminal in folder opens a shell whose pwd is the job's
    working folder; the row's context menu has the entry too, and no shell on a node
    (the local scheduler)."""
    lab = page_of
    folder = term_lab.root / "jobrun"
    folder.mkdir(exist_ok=True)
    job = term_lab.api(
        "jupyter-rpc/clusters/here/jobs",
        method="POST",
        body={"script": "#!/bin/sh\nsleep 60\n", "name": "term-job", "workdir": str(folder)},
    )
    assert isinstance(job, dict)
    job_id = str(job["id"])
    try:
        panel = open_jobs_panel(lab)
        choose_jobs_cluster(panel, "This computer (terminals)")
        row = job_row(panel, job_id)
        expect(row).to_be_visible(timeout=30_000)
        row.click(button="right")
        labels = lab.locator(".lm-Menu-item:visible .lm-Menu-itemLabel").all_inner_texts()
        assert "Terminal in the Job’s Folder" in labels, labels
        assert "Shell on the Job’s Node" not in labels, labels
        lab.keyboard.press("Escape")
        row.click()  # the detail
        detail = panel.locator(".jp-rpc-JobDetail")
        expect(detail.get_by_role("button", name="Shell on node")).to_have_count(0)
        detail.get_by_role("button", name="Terminal in folder").click()
        tab = lab.locator(".jp-MainAreaWidget:has(.jp-Terminal)").last
        expect(tab).to_be_visible()
        expect(_current_title(lab)).to_have_text(re.compile(r"@here: jobrun$"))
        type_line(lab, tab, "echo cwd=$(pwd -P)")
        wait_for_text(tab, rf"^{wrapping('cwd=' + str(folder.resolve()))}\s*$")
        [model] = term_lab.api("jupyter-rpc/clusters/here/terminals")["terminals"]  # type: ignore[index]
        assert model["cwd"] == "home/jobrun"
        term_lab.api(f"jupyter-rpc/clusters/here/terminals/{model['name']}", method="DELETE")
    finally:
        term_lab.api(f"jupyter-rpc/clusters/here/jobs/{job_id}", method="DELETE")


def test_jobs_panel_shell_on_a_running_slurm_jobs_node(page_of: Page, term_lab: LabServer) -> None:
    """A running Slurm job of the test bed: Shell on node (the row's context menu) runs
    inside the job ($SLURM_JOB_ID is its id); Terminal in folder starts in its folder."""
    lab = page_of
    job = term_lab.api(
        "jupyter-rpc/clusters/slurm/jobs",
        method="POST",
        body={"script": "#!/bin/sh\nsleep 300\n", "name": "term-node", "time_limit": 5},
    )
    assert isinstance(job, dict)
    job_id = str(job["id"])
    try:
        running = _wait_job(term_lab, "slurm", job_id, "running")
        panel = open_jobs_panel(lab)
        choose_jobs_cluster(panel, SLURM_DISPLAY)
        row = job_row(panel, job_id)
        expect(row).to_be_visible(timeout=30_000)
        expect(row).to_contain_text("running", timeout=30_000)
        row.click(button="right")
        lab.locator(".lm-Menu-item", has_text="Shell on the Job’s Node").click()
        tab = lab.locator(".jp-MainAreaWidget:has(.jp-Terminal)").last
        expect(tab).to_be_visible()
        expect(_current_title(lab)).to_have_text(re.compile(rf"@slurm: job {job_id}$"))
        type_line(lab, tab, "echo job=$SLURM_JOB_ID")
        wait_for_text(tab, rf"^job={job_id}\s*$", timeout=30)
        # the job's folder, from its detail
        row.click()
        panel.locator(".jp-rpc-JobDetail").get_by_role("button", name="Terminal in folder").click()
        expect(_current_title(lab)).not_to_have_text(re.compile(r"job \d+$"))
        tab = lab.locator(".jp-MainAreaWidget:has(.jp-Terminal)").last
        type_line(lab, tab, "echo cwd=$(pwd -P)")
        wait_for_text(tab, rf"^{wrapping('cwd=' + running['workdir'])}\s*$", timeout=30)
        for model in term_lab.api("jupyter-rpc/clusters/slurm/terminals")["terminals"]:  # type: ignore[index]
            term_lab.api(f"jupyter-rpc/clusters/slurm/terminals/{model['name']}", method="DELETE")
        assert _wait_job(term_lab, "slurm", job_id, "running")  # the job goes on
    finally:
        term_lab.api(f"jupyter-rpc/clusters/slurm/jobs/{job_id}", method="DELETE")


def test_open_terminals_listed_with_their_cluster(page_of: Page, term_lab: LabServer) -> None:
    """The Jobs panel lists the chosen cluster's open terminals under its cluster bar: one
    opened elsewhere (REST) shows, a click opens its tab on the same shell, the cross ends
    it after asking (its shell's process gone within 5 s, the list empty)."""
    lab = page_of
    model = term_lab.api(
        "jupyter-rpc/clusters/here/terminals", method="POST", body={"cwd": "home/proj"}
    )
    assert isinstance(model, dict)
    try:
        panel = open_jobs_panel(lab)
        choose_jobs_cluster(panel, "This computer (terminals)")
        listing = panel.get_by_role("region", name="Open terminals on here")
        item = listing.locator(f'[data-terminal="{model["name"]}"]')
        expect(item).to_contain_text(re.compile(r"@here: proj"), timeout=15_000)
        expect(item).to_contain_text("no tab attached")
        item.locator(".jp-rpc-ClusterTerminals-open").click()
        tab = lab.locator(".jp-MainAreaWidget:has(.jp-Terminal)").last
        expect(tab).to_be_visible()
        expect(_current_title(lab)).to_have_text(re.compile(r"@here: proj$"))
        type_line(lab, tab, "echo pid=$$")
        pid = wait_for_text(tab, r"^pid=(\d+)\s*$")[1]
        expect(item).to_contain_text("open in a tab", timeout=15_000)
        # ending it from the list asks first
        item.get_by_role("button", name=re.compile(r"^End ")).click()
        dialog = lab.locator(".jp-Dialog")
        expect(dialog).to_contain_text("End this terminal?")
        dialog.get_by_role("button", name="End", exact=True).click()
        end = time.monotonic() + 5
        while _alive(pid) and time.monotonic() < end:
            time.sleep(0.1)
        assert not _alive(pid), "the shell outlived its End"
        expect(listing).to_have_count(0)
        assert term_lab.api("jupyter-rpc/clusters/here/terminals") == {"terminals": []}
    finally:
        for t in term_lab.api("jupyter-rpc/clusters/here/terminals")["terminals"]:  # type: ignore[index]
            term_lab.api(f"jupyter-rpc/clusters/here/terminals/{t['name']}", method="DELETE")


#: The current tab's xterm.js terminal (JupyterLab's Terminal widget keeps it as _term).
_XTERM = "window.jupyterapp.shell.currentWidget.content._term"


def _open_local_terminal(lab: Page) -> Locator:
    terminal_card(lab, "This computer (terminals)").click()
    tab = lab.locator(".jp-MainAreaWidget:has(.jp-Terminal)").last
    expect(tab).to_be_visible()
    expect(_current_title(lab)).to_have_text(re.compile(r"@here: "))
    return tab


def _alive(pid: str) -> bool:
    """Whether a process runs (a zombie, which only waits for its parent to reap it,
    counts as gone: in a container PID 1 may never reap what it inherits)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] != "Z"


def _children(pid: str, name: str) -> list[str]:
    """PIDs of this machine's processes called ``name`` whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        ppid = text[text.rindex(")") + 2 :].split()[1]
        if comm == name and ppid == pid:
            found.append(stat.parent.name)
    return found


def test_colours_resize_and_ctrl_c(page_of: Page, term_lab: LabServer) -> None:
    """A local terminal: a 256-colour escape gives its cells palette colour 196; making
    the window narrower makes the PTY narrower (tput cols is xterm's new width); Ctrl-C
    stops sleep 100 (its process gone, $? 130)."""
    lab = page_of
    tab = _open_local_terminal(lab)
    type_line(lab, tab, "echo pid=$$")
    pid = wait_for_text(tab, r"^pid=(\d+)\s*$")[1]

    # 256 colours: the cells of the word carry palette colour 196 (what xterm draws)
    type_line(lab, tab, r"printf 'x\033[38;5;196mRED196\033[0my\n'")
    wait_for_text(tab, r"^xRED196y\s*$")
    colours = lab.evaluate(
        f"""() => {{
          const buffer = {_XTERM}.buffer.active;
          for (let y = buffer.length - 1; y >= 0; y--) {{
            const line = buffer.getLine(y);
            const text = line.translateToString(true);
            if (text === 'xRED196y') {{
              return [...text].map((_, x) => {{
                const cell = line.getCell(x);
                return cell.isFgPalette() ? cell.getFgColor() : -1;
              }});
            }}
          }}
          return null;
        }}"""
    )
    assert colours == [-1, 196, 196, 196, 196, 196, 196, -1], colours

    # resize: a narrower window, a narrower PTY
    before = lab.evaluate(f"{_XTERM}.cols")
    type_line(lab, tab, "echo cols=$(tput cols)")
    wait_for_text(tab, rf"^cols={before}\s*$")
    size = lab.viewport_size
    assert size is not None
    lab.set_viewport_size({"width": size["width"] - 300, "height": size["height"]})
    end = time.monotonic() + 10
    while lab.evaluate(f"{_XTERM}.cols") == before:
        assert time.monotonic() < end, "xterm kept its width"
        time.sleep(0.1)
    time.sleep(0.5)  # the set_size message on its way
    after = lab.evaluate(f"{_XTERM}.cols")
    assert after < before
    type_line(lab, tab, "echo now=$(tput cols)")
    wait_for_text(tab, rf"^now={after}\s*$")

    # Ctrl-C stops sleep 100
    type_line(lab, tab, "sleep 100")
    end = time.monotonic() + 10
    while not (sleeping := _children(pid, "sleep")):
        assert time.monotonic() < end, "sleep 100 did not start"
        time.sleep(0.1)
    tab.locator(".xterm-helper-textarea").focus()
    lab.keyboard.press("Control+c")
    end = time.monotonic() + 5
    while any(_alive(p) for p in sleeping):
        assert time.monotonic() < end, "Ctrl-C left sleep running"
        time.sleep(0.1)
    type_line(lab, tab, "echo rc=$?")
    wait_for_text(tab, r"^rc=130\s*$")


def test_closing_a_local_terminals_tab_ends_its_shell(page_of: Page, term_lab: LabServer) -> None:
    """Closing the tab (Close and End) ends the local shell: its PID and its background
    job's are gone within 5 s, and the server lists no terminal."""
    lab = page_of
    tab = _open_local_terminal(lab)
    type_line(lab, tab, "sleep 300 & echo pid=$$ bg=$!")
    found = wait_for_text(tab, r"^pid=(\d+) bg=(\d+)\s*$")
    pid, bg = found[1], found[2]
    assert _alive(pid) and _alive(bg)
    lab.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon").click()
    lab.locator(".jp-Dialog").get_by_role("button", name="Close and End").click()
    end = time.monotonic() + 5
    while any(_alive(p) for p in (pid, bg)) and time.monotonic() < end:
        time.sleep(0.1)
    left = [p for p in (pid, bg) if _alive(p)]
    assert not left, f"still running after closing the tab: {left}"
    assert term_lab.api("jupyter-rpc/clusters/here/terminals") == {"terminals": []}


def test_open_terminals_listed_in_the_remote_files_panel(
    page_of: Page, term_lab: LabServer
) -> None:
    """A cluster without a scheduler (not in the Jobs panel): the Remote files panel lists
    its open terminals under the cluster picker; a click opens the tab on the same shell."""
    lab = page_of
    model = term_lab.api("jupyter-rpc/clusters/tb/terminals", method="POST", body={})
    assert isinstance(model, dict)
    panel = open_files_panel(lab)
    choose_cluster(panel, DISPLAY)
    item = panel.get_by_role("region", name="Open terminals on tb").locator(
        f'[data-terminal="{model["name"]}"]'
    )
    expect(item).to_contain_text(re.compile(r"hpcuser@tb: "), timeout=15_000)
    item.locator(".jp-rpc-ClusterTerminals-open").click()
    tab = lab.locator(".jp-MainAreaWidget:has(.jp-Terminal)").last
    expect(tab).to_be_visible()
    expect(_current_title(lab)).to_have_text(re.compile(r"^hpcuser@tb: "))
    type_line(lab, tab, "echo $((6*7))")
    wait_for_text(tab, r"^42\s*$")
    listed = term_lab.api("jupyter-rpc/clusters/tb/terminals")["terminals"]  # type: ignore[index]
    assert [t["name"] for t in listed] == [model["name"]]
