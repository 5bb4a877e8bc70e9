"""Loose ends of issue 12's upload, files and jobs fixes: a write of local files cancelled
mid-way, a refused large upload from the notebook client, and local job state that must
never land relative to the server's working folder."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pathlib
import time
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient


@pytest.fixture
def cwd(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    """The server's working folder: empty, watched for anything the server leaves in it."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any],
    home: pathlib.Path,
    tmp_path: pathlib.Path,
    cwd: pathlib.Path,
    request: pytest.FixtureRequest,
) -> dict[str, Any]:
    """The local cluster over ``home``, state in ``tmp_path/state``; a test parametrizing
    this fixture (``indirect``) adds ``{"cluster": {...}, "app": {...}}`` settings."""
    extra = getattr(request, "param", {})
    local = {"scheduler": "local", "roots": {"home": str(home)}, "workdir": str(home)}
    local.update(extra.get("cluster", {}))
    app = {"clusters": {"local": local}, "state_dir": str(tmp_path / "state")}
    app.update(extra.get("app", {}))
    return {**jp_server_config, "RPCApp": {**jp_server_config["RPCApp"], **app}}


# --- item 3: the local scheduler's state folder -----------------------------------------


async def _not_served(server_url: tuple[str, str], rest_contract: Any) -> None:
    """The extension did not start: its routes are not there (the REST contract, which
    describes the extension's answers, is not asked about the server's own 404)."""
    url, token = server_url
    answer = await AsyncHTTPClient().fetch(
        f"{url}jupyter-rpc/clusters", headers={"Authorization": f"token {token}"}, raise_error=False
    )
    assert answer.code == 404
    rest_contract.problems[:] = [p for p in rest_contract.problems if "status 404" not in p]


@pytest.mark.parametrize(
    "jp_server_config", [{"cluster": {"no_such_key": 1}}], indirect=True, ids=["unknown-key"]
)
async def test_a_cluster_key_the_schema_does_not_know_stops_the_extension_naming_it(
    capfd: pytest.CaptureFixture[str],
    server_url: tuple[str, str],
    rest_contract: Any,
    cwd: pathlib.Path,
) -> None:
    # Before: the config error was logged, the extension loaded anyway with RPCApp.state_dir
    # '' (the traits as before the bad value) and the default clusters, and the first
    # local job call made ./local-jobs in the server's working folder.
    await _not_served(server_url, rest_contract)
    assert os.listdir(cwd) == []
    logged = capfd.readouterr().err
    assert "no_such_key" in logged
    assert "jupyter_rpc is not started" in logged


@pytest.mark.parametrize(
    "jp_server_config", [{"app": {"state_dir": "state"}}], indirect=True, ids=["relative"]
)
async def test_a_relative_state_dir_is_refused_at_start(
    capfd: pytest.CaptureFixture[str],
    server_url: tuple[str, str],
    rest_contract: Any,
    cwd: pathlib.Path,
) -> None:
    await _not_served(server_url, rest_contract)
    assert os.listdir(cwd) == []
    logged = capfd.readouterr().err
    assert "RPCApp.state_dir must be an absolute path" in logged


async def test_local_jobs_live_under_the_absolute_state_dir(
    jp_serverapp: Any, tmp_path: pathlib.Path, cwd: pathlib.Path
) -> None:
    """The well-configured case: the scheduler's folder is the state dir's, absolute."""
    from jupyter_rpc.app import RPCApp

    app = jp_serverapp.extension_manager.extension_apps["jupyter_rpc"]
    (ext,) = [a for a in app if isinstance(a, RPCApp)]
    assert ext.state_dir == str(tmp_path / "state")
    cluster = ext.services.clusters.get("local")
    scheduler = cluster.scheduler
    assert scheduler.state_dir == tmp_path / "state" / "local-jobs"
    assert os.listdir(cwd) == []


def test_the_default_state_dir_is_absolute(
    monkeypatch: pytest.MonkeyPatch, cwd: pathlib.Path
) -> None:
    from jupyter_rpc.app import RPCApp

    monkeypatch.setenv("JUPYTER_DATA_DIR", "relative-data")
    app = RPCApp()
    assert pathlib.Path(app.state_dir).is_absolute()
    assert app.state_dir == str(cwd / "relative-data" / "jupyter_rpc")
    monkeypatch.delenv("JUPYTER_DATA_DIR")
    assert pathlib.Path(RPCApp().state_dir).is_absolute()


def test_the_local_scheduler_and_the_registry_refuse_a_relative_state_dir() -> None:
    from jupyter_rpc.schedulers.local import LocalScheduler
    from jupyter_rpc.services.clusters import ClusterRegistry

    with pytest.raises(ValueError, match="absolute"):
        LocalScheduler("local-jobs")
    with pytest.raises(ValueError, match="absolute"):
        ClusterRegistry({}, state_dir=pathlib.Path(""))


# --- item 2: a refused large upload from the notebook client ----------------------------


def _refused_upload(home: pathlib.Path, tmp_path: pathlib.Path) -> pathlib.Path:
    """An 80 MB local file (sparse: cheap to make) and the remote file it may not replace."""
    source = tmp_path / "big.bin"
    with open(source, "wb") as f:
        f.truncate(80 * 1024 * 1024)
    (home / "data" / "big.bin").write_bytes(b"already here")
    return source


@pytest.mark.timeout(60)
async def test_a_refused_80_mb_upload_from_the_notebook_gets_the_servers_message(
    server_url: tuple[str, str], home: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """``upload(..., overwrite=False)`` onto an existing file: the server refuses before
    the body (409 files.exists) and, past 64 MiB of dropped body, closes the connection.
    Before: http.client sent the whole body first and the user got "closed the
    connection" (the server's answer unread) after sending 64 MiB."""
    import jupyter_rpc
    from jupyter_rpc import RemoteError

    url, token = server_url
    source = _refused_upload(home, tmp_path)

    def upload() -> None:
        local = jupyter_rpc.cluster("local", url=url, token=token)
        local.files.upload(source, "home/data/big.bin", overwrite=False, progress=False)

    started = time.monotonic()
    with pytest.raises(RemoteError) as info:
        await asyncio.to_thread(upload)
    took = time.monotonic() - started
    assert info.value.code == "files.exists", info.value
    assert "big.bin" in info.value.message and "closed the connection" not in str(info.value)
    assert took < 5, took
    assert (home / "data" / "big.bin").read_bytes() == b"already here"
    assert sorted(os.listdir(home / "data")) == ["big.bin", "notes.txt"]  # no temp file


@pytest.mark.timeout(60)
async def test_without_expect_the_answer_is_read_after_the_broken_pipe(
    server_url: tuple[str, str],
    home: pathlib.Path,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same refusal with the body sent at once (as through a proxy that drops
    ``Expect``, or over HTTPS): the server drops 64 MiB and closes; the answer it sent
    first is read after the broken pipe instead of 'closed the connection'."""
    import jupyter_rpc
    from jupyter_rpc import RemoteError
    from jupyter_rpc.notebook import client

    monkeypatch.setattr(client, "EXPECT_FROM", 1 << 62)
    url, token = server_url
    source = _refused_upload(home, tmp_path)

    def upload() -> None:
        local = jupyter_rpc.cluster("local", url=url, token=token)
        local.files.upload(source, "home/data/big.bin", overwrite=False, progress=False)

    started = time.monotonic()
    with pytest.raises(RemoteError) as info:
        await asyncio.to_thread(upload)
    assert info.value.code == "files.exists", info.value
    assert time.monotonic() - started < 15
    assert (home / "data" / "big.bin").read_bytes() == b"already here"


# --- item 1: local writes cancelled or timed out mid-way --------------------------------


def _fds() -> dict[int, str]:
    """This process's open fds and what they point at."""
    out = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            out[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # the listing's own fd, closed meanwhile
            continue
    return out


async def _threads_idle(files: Any, bound: float = 10.0) -> None:
    """Until no operation of ``files`` is queued or running in its threads."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if not files._busy:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("a file operation still running")


async def test_a_cancel_that_meets_the_threads_answer_is_not_swallowed(
    tmp_path: pathlib.Path,
) -> None:
    """A cancel and a thread's answer arriving in the same turn of the event loop (a busy
    machine: the fresh-clone CI saw it five times in a row). Python 3.11's
    ``asyncio.wait_for`` then returned the answer and dropped the cancel, so a cancelled
    write went on with its next chunk; what the thread made must be discarded, not leaked."""
    import threading

    from jupyter_rpc.files.local import LocalFiles

    files = LocalFiles({"home": str(tmp_path)})
    met = 0
    try:
        for turns in range(8):  # the cancel lands 0, 1, 2, ... turns after the answer
            started, release = threading.Event(), threading.Event()
            discarded: list[int] = []

            def job(n: int, started: Any = started, release: Any = release) -> int:
                started.set()
                release.wait(5)
                return n

            task = asyncio.ensure_future(files._thread(job, turns, discard=discarded.append))
            assert await asyncio.to_thread(started.wait, 5)
            release.set()
            # the loop is held while the thread answers, as on a starved machine
            time.sleep(0.1)  # noqa: ASYNC251
            for _ in range(turns):
                await asyncio.sleep(0)
            if task.done():
                break  # from here on the answer was taken before the cancel
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await _threads_idle(files)
            assert discarded == [turns]  # what the thread made is not leaked
            met += 1
    finally:
        await files.close()
    assert met >= 2


@pytest.mark.parametrize("when", ["writing", "syncing"])
async def test_a_write_cancelled_mid_way_leaves_its_fd_to_the_thread(
    tmp_path: pathlib.Path, when: str
) -> None:
    """A 48 MB write cancelled while a thread writes a chunk or fsyncs the file. Before,
    the cancel closed the fd under the thread, whose _finish_fd then closed the same
    number again: by then another open (here the eight right after the cancel) had it,
    and that file was closed under its owner (EBADF)."""
    from jupyter_rpc.files.local import LocalFiles

    root = tmp_path / "home"
    root.mkdir()
    files = LocalFiles({"home": str(root)})
    block = os.urandom(1024 * 1024) * 16
    last = asyncio.Event()

    async def chunks() -> Any:
        # 48 MB when the cancel is to meet the fsync (tens of ms); 320 MB when it is to meet
        # a chunk's write, so the write cannot have ended before the cancel on a fast disk
        # (48 MB did, once: no CancelledError)
        for _ in range(3 if when == "syncing" else 20):
            yield block
        last.set()

    before = _fds()
    # The cancel must meet the write in its thread; on a fast disk a write can still end
    # first (seen in CI with 320 MB): then that whole write is done again, up to 5 times.
    for _attempt in range(5):
        last.clear()
        task = asyncio.ensure_future(files.write_chunks("home/out.bin", chunks()))
        if when == "syncing":
            await last.wait()  # the chunks are written: the next job is the fsync
        for _ in range(100_000):  # until the job is in a thread
            if files._busy:
                break
            await asyncio.sleep(0)
        await asyncio.sleep(0.005)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            break
        await _threads_idle(files)
        (root / "out.bin").unlink()
    else:
        pytest.fail("the write ended before its cancel five times: nothing was tested")
    mine = [os.open(os.devnull, os.O_RDONLY) for _ in range(8)]  # reuse the freed numbers
    try:
        await _threads_idle(files)
        for fd in mine:
            os.fstat(fd)  # still open: the thread did not close it (EBADF before)
    finally:
        for fd in mine:
            with contextlib.suppress(OSError):
                os.close(fd)
        await files.close()
    assert os.listdir(root) == []  # no temporary file
    after = _fds()
    assert after.keys() <= before.keys(), {n: after[n] for n in after.keys() - before.keys()}


async def test_an_open_that_ends_after_its_timeout_is_closed(tmp_path: pathlib.Path) -> None:
    """A read whose open is stuck past files.timeout (a FIFO here; a hung mount in life)
    and ends later: its fd is closed, not leaked (before: held for the process's life)."""
    from jupyter_rpc.errors import RPCError
    from jupyter_rpc.files.local import LocalFiles, _ThreadFd

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    files = LocalFiles({"a": str(tmp_path)}, timeout=0.3, threads=2)
    holder = _ThreadFd()
    try:
        with pytest.raises(RPCError) as info:
            await files._use(
                "a/pipe", "read", holder, holder.opened, os.open, str(fifo), os.O_RDONLY
            )
        assert info.value.code == "files.timeout"
        holder.give_up()  # what read_chunks does on its way out
        writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # the stuck open returns
        os.close(writer)
        await _threads_idle(files)
        assert str(fifo) not in _fds().values()
    finally:
        await files.close()
