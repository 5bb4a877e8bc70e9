"""LocalFiles on temporary folders: every operation, the roots policy, atomic writes."""

from __future__ import annotations

import asyncio
import os
import pathlib
import time
from collections.abc import AsyncIterator

import pytest

from jupyter_rpc.errors import RPCError
from jupyter_rpc.files.base import CHUNK_SIZE
from jupyter_rpc.files.local import LocalFiles
from jupyter_rpc.files.paths import TEMP_MARK

pytestmark = pytest.mark.asyncio


@pytest.fixture
def tree(tmp_path: pathlib.Path) -> dict[str, pathlib.Path]:
    tmp_path = tmp_path.resolve()
    home = tmp_path / "home"
    scratch = tmp_path / "scratch"
    outside = tmp_path / "outside"
    for folder in (home, scratch, outside):
        folder.mkdir()
    (home / "a.txt").write_text("alpha")
    (home / "sub").mkdir()
    (home / "sub" / "b.txt").write_text("beta")
    (outside / "secret.txt").write_text("secret")
    return {"home": home, "scratch": scratch, "outside": outside}


@pytest.fixture
def files(tree: dict[str, pathlib.Path]) -> LocalFiles:
    return LocalFiles({"home": str(tree["home"]), "scratch": str(tree["scratch"])})


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def read_all(files: LocalFiles, path: str, **kwargs: object) -> bytes:
    return b"".join([c async for c in files.read_chunks(path, **kwargs)])  # type: ignore[arg-type]


def debris(folder: pathlib.Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if TEMP_MARK in p.name]


async def expect_error(code: str, coro: object) -> RPCError:
    with pytest.raises(RPCError) as info:
        await coro  # type: ignore[misc]
    assert info.value.code == code, info.value.message
    return info.value


async def test_top_level_lists_roots_in_config_order(files: LocalFiles, tree) -> None:
    entries = await files.list_dir("")
    assert [e.name for e in entries] == ["home", "scratch"]
    assert all(e.type == "directory" for e in entries)
    assert entries[0].real_path == str(tree["home"])
    top = await files.stat("")
    assert top.type == "directory" and top.path == ""


async def test_tilde_root_is_the_users_home(monkeypatch, tree) -> None:
    monkeypatch.setenv("HOME", str(tree["home"]))
    files = LocalFiles({"home": "~", "mine": "$HOME/sub"})
    assert await files.real_path("home") == str(tree["home"])
    assert files.roots[1].real == str(tree["home"] / "sub")


async def test_list_dir_sorted_with_hidden_files_and_fields(files: LocalFiles, tree) -> None:
    (tree["home"] / ".hidden").write_text("h")
    entries = await files.list_dir("home")
    assert [e.name for e in entries] == [".hidden", "a.txt", "sub"]
    a = next(e for e in entries if e.name == "a.txt")
    assert (a.type, a.size, a.path) == ("file", 5, "home/a.txt")
    assert a.real_path == str(tree["home"] / "a.txt")
    assert abs(a.mtime - (tree["home"] / "a.txt").stat().st_mtime) < 1e-6
    sub = next(e for e in entries if e.name == "sub")
    assert sub.type == "directory" and sub.size is None


async def test_stat_and_missing(files: LocalFiles) -> None:
    entry = await files.stat("home/sub/b.txt")
    assert entry.name == "b.txt" and entry.size == 4 and not entry.is_link
    await expect_error("files.not_found", files.stat("home/nope.txt"))
    await expect_error("files.not_found", files.stat("nosuchroot/x"))
    await expect_error("files.not_directory", files.list_dir("home/a.txt"))


@pytest.mark.parametrize(
    "path, code",
    [
        ("home/../outside/secret.txt", "files.outside_roots"),
        ("home/sub/../../outside", "files.outside_roots"),
        ("../home", "files.outside_roots"),
        ("/etc/passwd", "files.outside_roots"),
        ("home//a.txt", "files.invalid_name"),
        ("home/a\0.txt", "files.invalid_name"),
    ],
)
async def test_traversal_and_bad_names_refused(files: LocalFiles, path: str, code: str) -> None:
    error = await expect_error(code, files.read_text(path, limit=100))
    assert error.status in (400, 403)
    assert repr(path)[1:-1] in error.message or path in error.message


async def test_dotdot_inside_a_root_is_fine(files: LocalFiles) -> None:
    assert await files.read_text("home/sub/../a.txt", limit=100) == b"alpha"


async def test_symlink_escape_refused_inner_symlink_ok(files: LocalFiles, tree) -> None:
    home = tree["home"]
    (home / "escape").symlink_to(tree["outside"])
    (home / "escape_file").symlink_to(tree["outside"] / "secret.txt")
    (home / "dangling").symlink_to(tree["outside"] / "new.txt")
    (home / "inner").symlink_to(home / "sub")
    await expect_error("files.outside_roots", files.read_text("home/escape/secret.txt", limit=100))
    await expect_error("files.outside_roots", files.read_text("home/escape_file", limit=100))
    await expect_error("files.outside_roots", files.list_dir("home/escape"))
    await expect_error("files.outside_roots", files.write_chunks("home/dangling", chunks_of(b"x")))
    assert not (tree["outside"] / "new.txt").exists()
    assert await files.read_text("home/inner/b.txt", limit=100) == b"beta"
    listing = {e.name: e for e in await files.list_dir("home")}
    assert listing["inner"].is_link and listing["inner"].type == "directory"
    # deleting the link removes the link, not what it points to
    await files.delete("home/escape")
    assert (tree["outside"] / "secret.txt").exists()


async def test_read_chunks_streams_in_pieces_with_offset_and_length(
    files: LocalFiles, tree
) -> None:
    data = os.urandom(CHUNK_SIZE * 2 + 100)
    (tree["home"] / "big.bin").write_bytes(data)
    pieces = [c async for c in files.read_chunks("home/big.bin")]
    assert [len(p) for p in pieces] == [CHUNK_SIZE, CHUNK_SIZE, 100]
    assert b"".join(pieces) == data
    assert await read_all(files, "home/big.bin", offset=10, length=20) == data[10:30]
    assert await read_all(files, "home/big.bin", offset=len(data)) == b""
    await expect_error("files.is_directory", read_all(files, "home/sub"))


async def test_read_without_roots_check_reads_any_absolute_path(files: LocalFiles, tree) -> None:
    secret = str(tree["outside"] / "secret.txt")
    assert await read_all(files, secret, check_roots=False) == b"secret"
    await expect_error("files.outside_roots", read_all(files, secret))


async def test_write_creates_and_replaces_keeping_mode(files: LocalFiles, tree) -> None:
    entry = await files.write_chunks("home/new.txt", chunks_of(b"one ", b"two"))
    assert (tree["home"] / "new.txt").read_bytes() == b"one two"
    assert entry.size == 7 and entry.path == "home/new.txt"
    script = tree["home"] / "run.sh"
    script.write_text("old")
    script.chmod(0o750)
    await files.write_chunks("home/run.sh", chunks_of(b"#!/bin/sh\n"))
    assert script.read_text() == "#!/bin/sh\n"
    assert script.stat().st_mode & 0o777 == 0o750
    assert debris(tree["home"]) == []


async def test_write_create_only_and_to_a_folder(files: LocalFiles, tree) -> None:
    await expect_error(
        "files.exists", files.write_chunks("home/a.txt", chunks_of(b"x"), create_only=True)
    )
    assert (tree["home"] / "a.txt").read_text() == "alpha"
    await expect_error("files.is_directory", files.write_chunks("home/sub", chunks_of(b"x")))
    await expect_error("files.not_found", files.write_chunks("home/no/dir.txt", chunks_of(b"x")))
    await expect_error("files.is_directory", files.write_chunks("home", chunks_of(b"x")))


async def test_expected_mtime_conflict(files: LocalFiles, tree) -> None:
    seen = (await files.stat("home/a.txt")).mtime
    await files.write_chunks("home/a.txt", chunks_of(b"mine"), expected_mtime=seen)
    assert (tree["home"] / "a.txt").read_text() == "mine"
    # somebody else saves it two seconds later
    later = time.time() + 2
    os.utime(tree["home"] / "a.txt", (later, later))
    error = await expect_error(
        "files.conflict", files.write_chunks("home/a.txt", chunks_of(b"stale"), expected_mtime=seen)
    )
    assert error.status == 409
    assert (tree["home"] / "a.txt").read_text() == "mine"
    await expect_error(
        "files.conflict",
        files.write_chunks("home/gone.txt", chunks_of(b"x"), expected_mtime=seen),
    )


async def test_failing_chunks_leave_old_content_and_no_debris(files: LocalFiles, tree) -> None:
    async def failing() -> AsyncIterator[bytes]:
        yield b"x" * CHUNK_SIZE
        yield b"y" * 10
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        await files.write_chunks("home/a.txt", failing())
    assert (tree["home"] / "a.txt").read_text() == "alpha"
    assert debris(tree["home"]) == []


async def test_cancelled_write_leaves_old_content_and_no_debris(files: LocalFiles, tree) -> None:
    started = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield b"partial"
        started.set()
        await asyncio.sleep(30)
        yield b"never"

    task = asyncio.ensure_future(files.write_chunks("home/a.txt", slow()))
    await started.wait()
    assert len(debris(tree["home"])) == 1  # the temporary file exists while writing
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (tree["home"] / "a.txt").read_text() == "alpha"
    assert debris(tree["home"]) == []


async def test_chunked_upload(files: LocalFiles, tree) -> None:
    target = tree["home"] / "a.txt"
    upload = await files.begin_upload("home/a.txt")
    await files.append_upload(upload, b"part one, ")
    await files.append_upload(upload, b"part two")
    assert target.read_text() == "alpha"  # nothing visible until the last chunk
    entry = await files.finish_upload(upload)
    assert target.read_text() == "part one, part two" and entry.size == 18
    assert debris(tree["home"]) == []
    await expect_error("files.upload_not_found", files.append_upload(upload, b"late"))

    aborted = await files.begin_upload("home/other.txt")
    await files.append_upload(aborted, b"data")
    await files.abort_upload(aborted)
    assert not (tree["home"] / "other.txt").exists() and debris(tree["home"]) == []


async def test_abandoned_upload_is_cleaned_up(tree) -> None:
    files = LocalFiles({"home": str(tree["home"])}, upload_ttl=0.05)
    upload = await files.begin_upload("home/slow.txt")
    await files.append_upload(upload, b"x")
    assert len(debris(tree["home"])) == 1
    await asyncio.sleep(0.1)
    other = await files.begin_upload("home/next.txt")  # any upload call sweeps
    await expect_error("files.upload_not_found", files.append_upload(upload, b"y"))
    assert len(debris(tree["home"])) == 1  # only the new one
    await files.close()
    assert debris(tree["home"]) == []
    del other


@pytest.mark.parametrize(
    "name", ["with space.txt", 'quote\'s "double".txt', "ünïcødé-文件.txt", "new\nline.txt"]
)
async def test_awkward_names(files: LocalFiles, tree, name: str) -> None:
    path = f"home/{name}"
    await files.write_chunks(path, chunks_of(name.encode()))
    assert (tree["home"] / name).read_bytes() == name.encode()
    assert name in [e.name for e in await files.list_dir("home")]
    await files.rename(path, f"home/sub/{name}")
    copied = await files.copy(f"home/sub/{name}", f"home/{name}.copy")
    assert copied.name == f"{name}.copy"
    await files.delete(f"home/sub/{name}")
    assert not (tree["home"] / "sub" / name).exists()


async def test_mkdir_rename_copy_delete(files: LocalFiles, tree) -> None:
    entry = await files.mkdir("home/new dir")
    assert entry.type == "directory" and (tree["home"] / "new dir").is_dir()
    await expect_error("files.exists", files.mkdir("home/new dir"))
    await expect_error("files.not_found", files.mkdir("home/missing/child"))

    moved = await files.rename("home/a.txt", "scratch/a.txt")  # across roots
    assert moved.path == "scratch/a.txt" and (tree["scratch"] / "a.txt").read_text() == "alpha"
    (tree["home"] / "taken.txt").write_text("keep")
    await expect_error("files.exists", files.rename("scratch/a.txt", "home/taken.txt"))
    await expect_error("files.exists", files.rename("home/sub", "home/new dir"))
    assert (tree["home"] / "taken.txt").read_text() == "keep"
    await expect_error("files.not_found", files.rename("home/nope", "home/x"))

    copy = await files.copy("scratch/a.txt", "home/a copy.txt")
    assert copy.size == 5 and (tree["home"] / "a copy.txt").read_text() == "alpha"
    await expect_error("files.exists", files.copy("scratch/a.txt", "home/taken.txt"))
    await expect_error("files.is_directory", files.copy("home/sub", "home/sub2"))

    (tree["home"] / "sub" / "deep" / "deeper").mkdir(parents=True)
    (tree["home"] / "sub" / "deep" / "deeper" / "f").write_text("f")
    await files.delete("home/sub")
    assert not (tree["home"] / "sub").exists()
    await expect_error("files.not_found", files.delete("home/sub"))


async def test_roots_cannot_be_renamed_or_deleted(files: LocalFiles, tree) -> None:
    await expect_error("files.permission", files.delete("home"))
    await expect_error("files.permission", files.delete(""))
    await expect_error("files.permission", files.rename("home", "home/x"))
    await expect_error("files.permission", files.rename("home/a.txt", "scratch"))
    await expect_error("files.permission", files.mkdir("newroot"))
    await expect_error("files.permission", files.write_chunks("new.txt", chunks_of(b"x")))
    assert tree["home"].is_dir() and (tree["home"] / "a.txt").exists()


async def test_permission_denied_even_for_root() -> None:
    # sysfs refuses new files to root too (EACCES / EPERM), on every Linux
    sys_fs = LocalFiles({"sys": "/sys"})
    await expect_error("files.permission", sys_fs.write_chunks("sys/jrpc-x", chunks_of(b"x")))
    await expect_error("files.permission", sys_fs.mkdir("sys/jrpc-test"))
    await expect_error("files.permission", sys_fs.rename("sys/kernel", "sys/jrpc-k"))


async def test_permission_denied_by_mode(files: LocalFiles, tree) -> None:
    locked = tree["home"] / "locked"
    locked.mkdir()
    (locked / "f.txt").write_text("f")
    locked.chmod(0)
    try:
        if os.geteuid() == 0:
            # Root ignores mode bits: we must not invent a refusal the system would not
            # make (refusals root does meet are in test_permission_denied_even_for_root).
            assert [e.name for e in await files.list_dir("home/locked")] == ["f.txt"]
            return
        await expect_error("files.permission", files.list_dir("home/locked"))
        await expect_error("files.permission", files.read_text("home/locked/f.txt", limit=10))
        await expect_error(
            "files.permission", files.write_chunks("home/locked/g.txt", chunks_of(b"x"))
        )
    finally:
        locked.chmod(0o755)


async def test_drive_path_of_real_paths(files: LocalFiles, tree) -> None:
    home = str(tree["home"])
    assert await files.drive_path(f"{home}/sub/b.txt") == "home/sub/b.txt"
    assert await files.drive_path(home) == "home"
    assert await files.drive_path(str(tree["outside"])) is None
    assert await files.drive_path("relative/path") is None
    assert await files.real_path("home/sub") == f"{home}/sub"
    await expect_error("files.not_found", files.real_path("home/nope", must_exist=True))
