"""What the extension writes is the user's only, and what it starts does not get the
server's secrets (issue 13 items 1 and 6).

With Debian's 0755 homes and umask 022, a local job's folder was 0755 and its
``job.json`` (the job's environment), ``script.sh`` and output 0644: any other user of
the machine could read them. Local jobs also inherited ``JUPYTER_TOKEN`` and every other
secret of the server's environment.
"""

from __future__ import annotations

import asyncio
import base64
import os
import pathlib
import stat
import time
from collections.abc import Iterator
from typing import Any

import asyncssh
import pytest

from jupyter_rpc.files.paths import TEMP_MARK


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The server runs with Debian's default umask (restored afterwards)."""
    old = os.umask(0o022)
    yield
    os.umask(old)


async def _wait_job(rpc: Any, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, job = await rpc("GET", "clusters", "local", "jobs", job_id)
        assert status == 200, job
        if job["state"] in {"completed", "failed", "cancelled", "timeout"}:
            return job
        assert time.monotonic() < deadline, f"job {job_id} stayed {job['state']}"
        await asyncio.sleep(0.2)


async def _output(rpc: Any, job_id: str) -> str:
    status, out = await rpc(
        "GET", "clusters", "local", "jobs", job_id, "output", params={"stream": "stdout"}
    )
    assert status == 200, out
    return str(out["data"])


def _listing(folder: pathlib.Path, pattern: str) -> list[pathlib.Path]:
    return sorted(folder.glob(pattern))


def _loose(root: pathlib.Path) -> list[str]:
    """Entries under ``root`` (and ``root``) that others may read or enter."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        wanted = 0o700 if path.is_dir() else 0o600
        if mode != wanted:
            found.append(f"{path.relative_to(root.parent)} {mode:o}")
    return found


# --- 1. private files whatever the umask ------------------------------------------------


@pytest.fixture
def jp_server_config(
    umask_022: None,
    jp_server_config: dict[str, Any],
    home: pathlib.Path,
    with_local_cluster: Any,
    tmp_path: pathlib.Path,
) -> dict[str, Any]:
    # An older version's folders, made with the umask's 0755.
    (tmp_path / "state" / "local-jobs" / "7").mkdir(parents=True, mode=0o755)
    (tmp_path / "state" / "local-jobs" / "7" / "job.json").write_text("{}")
    os.chmod(tmp_path / "state" / "local-jobs", 0o755)
    os.chmod(tmp_path / "state", 0o755)
    return with_local_cluster(jp_server_config, home)


async def _ssh_server() -> asyncssh.SSHAcceptor:
    """A real SSH server with a new host key (it lets nobody in: only its key matters)."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    return await asyncssh.listen("127.0.0.1", 0, server_host_keys=[key])


async def test_everything_the_extension_writes_is_private_with_umask_022(
    rpc: Any, jp_fetch: Any, home: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    state = tmp_path / "state"
    # A local job with a secret in its environment and output.
    status, job = await rpc(
        "POST",
        "clusters",
        "local",
        "jobs",
        body={"script": "echo $API_KEY\necho made > result.txt\n", "env": {"API_KEY": "s3cret"}},
    )
    assert status == 201, job
    job = await _wait_job(rpc, job["id"])
    assert job["state"] == "completed", job
    assert "s3cret" in await _output(rpc, job["id"])
    outputs = _listing(home, "job-*")
    assert outputs, _listing(home, "*")
    # A chunked upload: its temporary file while in flight, then the user's file.
    piece = base64.b64encode(b"x" * 1000).decode()
    body = {"type": "file", "format": "base64", "content": piece}
    status, saved = await rpc(
        "PUT", "clusters", "local", "files", "home/up.bin", body={**body, "chunk": 1}
    )
    assert status == 200, saved
    in_flight = _listing(home, f".*{TEMP_MARK}*")
    assert len(in_flight) == 1, _listing(home, "*")
    temp_mode = stat.S_IMODE(in_flight[0].stat().st_mode)
    status, saved = await rpc(
        "PUT", "clusters", "local", "files", "home/up.bin", body={**body, "chunk": -1}
    )
    assert status == 200, saved
    # A streamed upload of a new file.
    response = await jp_fetch(
        "jupyter-rpc",
        "clusters",
        "local",
        "upload",
        "home",
        "streamed.bin",
        method="PUT",
        body=b"y" * 1000,
    )
    assert response.code == 201
    # A user cluster and a trusted host key.
    ssh_server = await _ssh_server()
    try:
        port = ssh_server.sockets[0].getsockname()[1]
        new = {"name": "mine", "host": "127.0.0.1", "port": port, "scheduler": "none"}
        status, cluster = await rpc("POST", "clusters", body=new)
        assert status == 201, cluster
        status, err = await rpc("POST", "clusters", "mine", "connect", body={})
        assert status == 428 and err["code"] == "ssh.host_unknown", err
        fingerprint = err["details"]["fingerprint"]
        status, answer = await rpc(
            "POST", "clusters", "mine", "trust", body={"fingerprint": fingerprint}
        )
        assert answer.get("code") not in ("ssh.fingerprint_mismatch", "internal"), answer
    finally:
        ssh_server.close()
    assert (state / "clusters.json").exists() and (state / "known_hosts").exists()
    assert (state / "local-jobs" / job["id"] / "job.json").exists()

    assert _loose(state) == [], "others may read the extension's state"
    loose_outputs = [f"{p.name} {stat.S_IMODE(p.stat().st_mode):o}" for p in outputs]
    assert loose_outputs == [f"{p.name} 600" for p in outputs], "a job's stdout/stderr"
    assert f"{temp_mode:o}" == "600", "an upload's temporary file while in flight"
    # What the user makes keeps the user's umask: the uploaded file, the job's own file.
    assert stat.S_IMODE((home / "up.bin").stat().st_mode) == 0o644
    assert stat.S_IMODE((home / "streamed.bin").stat().st_mode) == 0o644
    assert stat.S_IMODE((home / "result.txt").stat().st_mode) == 0o644
