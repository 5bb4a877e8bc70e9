"""The warnings policy: our own code fails on any warning (pytest's ``filterwarnings =
error``), and nothing a dependency does at import time reaches a user's server log.

Found on a fresh machine: cryptography 51 deprecates DSA, and asyncssh (which still
supports DSA keys) touches those names at import time. Under ``error`` that stopped
pytest's collection in ten modules; in a server it printed five warnings at every
start that no user can act on.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.dasf.testbed import free_port
from tests.fixtures import REPO

# Every module of ours that imports asyncssh (the third-party library with import-time
# warnings) itself, found from the source so a new one is covered; and the server's app.
SERVER_MODULES = ["jupyter_rpc.app"] + sorted(
    ".".join(path.relative_to(REPO).with_suffix("").parts)
    for path in (REPO / "jupyter_rpc").rglob("*.py")
    if re.search(r"^\s*(import|from) asyncssh\b", path.read_text(), re.MULTILINE)
)


@pytest.mark.parametrize("module", SERVER_MODULES)
def test_importing_a_server_module_shows_no_warning(module: str) -> None:
    """Each module imported first in a fresh interpreter with every warning shown."""
    code = (
        "import warnings, sys\n"
        "warnings.simplefilter('always')\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.simplefilter('always')\n"
        f"    import {module}\n"
        "for w in seen:\n"
        "    print(f'{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "", f"importing {module} warned:\n{proc.stdout}"


def test_the_filter_is_narrow() -> None:
    """Only the dependency's deprecation is silenced: the same category raised by any
    other module (ours included) still shows."""
    code = (
        "import warnings\n"
        "import jupyter_rpc.ssh\n"
        "from cryptography.utils import CryptographyDeprecationWarning\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.warn('ours', CryptographyDeprecationWarning)\n"
        "print(len(seen))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "1"


@pytest.mark.slow
def test_server_log_has_no_warning(tmp_path: Path) -> None:
    """A real ``jupyter server`` with the extension: start it, use the SSH-backed parts
    (the clusters route imports the pool, SFTP and prompts), stop it by PID; its log has
    no warning line."""
    port = free_port()
    token = "warnings-test-token"
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_TOKEN": token,
        "PYTHONWARNINGS": "",
    }
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                "--ServerApp.open_browser=False",
                "--ServerApp.allow_root=True",
                f"--ServerApp.root_dir={tmp_path}",
                "--ServerApp.jpserver_extensions={'jupyter_rpc': True}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=tmp_path,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"the server exited:\n{log_path.read_text()}"
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"no server after 60 s:\n{log_path.read_text()}") from None
                time.sleep(0.3)
        for route in ("clusters", "backends"):
            with urllib.request.urlopen(
                f"{base}/jupyter-rpc/{route}?token={token}", timeout=30
            ) as r:
                assert r.status == 200
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    text = log_path.read_text()
    assert "jupyter_rpc" in text, text  # the extension was loaded and logged
    warned = [line for line in text.splitlines() if "Warning" in line]
    assert not warned, "the server log has warnings:\n" + "\n".join(warned)
