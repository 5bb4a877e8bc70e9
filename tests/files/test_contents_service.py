"""The contents service (jupyter_rpc.services.contents) called directly, without tornado,
over real local files: models, saves, untitled and copy names, chunked and streamed
uploads, downloads."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest
import pytest_asyncio

from jupyter_rpc.errors import RPCError
from jupyter_rpc.files.local import LocalFiles
from jupyter_rpc.services.contents import (
    EMPTY_NOTEBOOK,
    ChunkReceived,
    ContentsModel,
    ContentsService,
    CreateRequest,
    SaveRequest,
)

pytestmark = pytest.mark.asyncio


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path.resolve()  # as real_path shows it


@pytest_asyncio.fixture
async def files(home: Path) -> AsyncIterator[LocalFiles]:
    files = LocalFiles({"home": str(home)})
    yield files
    await files.close()


@pytest.fixture
def contents() -> ContentsService:
    return ContentsService(max_open_size=1024)


def leftovers(home: Path) -> list[str]:
    """Every name in ``home`` (temporary upload files included)."""
    return sorted(p.name for p in home.iterdir())


def whole(model: ContentsModel | ChunkReceived) -> ContentsModel:
    """A save's answer that is a whole model (not the receipt of a chunk)."""
    assert "size" in model, model
    return cast(ContentsModel, model)


async def code(aw: object) -> str:
    with pytest.raises(RPCError) as info:
        await aw  # type: ignore[misc]
    return info.value.code


async def test_models_of_a_folder_text_binary_and_notebook(
    home: Path, files: LocalFiles, contents: ContentsService
) -> None:
    (home / "a.txt").write_text("héllo")
    (home / "b.bin").write_bytes(b"\xff\x00")
    (home / "n.ipynb").write_text(json.dumps(EMPTY_NOTEBOOK))
    folder = await contents.get(files, "/home/")
    assert folder["type"] == "directory" and folder["format"] == "json"
    assert [(m["name"], m["type"]) for m in folder["content"]] == [
        ("a.txt", "file"),
        ("b.bin", "file"),
        ("n.ipynb", "notebook"),
    ]
    assert (await contents.get(files, "home", content=False))["content"] is None
    text = await contents.get(files, "home/a.txt")
    assert (text["content"], text["format"], text["mimetype"]) == ("héllo", "text", "text/plain")
    assert text["real_path"] == str(home / "a.txt")
    binary = await contents.get(files, "home/b.bin")
    assert binary["format"] == "base64" and base64.b64decode(binary["content"]) == b"\xff\x00"
    assert await code(contents.get(files, "home/b.bin", format="text")) == "files.not_text"
    notebook = await contents.get(files, "home/n.ipynb")
    assert notebook["type"] == "notebook" and notebook["content"] == EMPTY_NOTEBOOK
    as_text = await contents.get(files, "home/n.ipynb", format="text", type="file")
    assert as_text["type"] == "file" and json.loads(as_text["content"]) == EMPTY_NOTEBOOK
    (home / "bad.ipynb").write_text("{not json")
    assert await code(contents.get(files, "home/bad.ipynb")) == "files.invalid_notebook"
    (home / "big.txt").write_text("x" * 2000)  # over max_open_size
    assert await code(contents.get(files, "home/big.txt")) == "files.too_large"
    assert (await contents.get(files, "home/big.txt", content=False))["size"] == 2000


async def test_saves_text_base64_notebooks_and_folders(
    home: Path, files: LocalFiles, contents: ContentsService
) -> None:
    saved = await contents.save(files, "home/t.txt", SaveRequest("file", "text", "one"))
    assert saved["name"] == "t.txt" and (home / "t.txt").read_text() == "one"
    raw = base64.b64encode(b"\x00\x01").decode()
    await contents.save(files, "home/r.bin", SaveRequest("file", "base64", raw))
    assert (home / "r.bin").read_bytes() == b"\x00\x01"
    nb = {**EMPTY_NOTEBOOK, "metadata": {"title": "ü"}}
    saved = await contents.save(files, "home/x.ipynb", SaveRequest("notebook", "json", nb))
    assert saved["type"] == "notebook"
    assert (home / "x.ipynb").read_text() == json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    folder = await contents.save(files, "home/sub", SaveRequest("directory"))
    assert folder["type"] == "directory" and (home / "sub").is_dir()
    bad = SaveRequest("file", "base64", "not base64!")
    assert await code(contents.save(files, "home/r.bin", bad)) == "files.invalid_base64"
    bad = SaveRequest("notebook", "json", "text")
    assert await code(contents.save(files, "home/x.ipynb", bad)) == "files.invalid_notebook"
    assert (home / "r.bin").read_bytes() == b"\x00\x01"  # refused saves change nothing


async def test_a_save_over_a_changed_file_is_refused(
    home: Path, files: LocalFiles, contents: ContentsService
) -> None:
    first = whole(await contents.save(files, "home/t.txt", SaveRequest("file", "text", "one")))
    seen = first["last_modified"]
    again = SaveRequest("file", "text", "two", last_modified=seen)
    await contents.save(files, "home/t.txt", again)
    (home / "t.txt").write_text("someone else")
    os.utime(home / "t.txt", (1, 1))  # another time than the one we read, in any second
    stale = SaveRequest("file", "text", "three", last_modified=seen)
    assert await code(contents.save(files, "home/t.txt", stale)) == "files.conflict"
    assert (home / "t.txt").read_text() == "someone else"
    odd = SaveRequest("file", "text", "x", last_modified="yesterday")
    assert await code(contents.save(files, "home/t.txt", odd)) == "request.invalid"


async def test_chunked_upload_and_its_failures(
    home: Path, files: LocalFiles, contents: ContentsService
) -> None:
    def chunk(n: int, data: bytes) -> SaveRequest:
        return SaveRequest("file", "base64", base64.b64encode(data).decode(), chunk=n)

    ack = await contents.save(files, "home/up.bin", chunk(1, b"ab"))
    assert ack == {"name": "up.bin", "path": "home/up.bin", "type": "file", "chunk": 1}
    assert not (home / "up.bin").exists()
    await contents.save(files, "home/up.bin", chunk(2, b"cd"))
    done = whole(await contents.save(files, "home/up.bin", chunk(-1, b"ef")))
    assert done["size"] == 6 and (home / "up.bin").read_bytes() == b"abcdef"
    # a single last chunk is a whole upload
    await contents.save(files, "home/one.bin", chunk(-1, b"x"))
    assert (home / "one.bin").read_bytes() == b"x"
    # a middle chunk first: refused
    assert await code(contents.save(files, "home/late.bin", chunk(3, b"x"))) == (
        "files.upload_not_started"
    )
    # chunk 1 again restarts the upload, dropping what came before
    await contents.save(files, "home/re.bin", chunk(1, b"old"))
    await contents.save(files, "home/re.bin", chunk(1, b"new"))
    await contents.save(files, "home/re.bin", chunk(-1, b"!"))
    assert (home / "re.bin").read_bytes() == b"new!"
    # an upload into a folder that is not there fails; nothing is left behind
    assert await code(contents.save(files, "home/none/x.bin", chunk(1, b"x"))) == (
        "files.not_found"
    )
    assert leftovers(home) == ["one.bin", "re.bin", "up.bin"]


async def test_untitled_copy_rename_delete(
    home: Path, files: LocalFiles, contents: ContentsService
) -> None:
    names = [(await contents.create(files, "home", CreateRequest()))["name"] for _ in range(3)]
    assert names == ["untitled.txt", "untitled1.txt", "untitled2.txt"]
    py = await contents.create(files, "home/", CreateRequest(ext=".py"))
    assert py["path"] == "home/untitled.py"
    nb = await contents.create(files, "home", CreateRequest(type="notebook"))
    assert nb["name"] == "Untitled.ipynb" and nb["type"] == "notebook"
    assert json.loads((home / "Untitled.ipynb").read_text()) == EMPTY_NOTEBOOK
    folder = await contents.create(files, "home", CreateRequest(type="directory"))
    assert folder["name"] == "Untitled Folder" and (home / "Untitled Folder").is_dir()
    (home / "data.csv").write_text("1,2")
    (home / ".bashrc").write_text("x")
    copies = [
        (await contents.create(files, "home", CreateRequest(copy_from=f"/home/{name}")))["name"]
        for name in ("data.csv", "data.csv", ".bashrc")
    ]
    assert copies == ["data-Copy.csv", "data-Copy1.csv", ".bashrc-Copy"]
    assert (home / "data-Copy1.csv").read_text() == "1,2"
    moved = await contents.rename(files, "home/data.csv", "/home/Untitled Folder/d.csv")
    assert moved["path"] == "home/Untitled Folder/d.csv"
    assert await code(contents.rename(files, "home/.bashrc", "home/data-Copy.csv")) == (
        "files.exists"
    )
    await contents.delete(files, "home/Untitled Folder/")
    assert not (home / "Untitled Folder").exists()


async def test_download_streams_a_file_in_pieces(
    home: Path, files: LocalFiles, contents: ContentsService
) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB: several pieces
    (home / "big data.bin").write_bytes(data)
    download = await contents.download(files, "home/big data.bin")
    assert (download.name, download.mimetype, download.size) == (
        "big data.bin",
        "application/octet-stream",
        len(data),
    )
    pieces = [download.first] + [piece async for piece in download.rest]
    await download.aclose()
    assert len(pieces) > 1 and b"".join(pieces) == data
    (home / "empty.txt").write_bytes(b"")
    empty = await contents.download(files, "home/empty.txt")
    assert (empty.first, empty.mimetype) == (b"", "text/plain")
    await empty.aclose()
    assert await code(contents.download(files, "home")) == "files.is_directory"
    assert await code(contents.download(files, "home/nope")) == "files.not_found"


async def test_streamed_upload_finishes_or_leaves_nothing(
    home: Path, files: LocalFiles, contents: ContentsService
) -> None:
    upload = contents.upload(files, "/home/s.bin")
    for piece in (b"a" * 100_000, b"b" * 100_000, b"c"):
        await upload.feed(piece)
    model = await upload.finish()
    assert model["name"] == "s.bin" and model["size"] == 200_001
    assert (home / "s.bin").read_bytes() == b"a" * 100_000 + b"b" * 100_000 + b"c"

    # cut off by the client: the write fails, the old file stays, no temporary file is left
    upload = contents.upload(files, "home/s.bin")
    await upload.feed(b"partial")
    upload.cut_off()
    with pytest.raises(ConnectionAbortedError):
        await upload.finish()
    assert (home / "s.bin").stat().st_size == 200_001

    # not over an existing file unless asked to
    upload = contents.upload(files, "home/s.bin", overwrite=False)
    await upload.feed(b"x")
    assert await code(upload.finish()) == "files.exists"

    # the request ended without finishing: the write is stopped, its temporary file removed
    upload = contents.upload(files, "home/t.bin")
    for _ in range(20):  # more than the queue holds: the write has begun
        await upload.feed(b"x" * 1000)
    assert any(name != "s.bin" for name in leftovers(home))  # the temporary file
    upload.cancel()
    upload.cancel()  # twice is fine
    for _ in range(200):  # the write ends in a worker thread's time
        if leftovers(home) == ["s.bin"]:
            break
        await asyncio.sleep(0.02)
    assert leftovers(home) == ["s.bin"]
