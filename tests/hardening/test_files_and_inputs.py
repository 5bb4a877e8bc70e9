"""Hostile inputs to the REST API and to a cluster's files: NaN and Infinity, JSON nested
too deep or with numbers too long, FIFOs and other files that are not regular files, a
folder renamed into itself, an output tail far past a file's end. Each is refused at once
with a 4xx a person understands, and nothing else waits on it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pathlib
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from jupyter_rpc.errors import RPCError
from jupyter_rpc.files.local import LocalFiles
from jupyter_rpc.files.sftp import SFTPFiles
from jupyter_rpc.notebook.client import Session
from jupyter_rpc.ssh import SSHPool, SSHTarget
from tests.fixtures.hpc import HPCTestbed


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], home: pathlib.Path, with_local_cluster: Any
) -> dict[str, Any]:
    """The server with the local cluster over ``home`` (the shared fixture) and ``other``,
    files only, over a folder of its own."""
    config = with_local_cluster(jp_server_config, home)
    other = home.parent / "other"
    other.mkdir()
    (other / "readme.txt").write_text("other cluster\n")
    clusters = {
        **config["RPCApp"]["clusters"],
        "other": {"scheduler": "none", "roots": {"o": str(other)}},
    }
    return {**config, "RPCApp": {**config["RPCApp"], "clusters": clusters}}


def strict_json(text: str | bytes) -> Any:
    """What the front end's JSON.parse accepts: no NaN, Infinity or -Infinity."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


async def raw_post(jp_fetch: Any, body: bytes, *parts: str) -> tuple[int, Any]:
    from tornado.httpclient import HTTPClientError

    try:
        response = await jp_fetch("jupyter-rpc", *parts, method="POST", body=body)
    except HTTPClientError as exc:
        assert exc.response is not None
        return exc.code, strict_json(exc.response.body)
    return response.code, strict_json(response.body)


CALLS = ("backends", "examples", "calls")


# -- NaN and Infinity (item 6) ---------------------------------------------------------


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400"])
async def test_nan_and_infinity_in_a_body_are_refused(jp_fetch, rpc, number) -> None:
    body = f'{{"function": "divide", "arguments": {{"a": {number}, "b": 1}}}}'.encode()
    status, err = await raw_post(jp_fetch, body, *CALLS)
    assert (status, err["code"]) == (400, "request.invalid_json"), err
    assert "NaN" in err["message"] and "Infinity" in err["message"]
    # the call list stays JSON that a browser can read, and holds no call
    response = await jp_fetch("jupyter-rpc", "calls")
    assert strict_json(response.body)["calls"] == []


async def test_the_notebook_client_refuses_nan_before_sending(server_url, rpc) -> None:
    url, token = server_url
    session = Session(url, token)
    with pytest.raises(ValueError) as info:
        await asyncio.to_thread(
            session.request,
            "POST",
            "backends/examples/calls",
            {"function": "divide", "arguments": {"a": float("nan"), "b": 1}},
        )
    assert "NaN" in str(info.value) and "arguments.a" in str(info.value)
    status, listing = await rpc("GET", "calls")
    assert status == 200 and listing["calls"] == []


# -- JSON too deep or numbers too long (item 10) ---------------------------------------


@pytest.mark.parametrize(
    "body, words",
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
        (
            b'{"function": "add", "arguments": {"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}",
            "nested",
        ),
        (b'{"function": "add", "arguments": {"a": ' + b"9" * 5000 + b', "b": 1}}', "digits"),
        (b'{"function": "add", "arguments": {"a": 1.' + b"5" * 5000 + b', "b": 1}}', "digits"),
    ],
    ids=["deep-array", "deep-argument", "long-integer", "long-float"],
)
async def test_deep_json_and_long_numbers_are_refused(jp_fetch, rpc, body, words) -> None:
    started = time.monotonic()
    status, err = await raw_post(jp_fetch, body, *CALLS)
    assert (status, err["code"]) == (400, "request.invalid_json"), err
    assert words in err["message"]
    assert time.monotonic() - started < 5
    status, listing = await rpc("GET", "calls")
    assert status == 200 and listing["calls"] == []


async def test_ordinary_nesting_and_numbers_still_pass(rpc) -> None:
    status, call = await rpc(
        "POST", *CALLS, body={"function": "add", "arguments": {"a": 10**30, "b": 1}, "wait": 10}
    )
    assert status == 201 and call["state"] == "succeeded", call
    assert call["result"] == 10**30 + 1


# -- FIFOs, devices and sockets (item 5) -----------------------------------------------


def release_readers(fifo: pathlib.Path) -> None:
    """Open the FIFO for writing and close it, so any reader blocked on it gets EOF (a
    thread stuck in ``open`` would otherwise keep the test process from ending)."""
    for _ in range(50):
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: no reader (left)
            return
        os.close(fd)
        time.sleep(0.02)


@pytest.fixture
def fifo(home: pathlib.Path) -> Any:
    path = home / "data" / "pipe"
    os.mkfifo(path)
    yield path
    release_readers(path)


@pytest.mark.parametrize("route", ["files", "download"])
async def test_a_fifo_is_refused_as_a_file_and_listed(rpc, fifo: pathlib.Path, route: str) -> None:
    started = time.monotonic()
    reads = [rpc("GET", "clusters", "local", route, "home/data/pipe") for _ in range(8)]
    meanwhile = [
        rpc("GET", "clusters", "local", "files", "home/data"),
        rpc("GET", "clusters", "local", "files", "home/data/notes.txt"),
        rpc("GET", "clusters", "other", "files", "o/readme.txt"),
    ]
    try:
        answers = await asyncio.wait_for(asyncio.gather(*reads, *meanwhile), 10)
    finally:
        release_readers(fifo)
    for status, err in answers[:8]:
        assert (status, err["code"]) == (400, "files.not_regular"), err
        assert "named pipe" in err["message"]
    (status, listing), (status2, notes), (status3, readme) = answers[8:]
    # listed, as a file the panel can show (and rename or delete)
    assert status == 200 and [e["name"] for e in listing["content"]] == ["notes.txt", "pipe"]
    assert status2 == 200 and notes["content"] == "first line\n"
    assert status3 == 200 and readme["content"] == "other cluster\n"
    assert time.monotonic() - started < 5


async def test_a_fifo_is_not_overwritten_or_copied_but_can_be_renamed_and_deleted(
    rpc, fifo: pathlib.Path, home: pathlib.Path
) -> None:
    files = ("clusters", "local", "files")
    save = {"type": "file", "format": "text", "content": "x"}
    status, err = await rpc("PUT", *files, "home/data/pipe", body=save)
    assert (status, err["code"]) == (400, "files.not_regular"), err
    status, err = await rpc("POST", *files, "home/data", body={"copy_from": "home/data/pipe"})
    assert (status, err["code"]) == (400, "files.not_regular"), err
    assert sorted(os.listdir(fifo.parent)) == ["notes.txt", "pipe"]  # the FIFO still there
    status, moved = await rpc("PATCH", *files, "home/data/pipe", body={"path": "home/pipe2"})
    assert status == 200, moved
    status, _ = await rpc("DELETE", *files, "home/pipe2")
    assert status == 204 and not (home / "pipe2").exists()


def open_and_close(path: pathlib.Path) -> None:
    with open(path, "rb"):
        pass


async def test_a_stuck_file_operation_holds_only_its_own_clusters_threads(
    tmp_path: pathlib.Path,
) -> None:
    """The bound behind the refusal: whatever still blocks (a hung network mount; here a
    FIFO opened directly) fails with files.timeout and holds this cluster's threads only."""
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    (tmp_path / "b" / "x.txt").write_text("x")
    fifo = tmp_path / "a" / "pipe"
    os.mkfifo(fifo)
    slow = LocalFiles({"a": str(tmp_path / "a")}, timeout=0.5, threads=2)
    other = LocalFiles({"b": str(tmp_path / "b")})
    try:
        started = time.monotonic()
        stuck = [slow._io("a/pipe", "read", open_and_close, fifo) for _ in range(4)]
        answers = await asyncio.gather(*stuck, return_exceptions=True)
        assert all(isinstance(a, RPCError) and a.code == "files.timeout" for a in answers)
        assert time.monotonic() - started < 3
        # another cluster's files and the loop's own threads are not waiting behind them
        assert [e.name for e in await asyncio.wait_for(other.list_dir("b"), 2)] == ["x.txt"]
        assert await asyncio.wait_for(asyncio.to_thread(lambda: 42), 2) == 42
    finally:
        release_readers(fifo)
        await slow.close()
        await other.close()


STUCK_THEN_EXIT = """
import asyncio, os, sys
from jupyter_rpc.errors import RPCError
from jupyter_rpc.files.local import LocalFiles

def open_and_close(path):
    with open(path, "rb"):
        pass

async def main(folder):
    files = LocalFiles({"a": folder}, timeout=0.3, threads=2)
    try:
        await files._io("a/pipe", "read", open_and_close, os.path.join(folder, "pipe"))
    except RPCError as exc:
        print(exc.code, flush=True)
    await files.close()

asyncio.run(main(sys.argv[1]))
"""


async def test_a_stuck_file_operation_does_not_hold_up_the_servers_exit(
    tmp_path: pathlib.Path,
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", STUCK_THEN_EXIT, str(tmp_path), stdout=asyncio.subprocess.PIPE
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 10)
        assert out.decode().split() == ["files.timeout"]
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            release_readers(fifo)  # lets its thread, and so the process, end
            await asyncio.wait_for(proc.wait(), 10)


# -- a folder into itself (item 11a), an output tail past the end (item 11b) -----------


async def test_a_folder_cannot_be_moved_into_itself(rpc, home: pathlib.Path) -> None:
    (home / "data" / "sub").mkdir()
    for target in ("home/data/sub/data", "home/data/inside"):
        status, err = await rpc(
            "PATCH", "clusters", "local", "files", "home/data", body={"path": target}
        )
        assert (status, err["code"]) == (400, "files.invalid_name"), err
        assert "into itself" in err["message"]
    assert (home / "data" / "notes.txt").read_text() == "first line\n"
    status, moved = await rpc(
        "PATCH", "clusters", "local", "files", "home/data", body={"path": "home/data2"}
    )
    assert status == 200 and moved["path"] == "home/data2"


async def test_an_output_tail_reports_the_files_real_size(rpc, home: pathlib.Path) -> None:
    status, job = await rpc("POST", "clusters", "local", "jobs", body={"script": "echo hello"})
    assert status == 201, job
    for _ in range(200):
        status, info = await rpc("GET", "clusters", "local", "jobs", job["id"])
        if info["state"] not in ("pending", "running"):
            break
        await asyncio.sleep(0.05)
    assert info["state"] == "completed", info
    tail = ("GET", "clusters", "local", "jobs", job["id"], "output")
    status, out = await rpc(*tail, params={"offset": str(10**18)})
    assert status == 200 and out["size"] == 6, out
    assert out["data"] == "" and out["next_offset"] <= 6
    # a piece of the file: its size is still the whole file's, so a reader knows to go on
    status, out = await rpc(*tail, params={"offset": "0", "limit": "2"})
    assert (out["data"], out["next_offset"], out["size"]) == ("he", 2, 6), out


# -- the same over SFTP (the HPC test bed's OpenSSH sftp-server) ------------------------


@contextlib.asynccontextmanager
async def sftp_folder(
    hpc_testbed: HPCTestbed,
) -> AsyncIterator[tuple[SFTPFiles, SSHPool, SSHTarget]]:
    """SFTPFiles over a fresh folder ``t`` (``~/jrpc-hard-<random>``, removed after)."""
    target = SSHTarget(
        "127.0.0.1",
        hpc_testbed.port,
        hpc_testbed.user,
        label="testbed",
        identity_files=(hpc_testbed.key,),
        agent=False,
        config_files=(),
        known_hosts=(hpc_testbed.known_hosts,),
        connect_timeout=10,
    )
    pool = SSHPool()
    folder = f"jrpc-hard-{uuid.uuid4().hex[:10]}"
    files = SFTPFiles(
        lambda: pool.sftp(target),
        user=hpc_testbed.user,
        roots={"t": f"~/{folder}", "home": "~"},
        label="testbed",
        timeout=20,
    )
    await files.mkdir(f"home/{folder}")
    try:
        yield files, pool, target
    finally:
        try:
            await asyncio.wait_for(files.delete(f"home/{folder}"), 20)
        finally:
            await files.close()
            await pool.close()


async def test_a_fifo_over_sftp_is_refused_before_it_is_opened(hpc_testbed) -> None:
    async with sftp_folder(hpc_testbed) as (files, pool, target):
        await fifo_over_sftp(files, pool, target)


async def fifo_over_sftp(files: SFTPFiles, pool: SSHPool, target: SSHTarget) -> None:
    await files.write_chunks("t/notes.txt", one(b"first line\n"))
    real = await files.real_path("t")
    made = await pool.run(target, f"mkfifo {real}/pipe", timeout=10)
    assert made.exit_status == 0, made
    started = time.monotonic()
    reads = [read_all(files, "t/pipe") for _ in range(8)]
    meanwhile = [files.list_dir("t"), read_all(files, "t/notes.txt")]
    answers = await asyncio.wait_for(asyncio.gather(*reads, *meanwhile, return_exceptions=True), 15)
    for answer in answers[:8]:
        assert isinstance(answer, RPCError) and answer.code == "files.not_regular", answer
        assert "named pipe" in answer.message
    listing, notes = answers[8:]
    assert [e.name for e in listing] == ["notes.txt", "pipe"]
    assert notes == b"first line\n"
    assert time.monotonic() - started < 10
    # nor copied, nor replaced by a file; it can be renamed and deleted
    with pytest.raises(RPCError) as info:
        await asyncio.wait_for(files.copy("t/pipe", "t/copy"), 10)
    assert info.value.code == "files.not_regular"
    with pytest.raises(RPCError) as info:
        await files.write_chunks("t/pipe", one(b"x"))
    assert info.value.code == "files.not_regular"
    await files.rename("t/pipe", "t/pipe2")
    await files.delete("t/pipe2")
    assert [e.name for e in await files.list_dir("t")] == ["notes.txt"]


async def test_a_folder_over_sftp_cannot_be_moved_into_itself(hpc_testbed) -> None:
    async with sftp_folder(hpc_testbed) as (files, _, _):
        await into_itself_over_sftp(files)


async def into_itself_over_sftp(files: SFTPFiles) -> None:
    await files.mkdir("t/a")
    await files.mkdir("t/a/sub")
    for target in ("t/a/sub/a", "t/a/inside"):
        with pytest.raises(RPCError) as info:
            await files.rename("t/a", target)
        assert (info.value.code, info.value.status) == ("files.invalid_name", 400)
        assert "into itself" in info.value.message
    assert (await files.rename("t/a", "t/b")).path == "t/b"
    await files.write_chunks("t/b/x.txt", one(b"hello"))
    assert await files.file_size("t/b/x.txt") == 5


async def one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def read_all(files: Any, path: str) -> bytes:
    return b"".join([chunk async for chunk in files.read_chunks(path)])
