"""Browser tests of the Remote functions panel: a real JupyterLab in headless Chromium.

Run on their own (the root conftest's pytest-jupyter event loop clashes with
Playwright's sync API)::

    python -m pytest ui-tests -q --confcutdir=ui-tests -p no:cacheprovider

A session fixture starts ``jupyter lab`` as a subprocess on 127.0.0.1 (free port,
random token, temp root and Jupyter dirs) with the package's default config, which
serves the "examples" backend; it is stopped by PID at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).parent
RESULTS = HERE / "test-results"


#: Browser test files that run in the test bed's group though they do not use the bed:
#: that group ends first (its pytest tests are fewer), so the two end closer together.
TESTBED_GROUP_EXTRA = ("test_workflows.py",)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--group",
        choices=("all", "testbed", "others"),
        default="all",
        help="all tests; the test bed's group (the files that import testbed, and "
        "TESTBED_GROUP_EXTRA); or the others. scripts/test.sh runs the two groups side by side",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Keep Playwright's artifacts (screenshots/traces of failures) in ui-tests/test-results
    (a group's own folder in it when only a group runs: Playwright empties its folder as it
    starts, and the other group may be running)."""
    group = config.getoption("--group")
    config.option.output = str(RESULTS if group == "all" else RESULTS / f"group-{group}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--group``: keep the test bed's group's files, or the others."""
    group = config.getoption("--group")
    if group == "all":
        return
    import testbed

    keep, drop = [], []
    for item in items:
        module = getattr(item, "module", None)
        ours = getattr(module, "testbed", None) is testbed or item.path.name in TESTBED_GROUP_EXTRA
        (keep if ours == (group == "testbed") else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@dataclass
class LabServer:
    """A running JupyterLab."""

    url: str
    token: str
    root: Path

    def api(self, path: str, method: str = "GET", body: object | None = None) -> object:
        """Call the server's REST API (for checks a user cannot see)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_user_settings(settings_dir: Path) -> None:
    """No news/update toasts over the panel."""
    target = settings_dir / "@jupyterlab" / "apputils-extension"
    target.mkdir(parents=True, exist_ok=True)
    (target / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )


@contextlib.contextmanager
def start_lab(base: Path, config: dict | None = None) -> Iterator[LabServer]:
    """Start ``jupyter lab`` in the background (``config``: extra server config); stop it by PID."""
    root = base / "root"
    dirs = {
        "JUPYTER_CONFIG_DIR": base / "config",
        "JUPYTER_DATA_DIR": base / "data",
        "JUPYTER_RUNTIME_DIR": base / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": base / "settings",
        "JUPYTERLAB_WORKSPACES_DIR": base / "workspaces",
        "TMPDIR": base / "tmp",
        "IPYTHONDIR": base / "ipython",
    }
    for path in [root, *dirs.values()]:
        path.mkdir(parents=True, exist_ok=True)
    _write_user_settings(dirs["JUPYTERLAB_SETTINGS_DIR"])
    extra: list[str] = []
    if config:
        config_file = base / "jupyter_server_config.json"
        config_file.write_text(json.dumps(config))
        extra.append(f"--config={config_file}")
    env = {**os.environ, **{k: str(v) for k, v in dirs.items()}}
    env.pop("JUPYTER_TOKEN", None)
    port = _free_port()
    token = secrets.token_hex(16)
    log_path = base / "lab.log"
    log = log_path.open("wb")
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.token={token}",
            "--ServerApp.allow_root=True",
            "--ServerApp.open_browser=False",
            f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=",
            *extra,
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    server = LabServer(url=url, token=token, root=root)
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"jupyter lab exited with {process.returncode}:\n{log_path.read_text()[-3000:]}"
                )
            try:
                server.api("api/status")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"jupyter lab did not answer:\n{log_path.read_text()[-3000:]}"
                    ) from None
                time.sleep(0.3)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        log.close()
        RESULTS.mkdir(exist_ok=True)
        shutil.copy(log_path, RESULTS / f"{base.name}.lab.log")


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """The package's default config: the "examples" backend."""
    with start_lab(tmp_path_factory.mktemp("lab")) as server:
        yield server


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """The system Chromium, with the flags it needs as root in a container."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    """A laptop-sized window; clipboard access for "Copy as Python"."""
    return {
        **browser_context_args,
        "viewport": {"width": 1280, "height": 900},
        "permissions": ["clipboard-read", "clipboard-write"],
    }


@pytest.fixture
def lab(page: Page, lab_server: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    """JupyterLab loaded with a fresh workspace (browser errors are saved per test)."""
    yield from open_lab(page, lab_server, request)


def open_lab(page: Page, lab_server: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    """Load JupyterLab of ``lab_server`` in ``page``; save browser errors afterwards."""
    messages: list[str] = []
    page.on(
        "console",
        lambda m: (
            messages.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
    page.set_default_timeout(20_000)
    page.goto(f"{lab_server.url}/lab?reset&token={lab_server.token}")
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    # The launcher shows once the layout is restored and the plugins are active.
    expect(page.locator(".jp-LauncherCard").first).to_be_visible(timeout=60_000)
    yield page
    if messages:
        RESULTS.mkdir(exist_ok=True)
        name = "".join(c if c.isalnum() else "-" for c in request.node.name)
        (RESULTS / f"{name}.console.txt").write_text("\n".join(messages))
