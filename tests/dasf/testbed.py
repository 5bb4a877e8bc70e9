"""A real DASF stack on 127.0.0.1 for the tests: broker, demessaging backends and clients.

Plain Python (no pytest here; the fixtures are in :mod:`dasf.fixtures`). The DASF packages
live in their own virtual environment, ``<repo>/.dasf-venv``, built from
``tests/dasf/requirements.txt`` and reused while that file (and the Python version) stay
the same. jupyter_rpc's environment never imports them.

::

    env = ensure_venv()                         # DasfEnv: .python, .venv
    broker = start_broker(env)                  # dasf-broker-django served by daphne
    backend = start_backend(env, MODULES / "dasf_demo.py", "demo", broker)
    out = send_request(env, MODULES / "dasf_demo.py", "demo", broker.ws_url,
                       {"func_name": "add", "a": 2, "b": 40})
    broker.restart(); backend.stop(); broker.stop()

Every process started here is stopped by its PID (``stop()``/``kill()``), every wait has a
deadline, and all servers listen on 127.0.0.1 only. Logs of each process go to a file
(``.log_path``); errors raised here quote their tail.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_VENV",
    "HOST",
    "MODULES",
    "PROTECTED_TOPIC",
    "PUBLIC_TOPIC",
    "REQUIREMENTS",
    "USER",
    "Backend",
    "Broker",
    "ClientResult",
    "DasfEnv",
    "TestbedError",
    "ensure_venv",
    "free_port",
    "make_certificate",
    "send_request",
    "start_backend",
    "start_broker",
    "start_process",
    "start_runner",
]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
REQUIREMENTS = HERE / "requirements.txt"
SITE = HERE / "site"
MODULES = HERE / "modules"
DEFAULT_VENV = REPO / ".dasf-venv"
HOST = "127.0.0.1"
#: The broker user whose token (``Broker.token``) may use every topic created here.
USER = "dasf-user"
#: Topics every broker has from the start: anybody may use the first, only USER the second.
PUBLIC_TOPIC = "demo"
PROTECTED_TOPIC = "protected"

_MARKER = ".jupyter-rpc-requirements"


class TestbedError(RuntimeError):
    """The DASF test bed could not do what was asked (the message says why)."""

    __test__ = False  # not a test class for pytest


def _tail(path: Path | None, lines: int = 25) -> str:
    if path is None or not path.exists():
        return ""
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(text)


# -- the virtual environment ---------------------------------------------------------------


@dataclass(frozen=True)
class DasfEnv:
    """The DASF virtual environment."""

    venv: Path
    python: Path

    def bin(self, name: str) -> Path:
        """A console script of the venv (``daphne`` ...)."""
        return self.venv / "bin" / name


def requirements_hash() -> str:
    """What the venv was built from: requirements.txt and the interpreter's version."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes())
    digest.update(f"{sys.version_info.major}.{sys.version_info.minor}".encode())
    return digest.hexdigest()[:24]


def ensure_venv(
    venv: str | os.PathLike[str] | None = None,
    *,
    python: str | None = None,
    timeout: float = 900.0,
) -> DasfEnv:
    """Return the DASF venv, building it first when missing or out of date.

    Parameters
    ----------
    venv
        Where it lives (default: ``$JUPYTER_RPC_DASF_VENV`` or ``<repo>/.dasf-venv``).
    python
        The interpreter to build it with (default: the one running this code).
    timeout
        Seconds the whole ``pip install`` may take.

    Raises
    ------
    TestbedError
        When the venv cannot be created or pip fails (with pip's last lines).
    """
    path = Path(venv or os.environ.get("JUPYTER_RPC_DASF_VENV") or DEFAULT_VENV)
    env = DasfEnv(path, path / "bin" / "python")
    marker = path / _MARKER
    wanted = requirements_hash()
    if env.python.exists() and marker.exists() and marker.read_text().strip() == wanted:
        return env
    path.parent.mkdir(parents=True, exist_ok=True)
    log = path.parent / f"{path.name}-build.log"
    with open(log, "w") as out:
        steps = [
            [python or sys.executable, "-m", "venv", "--clear", str(path)],
            [str(env.python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
            + ["-r", str(REQUIREMENTS)],
        ]
        deadline = time.monotonic() + timeout
        for cmd in steps:
            try:
                proc = subprocess.run(
                    cmd,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    timeout=max(1.0, deadline - time.monotonic()),
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise TestbedError(
                    f"building the DASF venv took more than {timeout:.0f} s: {' '.join(cmd)}"
                ) from exc
            if proc.returncode != 0:
                raise TestbedError(
                    f"building the DASF venv at {path} failed ({' '.join(cmd[:4])} ... exit "
                    f"{proc.returncode}); last lines of {log}:\n{_tail(log)}"
                )
    marker.write_text(wanted + "\n")
    return env


# -- processes -----------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


class _Process:
    """A child process started here, logging to a file, stopped by its PID."""

    def __init__(self, cmd: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: Path):
        self.cmd = [str(c) for c in cmd]
        self.log_path = log
        with open(log, "ab") as out:
            self._popen = subprocess.Popen(
                self.cmd,
                cwd=str(cwd),
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal stays with pytest
            )
        self.pid = self._popen.pid

    def alive(self) -> bool:
        return self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._popen.poll()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; waits until it is gone."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            try:
                self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return
        self._popen.wait(5)

    def kill(self) -> None:
        """SIGKILL at once (a crash, for fault tests)."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self._popen.wait(5)


def _subprocess_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PYTHONUNBUFFERED"] = "1"
    # demessaging's clients draw progress with curses unless told otherwise
    env["DASF_REPORT_SHOW_METHOD"] = "NONE"
    env.update(extra or {})
    return env


# -- the broker ----------------------------------------------------------------------------


class Broker:
    """A dasf-broker-django served by daphne on 127.0.0.1 (see :func:`start_broker`).

    Attributes
    ----------
    ws_url
        ``ws://127.0.0.1:PORT/ws``: producers at ``ws_url/<topic>``, consumers at
        ``ws_url/<topic>/<subscription>``.
    http_url
        ``http://127.0.0.1:PORT`` (status views at ``/dasf-broker/<topic>/status/``).
    token
        A DRF token of :data:`USER`, who may publish and consume on every topic made here
        (send it as ``Authorization: Token <token>``).
    protected_topic, public_topic
        The two topics every broker starts with.
    state
        The folder with the sqlite database and the logs.
    """

    def __init__(
        self,
        env: DasfEnv,
        state: Path,
        port: int,
        token: str,
        store_messages: str,
        owns_state: bool,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.env = env
        self.state = state
        self.port = port
        self.token = token
        self.store_messages = store_messages
        self.tls = tls
        #: The certificate to trust for ``wss://`` (a self-signed one), None without TLS.
        self.ca_bundle = tls[0] if tls else None
        secure = "s" if tls else ""
        self.ws_url = f"ws{secure}://{HOST}:{port}/ws"
        self.http_url = f"http{secure}://{HOST}:{port}"
        self.public_topic = PUBLIC_TOPIC
        self.protected_topic = PROTECTED_TOPIC
        self.log_path = state / "broker.log"
        self._owns_state = owns_state
        self._process: _Process | None = None

    @property
    def pid(self) -> int | None:
        """The daphne process's PID (None when stopped)."""
        return self._process.pid if self._process is not None else None

    @property
    def db_path(self) -> Path:
        return self.state / "broker.sqlite3"

    def _env(self) -> dict[str, str]:
        return _subprocess_env(
            {"DASF_TESTBROKER_STATE": str(self.state), "DASF_STORE_MESSAGES": self.store_messages}
        )

    def start(self, timeout: float = 30.0) -> Broker:
        """Start daphne (on this broker's port) and wait until it accepts connections."""
        if self._process is not None and self._process.alive():
            return self
        if _accepts(self.port):
            raise TestbedError(f"port {HOST}:{self.port} is already taken by another process")
        self._process = _Process(
            [self.env.bin("daphne"), *self._endpoint(), "testbroker.asgi:application"],
            cwd=SITE,
            env=self._env(),
            log=self.log_path,
        )
        deadline = time.monotonic() + timeout
        while not _accepts(self.port):
            if not self._process.alive():
                raise TestbedError(
                    f"the broker exited with {self._process.returncode} at start:\n"
                    + _tail(self.log_path)
                )
            if time.monotonic() > deadline:
                self._process.stop()
                raise TestbedError(
                    f"the broker did not accept connections within {timeout:.0f} s:\n"
                    + _tail(self.log_path)
                )
            time.sleep(0.1)
        return self

    def _endpoint(self) -> list[str]:
        # a short close timeout: otherwise daphne may wait 10 s for a consumer's
        # application instance after its client went away, and SIGTERM seems to hang
        options = ["--application-close-timeout", "1"]
        if self.tls is None:
            return ["-b", HOST, "-p", str(self.port), *options]
        cert, key = self.tls
        return ["-e", f"ssl:{self.port}:interface={HOST}:privateKey={key}:certKey={cert}", *options]

    def stop(self, grace: float = 2.0) -> None:
        """Stop daphne by its PID (the database stays, so :meth:`start` continues it).

        It gets ``grace`` seconds after SIGTERM, then SIGKILL (sqlite keeps the
        database consistent).
        """
        if self._process is not None:
            self._process.stop(grace)
            self._process = None

    def kill(self) -> None:
        """SIGKILL daphne (a broker crash)."""
        if self._process is not None:
            self._process.kill()
            self._process = None

    def restart(self, downtime: float = 0.0, timeout: float = 30.0) -> Broker:
        """Stop, wait ``downtime`` seconds, start again on the same port with the same DB."""
        self.stop()
        if downtime:
            time.sleep(downtime)
        return self.start(timeout)

    def close(self) -> None:
        """Stop, and delete the state folder if this broker created it."""
        self.stop()
        if self._owns_state:
            shutil.rmtree(self.state, ignore_errors=True)

    def create_topic(self, name: str, public: bool = True, store: str | None = None) -> str:
        """Create a topic (``dasf_topic --new``); public: anybody may use it, else only
        :data:`USER` (with :attr:`token`). ``store``: its ``--store-messages`` mode.
        Returns the name."""
        _provision(
            self.env, self.state, {"topics": [{"name": name, "public": public, "store": store}]}
        )
        return name

    def backend_seen_since(self, topic: str, since: dt.datetime) -> bool:
        """True when a backend on ``topic`` answered the broker (a pong) after ``since`` (UTC).

        The broker asks every backend whose consumer socket connects for its api_info and
        stamps ``last_pong`` when the answer (or an ack) arrives.
        """
        try:
            with contextlib.closing(sqlite3.connect(self.db_path, timeout=5)) as db:
                row = db.execute(
                    "SELECT last_pong FROM dasf_broker_brokertopic WHERE slug = ?", (topic,)
                ).fetchone()
        except sqlite3.Error:
            return False
        if not row or not row[0]:
            return False
        pong = dt.datetime.fromisoformat(str(row[0]).replace(" ", "T"))
        if pong.tzinfo is None:
            pong = pong.replace(tzinfo=dt.timezone.utc)
        return pong >= since

    def __repr__(self) -> str:
        return f"<Broker {self.ws_url} pid={self.pid}>"


def _provision(env: DasfEnv, state: Path, spec: dict[str, Any], timeout: float = 60.0) -> dict:
    proc = subprocess.run(
        [str(env.python), "provision.py", json.dumps(spec)],
        cwd=SITE,
        env=_subprocess_env({"DASF_TESTBROKER_STATE": str(state)}),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if proc.returncode != 0:
        raise TestbedError(f"preparing the broker database failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


_template_lock = threading.Lock()
_templates: dict[Path, tuple[Path, str]] = {}


def _template_db(env: DasfEnv) -> tuple[Path, str]:
    """A migrated database with the default topics, made once per process and copied."""
    with _template_lock:
        if env.venv not in _templates:
            state = Path(tempfile.mkdtemp(prefix="dasf-broker-template-"))
            result = _provision(
                env,
                state,
                {
                    "migrate": True,
                    "user": USER,
                    "topics": [
                        {"name": PUBLIC_TOPIC, "public": True},
                        {"name": PROTECTED_TOPIC, "public": False},
                    ],
                },
                timeout=120,
            )
            _templates[env.venv] = (state / "broker.sqlite3", result["token"])
        return _templates[env.venv]


_CERT_SCRIPT = """
import datetime, ipaddress, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (
    x509.CertificateBuilder().subject_name(name).issuer_name(name)
    .public_key(key.public_key()).serial_number(x509.random_serial_number())
    .not_valid_before(now - datetime.timedelta(minutes=5))
    .not_valid_after(now + datetime.timedelta(days=2))
    .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    .sign(key, hashes.SHA256())
)
open(sys.argv[1], "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open(sys.argv[2], "wb").write(key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
"""


def make_certificate(env: DasfEnv, folder: str | os.PathLike[str]) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the DASF venv's cryptography):
    ``(cert.pem, key.pem)`` in ``folder``."""
    cert, key = Path(folder) / "cert.pem", Path(folder) / "key.pem"
    subprocess.run(
        [str(env.python), "-c", _CERT_SCRIPT, str(cert), str(key)],
        check=True,
        timeout=60,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    return cert, key


def start_broker(
    env: DasfEnv | None = None,
    *,
    state: str | os.PathLike[str] | None = None,
    port: int | None = None,
    store_messages: str = "cache",
    topics: Sequence[str] = (),
    tls: bool = False,
    timeout: float = 30.0,
) -> Broker:
    """Start a fresh broker on 127.0.0.1 and wait until it accepts connections.

    Parameters
    ----------
    env
        The DASF venv (default: :func:`ensure_venv`).
    state
        Folder for its database and log (default: a new temporary folder, deleted by
        :meth:`Broker.close`).
    port
        Default: a free port.
    store_messages
        dasf_broker's ``DASF_STORE_MESSAGES``: ``cache`` (the default: a request waits
        for a backend), ``cacheall``, ``store`` or ``disabled`` (lost without a backend).
    topics
        Extra public topics to create (besides :data:`PUBLIC_TOPIC` and
        :data:`PROTECTED_TOPIC`).
    tls
        Serve ``wss://``/``https://`` with a fresh self-signed certificate for
        127.0.0.1 (:attr:`Broker.ca_bundle` is the file to trust).
    """
    env = env or ensure_venv()
    template, token = _template_db(env)
    owns = state is None
    folder = Path(state) if state is not None else Path(tempfile.mkdtemp(prefix="dasf-broker-"))
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "broker.sqlite3").exists():
        shutil.copyfile(template, folder / "broker.sqlite3")
    certs = make_certificate(env, folder) if tls else None
    broker = Broker(env, folder, port or free_port(), token, store_messages, owns, certs)
    for name in topics:
        broker.create_topic(name)
    try:
        for attempt in range(3):
            try:
                return broker.start(timeout)
            except TestbedError:
                # another process may have grabbed the free port in between
                if port is not None or attempt == 2 or not _accepts(broker.port):
                    raise
                broker = Broker(env, folder, free_port(), token, store_messages, owns, certs)
    except BaseException:
        broker.close()
        raise
    raise AssertionError("unreachable")


# -- backends and clients ------------------------------------------------------------------


class Backend(_Process):
    """A backend process listening on a broker topic (see :func:`start_backend`)."""

    def __init__(
        self, cmd: Sequence[str], *, topic: str, cwd: Path, env: Mapping[str, str], log: Path
    ):
        super().__init__(cmd, cwd=cwd, env=env, log=log)
        self.topic = topic

    def wait_online(self, broker: Broker, since: dt.datetime, timeout: float = 30.0) -> Backend:
        """Wait until the broker has heard from a backend on our topic after ``since``."""
        deadline = time.monotonic() + timeout
        while not broker.backend_seen_since(self.topic, since):
            if not self.alive():
                raise TestbedError(
                    f"the backend exited with {self.returncode}:\n{_tail(self.log_path)}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise TestbedError(
                    f"the backend on topic {self.topic!r} did not come online within "
                    f"{timeout:.0f} s:\n{_tail(self.log_path)}"
                )
            time.sleep(0.1)
        return self

    def __repr__(self) -> str:
        return f"<Backend {self.topic!r} pid={self.pid}>"


def _header_args(token: str | None) -> list[str]:
    if not token:
        return []
    return ["--header", json.dumps({"authorization": f"Token {token}"})]


def start_process(
    cmd: Sequence[str | os.PathLike[str]],
    topic: str,
    broker: Broker | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    log_dir: str | os.PathLike[str] | None = None,
) -> Backend:
    """Start any backend command (e.g. ``jupyter-rpc serve ... --broker``) on ``topic``.

    With ``broker``, wait (at most ``timeout`` s) until the broker has heard from it.
    Its output goes to a log file (``.log_path``).
    """
    if log_dir is None:
        log_dir = (broker.state if broker is not None else Path(tempfile.gettempdir())) / "logs"
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"backend-{topic}-{time.time_ns()}.log"
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(milliseconds=50)
    backend = Backend(
        [str(c) for c in cmd],
        topic=topic,
        cwd=Path(cwd) if cwd else Path.cwd(),
        env=_subprocess_env(env),
        log=log,
    )
    if broker is not None:
        backend.wait_online(broker, since, timeout)
    return backend


def start_backend(
    env: DasfEnv,
    module: str | os.PathLike[str],
    topic: str,
    broker: Broker | str,
    *,
    token: str | None = None,
    timeout: float = 30.0,
    extra_args: Sequence[str] = (),
) -> Backend:
    """Start a demessaging backend module (a .py file) listening on ``topic``.

    Runs ``python MODULE -t TOPIC --websocket-url URL [--header ...] listen`` in the DASF
    venv. ``broker`` is a :class:`Broker` (then wait until the backend is online) or a
    websocket URL (no wait).
    """
    module = Path(module).resolve()
    url = broker.ws_url if isinstance(broker, Broker) else broker
    cmd = [str(env.python), str(module), "-t", topic, "--websocket-url", url]
    cmd += _header_args(token) + list(extra_args) + ["listen"]
    return start_process(
        cmd,
        topic,
        broker if isinstance(broker, Broker) else None,
        cwd=module.parent,
        timeout=timeout,
    )


def start_runner(
    module: str | os.PathLike[str],
    topic: str,
    broker: Broker | str,
    *,
    python: str | os.PathLike[str] | None = None,
    token: str | None = None,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    wait: bool = True,
    timeout: float = 30.0,
) -> Backend:
    """Start jupyter_rpc's own runner as a DASF backend: ``python -m jupyter_rpc.backend
    serve MODULE --broker URL --topic TOPIC [--token-env ...]``.

    ``python`` defaults to this interpreter (jupyter_rpc's environment); with the DASF
    venv's python the runner runs from this source tree (``PYTHONPATH``), next to
    demessaging, which modules written for demessaging import. The token is passed in an
    environment variable (``--token-env``), as a user should. ``wait``: until the broker
    has heard from it (needs a :class:`Broker`).
    """
    url = broker.ws_url if isinstance(broker, Broker) else broker
    cmd = [str(python or sys.executable), "-m", "jupyter_rpc.backend", "serve", str(module)]
    cmd += ["--broker", url, "--topic", topic]
    extra_env = dict(env or {})
    if token is not None:
        extra_env["JUPYTER_RPC_TEST_TOKEN"] = token
        cmd += ["--token-env", "JUPYTER_RPC_TEST_TOKEN"]
    if python is not None and Path(python).resolve() != Path(sys.executable).resolve():
        extra_env["PYTHONPATH"] = str(REPO)
    cmd += list(extra_args)
    waiting = broker if (wait and isinstance(broker, Broker)) else None
    logs = broker.state / "logs" if isinstance(broker, Broker) else None
    return start_process(
        cmd, topic, waiting, cwd=REPO, env=extra_env, timeout=timeout, log_dir=logs
    )


@dataclass
class ClientResult:
    """What a demessaging client command did."""

    returncode: int | None  # None: killed at the timeout
    stdout: str
    stderr: str
    seconds: float

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def value(self) -> str:
        """The printed result: the last stdout line that is not a log line ("" if none)."""
        for line in reversed(self.stdout.splitlines()):
            if line.strip() and " - INFO - " not in line and " - DEBUG - " not in line:
                return line.strip()
        return ""

    @property
    def error(self) -> str:
        """The last line of stderr (demessaging's exception text on failure)."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else ""


def send_request(
    env: DasfEnv,
    module: str | os.PathLike[str],
    topic: str,
    ws_url: str,
    request: Mapping[str, Any] | str,
    *,
    token: str | None = None,
    timeout: float = 30.0,
) -> ClientResult:
    """One call with demessaging's own client: ``python MODULE -t TOPIC --websocket-url URL
    send-request JSON``.

    ``module`` must be a demessaging module describing the remote API (the client validates
    the request with it). demessaging's client never times out by itself: after
    ``timeout`` seconds it is killed and ``returncode`` is None. On success it prints the
    result model's repr, e.g. ``root=42``.
    """
    module = Path(module).resolve()
    text = request if isinstance(request, str) else json.dumps(request)
    cmd = [str(env.python), str(module), "-t", topic, "--websocket-url", ws_url]
    cmd += _header_args(token) + ["send-request", text]
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        cwd=str(module.parent),
        env=_subprocess_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=5)
        code = None
    return ClientResult(code, out, err, time.monotonic() - start)


def main(argv: Sequence[str] | None = None) -> int:
    """``python tests/dasf/testbed.py [venv]``: build the DASF venv and print its python."""
    args = list(sys.argv[1:] if argv is None else argv)
    start = time.monotonic()
    env = ensure_venv(args[0] if args else None)
    print(f"{env.python} ({time.monotonic() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
