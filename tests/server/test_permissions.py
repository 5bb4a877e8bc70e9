"""Permissions (issue 13 item 3): running code needs ``execute`` on ``jupyter_rpc``,
changing files or clusters ``write``, reading ``read``, asked of the server's
``ServerApp.authorizer_class`` (JupyterHub's scopes can grant read and write without
execute). A real server with a small authorizer that grants only some actions."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer
from traitlets import List, Unicode

from jupyter_rpc.handlers import routes
from jupyter_rpc.handlers.base import ACTIONS, RPCHandler
from jupyter_rpc.rest.contract import METHODS, load_openapi
from jupyter_rpc.rest.docs import with_permissions


class GrantingAuthorizer(Authorizer):
    """Grants the configured actions on every resource, nothing else."""

    granted = List(Unicode(), config=True)

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return action in self.granted


@pytest.fixture
def granted() -> list[str]:
    return ["read", "write", "execute"]


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], home: Path, with_local_cluster: Any, granted: list[str]
) -> dict[str, Any]:
    config = with_local_cluster(jp_server_config, home)
    config["ServerApp"] = {**config["ServerApp"], "authorizer_class": GrantingAuthorizer}
    config["GrantingAuthorizer"] = {"granted": granted}
    return config


def assert_forbidden(status: int, err: dict[str, Any], action: str) -> None:
    assert status == 403, (status, err)
    assert err["code"] == "auth.forbidden", err
    assert f"'{action}' permission" in err["message"], err["message"]


@pytest.mark.parametrize("granted", [["read", "write"]])
async def test_without_execute_no_code_runs_but_reads_and_file_writes_work(
    rpc: Any, jp_fetch: Any, home: Path
) -> None:
    # a call of a backend function: refused, and no call was started
    status, err = await rpc(
        "POST", "backends", "examples", "calls", body={"function": "add", "arguments": {"a": 1}}
    )
    assert_forbidden(status, err, "execute")
    assert "run code" in err["message"]
    assert await rpc("GET", "calls") == (200, {"calls": []})

    # a job that would leave a file: refused (submit, test-submit, resubmit)
    marker = home / "ran.txt"
    job = {"script": f"#!/bin/sh\ntouch {marker}\n"}
    status, err = await rpc("POST", "clusters", "local", "jobs", body=job)
    assert_forbidden(status, err, "execute")
    status, err = await rpc("POST", "clusters", "local", "jobs", "test", body=job)
    assert_forbidden(status, err, "execute")
    status, err = await rpc("POST", "clusters", "local", "jobs", "123", "resubmit", body={})
    assert_forbidden(status, err, "execute")
    await asyncio.sleep(0.5)
    assert not marker.exists()
    status, listing = await rpc("GET", "clusters", "local", "jobs")
    assert status == 200 and listing["jobs"] == []

    # reads work
    status, backends = await rpc("GET", "backends")
    assert status == 200 and backends["backends"]
    status, text = await rpc("GET", "clusters", "local", "files", "home/data/notes.txt")
    assert status == 200 and text["content"] == "first line\n"

    # writes work: save, upload, rename, delete; cancelling a job is a write (404 here)
    save = {"type": "file", "format": "text", "content": "saved\n"}
    status, _ = await rpc("PUT", "clusters", "local", "files", "home/saved.txt", body=save)
    assert status == 200 and (home / "saved.txt").read_text() == "saved\n"
    response = await jp_fetch(
        "jupyter-rpc", "clusters", "local", "upload", "home/up.bin", method="PUT", body=b"x" * 10
    )
    assert response.code == 201 and (home / "up.bin").read_bytes() == b"x" * 10
    status, _ = await rpc(
        "PATCH", "clusters", "local", "files", "home/up.bin", body={"path": "home/moved.bin"}
    )
    assert status == 200 and (home / "moved.bin").exists()
    status, _ = await rpc("DELETE", "clusters", "local", "files", "home/moved.bin")
    assert status == 204 and not (home / "moved.bin").exists()
    status, err = await rpc("DELETE", "clusters", "local", "jobs", "123")
    assert status == 404, (status, err)


@pytest.mark.parametrize("granted", [["read"]])
async def test_read_only_refuses_writes_and_runs(rpc: Any, jp_fetch: Any, home: Path) -> None:
    status, text = await rpc("GET", "clusters", "local", "files", "home/data/notes.txt")
    assert status == 200 and text["content"] == "first line\n"
    status, _ = await rpc("GET", "clusters")
    assert status == 200

    save = {"type": "file", "format": "text", "content": "saved\n"}
    status, err = await rpc("PUT", "clusters", "local", "files", "home/saved.txt", body=save)
    assert_forbidden(status, err, "write")
    status, err = await rpc("PUT", "clusters", "local", "upload", "home/up.bin", raw=b"x" * 10)
    assert_forbidden(status, err, "write")
    status, err = await rpc("DELETE", "clusters", "local", "files", "home/data/notes.txt")
    assert_forbidden(status, err, "write")
    status, err = await rpc("POST", "clusters", body={"name": "mine", "host": "example.org"})
    assert_forbidden(status, err, "write")
    status, err = await rpc("DELETE", "calls", "0" * 32)
    assert_forbidden(status, err, "write")
    status, err = await rpc("POST", "clusters", "local", "jobs", body={"script": "true"})
    assert_forbidden(status, err, "execute")
    assert not (home / "saved.txt").exists() and not (home / "up.bin").exists()
    assert (home / "data" / "notes.txt").exists()


def _example(template: str) -> str:
    """A concrete path for an OpenAPI path template (``{param}`` → a sample value)."""
    return "/jupyter-rpc" + re.sub(r"\{[^}]+\}", "x1", template).rstrip("/")


def _handler(path: str) -> type[RPCHandler]:
    """The handler tornado would pick for ``path`` (the first route that matches)."""
    for pattern, handler, _ in routes(None):  # type: ignore[arg-type]
        if re.fullmatch(pattern, path):
            return handler
    raise AssertionError(f"no route for {path}")


def test_every_operation_documents_the_action_its_handler_requires() -> None:
    document = load_openapi()
    checked = 0
    for template, item in document["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            where = f"{method.upper()} {template} ({operation.get('operationId')})"
            documented = operation.get("x-jupyter-rpc-action")
            assert documented in ACTIONS, f"{where}: x-jupyter-rpc-action is {documented!r}"
            handler = _handler(_example(template))
            assert handler.__name__ != "NotFoundHandler", f"{where}: no route"
            required = getattr(getattr(handler, method), "jupyter_rpc_action", None)
            assert required == documented, (
                f"{where}: documented {documented!r}, {handler.__name__}.{method} requires "
                f"{required!r}"
            )
            checked += 1
    assert checked >= 30


def test_every_handler_method_states_its_action() -> None:
    for _, handler, _ in routes(None):  # type: ignore[arg-type]
        for method in ("get", "put", "post", "patch", "delete"):
            func = handler.__dict__.get(method)
            if func is not None:
                assert getattr(func, "jupyter_rpc_action", None) in ACTIONS, (
                    f"{handler.__name__}.{method} has no @requires(action)"
                )


def test_the_docs_list_every_operations_action() -> None:
    text = (Path(__file__).parents[2] / "docs" / "rest-api.md").read_text(encoding="utf-8")
    assert with_permissions(text) == text, (
        "docs/rest-api.md's permissions table differs from openapi.yaml: "
        "run `python -m jupyter_rpc.rest.docs docs/rest-api.md`"
    )
