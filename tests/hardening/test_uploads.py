"""Streamed and chunked uploads that are refused, cut off or abandoned: a refused upload
is answered at once (not after its body), and no upload leaves a temporary file, an open
file or a traceback behind, while the server runs or after it stops."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import pathlib
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from jupyter_rpc.files.local import LocalFiles
from jupyter_rpc.files.paths import TEMP_MARK
from jupyter_rpc.services.contents import ContentsService, SaveRequest

MB = 1024 * 1024


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], home: pathlib.Path, with_local_cluster: Any
) -> dict[str, Any]:
    return with_local_cluster(jp_server_config, home)


def temp_files(folder: pathlib.Path) -> list[str]:
    """Upload temporary files (``.<name>.jrpc-upload-*``) anywhere under ``folder``."""
    return sorted(str(p) for p in folder.rglob(f".*{TEMP_MARK}*"))


# --- a raw HTTP client: sends a body while it reads the answer -------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float  # from the request's start to the whole answer
    sent: int  # body bytes sent when the answer was complete


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if line)
    }
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def put_streaming(
    port: int,
    target: str,
    token: str,
    *,
    declared: int,
    send: int,
    timeout: float = 10.0,
    expect_continue: bool = False,
    close_after: bool = True,
) -> Answer | None:
    """PUT ``target`` declaring ``declared`` bytes, sending ``send`` of them (1 MB at a
    time) while reading the answer; None if no answer came within ``timeout`` s."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"PUT {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: token {token}\r\nContent-Length: {declared}\r\n"
        "Content-Type: application/octet-stream\r\n"
        + ("Expect: 100-continue\r\n" if expect_continue else "")
        + "\r\n"
    )
    writer.write(head.encode())
    sent = 0
    piece = b"x" * MB

    async def body() -> None:
        nonlocal sent
        if expect_continue:
            return
        while sent < send:
            writer.write(piece[: min(MB, send - sent)])
            await writer.drain()
            sent += min(MB, send - sent)

    started = time.monotonic()
    sender = asyncio.ensure_future(body())
    try:
        status, headers, data = await asyncio.wait_for(_read_answer(reader), timeout)
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError):
        return None
    finally:
        if close_after or sender.done():
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            writer.close()
    return Answer(status, headers, data, time.monotonic() - started, sent)


def cut_upload(port: int, target: str, token: str, *, send: int) -> None:
    """PUT ``target`` declaring 1 GiB, send ``send`` bytes as fast as the socket takes
    them, and go away (a blocking client: run it in a thread)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            (
                f"PUT {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Authorization: token {token}\r\nContent-Length: {1024 * MB}\r\n\r\n"
            ).encode()
        )
        piece = b"x" * MB
        for _ in range(send // MB):
            sock.sendall(piece)


def upload_target(base_url: str, path: str, query: str = "") -> str:
    return f"{base_url}jupyter-rpc/clusters/local/upload/{path}" + (f"?{query}" if query else "")


@pytest.fixture
def server(server_url: tuple[str, str], jp_http_port: int, jp_base_url: str) -> Any:
    """(port, base URL path, token) of the in-process test server."""
    return jp_http_port, jp_base_url, server_url[1]


# --- 1. refused uploads are answered at once ---------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "status", "code"),
    [
        ("home/data/notes.txt", "overwrite=0", 409, "files.exists"),
        ("home/no/such/folder/x.bin", "", 404, "files.not_found"),
        ("home/../../outside.bin", "", 403, "files.outside_roots"),
    ],
    ids=["exists", "missing-folder", "outside-roots"],
)
async def test_a_refused_30mb_upload_is_answered_at_once(
    server: Any, home: pathlib.Path, path: str, query: str, status: int, code: str
) -> None:
    port, base, token = server
    answer = await put_streaming(
        port, upload_target(base, path, query), token, declared=30 * MB, send=30 * MB
    )
    assert answer is not None, "no answer within 10 s (the server stopped reading and hung)"
    assert answer.status == status, answer.body[:300]
    error = json.loads(answer.body)
    assert error["code"] == code and error["message"], error
    assert answer.seconds < 5.0
    assert (home / "data" / "notes.txt").read_text() == "first line\n"  # untouched
    assert not (home.parent / "outside.bin").exists()
    assert temp_files(home.parent) == []


async def test_a_refused_upload_that_expects_100_continue_gets_the_answer_instead(
    server: Any, home: pathlib.Path
) -> None:
    port, base, token = server
    answer = await put_streaming(
        port,
        upload_target(base, "home/data/notes.txt", "overwrite=0"),
        token,
        declared=30 * MB,
        send=0,
        expect_continue=True,
    )
    assert answer is not None and answer.status == 409, answer  # not "100 Continue"


async def test_an_upload_still_arrives_whole_and_over_the_limit_is_413(
    server: Any, home: pathlib.Path
) -> None:
    port, base, token = server
    answer = await put_streaming(
        port, upload_target(base, "home/big.bin"), token, declared=12 * MB, send=12 * MB
    )
    assert answer is not None and answer.status == 201, answer
    assert (home / "big.bin").stat().st_size == 12 * MB
    assert temp_files(home) == []


# --- 2. cut-off uploads leave nothing ---------------------------------------------------


async def test_cut_off_uploads_leave_no_temp_file_handle_or_traceback(
    server: Any, home: pathlib.Path, server_resources: Any, caplog: Any
) -> None:
    port, base, token = server
    for n in range(5):
        # the client sends faster than the write goes, so the write's queue is full when
        # it goes away (the close hook raised QueueFull then, and the write waited forever
        # with its temporary file open)
        target = upload_target(base, f"home/cut{n}.bin")
        await asyncio.to_thread(cut_upload, port, target, token, send=10 * MB)
    await server_resources.acheck()  # no temp file, no open file, memory back
    assert not list(home.glob("cut*"))  # noqa: ASYNC240
    problems = [r for r in caplog.records if r.exc_info or "QueueFull" in r.getMessage()]
    assert not problems, [r.getMessage() for r in problems]


def test_uploads_cut_or_open_at_shutdown_leave_nothing_after_the_server_stops(
    jupyter_server_process: Any,
) -> None:
    server = jupyter_server_process(None)

    async def scenario() -> None:
        target = "/jupyter-rpc/clusters/local/upload/home/open.bin"
        for n in range(5):  # cut off
            cut = target.replace("open", f"cut{n}")
            await asyncio.to_thread(cut_upload, server.port, cut, server.token, send=10 * MB)
        # one still sending when the server stops, one chunked upload never finished
        reply = await asyncio.to_thread(
            server.request,
            "PUT",
            "clusters/local/files/home/chunked.bin",
            {
                "type": "file",
                "format": "base64",
                "content": base64.b64encode(b"y" * 1000).decode(),
                "chunk": 1,
            },
        )
        assert reply.status == 200, reply.body
        answer = await put_streaming(
            server.port,
            target,
            server.token,
            declared=1024 * MB,
            send=6 * MB,
            timeout=0.5,
            close_after=False,
        )
        assert answer is None
        assert temp_files(server.home), "the open uploads write temporary files"
        left = await asyncio.to_thread(server.stop)
        assert left == []

    asyncio.run(scenario())
    assert server.proc.returncode is not None
    assert temp_files(server.home) == []
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "QueueFull" not in log, server.log()


# --- the contents service: its uploads always end -----------------------------------------


@pytest_asyncio.fixture
async def files(home: pathlib.Path) -> AsyncIterator[LocalFiles]:
    local = LocalFiles({"home": str(home)})
    yield local
    await local.close()


async def test_feeding_an_upload_whose_write_died_never_waits(
    home: pathlib.Path, files: LocalFiles
) -> None:
    contents = ContentsService()
    upload = contents.upload(files, "home/data/notes.txt", overwrite=False)
    # the queue fills before the write has even looked at the target; then the write
    # fails (the file exists) and every further piece must be answered with that

    async def feed_all() -> None:
        for _ in range(100):
            await upload.feed(b"z" * 65536)

    with pytest.raises(Exception) as info:
        await asyncio.wait_for(feed_all(), 5)
    assert getattr(info.value, "code", None) == "files.exists"
    with pytest.raises(Exception, match="exists"):
        await asyncio.wait_for(upload.finish(), 5)
    assert temp_files(home) == []


async def test_cut_off_and_cancel_never_raise_and_remove_the_temp_file(
    home: pathlib.Path, files: LocalFiles
) -> None:
    contents = ContentsService()
    for stop in ("cut_off", "cancel"):
        upload = contents.upload(files, f"home/{stop}.bin")
        await upload.started()
        for _ in range(8):
            await upload.feed(b"z" * 65536)
        # the queue is full (or nearly): stopping must not raise QueueFull
        getattr(upload, stop)()
        getattr(upload, stop)()
        with pytest.raises(ConnectionAbortedError):
            await upload.finish()
    for _ in range(100):
        if not temp_files(home):
            break
        await asyncio.sleep(0.02)
    assert temp_files(home) == []
    assert not (home / "cut_off.bin").exists() and not (home / "cancel.bin").exists()


async def test_abandoned_chunked_uploads_are_dropped_after_their_ttl(
    home: pathlib.Path, files: LocalFiles
) -> None:
    contents = ContentsService(upload_ttl=0.2)
    first = SaveRequest(type="file", format="text", content="part", chunk=1)
    await contents.save(files, "home/a.txt", first)
    await contents.save(files, "home/b.txt", first)
    assert len(temp_files(home)) == 2
    await asyncio.sleep(0.6)  # no other upload comes: the service sweeps on its own
    assert temp_files(home) == []
    assert contents._uploads == {}
    with pytest.raises(Exception) as info:
        await contents.save(
            files, "home/a.txt", SaveRequest(type="file", format="text", content="x", chunk=2)
        )
    assert getattr(info.value, "code", None) == "files.upload_not_started"
    await contents.close()


async def test_closing_the_service_ends_every_upload(home: pathlib.Path, files: LocalFiles) -> None:
    contents = ContentsService()
    await contents.save(
        files, "home/a.txt", SaveRequest(type="file", format="text", content="p", chunk=1)
    )
    streamed = contents.upload(files, "home/s.bin")
    await streamed.started()
    await streamed.feed(b"z" * 1000)
    assert len(temp_files(home)) == 2
    await asyncio.wait_for(contents.close(), 15)
    assert temp_files(home) == []
    assert streamed.done
    assert sorted(os.listdir(home)) == ["data"]
