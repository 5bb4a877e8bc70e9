"""Request bodies are bounded while they are read: a call body over
``RPCApp.max_request_size`` gets its 413 at once, without the server holding the body
(its memory is measured), and the server stops reading a refused body after a bound.
A text file that opens in the editor can be saved (the save limit follows
``RPCApp.max_open_size``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import pathlib
import time
from dataclasses import dataclass
from typing import Any

import pytest

from jupyter_rpc.handlers.body import DISCARD_BYTES
from tests.hardening.conftest import Bounds

MB = 1024 * 1024
CALLS = "/jupyter-rpc/backends/test/calls"


@dataclass
class Sending:
    """A request whose body is still being sent while its answer is read."""

    status: int | None  # None: no answer in time
    body: bytes
    seconds: float
    sender: asyncio.Future[None]  # ends when all was sent or the server closed
    sent: list[int]  # [bytes sent so far]
    writer: asyncio.StreamWriter

    def json(self) -> Any:
        return json.loads(self.body)


async def send(
    port: int,
    target: str,
    token: str,
    *,
    total: int,
    declared: int | None,
    timeout: float = 10.0,
    expect_continue: bool = False,
) -> Sending:
    """POST ``total`` body bytes (1 MB at a time; chunked if ``declared`` is None) while
    the answer is read; the sender goes on after the answer (``Sending.sender``)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    length = (
        "Transfer-Encoding: chunked\r\n" if declared is None else f"Content-Length: {declared}\r\n"
    )
    writer.write(
        (
            f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: token {token}\r\n"
            f"Content-Type: application/json\r\n{length}"
            + ("Expect: 100-continue\r\n" if expect_continue else "")
            + "\r\n"
        ).encode()
    )
    sent = [0]
    piece = b" " * MB  # JSON whitespace: a valid body, if it were ever read whole

    async def body() -> None:
        if expect_continue:
            return  # the writer is closed by end()
        try:
            while sent[0] < total:
                data = piece[: min(MB, total - sent[0])]
                writer.write(b"%x\r\n%s\r\n" % (len(data), data) if declared is None else data)
                await writer.drain()
                sent[0] += len(data)
            if declared is None:
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        finally:
            writer.close()

    started = time.monotonic()
    sender = asyncio.ensure_future(body())
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        lines = head.decode("latin1").split("\r\n")
        headers = {
            k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:] if x)
        }
        data = await reader.readexactly(int(headers.get("content-length", "0")))
        status: int | None = int(lines[0].split()[1])
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError):
        status, data = None, b""
    return Sending(status, data, time.monotonic() - started, sender, sent, writer)


async def end(sending: Sending, timeout: float = 20.0) -> BaseException | None:
    """Wait for the sender to end: None if it sent everything, else why it stopped."""
    try:
        await asyncio.wait_for(asyncio.shield(sending.sender), timeout)
    except (ConnectionError, OSError) as exc:
        return exc
    except asyncio.TimeoutError:
        sending.sender.cancel()
        await asyncio.gather(sending.sender, return_exceptions=True)
        raise
    finally:
        sending.writer.close()
        # the transport is closed only once this returns: a loop that ends before that leaves
        # it to the garbage collector, whose ResourceWarning failed an unrelated test
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sending.writer.wait_closed(), 5)
    return None


def test_a_200mb_call_body_gets_its_413_at_once_and_is_never_held(
    jupyter_server_process: Any,
) -> None:
    server = jupyter_server_process()

    async def scenario() -> None:
        sending = await send(server.port, CALLS, server.token, total=50 * MB, declared=200 * MB)
        assert sending.status == 413, "no answer within 10 s: the server waits for the body"
        error = sending.json()
        assert error["code"] == "request.too_large", error
        assert "209,715,200 bytes" in error["message"], error["message"]
        assert error["details"] == {"size": 200 * MB, "limit": 16 * MB}
        assert sending.seconds < 5
        await end(sending)  # the 50 MB are read and dropped (or the connection closed)

    asyncio.run(scenario())
    # neither the 50 MB sent nor the 200 MB declared were held, then or now
    server.resources.check(Bounds(rss_mb=16, hwm_mb=16))
    # the server still answers, and a body within the limit still works
    reply = server.request("POST", "backends/test/calls", {"function": "add", "arguments": {}})
    assert reply.status in (200, 201, 400, 404), reply.body


def test_a_chunked_body_is_cut_at_the_limit_while_it_is_read(
    jupyter_server_process: Any,
) -> None:
    server = jupyter_server_process(rpc_config={"max_request_size": 1 * MB})

    async def scenario() -> None:
        sending = await send(server.port, CALLS, server.token, total=40 * MB, declared=None)
        assert sending.status == 413, sending
        error = sending.json()
        assert error["code"] == "request.too_large"
        assert "more than 1,048,576 bytes" in error["message"], error["message"]
        await end(sending)

    asyncio.run(scenario())
    server.resources.check(Bounds(rss_mb=12, hwm_mb=12))


def test_a_refused_body_is_dropped_up_to_a_bound_then_the_connection_closes(
    jupyter_server_process: Any,
) -> None:
    server = jupyter_server_process()

    async def scenario() -> None:
        total = 200 * MB
        sending = await send(server.port, CALLS, server.token, total=total, declared=total)
        assert sending.status == 413
        why = await end(sending)
        assert why is not None, "the server read the whole refused body"
        # dropped up to DISCARD_BYTES (or for DISCARD_SECONDS), plus what the sockets hold
        assert sending.sent[0] < DISCARD_BYTES + 32 * MB, sending.sent

    asyncio.run(scenario())
    server.resources.check(Bounds(rss_mb=16, hwm_mb=16))


def test_a_client_that_expects_100_continue_gets_the_413_and_sends_nothing(
    jupyter_server_process: Any,
) -> None:
    server = jupyter_server_process()

    async def scenario() -> None:
        sending = await send(
            server.port,
            CALLS,
            server.token,
            total=200 * MB,
            declared=200 * MB,
            expect_continue=True,
        )
        assert sending.status == 413, sending  # not "100 Continue"
        await end(sending)

    asyncio.run(scenario())


# --- item 11c: what opens in the editor can be saved ------------------------------------


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], home: pathlib.Path, with_local_cluster: Any
) -> dict[str, Any]:
    return with_local_cluster(jp_server_config, home)  # max_request_size: 256 KiB


@pytest.mark.timeout(120)
async def test_a_22mb_text_file_that_opens_in_the_editor_can_be_saved(
    rpc: Any, home: pathlib.Path
) -> None:
    line = 'a "quoted" line\twith a tab and a backslash \\\n'
    text = line * (22 * MB // len(line))
    (home / "big.txt").write_text(text)
    status, model = await rpc(
        "GET", "clusters", "local", "files", "home/big.txt", request_timeout=60
    )
    assert status == 200 and model["format"] == "text", model.get("message")
    edited = model["content"] + "one more line\n"
    status, saved = await rpc(
        "PUT",
        "clusters",
        "local",
        "files",
        "home/big.txt",
        body={"type": "file", "format": "text", "content": edited},
        request_timeout=60,
    )
    assert status == 200, saved.get("message")
    assert saved["size"] == len(edited.encode())
    assert (home / "big.txt").read_text() == edited


@pytest.mark.timeout(120)
async def test_saving_more_than_opens_is_413_naming_the_limit(rpc: Any, home: pathlib.Path) -> None:
    too_big = "x" * (32 * MB + 1)  # RPCApp.max_open_size is 32 MiB
    status, error = await rpc(
        "PUT",
        "clusters",
        "local",
        "files",
        "home/huge.txt",
        body={"type": "file", "format": "text", "content": too_big},
        request_timeout=60,
    )
    assert status == 413, error
    assert error["code"] == "files.too_large"
    assert "max_open_size" in error["message"], error["message"]
    assert not (home / "huge.txt").exists()
