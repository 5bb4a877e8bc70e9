"""The two distributions built from this repository.

``jupyter-rpc-backend`` (``packages/jupyter-rpc-backend``) ships ``jupyter_rpc/backend``,
``jupyter_rpc/protocol`` and the example module (``jupyter_rpc/examples``): what a login
node needs to serve a module, without JupyterLab, the Jupyter server or tornado. ``jupyter_rpc`` ships the rest and depends on it. Built
here as ``scripts/test.sh`` builds them (no build isolation, tools from the dev lock) and
installed the way a cluster's admin installs the backend: the wheel and its locked
dependencies (``requirements/backend.txt``) in a fresh venv.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.version import Version

from jupyter_rpc import protocol
from tests.fixtures import REPO

BACKEND_DIST = REPO / "packages" / "jupyter-rpc-backend"
#: Prints the files a distribution installed, relative to site-packages.
LIST_FILES = (
    "import sys, importlib.metadata as m; "
    "print('\\n'.join(str(f).replace('\\\\', '/') for f in m.files(sys.argv[1])))"
)

ADD = '{"func_name": "add", "a": 2, "b": 40}'
MODULE = '''\
"""A backend module as a scientist writes it."""

from jupyter_rpc.backend import Progress


def scale(values: list[float], factor: float = 2.0, *, progress: Progress) -> list[float]:
    """Multiply every value by ``factor``."""
    progress.start("Scaling", steps=len(values))
    out = []
    for value in values:
        with progress.step(f"value {value}"):
            out.append(value * factor)
    return out
'''


def run(*cmd: str | Path, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` with an environment that points at nothing of this checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(  # noqa: S603 - argv built from test constants
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def build_wheel(source: Path, outdir: Path) -> Path:
    done = run(
        sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", outdir, source,
        cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    name = "jupyter_rpc_backend" if source == BACKEND_DIST else "jupyter_rpc"
    (wheel,) = outdir.glob(f"{name}-*.whl")
    return wheel


class Env:
    """A fresh venv (no system site-packages) outside the checkout."""

    def __init__(self, path: Path) -> None:
        venv.create(path, with_pip=True, clear=True)
        self.path = path
        self.python = path / "bin" / "python"
        self.site = Path(
            self.run("-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
        )

    def run(self, *args: str | Path, stdin: str | None = None, cwd: Path | None = None) -> str:
        done = run(self.python, *args, cwd=cwd or self.path, stdin=stdin)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done.stdout

    def pip(self, *args: str | Path) -> str:
        return self.run("-m", "pip", "--disable-pip-version-check", *args)

    def fails(self, code: str) -> str:
        """The error ``python -c code`` ends with (asserting that it fails)."""
        done = run(self.python, "-c", code, cwd=self.path)
        assert done.returncode != 0, f"{code!r} did not fail"
        return done.stderr.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def login_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Env, Path]]:
    """A venv with only the backend wheel and its locked dependencies; the wheels' folder."""
    root = tmp_path_factory.mktemp("login-node")
    wheels = root / "wheels"
    backend_wheel = build_wheel(BACKEND_DIST, wheels)
    env = Env(root / "venv")
    env.pip("install", "--require-hashes", "-r", REPO / "requirements" / "backend.txt")
    env.pip("install", "--no-deps", backend_wheel)
    env.pip("check")
    yield env, wheels


def serve_one_call(env: Env, module_dir: Path) -> object:
    """Start ``python -m jupyter_rpc.backend mymodel``, make one call over its stdio and
    return the result (its progress must have come through too)."""
    request = {"func_name": "scale", "values": [1.5, 2], "factor": 3}
    line = protocol.dumps_line(
        protocol.message(protocol.REQUEST, "7", payload=protocol.encode_payload(request))
    )
    with subprocess.Popen(  # noqa: S603 - fixed argv
        [str(env.python), "-m", "jupyter_rpc.backend", "mymodel"],
        cwd=module_dir,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(line)
        proc.stdin.flush()
        kinds = []
        reply = None
        for out in proc.stdout:
            msg = protocol.loads_line(out)
            kinds.append(msg["properties"]["messageType"])
            if kinds[-1] == protocol.RESPONSE:
                reply = msg
                break
        proc.stdin.close()
        assert proc.wait(20) == 0
    assert reply is not None, f"no response, only {kinds}"
    assert reply["properties"]["status"] == protocol.SUCCESS, reply
    assert protocol.PROGRESS in kinds
    return protocol.decode_payload(reply["payload"])


@pytest.mark.slow
@pytest.mark.timeout(600)  # building the wheel and the venv first
def test_the_backend_wheel_serves_a_module_without_the_server(
    login_node: tuple[Env, Path], tmp_path: Path
) -> None:
    env, _ = login_node
    (tmp_path / "mymodel.py").write_text(MODULE)

    # the runner over stdio, as the SSH transport starts it on a login node
    assert serve_one_call(env, tmp_path) == [4.5, 6.0]
    # the CLI script of the wheel
    called = run(
        env.path / "bin" / "jupyter-rpc", "call", "mymodel", '{"func_name": "scale", "values": [1]}',
        cwd=tmp_path,
    )  # fmt: skip
    assert (called.returncode, called.stdout) == (0, "[2.0]\n"), called.stderr
    schema = json.loads(env.run("-m", "jupyter_rpc.backend", "schema", "mymodel", cwd=tmp_path))
    assert [f["name"] for f in schema["functions"]] == ["scale"]
    # the example module, which the SSH tests serve on the HPC test bed
    added = env.run("-m", "jupyter_rpc.backend", "call", "jupyter_rpc.examples.demo", ADD)
    assert added == "42\n"

    # nothing of the Jupyter server came with it; jupyter_rpc is a namespace package here
    assert env.fails("import jupyter_server").endswith("No module named 'jupyter_server'")
    assert env.fails("import tornado").endswith("No module named 'tornado'")
    assert env.fails("import jupyterlab").endswith("No module named 'jupyterlab'")
    where = env.run(
        "-c",
        "import jupyter_rpc, jupyter_rpc.backend.broker, jupyter_rpc.protocol.broker as b; "
        "print(jupyter_rpc.__file__, b.__file__)",
    ).split()
    assert where[0] == "None"
    assert Path(where[1]).is_relative_to(env.site)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_installing_or_removing_one_distribution_leaves_the_others_files(
    login_node: tuple[Env, Path], tmp_path: Path
) -> None:
    env, wheels = login_node
    main_wheel = build_wheel(REPO, wheels)
    env.pip("install", "--no-deps", main_wheel)  # its own dependencies are not needed here
    files = {
        name: set(env.run("-c", LIST_FILES, name).split())
        for name in ("jupyter-rpc-backend", "jupyter_rpc")
    }
    shipped = {
        name: {f for f in paths if f.startswith("jupyter_rpc/")} for name, paths in files.items()
    }
    assert not files["jupyter-rpc-backend"] & files["jupyter_rpc"]
    theirs = {"backend", "protocol", "examples"}
    assert {f.split("/")[1] for f in shipped["jupyter-rpc-backend"]} == theirs
    assert not {f for f in shipped["jupyter_rpc"] if f.split("/")[1] in theirs}
    assert "jupyter_rpc/__init__.py" in shipped["jupyter_rpc"]
    assert "../../../bin/jupyter-rpc" in files["jupyter-rpc-backend"]  # the script is the backend's

    (tmp_path / "mymodel.py").write_text(MODULE)
    env.pip("uninstall", "-y", "jupyter_rpc")
    assert serve_one_call(env, tmp_path) == [4.5, 6.0]
    assert (env.path / "bin" / "jupyter-rpc").exists()
    assert not (env.site / "jupyter_rpc" / "__init__.py").exists()

    env.pip("install", "--no-deps", main_wheel)
    env.pip("uninstall", "-y", "jupyter-rpc-backend")
    missing = [f for f in shipped["jupyter_rpc"] if not (env.site / f).exists()]
    assert not missing
    assert not (env.site / "jupyter_rpc" / "backend").exists()
    env.pip("uninstall", "-y", "jupyter_rpc")
    env.pip("install", "--no-deps", next(wheels.glob("jupyter_rpc_backend-*.whl")))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_two_may_live_in_different_site_folders(
    login_node: tuple[Env, Path], tmp_path: Path
) -> None:
    """The backend in the venv's site-packages, jupyter_rpc in another folder on the path
    (a system-wide install beside a user's): both halves of the package import."""
    env, wheels = login_node
    main_wheel = next(wheels.glob("jupyter_rpc-*.whl"), None) or build_wheel(REPO, wheels)
    other = tmp_path / "other-site"
    env.pip("install", "--no-deps", "--target", other, main_wheel)
    assert not (other / "jupyter_rpc" / "backend").exists()
    code = (
        "import jupyter_rpc, jupyter_rpc.backend as b, jupyter_rpc.protocol as p; "
        "print(jupyter_rpc.__file__, b.__file__, p.__file__)"
    )
    done = subprocess.run(  # noqa: S603 - argv built from test constants
        [str(env.python), "-c", code],
        cwd=tmp_path,
        env={
            **{k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
            "PYTHONPATH": str(other),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    main, backend, proto = (Path(line) for line in done.stdout.split())
    assert main.is_relative_to(other)
    assert backend.is_relative_to(env.site) and proto.is_relative_to(env.site)


def test_one_version_and_one_licence_for_both_distributions() -> None:
    npm_version = Version(json.loads((REPO / "package.json").read_text())["version"])
    pyproject = (REPO / "pyproject.toml").read_text()
    pins = re.findall(r'"jupyter-rpc-backend==([^"]+)"', pyproject)
    assert [Version(pin) for pin in pins] == [npm_version], (
        "pyproject.toml must depend on jupyter-rpc-backend==<package.json's version>"
    )
    backend = (BACKEND_DIST / "pyproject.toml").read_text()
    assert 'path = "../../package.json"' in backend  # its version is package.json's too
    assert (BACKEND_DIST / "LICENSE").read_text() == (REPO / "LICENSE").read_text()
