"""Socket folders a killed server left behind are removed when a server starts
(jupyter_rpc/ssh/forward.py's sweep_socket_folders).

A kernel's forwards and an app's forward listen on UNIX sockets in a 0700 folder of
their own (``/tmp/jrpc-k-*``, ``/tmp/jrpc-fwd-*`` when TMPDIR is too long for a socket's
path). A server that ends removes them; one killed with SIGKILL could not, and the
folders piled up in /tmp (seen after CI runs at deep paths)."""

from __future__ import annotations

import os
import pathlib
import socket
import tempfile
import time
from collections.abc import Iterator

import pytest

from jupyter_rpc.errors import RemoteFailed
from jupyter_rpc.ssh import SSHTarget, forward

OLD = time.time() - 3600


def _folder(
    parent: pathlib.Path, name: str, *, listening: bool, old: bool = True
) -> tuple[pathlib.Path, socket.socket | None]:
    """A socket folder with one socket in it: still listened on, or left by a dead server."""
    folder = parent / name
    folder.mkdir(mode=0o700)
    sock: socket.socket | None = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    assert sock is not None
    sock.bind(str(folder / "k-1"))
    if listening:
        sock.listen()
    else:
        sock.close()  # the socket file stays, as when its server was killed
        sock = None
    if old:
        os.utime(folder, (OLD, OLD))
    return folder, sock


@pytest.fixture
def parent() -> Iterator[pathlib.Path]:
    """A short folder standing for /tmp (a socket's path must fit in 107 bytes)."""
    short = pathlib.Path(tempfile.mkdtemp(prefix="sw-", dir="/tmp"))
    yield short
    for entry in short.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            for inner in entry.iterdir():
                inner.unlink()
            entry.rmdir()
        else:
            entry.unlink()
    short.rmdir()


def test_a_dead_servers_folders_go_and_live_ones_stay(parent: pathlib.Path) -> None:
    dead_kernel, _ = _folder(parent, "jrpc-k-dead0001", listening=False)
    dead_app, _ = _folder(parent, "jrpc-fwd-dead0002", listening=False)
    live, listener = _folder(parent, "jrpc-k-live0003", listening=True)
    young, _ = _folder(parent, "jrpc-k-young004", listening=False, old=False)
    other, _ = _folder(parent, "other-dead00005", listening=False)
    try:
        removed = forward.sweep_socket_folders([str(parent)])
        assert sorted(removed) == sorted([str(dead_kernel), str(dead_app)])
        assert not dead_kernel.exists() and not dead_app.exists()
        # a server listens there; one may be starting; not ours by name
        assert live.exists() and young.exists() and other.exists()
    finally:
        assert listener is not None
        listener.close()


def test_links_and_other_users_folders_are_left_alone(parent: pathlib.Path) -> None:
    target, _ = _folder(parent, "elsewhere", listening=False)
    link = parent / "jrpc-k-link0001"
    link.symlink_to(target)
    os.utime(link, (OLD, OLD), follow_symlinks=False)
    theirs = None
    if os.geteuid() == 0:  # as root (CI), a folder of another user beside ours
        theirs, _ = _folder(parent, "jrpc-k-them0002", listening=False)
        os.chown(theirs, 65534, 65534)
        os.utime(theirs, (OLD, OLD))
    assert forward.sweep_socket_folders([str(parent)]) == []
    assert link.is_symlink() and (target / "k-1").exists()
    if theirs is not None:
        assert theirs.exists()
        os.chown(theirs, 0, 0)


def test_a_kernels_folder_swept_during_an_outage_is_made_again(parent: pathlib.Path) -> None:
    """Another server of the same user may sweep a kernel's folder while an outage keeps it
    from listening; listening again makes it anew, the user's own and private."""
    target = SSHTarget("127.0.0.1", 22, "nobody", label="c")
    folder = parent / "jrpc-k-gone0001"
    forward._own_folder(str(folder), target)
    assert folder.is_dir() and (folder.stat().st_mode & 0o777) == 0o700
    folder.chmod(0o755)  # as a folder someone else made in its place would be
    with pytest.raises(RemoteFailed) as info:
        forward._own_folder(str(folder), target)
    assert "not this user's own private folder" in str(info.value)
