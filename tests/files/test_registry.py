"""Remote-file implementations are found in one registry (jupyter_rpc.files.registry): ours
by one line each, other packages' by an entry point; a cluster naming an unknown one fails
at start-up with the choices named, and the cluster service builds its files from it."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from asyncssh import SFTPClient
from traitlets import TraitError

from jupyter_rpc.app import RPCApp
from jupyter_rpc.files import registry
from jupyter_rpc.files.local import LocalFiles
from jupyter_rpc.files.sftp import SFTPFiles
from jupyter_rpc.services.clusters import ClusterRegistry
from jupyter_rpc.ssh.runner import LocalRunner


class _Mirror(LocalFiles):
    """A site's own files (here: local folders under another name)."""

    kind = "mirror"


def _mirror(ctx: registry.FilesContext) -> _Mirror:
    return _Mirror(ctx.roots, label=ctx.cluster)


#: What a site's package would declare (here the entry point names this module).
MIRROR = registry.FilesKind("mirror", f"{__name__}:_mirror", remote=False)


async def _no_sftp() -> SFTPClient:
    raise AssertionError("nothing is opened while the files are built")


def _context(tmp_path: Path, *, remote: bool) -> registry.FilesContext:
    opener = _no_sftp if remote else None
    return registry.FilesContext(
        "c", {"home": str(tmp_path)}, "me", remote, LocalRunner(), open_sftp=opener
    )


@pytest.fixture
def with_mirror(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    points = [
        EntryPoint("mirror", f"{__name__}:MIRROR", registry.ENTRY_POINT_GROUP),
        EntryPoint("sftp", f"{__name__}:MIRROR", registry.ENTRY_POINT_GROUP),  # taken
        EntryPoint("broken", "no_such_module_xyz:KIND", registry.ENTRY_POINT_GROUP),
        EntryPoint("liar", f"{__name__}:MIRROR", registry.ENTRY_POINT_GROUP),  # wrong name
    ]

    def fake(group: str) -> list[EntryPoint]:
        return points if group == registry.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(registry, "entry_points", fake)
    registry.kinds.cache_clear()
    yield
    registry.kinds.cache_clear()


def test_builtin_files_by_name(tmp_path: Path) -> None:
    assert registry.names() == ["local", "sftp"]
    assert registry.names(remote=True) == ["sftp"]
    assert registry.names(remote=False) == ["local"]
    local = registry.make("local", _context(tmp_path, remote=False))
    assert isinstance(local, LocalFiles)
    assert [(r.name, r.real) for r in local.roots] == [("home", str(tmp_path.resolve()))]
    sftp = registry.make("sftp", _context(tmp_path, remote=True))
    assert isinstance(sftp, SFTPFiles) and sftp.user == "me" and sftp.label == "c"
    assert registry.default(remote=True) == "sftp" and registry.default(remote=False) == "local"


def test_a_name_that_is_not_there_or_cannot_serve_there(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no files 'nfs' \(choices: local, sftp\)"):
        registry.make("nfs", _context(tmp_path, remote=False))
    with pytest.raises(ValueError, match="local files are on this machine only"):
        registry.make("local", _context(tmp_path, remote=True))
    with pytest.raises(ValueError, match="sftp files need a 'host'"):
        registry.make("sftp", _context(tmp_path, remote=False))


def test_another_package_adds_files_by_entry_point(tmp_path: Path, with_mirror: None) -> None:
    assert registry.names() == ["local", "sftp", "mirror"]
    assert registry.names(remote=True) == ["sftp"]
    made = registry.make("mirror", _context(tmp_path, remote=False))
    assert isinstance(made, _Mirror) and made.kind == "mirror"
    assert registry.kinds()["sftp"].factory.startswith("jupyter_rpc.")  # not replaced


@pytest.mark.asyncio
async def test_a_cluster_gets_the_files_it_names(tmp_path: Path, with_mirror: None) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("hello")
    site: dict[str, dict[str, Any]] = {
        "default": {"scheduler": "none", "roots": {"home": str(tmp_path / "data")}},
        "mirrored": {
            "scheduler": "none",
            "files": "mirror",
            "roots": {"home": str(tmp_path / "data")},
        },
        "misplaced": {"scheduler": "none", "files": "sftp"},  # sftp without a host
    }
    clusters = ClusterRegistry(site, state_dir=tmp_path / "state")
    try:
        assert type(clusters.get("default").files) is LocalFiles
        mirrored = clusters.get("mirrored").files
        assert isinstance(mirrored, _Mirror)
        assert [e.name for e in await mirrored.list_dir("home")] == ["a.txt"]
        assert [c.name for c in clusters] == ["default", "mirrored"]  # misplaced: logged, left out
    finally:
        await clusters.close()


def test_an_unknown_files_name_in_the_site_config_fails_at_start_up() -> None:
    app = RPCApp()
    with pytest.raises(TraitError) as info:
        app.clusters = {"hpc": {"host": "h", "files": "nfs"}}
    message = str(info.value)
    assert "RPCApp.clusters['hpc'] is not valid" in message
    assert "['local', 'sftp']" in message, message
