"""SFTPFiles against the test bed's real OpenSSH sftp-server, as hpcuser, through the pool.

Every test works in its own folder ``/home/hpcuser/jrpc-sftp-<random>``, removed afterwards.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from jupyter_rpc.errors import RPCError
from jupyter_rpc.files.base import CHUNK_SIZE
from jupyter_rpc.files.paths import TEMP_MARK
from jupyter_rpc.files.sftp import SFTPFiles
from jupyter_rpc.ssh import SSHPool, SSHTarget
from tests.fixtures.hpc import HPCTestbed

pytestmark = pytest.mark.asyncio


def login(tb: HPCTestbed) -> SSHTarget:
    return SSHTarget(
        "127.0.0.1",
        tb.port,
        tb.user,
        label="testbed",
        identity_files=(tb.key,),
        agent=False,
        config_files=(),
        known_hosts=(tb.known_hosts,),
        connect_timeout=10,
    )


class Remote:
    """The files under test, a second independent view of the same folder, and the pools."""

    def __init__(self, tb: HPCTestbed, folder: str) -> None:
        self.target = login(tb)
        self.folder = folder
        self.pool, self.spy_pool = SSHPool(), SSHPool()
        roots = {"t": f"~/{folder}", "home": "/home/$USER", "etc": "/etc"}
        self.files = SFTPFiles(
            lambda: self.pool.sftp(self.target), user=tb.user, roots=roots, label="testbed"
        )
        # a second pool: looks at the folder without going through the connection under test
        self.spy = SFTPFiles(
            lambda: self.spy_pool.sftp(self.target), user=tb.user, roots=roots, label="testbed"
        )

    async def names(self, path: str = "t") -> list[str]:
        return [e.name for e in await self.spy.list_dir(path)]

    async def debris(self, path: str = "t") -> list[str]:
        return [name for name in await self.names(path) if TEMP_MARK in name]

    async def read(self, path: str) -> bytes:
        return await self.spy.read_text(path, limit=10_000_000)


@pytest_asyncio.fixture
async def remote(hpc_testbed: HPCTestbed) -> AsyncIterator[Remote]:
    folder = f"jrpc-sftp-{uuid.uuid4().hex[:10]}"
    r = Remote(hpc_testbed, folder)
    await r.spy.mkdir(f"home/{folder}")
    try:
        yield r
    finally:
        try:
            await r.spy.delete(f"home/{folder}")
        finally:
            await r.files.close()
            await r.pool.close()
            await r.spy_pool.close()


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def expect_error(code: str, coro: object) -> RPCError:
    with pytest.raises(RPCError) as info:
        await coro  # type: ignore[misc]
    assert info.value.code == code, info.value.message
    return info.value


async def test_roots_listing_and_home(remote: Remote, hpc_testbed: HPCTestbed) -> None:
    top = await remote.files.list_dir("")
    assert [e.name for e in top] == ["t", "home", "etc"]
    home = f"/home/{hpc_testbed.user}"
    assert top[0].real_path == f"{home}/{remote.folder}" and top[0].writable
    assert top[1].real_path == home
    assert not top[2].writable  # /etc belongs to root
    assert await remote.files.drive_path(f"{home}/{remote.folder}/x.txt") == "t/x.txt"
    assert await remote.files.drive_path("/var/log") is None


async def test_write_read_list_stat(remote: Remote) -> None:
    f = remote.files
    entry = await f.write_chunks("t/a.txt", chunks_of(b"hello ", b"world"))
    assert (entry.size, entry.type, entry.path) == (11, "file", "t/a.txt")
    assert await remote.read("t/a.txt") == b"hello world"
    await f.write_chunks("t/.hidden", chunks_of(b""))
    await f.mkdir("t/sub")
    listing = await f.list_dir("t")
    assert [e.name for e in listing] == [".hidden", "a.txt", "sub"]
    assert listing[2].type == "directory" and listing[2].size is None
    assert abs(listing[1].mtime - time.time()) < 60
    assert [c async for c in f.read_chunks("t/a.txt", offset=6, length=3)] == [b"wor"]
    await expect_error("files.not_found", f.stat("t/missing"))
    await expect_error("files.not_directory", f.list_dir("t/a.txt"))
    await expect_error("files.is_directory", f.read_text("t/sub", limit=10))


async def test_replace_keeps_mode_and_checks_mtime(remote: Remote) -> None:
    f = remote.files
    await f.write_chunks("t/run.sh", chunks_of(b"old"))
    sftp = await remote.spy_pool.sftp(remote.target)
    real = await f.real_path("t/run.sh")
    await sftp.chmod(real, 0o750)
    seen = (await f.stat("t/run.sh")).mtime
    await f.write_chunks("t/run.sh", chunks_of(b"new"), expected_mtime=seen)
    assert await remote.read("t/run.sh") == b"new"
    assert (await sftp.stat(real)).permissions & 0o777 == 0o750
    later = time.time() + 5
    await sftp.utime(real, (later, later))
    error = await expect_error(
        "files.conflict", f.write_chunks("t/run.sh", chunks_of(b"stale"), expected_mtime=seen)
    )
    assert error.status == 409
    assert await remote.read("t/run.sh") == b"new"
    await expect_error(
        "files.exists", f.write_chunks("t/run.sh", chunks_of(b"x"), create_only=True)
    )
    assert await remote.debris() == []


@pytest.mark.parametrize(
    "path, code",
    [
        ("t/../../../etc/passwd", "files.outside_roots"),
        ("../t", "files.outside_roots"),
        ("/etc/passwd", "files.outside_roots"),
        ("t//x", "files.invalid_name"),
        ("t/x\0y", "files.invalid_name"),
    ],
)
async def test_traversal_refused(remote: Remote, path: str, code: str) -> None:
    await expect_error(code, remote.files.read_text(path, limit=100))


async def test_symlink_escape_refused_inner_symlink_ok(remote: Remote) -> None:
    sftp = await remote.spy_pool.sftp(remote.target)
    base = await remote.files.real_path("t")
    await remote.files.mkdir("t/inside")
    await remote.files.write_chunks("t/inside/ok.txt", chunks_of(b"ok"))
    await sftp.symlink("/var", f"{base}/escape")
    await sftp.symlink("/var/nonexistent-jrpc", f"{base}/dangling")
    await sftp.symlink(f"{base}/inside", f"{base}/inner")
    f = remote.files
    await expect_error("files.outside_roots", f.list_dir("t/escape"))
    await expect_error("files.outside_roots", f.read_text("t/escape/log/syslog", limit=10))
    await expect_error("files.outside_roots", f.write_chunks("t/dangling", chunks_of(b"x")))
    await expect_error("files.outside_roots", f.write_chunks("t/escape/x.txt", chunks_of(b"x")))
    assert await f.read_text("t/inner/ok.txt", limit=10) == b"ok"
    listing = {e.name: e for e in await f.list_dir("t")}
    assert listing["inner"].is_link and listing["inner"].type == "directory"
    assert listing["escape"].is_link
    await f.delete("t/escape")  # the link goes, /var stays
    assert "escape" not in await remote.names()


async def test_permission_denied_on_root_owned_files(remote: Remote) -> None:
    f = remote.files
    await expect_error("files.permission", f.read_text("etc/shadow", limit=100_000))
    # /etc/hosts is readable but root's: not replaced, though the rename would be refused anyway
    await expect_error("files.permission", f.write_chunks("etc/hosts", chunks_of(b"x")))
    await expect_error("files.permission", f.write_chunks("etc/jrpc-new", chunks_of(b"x")))
    await expect_error("files.permission", f.mkdir("etc/jrpc-dir"))
    await expect_error("files.permission", f.delete("etc/hostname"))
    hosts = await f.stat("etc/hosts")
    assert not hosts.writable


async def test_chunked_upload_and_abort(remote: Remote) -> None:
    f = remote.files
    await f.write_chunks("t/a.txt", chunks_of(b"old"))
    upload = await f.begin_upload("t/a.txt")
    await f.append_upload(upload, b"x" * (CHUNK_SIZE + 7))
    await f.append_upload(upload, b"tail")
    assert await remote.read("t/a.txt") == b"old"
    assert len(await remote.debris()) == 1
    entry = await f.finish_upload(upload)
    assert entry.size == CHUNK_SIZE + 11
    assert await remote.read("t/a.txt") == b"x" * (CHUNK_SIZE + 7) + b"tail"
    second = await f.begin_upload("t/b.txt")
    await f.append_upload(second, b"data")
    await f.abort_upload(second)
    assert await remote.debris() == [] and "b.txt" not in await remote.names()


@pytest.mark.parametrize(
    "name", ["with space.txt", "q'uote\"s.txt", "ünïcødé-文件.txt", "new\nline"]
)
async def test_awkward_names(remote: Remote, name: str) -> None:
    f = remote.files
    await f.write_chunks(f"t/{name}", chunks_of(name.encode()))
    assert name in await remote.names()
    await f.mkdir("t/d")
    moved = await f.rename(f"t/{name}", f"t/d/{name}")
    assert moved.name == name
    await f.copy(f"t/d/{name}", f"t/{name}")
    assert await remote.read(f"t/{name}") == name.encode()


async def test_mkdir_rename_copy_delete(remote: Remote) -> None:
    f = remote.files
    await f.mkdir("t/d")
    await expect_error("files.exists", f.mkdir("t/d"))
    await expect_error("files.not_found", f.mkdir("t/none/child"))
    await f.write_chunks("t/d/a.txt", chunks_of(b"alpha"))
    await f.write_chunks("t/taken.txt", chunks_of(b"keep"))
    await expect_error("files.exists", f.rename("t/d/a.txt", "t/taken.txt"))
    assert await remote.read("t/taken.txt") == b"keep"
    moved = await f.rename("t/d/a.txt", "t/a.txt")
    assert moved.path == "t/a.txt"
    copy = await f.copy("t/a.txt", "t/d/b.txt")
    assert copy.size == 5 and await remote.read("t/d/b.txt") == b"alpha"
    await expect_error("files.exists", f.copy("t/a.txt", "t/taken.txt"))
    await expect_error("files.is_directory", f.copy("t/d", "t/e"))
    await f.mkdir("t/d/deep")
    await f.write_chunks("t/d/deep/c.txt", chunks_of(b"c"))
    await f.delete("t/d")
    assert "d" not in await remote.names()
    await expect_error("files.permission", f.delete("t"))
    await expect_error("files.permission", f.rename("t", "home/x"))
    assert await remote.debris() == []


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@pytest.mark.slow
async def test_200mb_streamed_both_ways_with_flat_memory(remote: Remote) -> None:
    total = 200 * 1024 * 1024
    block = hashlib.sha256(b"jupyter_rpc").digest() * (CHUNK_SIZE // 32)
    sent = hashlib.sha256()
    baseline = _rss()
    peak = baseline
    stop = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _rss())
            await asyncio.sleep(0.02)

    async def produce() -> AsyncIterator[bytes]:
        for i in range(total // CHUNK_SIZE):
            chunk = i.to_bytes(8, "big") + block[8:]
            sent.update(chunk)
            yield chunk

    sampler = asyncio.ensure_future(sample())
    try:
        t0 = time.perf_counter()
        entry = await remote.files.write_chunks("t/big.bin", produce())
        t1 = time.perf_counter()
        got = hashlib.sha256()
        async for chunk in remote.files.read_chunks("t/big.bin"):
            assert len(chunk) <= CHUNK_SIZE
            got.update(chunk)
        t2 = time.perf_counter()
    finally:
        stop.set()
        await sampler
    assert entry.size == total
    assert got.hexdigest() == sent.hexdigest()
    growth = (peak - baseline) / 1e6
    print(
        f"200 MB: upload {total / (t1 - t0) / 1e6:.0f} MB/s, "
        f"download {total / (t2 - t1) / 1e6:.0f} MB/s, RSS growth {growth:.1f} MB"
    )
    assert growth < 50, f"memory grew by {growth:.1f} MB while streaming"
    assert await remote.debris() == []


async def test_connection_cut_mid_upload_keeps_old_file_and_no_temp(remote: Remote) -> None:
    f = remote.files
    await f.write_chunks("t/keep.txt", chunks_of(b"the old content"))

    async def cut() -> AsyncIterator[bytes]:
        for i in range(40):
            yield bytes([i % 256]) * CHUNK_SIZE
            if i == 20:
                assert len(await remote.debris()) == 1  # it is writing its temporary file
                async with remote.pool.channel(remote.target) as conn:
                    conn.close()
                await asyncio.sleep(0.2)

    error = await expect_error("files.unavailable", f.write_chunks("t/keep.txt", cut()))
    assert error.status == 503
    assert await remote.read("t/keep.txt") == b"the old content"
    assert await remote.debris() == []  # removed over a new connection from the pool
    # and the files work again
    assert await f.read_text("t/keep.txt", limit=100) == b"the old content"


async def test_job_output_outside_roots_read_without_roots_check(remote: Remote) -> None:
    f = remote.files
    data = b"".join([c async for c in f.read_chunks("/usr/lib/os-release", check_roots=False)])
    assert b"ID=" in data
    # /proc files report size 0 but have content: read on to EOF like a growing log
    version = b"".join([c async for c in f.read_chunks("/proc/version", check_roots=False)])
    assert version.startswith(b"Linux version")
    await expect_error("files.outside_roots", f.read_text("/usr/lib/os-release", limit=10_000))


async def _modes(remote: Remote) -> dict[str, int]:
    """Each file of the folder under test: its permission bits, seen over the second pool."""
    sftp = await remote.spy_pool.sftp(remote.target)
    folder = f"{await sftp.realpath('.')}/{remote.folder}"
    return {
        name: (await sftp.lstat(f"{folder}/{name}")).permissions & 0o777
        for name in await remote.names()
    }


async def _new_file_mode(remote: Remote) -> int:
    """What a file created there by the user gets (0666 less sshd's umask)."""
    sftp = await remote.spy_pool.sftp(remote.target)
    path = f"{await sftp.realpath('.')}/{remote.folder}/probe"
    await (await sftp.open(path, "wb")).close()
    mode = (await sftp.stat(path)).permissions & 0o777
    await sftp.remove(path)
    return int(mode)


async def test_temporary_files_are_private_while_in_flight(remote: Remote) -> None:
    """An upload's or save's temporary file is 0600 until it is complete (others on the
    login node could read a half-written file); then it has the replaced file's mode or,
    new, what a file the user creates there gets."""
    f = remote.files
    new_mode = await _new_file_mode(remote)
    assert new_mode & 0o044, f"the test bed's umask hides files anyway ({oct(new_mode)})"
    upload_id = await f.begin_upload("t/up.bin")
    await f.append_upload(upload_id, b"x" * CHUNK_SIZE)
    temps = {n: m for n, m in (await _modes(remote)).items() if TEMP_MARK in n}
    assert list(temps.values()) == [0o600], {n: oct(m) for n, m in temps.items()}
    await f.finish_upload(upload_id)
    assert (await _modes(remote)) == {"up.bin": new_mode}

    seen: list[int] = []

    async def watched() -> AsyncIterator[bytes]:
        yield b"a" * CHUNK_SIZE
        seen.extend(m for n, m in (await _modes(remote)).items() if TEMP_MARK in n)
        yield b"b"

    await f.write_chunks("t/saved.txt", watched())
    assert seen == [0o600], [oct(m) for m in seen]
    assert (await _modes(remote))["saved.txt"] == new_mode
    sftp = await remote.spy_pool.sftp(remote.target)
    await sftp.chmod(f"{await sftp.realpath('.')}/{remote.folder}/saved.txt", 0o640)
    seen.clear()
    await f.write_chunks("t/saved.txt", watched())
    assert seen == [0o600] and (await _modes(remote))["saved.txt"] == 0o640
    await f.copy("t/saved.txt", "t/copy.txt")  # a new file: the user's mode, not 0600
    assert (await _modes(remote))["copy.txt"] == new_mode
