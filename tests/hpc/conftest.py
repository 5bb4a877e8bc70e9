"""Fixtures for the HPC test bed (tests/hpc/testbed/up.sh): real sshd, jump host, Slurm.

Outside CI the tests skip with the reason when the bed is absent; with ``CI=true`` they fail.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

TB = pathlib.Path(os.environ.get("TESTBED_DIR", "/var/lib/hpc-testbed"))


@dataclass(frozen=True)
class HPCTestbed:
    """Paths and ports of the running test bed."""

    dir: pathlib.Path
    ssh_config: str
    key: str
    known_hosts: str
    port: int
    jump_port: int
    password_port: int
    user: str
    jump_user: str
    password: str | None = field(repr=False)
    python: str | None = None  # $TB/venv/bin/python with jupyter_rpc importable for the test user
    extra: dict[str, str] = field(default_factory=dict)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _absent(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"HPC test bed required in CI: {reason} (run tests/hpc/testbed/up.sh as root)")
    pytest.skip(f"HPC test bed absent: {reason} (start it with: sudo tests/hpc/testbed/up.sh)")


@pytest.fixture(scope="session")
def hpc_testbed() -> HPCTestbed:
    """The test bed, or a skip (a failure in CI) saying what is missing."""
    port = int(os.environ.get("TESTBED_SSH_PORT", "2222"))
    keys = TB / "keys"
    for path in (keys / "ssh_config", keys / "id_ed25519", keys / "known_hosts"):
        if not os.access(path, os.R_OK):
            _absent(f"{path} is missing or unreadable")
    if not _listening(port):
        _absent(f"nothing listens on 127.0.0.1:{port}")
    password_file = keys / "password"
    python = TB / "venv" / "bin" / "python"
    return HPCTestbed(
        dir=TB,
        ssh_config=str(keys / "ssh_config"),
        key=str(keys / "id_ed25519"),
        known_hosts=str(keys / "known_hosts"),
        port=port,
        jump_port=int(os.environ.get("TESTBED_JUMP_PORT", "2223")),
        password_port=int(os.environ.get("TESTBED_PASSWORD_PORT", "2224")),
        user=os.environ.get("TESTBED_USER", "hpcuser"),
        jump_user=os.environ.get("TESTBED_JUMP_USER", "jumpuser"),
        password=password_file.read_text().strip() if os.access(password_file, os.R_OK) else None,
        python=str(python) if os.access(python, os.X_OK) else None,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateSSHD:
    """An sshd of our own: the login node's config on another port, stopped by its PID."""

    def __init__(self, testbed: HPCTestbed, workdir: pathlib.Path) -> None:
        self.testbed = testbed
        self.port = free_port()
        self.pidfile = workdir / "sshd.pid"
        self.log = workdir / "sshd.log"
        self.config = workdir / "sshd.conf"
        lines = []
        for line in (testbed.dir / "etc" / "sshd_target.conf").read_text().splitlines():
            key = line.split(maxsplit=1)[0].lower() if line.strip() else ""
            if key in ("port", "pidfile", "listenaddress"):
                continue
            lines.append(line)
        lines += [f"Port {self.port}", "ListenAddress 127.0.0.1", f"PidFile {self.pidfile}"]
        self.config.write_text("\n".join(lines) + "\n")
        self.known_hosts = workdir / "known_hosts"
        text = pathlib.Path(testbed.known_hosts).read_text()
        self.known_hosts.write_text(text.replace(f"]:{testbed.port} ", f"]:{self.port} "))
        self.pid: int | None = None

    def start(self) -> None:
        sshd = shutil.which("sshd") or "/usr/sbin/sshd"
        subprocess.run([sshd, "-f", str(self.config), "-E", str(self.log)], check=True)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.pidfile.exists() and self.pidfile.read_text().strip() and _listening(self.port):
                self.pid = int(self.pidfile.read_text().strip())
                return
            time.sleep(0.05)
        raise RuntimeError(
            f"private sshd did not start on port {self.port}: {self.log.read_text()[-500:]}"
        )

    def stop(self) -> None:
        """SIGTERM the listener by PID. Its per-connection children go too (they are told by
        the listener's exit only on re-exec), so kill the children of that PID as well."""
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        children = subprocess.run(
            ["pgrep", "-P", str(pid)], capture_output=True, text=True
        ).stdout.split()
        for p in [pid, *map(int, children)]:
            try:
                os.kill(p, signal.SIGTERM)
            except ProcessLookupError:
                pass
        end = time.monotonic() + 5
        while time.monotonic() < end and _alive(pid):
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def private_sshd(hpc_testbed: HPCTestbed, tmp_path: pathlib.Path) -> Iterator[PrivateSSHD]:
    """A started sshd of our own (for fault tests: kill it, restart it on the same port)."""
    if os.geteuid() != 0:
        pytest.skip("a private sshd with the test bed's host keys needs root")
    server = PrivateSSHD(hpc_testbed, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
