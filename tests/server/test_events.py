"""Accountability events (issue 13): every remote action emits one structured event
through jupyter_server's event logger (``jupyter_rpc/events/action/v1.yaml``), read back
here through a standard logging handler, as a site would ship them (the JSON lines)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer
from traitlets import List, Unicode
from traitlets.config import Config

from jupyter_rpc.events import SCHEMA_ID, canonical
from jupyter_rpc.events.docs import with_actions
from jupyter_rpc.handlers import routes

SECRET = "s3cret-Value-7Q"


class GrantingAuthorizer(Authorizer):
    """Grants the configured actions on every resource, nothing else."""

    granted = List(Unicode(), default_value=["read", "write", "execute"], config=True)

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return action in self.granted


@pytest.fixture
def granted() -> list[str]:
    return ["read", "write", "execute"]


@pytest.fixture
def extra_config(request: Any) -> dict[str, Any]:
    """More of the server's config: parametrized indirectly, the documented example's."""
    if hasattr(request, "param"):
        return request.getfixturevalue("documented")  # type: ignore[no-any-return]
    return {}


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any],
    home: Path,
    with_local_cluster: Any,
    granted: list[str],
    extra_config: dict[str, Any],
) -> dict[str, Any]:
    config = with_local_cluster(jp_server_config, home)
    config["ServerApp"] = {**config["ServerApp"], "authorizer_class": GrantingAuthorizer}
    config["GrantingAuthorizer"] = {"granted": granted}
    return {**config, **extra_config}


class Lines(logging.Handler):
    """Keeps what a site's handler would write: one JSON line per event."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def ours(self) -> list[dict[str, Any]]:
        found = [json.loads(line) for line in self.lines]
        return [e for e in found if e["__schema__"] == SCHEMA_ID]

    async def take(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The next ``count`` events (waits for them, then checks no more came)."""
        deadline = time.monotonic() + timeout
        while True:
            await asyncio.sleep(0.02)
            if len(self.ours()) >= count or time.monotonic() > deadline:
                break
        await asyncio.sleep(0.05)
        got = self.ours()
        assert len(got) == count, [e["action"] for e in got]
        self.lines.clear()
        return got


@pytest.fixture
def events_log(jp_serverapp: Any) -> Any:
    handler = Lines()
    jp_serverapp.event_logger.register_handler(handler)
    yield handler
    jp_serverapp.event_logger.remove_handler(handler)


def sha(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


async def wait_job(rpc: Any, job_id: str, states: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        status, job = await rpc("GET", "clusters", "local", "jobs", job_id)
        if job["state"] in states:
            return job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.1)


async def one(events_log: Lines, action: str, **fields: Any) -> dict[str, Any]:
    """The one event the last request emitted: its action, user, outcome and ``fields``."""
    (event,) = await events_log.take(1)
    assert event["action"] == action, event
    assert event["user"] and event["remote_ip"], event
    assert event["__schema_version__"] == "1" and event["__timestamp__"], event
    assert event["duration_ms"] >= 0
    expected = {"outcome": "ok", **fields}
    assert {k: event.get(k) for k in expected} == expected, event
    return event


async def test_each_remote_action_emits_one_event(
    rpc: Any, jp_fetch: Any, events_log: Lines, home: Path
) -> None:
    # reads emit nothing
    for parts in [("backends",), ("calls",), ("clusters",), ("clusters", "local", "jobs")]:
        assert (await rpc("GET", *parts))[0] == 200
    assert (await rpc("GET", "clusters", "local", "files", "home/data/notes.txt"))[0] == 200
    assert events_log.ours() == []

    # calls: start (with the function, the call id, the arguments' names and digest), cancel
    arguments = {"a": 2, "b": 3}
    status, call = await rpc(
        "POST", "backends", "examples", "calls", body={"function": "add", "arguments": arguments}
    )
    assert status == 201
    event = await one(
        events_log,
        "call.start",
        permission="execute",
        backend="examples",
        function="add",
        call_id=call["id"],
        status=201,
    )
    assert event["arguments"] == {"names": ["a", "b"], "sha256": sha(arguments)}
    status, call = await rpc(
        "POST",
        "backends",
        "faulty",
        "calls",
        body={"function": "sleep", "arguments": {"seconds": 30}},
    )
    await events_log.take(1)
    assert (await rpc("DELETE", "calls", call["id"]))[0] == 200
    await one(
        events_log,
        "call.cancel",
        permission="write",
        call_id=call["id"],
        backend="faulty",
        function="sleep",
        status=200,
    )

    # jobs: submit (the new job's id), hold, release, cancel, resubmit, test
    spec = {"script": "sleep 30", "name": "held", "hold": True}
    status, job = await rpc("POST", "clusters", "local", "jobs", body=spec)
    assert status == 201, job
    event = await one(
        events_log,
        "job.submit",
        permission="execute",
        cluster="local",
        job_id=job["id"],
        status=201,
    )
    assert event["arguments"] == {"names": ["hold", "name", "script"], "sha256": sha(spec)}
    await wait_job(rpc, job["id"], {"held"})
    assert (await rpc("POST", "clusters", "local", "jobs", job["id"], "release", body={}))[0] == 200
    await one(events_log, "job.release", permission="write", job_id=job["id"])
    await wait_job(rpc, job["id"], {"running"})
    status, _ = await rpc("POST", "clusters", "local", "jobs", job["id"], "hold", body={})
    await one(
        events_log,
        "job.hold",
        job_id=job["id"],
        status=status,
        outcome="ok" if status < 400 else "failed",
    )
    assert (await rpc("DELETE", "clusters", "local", "jobs", job["id"]))[0] == 200
    await one(events_log, "job.cancel", permission="write", cluster="local", job_id=job["id"])
    status, again = await rpc("POST", "clusters", "local", "jobs", job["id"], "resubmit", body={})
    assert status == 201, again
    await one(
        events_log,
        "job.resubmit",
        permission="execute",
        job_id=again["id"],
        source_job_id=job["id"],
    )
    await rpc("DELETE", "clusters", "local", "jobs", again["id"])
    await events_log.take(1)
    status, _ = await rpc("POST", "clusters", "local", "jobs", "test", body={"script": "true"})
    await one(events_log, "job.test", permission="execute", cluster="local", status=status)

    # files: write, mkdir, create, copy, rename, delete, chunked upload, streamed upload,
    # download
    async def files(method: str, path: str, body: Any = None) -> Any:
        status, model = await rpc(method, "clusters", "local", "files", path, body=body)
        assert status < 300, model
        return model

    await files("PUT", "home/a.txt", {"type": "file", "format": "text", "content": "hello"})
    event = await one(
        events_log, "file.write", permission="write", cluster="local", path="home/a.txt"
    )
    assert event["arguments"] == {"names": ["content", "format", "type"], "size": 5}
    await files("PUT", "home/made", {"type": "directory"})
    await one(events_log, "file.mkdir", path="home/made", status=201)
    model = await files("POST", "home", {"type": "directory"})
    await one(events_log, "file.mkdir", path=model["path"])
    model = await files("POST", "home", {"type": "file", "ext": ".txt"})
    await one(events_log, "file.create", path=model["path"])
    copy = await files("POST", "home", {"copy_from": "home/a.txt"})
    await one(events_log, "file.copy", path=copy["path"], source_path="home/a.txt")
    await files("PATCH", "home/a.txt", {"path": "home/b.txt"})
    await one(events_log, "file.rename", path="home/b.txt", source_path="home/a.txt")
    await files("DELETE", "home/b.txt")
    await one(events_log, "file.delete", path="home/b.txt", status=204)
    for number in (1, 2, -1):  # JupyterLab's chunked upload: one event, at its end
        content = base64.b64encode(b"x" * 100).decode()
        body = {"type": "file", "format": "base64", "content": content, "chunk": number}
        await files("PUT", "home/chunked.bin", body)
    await one(events_log, "file.upload", path="home/chunked.bin")
    data = b"y" * 5000
    response = await jp_fetch(
        "jupyter-rpc", "clusters", "local", "upload", "home", "up.bin", method="PUT", body=data
    )
    assert response.code == 201
    event = await one(events_log, "file.upload", path="home/up.bin", status=201)
    assert event["arguments"] == {"size": 5000}
    response = await jp_fetch("jupyter-rpc", "clusters", "local", "download", "home", "up.bin")
    assert response.body == data
    await one(events_log, "file.download", permission="read", path="home/up.bin", status=200)

    # clusters: add, connect (fails: nothing listens there), remove
    cluster = {"name": "mine", "host": "127.0.0.1", "port": 9, "user": "me"}
    assert (await rpc("POST", "clusters", body=cluster))[0] == 201
    event = await one(events_log, "cluster.add", cluster="mine", status=201)
    assert event["arguments"] == {"names": sorted(cluster), "sha256": sha(cluster)}
    status, err = await rpc("POST", "clusters", "mine", "connect", body={})
    (event,) = await events_log.take(1)
    assert event["action"] == "cluster.connect" and event["cluster"] == "mine"
    if status >= 400:
        assert (event["outcome"], event["status"], event["error_code"]) == (
            "failed",
            status,
            err["code"],
        )
    assert (await rpc("DELETE", "clusters", "mine"))[0] == 204
    await one(events_log, "cluster.remove", cluster="mine", status=204)

    # terminals: launch (its name), end
    status, terminal = await rpc("POST", "clusters", "local", "terminals", body={})
    assert status == 201, terminal
    name = terminal["name"]
    await one(events_log, "terminal.launch", permission="execute", terminal=name, status=201)
    assert (await rpc("DELETE", "clusters", "local", "terminals", name))[0] == 204
    await one(events_log, "terminal.end", permission="write", cluster="local", terminal=name)


async def test_a_failed_action_emits_its_error_code(rpc: Any, events_log: Lines) -> None:
    status, err = await rpc(
        "POST", "backends", "examples", "calls", body={"function": "nope", "arguments": {}}
    )
    assert status == 404
    (event,) = await events_log.take(1)
    assert event["action"] == "call.start" and event["function"] == "nope"
    assert (event["outcome"], event["status"], event["error_code"]) == ("failed", 404, err["code"])

    status, err = await rpc("POST", "clusters", "nowhere", "jobs", body={"script": "true"})
    assert status == 404
    (event,) = await events_log.take(1)
    assert event["action"] == "job.submit" and event["cluster"] == "nowhere"
    assert (event["outcome"], event["error_code"]) == ("failed", "cluster.not_found")

    status, err = await rpc("DELETE", "clusters", "local", "files", "home/absent.txt")
    (event,) = await events_log.take(1)
    assert (event["action"], event["status"], event["error_code"]) == (
        "file.delete",
        status,
        err["code"],
    )

    status, err = await rpc("POST", "backends", "examples", "calls", raw=b"{not json")
    (event,) = await events_log.take(1)
    assert (event["action"], event["error_code"]) == ("call.start", "request.invalid_json")


async def test_no_secret_reaches_an_event(
    rpc: Any, jp_fetch: Any, jp_serverapp: Any, events_log: Lines
) -> None:
    token = jp_serverapp.identity_provider.token
    await rpc(
        "POST",
        "backends",
        "examples",
        "calls",
        body={"function": "greet", "arguments": {"name": SECRET}},
    )
    await rpc(
        "POST",
        "clusters",
        "local",
        "jobs",
        body={"script": f"echo {SECRET}", "env": {"API_KEY": SECRET}, "name": "s"},
    )
    await rpc(
        "PUT",
        "clusters",
        "local",
        "files",
        "home/secret.txt",
        body={"type": "file", "format": "text", "content": SECRET},
    )
    await jp_fetch(
        "jupyter-rpc", "clusters", "local", "upload", "home", "s.bin", method="PUT", body=SECRET
    )
    await rpc(
        "POST", "clusters", body={"name": "c1", "host": "127.0.0.1", "port": 9, "user": SECRET}
    )
    await rpc("POST", "clusters", "c1", "auth", body={"prompt_id": "p", "responses": [SECRET]})
    events = await events_log.take(6)
    assert [e["action"] for e in events] == [
        "call.start",
        "job.submit",
        "file.write",
        "file.upload",
        "cluster.add",
        "cluster.auth",
    ]
    text = "\n".join(json.dumps(e) for e in events)
    assert SECRET not in text and token not in text
    # a short secret's digest could be guessed: none for a prompt's answers or a content
    assert "sha256" not in events[-1]["arguments"]
    assert "sha256" not in events[2]["arguments"]


async def test_an_unauthenticated_request_emits_forbidden(rpc: Any, events_log: Lines) -> None:
    status, err = await rpc(
        "POST",
        "clusters",
        "local",
        "jobs",
        body={"script": "true"},
        headers={"Authorization": ""},
    )
    assert status == 403
    (event,) = await events_log.take(1)
    assert event["user"] is None and event["action"] == "job.submit"
    assert (event["outcome"], event["status"], event["error_code"]) == (
        "forbidden",
        403,
        "auth.forbidden",
    )
    assert "arguments" not in event  # the body of an unknown client is not read


@pytest.mark.parametrize("granted", [["read", "write"]])
async def test_a_forbidden_request_emits_forbidden(rpc: Any, events_log: Lines) -> None:
    status, err = await rpc("POST", "backends", "examples", "calls", body={"function": "add"})
    assert status == 403
    (event,) = await events_log.take(1)
    assert event["user"] and event["action"] == "call.start" and event["backend"] == "examples"
    assert (event["outcome"], event["error_code"]) == ("forbidden", "auth.forbidden")


async def test_events_need_no_listener_and_a_failing_handler_fails_no_request(
    rpc: Any, jp_serverapp: Any
) -> None:
    class Broken(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            raise RuntimeError("the log service is down")

        def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802
            raise RuntimeError("the log service is down")

    status, _ = await rpc("POST", "clusters", "local", "jobs", "test", body={"script": "true"})
    assert status == 200  # nothing listens: nothing is built
    broken = Broken()
    jp_serverapp.event_logger.register_handler(broken)
    try:
        status, call = await rpc(
            "POST", "backends", "examples", "calls", body={"function": "add", "arguments": {"a": 1}}
        )
        assert status == 201, call
    finally:
        jp_serverapp.event_logger.remove_handler(broken)


SILENT = {"NotFoundHandler", "TerminalSocketHandler"}


def test_every_action_route_names_its_event() -> None:
    """The routes that act (write, execute, a download) each name an event."""
    acting = []
    for _, handler, _ in routes(None):  # type: ignore[arg-type]
        for verb in ("get", "post", "put", "patch", "delete"):
            method = getattr(handler, verb, None)
            action = getattr(method, "jupyter_rpc_action", None)
            # not the 404 catch-all, nor a terminal's websocket (attaching to a terminal
            # its POST launched; what is typed there is not recorded)
            if action in ("write", "execute") and handler.__name__ not in SILENT:
                acting.append((handler.__name__, verb, getattr(method, "jupyter_rpc_events", ())))
    missing = [(h, v) for h, v, e in acting if not e]
    assert not missing, missing
    assert len(acting) >= 16


def test_schema_ships_with_the_package() -> None:
    from jupyter_rpc.events import SCHEMA_PATH

    assert SCHEMA_PATH.is_file()
    assert "jupyter_rpc" in pyproject_wheel_packages()


def pyproject_wheel_packages() -> list[str]:
    import tomllib

    data = tomllib.loads((DOCS.parent / "pyproject.toml").read_text())
    wheel = data["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert not any("events" in item for item in wheel.get("exclude", []))
    return list(wheel["packages"])


DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_docs_list_every_action() -> None:
    text = (DOCS / "accountability.md").read_text()
    assert with_actions(text) == text, (
        "docs/accountability.md is out of date: python -m jupyter_rpc.events.docs "
        "docs/accountability.md"
    )


def example_config() -> str:
    """The example config of docs/accountability.md (its Python block)."""
    text = (DOCS / "accountability.md").read_text()
    block = text.split("<!-- example-config: tested by tests/server/test_events.py -->")[1]
    block = block.split("<!-- /example-config -->")[0]
    return block.split("```python")[1].split("```")[0]


@pytest.fixture
def syslog() -> Any:
    """A UDP socket standing in for the machine's syslog."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        yield sock


@pytest.fixture
def documented(tmp_path: Path, syslog: Any) -> dict[str, Any]:
    """The documented config, its file in tmp_path and its syslog the test's socket."""
    source = example_config()
    assert '"/var/log/jupyter/rpc-events.log"' in source and 'address="/dev/log"' in source
    source = source.replace('"/var/log/jupyter/rpc-events.log"', repr(str(tmp_path / "ev.log")))
    source = source.replace('address="/dev/log"', f"address={syslog.getsockname()!r}")
    c = Config()
    exec(compile(source, "docs/accountability.md", "exec"), {"c": c})  # noqa: S102 - our doc
    return {"EventLogger": {"handlers": c.EventLogger.handlers}}


@pytest.mark.parametrize("extra_config", [None], indirect=True)
async def test_the_documented_config_ships_our_events_only(
    rpc: Any, tmp_path: Path, syslog: Any, jp_serverapp: Any
) -> None:
    status, _ = await rpc("POST", "clusters", "local", "jobs", "test", body={"script": "true"})
    assert status == 200
    # Jupyter Server's own event (a contents rename) is not ours: filtered out
    jp_serverapp.event_logger.emit(
        schema_id="https://events.jupyter.org/jupyter_server/contents_service/v1",
        data={"action": "delete", "path": "x"},
    )
    lines = (tmp_path / "ev.log").read_text().splitlines()
    assert [json.loads(line)["action"] for line in lines] == ["job.test"]
    message = syslog.recv(65536).decode()
    assert '"action": "job.test"' in message and SCHEMA_ID in message


async def test_a_large_upload_is_recorded_after_its_digest_thread(
    jp_fetch: Any, events_log: Lines
) -> None:
    data = b"z" * (3 * 1024 * 1024)  # over DIGEST_IN_THREAD: summarised in a thread
    response = await jp_fetch(
        "jupyter-rpc", "clusters", "local", "upload", "home", "big.bin", method="PUT", body=data
    )
    assert response.code == 201
    (event,) = await events_log.take(1)
    assert (event["action"], event["outcome"]) == ("file.upload", "ok")
    assert event["arguments"] == {"size": len(data)}


async def test_a_download_cut_off_is_recorded_aborted(
    server_url: tuple[str, str], events_log: Lines, home: Path
) -> None:
    (home / "large.bin").write_bytes(b"\0" * (32 * 1024 * 1024))
    url, token = server_url
    host, port = url.split("/")[2].split(":")
    path = "/" + url.split("/", 3)[3] + "jupyter-rpc/clusters/local/download/home/large.bin"
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: token {token}\r\n\r\n".encode()
    )
    await writer.drain()
    assert (await reader.readexactly(12)).startswith(b"HTTP/1.1 200")
    await reader.readexactly(64 * 1024)  # some of it, then the client goes away
    writer.transport.abort()
    writer.close()
    await writer.wait_closed()
    (event,) = await events_log.take(1, timeout=10)
    assert (event["action"], event["path"], event["outcome"]) == (
        "file.download",
        "home/large.bin",
        "aborted",
    )
