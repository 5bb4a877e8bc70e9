"""Shared fixtures: a real Jupyter server with the extension and real backend processes.

Tests are laid out by subject (``server/``, ``backend/``, ``transports/``, ``notebook/``,
``schedulers/``, ``files/``, ``ssh/``, ``dasf/``); what needs a test bed is marked by what
it uses (``hpc``: the HPC test bed of ``tests/hpc/testbed``; ``dasf``: the DASF test bed of
``tests/dasf``), so ``pytest -m "not hpc and not dasf"`` runs with neither. The HPC
test bed's fixtures are the plugin :mod:`tests.fixtures.hpc`; the DASF test bed's live
beside its tests in ``tests/dasf``.

Every response that server sends under ``jupyter-rpc/`` is checked against the REST
contract (``jupyter_rpc/rest/openapi.yaml``): a request through ``jp_fetch`` (and so
``rpc``) fails at once on a response the description does not allow; any other client
(a notebook kernel, ``server_url``) fails the test at teardown."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_rpc.rest import ResponseRecorder
from tests.fixtures import FAULTY

pytest_plugins = ("pytest_jupyter.jupyter_server", "tests.fixtures.hpc")

#: marker -> what a test uses that needs its test bed (fixture names or a folder)
TESTBED_MARKERS = {
    "hpc": ("hpc_testbed",),
    "dasf": ("dasf_env",),
    "hub": ("hub",),
}


#: seconds a test of tests/hardening may take unless it says otherwise (a hang fails one test)
HARDENING_TIMEOUT = 60


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the test beds it needs, from the fixtures it uses (directly or
    through other fixtures) and, for the DASF bed, its folder (some of its tests start
    the bed's processes themselves); tests/hardening's tests ``hardening``, each bounded
    by ``HARDENING_TIMEOUT`` unless it has a timeout mark."""
    dasf = pathlib.Path(__file__).parent / "dasf"
    hardening = pathlib.Path(__file__).parent / "hardening"
    for item in items:
        if hardening in item.path.parents:
            item.add_marker("hardening")
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(HARDENING_TIMEOUT))
        used = set(getattr(item, "fixturenames", ()))
        for marker, fixtures in TESTBED_MARKERS.items():
            if used.intersection(fixtures) or (marker == "dasf" and dasf in item.path.parents):
                item.add_marker(marker)


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_rpc": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        },
        "RPCApp": {
            "max_request_size": 256 * 1024,
            "backends": {
                "examples": {"module": "jupyter_rpc.examples.demo"},
                "geo": {"module": "jupyter_rpc.examples.geo"},
                "faulty": {"module": FAULTY},
                "strict": {"module": FAULTY, "timeout": 1.0},
                "broken": {"module": "no_such_module_for_jupyter_rpc", "start_timeout": 20},
            },
        },
    }


@pytest.fixture
def with_local_cluster(tmp_path: pathlib.Path) -> Any:
    """``with_local_cluster(config, home, display_name=..., jobs_refresh_min=...)``: the
    server config plus the ``local`` cluster over the folder ``home`` (its one root
    ``home`` and its working folder), local job state in ``tmp_path/state``. Keywords go
    to the cluster where they are cluster keys, else to ``RPCApp``."""
    cluster_keys = {"display_name", "description", "submit"}

    def make(config: dict[str, Any], home: pathlib.Path, **settings: Any) -> dict[str, Any]:
        local = {"scheduler": "local", "roots": {"home": str(home)}, "workdir": str(home)}
        local.update({k: v for k, v in settings.items() if k in cluster_keys})
        app = {k: v for k, v in settings.items() if k not in cluster_keys}
        return {
            **config,
            "RPCApp": {
                **config["RPCApp"],
                "clusters": {"local": local},
                "state_dir": str(tmp_path / "state"),
                **app,
            },
        }

    return make


@pytest.fixture
def home(tmp_path: pathlib.Path) -> pathlib.Path:
    """The local cluster's one root: a folder with ``data/notes.txt``."""
    root = tmp_path / "home"
    (root / "data").mkdir(parents=True)
    (root / "data" / "notes.txt").write_text("first line\n")
    return root


@pytest.fixture
def rest_contract() -> ResponseRecorder:
    """The responses of this test's server, checked against the OpenAPI description
    (``.problems``: what did not fit; ``.checked``: how many responses were seen)."""
    return ResponseRecorder()


@pytest.fixture
def jp_serverapp(jp_serverapp: Any, rest_contract: ResponseRecorder) -> Any:
    """pytest-jupyter's server, its every ``jupyter-rpc/`` response checked."""
    rest_contract.install(jp_serverapp.web_app, jp_serverapp.base_url)
    yield jp_serverapp
    if rest_contract.problems:
        pytest.fail(
            "responses the REST contract (jupyter_rpc/rest/openapi.yaml) does not allow:\n"
            + "\n".join(rest_contract.problems),
            pytrace=False,
        )


@pytest.fixture
def jp_fetch(jp_fetch: Any, rest_contract: ResponseRecorder) -> Any:
    """pytest-jupyter's ``jp_fetch``; a response the REST contract does not allow fails
    the request (an AssertionError naming what does not fit)."""

    async def fetch(*parts: str, **kwargs: Any) -> Any:
        seen = len(rest_contract.problems)
        try:
            return await jp_fetch(*parts, **kwargs)
        finally:
            problems = rest_contract.problems[seen:]
            if problems:
                del rest_contract.problems[seen:]  # reported here, not again at teardown
                raise AssertionError(
                    "the REST contract (jupyter_rpc/rest/openapi.yaml) does not allow "
                    "this response:\n" + "\n".join(problems)
                )

    return fetch


@pytest.fixture
def rpc(jp_fetch: Any) -> Any:
    """``await rpc("GET", "backends")`` → (status, JSON body), errors included."""

    async def fetch(
        method: str, *parts: str, body: Any = None, raw: bytes | None = None, **kwargs: Any
    ):
        if raw is None and body is not None:
            raw = json.dumps(body).encode()
        try:
            response = await jp_fetch("jupyter-rpc", *parts, method=method, body=raw, **kwargs)
        except HTTPClientError as exc:
            assert exc.response is not None, exc
            return exc.code, json.loads(exc.response.body)
        return response.code, json.loads(response.body) if response.body else None

    return fetch


@pytest.fixture
def server_url(
    jp_serverapp: Any, jp_http_port: int, jp_base_url: str, http_server_client: Any
) -> tuple[str, str]:
    """The test server's URL and token, for clients outside the test's loop (notebook
    code, kernels); ``http_server_client`` makes the server listen."""
    return f"http://127.0.0.1:{jp_http_port}{jp_base_url}", jp_serverapp.identity_provider.token
