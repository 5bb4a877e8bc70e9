"""Clusters, jobs and files from Python (the notebook client) against a real Jupyter
server with the local cluster: real processes, a real folder."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

import jupyter_rpc
from jupyter_rpc.notebook.client import OpenPanelFirst, RemoteError, Session
from jupyter_rpc.notebook.clusters import JobList, megabytes, minutes


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    (root / "data").mkdir(parents=True)
    (root / "data" / "notes.txt").write_text("first line\n")
    return root


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], home: Path, with_local_cluster: Any
) -> dict[str, Any]:
    return with_local_cluster(jp_server_config, home)


async def in_thread(fn, *args, **kwargs):
    # The client is synchronous (notebook code); the server runs on this test's loop.
    return await asyncio.to_thread(fn, *args, **kwargs)


async def open_local(server_url):
    url, token = server_url
    return await in_thread(jupyter_rpc.cluster, "local", url=url, token=token)


# -- values people type -------------------------------------------------------------------


def test_time_limits_and_memory_read_like_slurm():
    assert minutes(90) == 90 and minutes(0.5) == 1
    assert minutes("90") == 90
    assert minutes("30:00") == 30  # minutes:seconds
    assert minutes("2:00:00") == 120 and minutes("0:00:30") == 1  # rounded up
    assert minutes("1-00:00:00") == 1440 and minutes("1-12") == 2160 and minutes("1-0:30") == 1470
    assert minutes(dt.timedelta(hours=1, seconds=1)) == 61
    with pytest.raises(ValueError, match="HH:MM:SS"):
        minutes("an hour")
    assert megabytes(4000) == 4000 and megabytes("4G") == 4096 and megabytes("500M") == 500
    assert megabytes("1.5GB") == 1536 and megabytes("512K") == 1
    with pytest.raises(ValueError, match="4G"):
        megabytes("lots")


# -- clusters -------------------------------------------------------------------------------


async def test_clusters_are_listed_and_unknown_ones_named(server_url):
    local = await open_local(server_url)
    url, token = server_url
    listing = await in_thread(jupyter_rpc.clusters, url=url, token=token)
    assert listing.names == ["local"]
    assert "local" in repr(listing) and "<table>" in listing._repr_html_()
    assert local.roots == ["home"] and "'local'" in repr(local)
    with pytest.raises(RemoteError) as info:
        await in_thread(jupyter_rpc.cluster, "nosuch", url=url, token=token)
    assert info.value.code == "cluster.not_found"


# -- jobs -------------------------------------------------------------------------------------


async def test_a_failing_job_is_waited_for_with_its_output_and_exit_code(server_url, capsys):
    local = await open_local(server_url)
    job = await in_thread(
        local.submit, "echo hello from a job\necho to stderr >&2\nexit 2", name="fails"
    )
    assert job.id and job.info["name"] == "fails"
    assert await in_thread(job.wait, timeout=60) is job
    assert job.info["state"] == "failed" and job.done
    assert job.exit_code == 2
    assert await in_thread(job.output) == "hello from a job\n"
    assert await in_thread(job.output, "stderr") == "to stderr\n"
    assert "exit code 2" in repr(job) and "failed" in repr(job)
    # outside IPython, waiting prints one line per state it saw
    printed = capsys.readouterr().out
    assert f"Job {job.id} (fails) on local: failed" in printed and "exit code 2" in printed

    # What it used, once ended; the history table shows it.
    assert job.cpu_efficiency is not None and 0 <= job.cpu_efficiency < 5
    assert job.memory_peak_mb is not None and 0 < job.memory_peak_mb < 500
    history = await in_thread(local.history, days=1)
    (row,) = [r for r in history._rows() if r[0] == job.id]
    heads = [h for h, _ in history.columns]
    cells = dict(zip(heads, row, strict=True))
    assert cells["state"] == "failed" and cells["exit"] == "2" and cells["ended"]
    assert re.fullmatch(r"\d+ %", cells["cpu"]) and re.fullmatch(
        r"\d+(\.\d)? MB( \(\d+ %\))?", cells["memory peak"]
    )


async def test_long_output_is_read_whole(server_url, capsys):
    local = await open_local(server_url)
    # more than one output request (1 MiB each): 2.2 MB of numbered lines
    job = await in_thread(local.submit, "seq 1 300000", time_limit="0:05:00", memory="100M")
    await in_thread(job.wait, timeout=60)
    text = await in_thread(job.output)
    assert text == "".join(f"{i}\n" for i in range(1, 300001))
    await in_thread(job.tail, follow=True)  # the job has ended: prints all and returns
    assert capsys.readouterr().out.endswith("299999\n300000\n")


async def test_tail_follows_a_running_job_until_it_ends(server_url, capsys):
    local = await open_local(server_url)
    job = await in_thread(local.submit, "for i in 1 2 3; do echo line $i; sleep 0.5; done")
    await in_thread(job.tail, poll=0.2)
    assert job.info["state"] == "completed"
    assert capsys.readouterr().out == "line 1\nline 2\nline 3\n"


async def test_a_sleeping_job_is_cancelled(server_url):
    local = await open_local(server_url)
    job = await in_thread(local.submit, "echo started\nsleep 300", name="sleeper")
    for _ in range(100):
        if await in_thread(lambda: job.state) == "running":
            break
        await asyncio.sleep(0.1)
    with pytest.raises(TimeoutError, match="keeps running"):
        await in_thread(job.wait, timeout=0.5, poll=0.1)
    await in_thread(job.cancel)
    assert job.info["state"] == "cancelled" and job.done
    with pytest.raises(RemoteError) as info:
        await in_thread(job.cancel)
    assert info.value.code == "job.finished"


async def test_held_jobs_wait_for_release(server_url):
    local = await open_local(server_url)
    job = await in_thread(local.submit, "echo released", hold=True, env={"WHO": "me"})
    assert job.info["state"] == "held"
    await asyncio.sleep(1)
    assert await in_thread(lambda: job.state) == "held"  # it did not start
    await in_thread(job.hold)  # holding again is harmless
    await in_thread(job.release)
    await in_thread(job.wait, timeout=60, poll=0.2)
    assert job.info["state"] == "completed" and await in_thread(job.output) == "released\n"
    with pytest.raises(RemoteError) as info:
        await in_thread(job.hold)
    assert info.value.code == "job.finished"


async def test_job_list_shows_our_job_and_escapes_its_name(server_url):
    local = await open_local(server_url)
    job = await in_thread(local.submit, "sleep 30", name="<b>x</b>")
    try:
        jobs = await in_thread(local.jobs)
        assert isinstance(jobs, JobList)
        assert job.id in [j.id for j in jobs]
        table = jobs._repr_html_()
        assert "&lt;b&gt;x&lt;/b&gt;" in table and "<b>x</b>" not in table
        assert "<b>x</b>" in repr(jobs)  # the plain text shows the name as it is
        again = await in_thread(local.job, job.id)
        assert again.info["name"] == "<b>x</b>"
        assert "&lt;b&gt;" in again._repr_html_()
    finally:
        await in_thread(job.cancel)


async def test_resubmit_runs_the_same_script_again(server_url):
    local = await open_local(server_url)
    first = await in_thread(local.submit, "echo again", name="twice")
    await in_thread(first.wait, timeout=60, poll=0.2)
    second = await in_thread(first.resubmit)
    assert second.id != first.id
    await in_thread(second.wait, timeout=60, poll=0.2)
    assert await in_thread(second.output) == "again\n"
    assert second.info["name"] == "twice"


async def test_test_submit_and_refused_specs(server_url):
    local = await open_local(server_url)
    result = await in_thread(local.test, "echo hi", time_limit=5)
    assert result.message
    assert result.expected_start is None or isinstance(result.expected_start, dt.datetime)
    with pytest.raises(ValueError, match="script"):
        local.submit()  # refused before any request
    with pytest.raises(TypeError):
        local.submit("echo", cpus="two")
    with pytest.raises(RemoteError) as info:
        await in_thread(local.submit, "echo hi", array="not-a-range")
    assert info.value.code == "job.invalid" and "array" in info.value.message


# -- files ------------------------------------------------------------------------------------


async def test_text_round_trip_ls_rename_delete(server_url, home):
    local = await open_local(server_url)
    files = local.files
    await in_thread(files.mkdir, "home/run1/deep", parents=True)
    assert (home / "run1" / "deep").is_dir()
    await in_thread(files.mkdir, "home/run1", exist_ok=True)
    with pytest.raises(RemoteError) as info:
        await in_thread(files.mkdir, "home/run1")
    assert info.value.code == "files.exists"
    assert await in_thread(files.write_text, "home/run1/out.txt", "Grüße\n") == 6
    assert (home / "run1" / "out.txt").read_text() == "Grüße\n"
    assert await in_thread(files.read_text, "home/run1/out.txt") == "Grüße\n"
    assert await in_thread(files.read_text, "home/data/notes.txt") == "first line\n"
    await in_thread(files.write_bytes, "home/run1/raw.bin", bytes(range(256)))
    assert await in_thread(files.read_bytes, "home/run1/raw.bin") == bytes(range(256))
    with pytest.raises(RemoteError) as info:
        await in_thread(files.write_text, "home/run1/out.txt", "new", overwrite=False)
    assert info.value.code == "files.exists"

    top = await in_thread(files.ls)
    assert [e["name"] for e in top] == ["home"]
    listing = await in_thread(files.ls, "home/run1")
    assert [(e["name"], e["type"]) for e in listing] == [
        ("deep", "directory"),
        ("out.txt", "file"),
        ("raw.bin", "file"),
    ]
    out = listing[1]
    assert out["size"] == len("Grüße\n".encode()) and out["path"] == "home/run1/out.txt"
    assert isinstance(out["modified"], dt.datetime)
    assert abs(out["modified"].timestamp() - (home / "run1" / "out.txt").stat().st_mtime) < 1
    assert "out.txt" in repr(listing) and "<td" in listing._repr_html_()
    assert await in_thread(files.real_path, "home/run1/out.txt") == str(home / "run1" / "out.txt")

    await in_thread(files.rename, "home/run1/out.txt", "home/run1/renamed.txt")
    assert not (home / "run1" / "out.txt").exists() and (home / "run1" / "renamed.txt").exists()
    assert await in_thread(files.exists, "home/run1/renamed.txt")
    assert not await in_thread(files.exists, "home/run1/out.txt")
    await in_thread(files.delete, "home/run1")
    assert not (home / "run1").exists()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def peak_memory(fn, *args):
    """fn's result and the most memory Python held at once while it ran."""
    tracemalloc.start()
    try:
        return fn(*args), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def test_large_files_are_streamed_both_ways(server_url, home, tmp_path):
    local = await open_local(server_url)
    source = tmp_path / "big.bin"
    digest = hashlib.sha256()

    def make() -> None:
        with open(source, "wb") as f:
            for i in range(20):  # 20 MB, a different pattern per MB
                block = hashlib.sha256(str(i).encode()).digest() * (1024 * 1024 // 32)
                digest.update(block)
                f.write(block)

    await in_thread(make)
    entry, upload_peak = await in_thread(peak_memory, local.files.upload, source, "home/data/")
    assert entry["path"] == "home/data/big.bin" and entry["size"] == 20 * 1024 * 1024
    assert sha256(home / "data" / "big.bin") == digest.hexdigest()
    back = tmp_path / "back"
    back.mkdir()
    local_path, download_peak = await in_thread(
        peak_memory, local.files.download, "home/data/big.bin", back
    )
    assert local_path == back / "big.bin"
    assert sha256(local_path) == digest.hexdigest()
    # streamed: never the whole file in memory (client and server share this process)
    assert upload_peak < 8 * 1024 * 1024 and download_peak < 8 * 1024 * 1024, (
        upload_peak,
        download_peak,
    )
    assert os.listdir(back) == ["big.bin"]  # no partial file left
    # the same connection serves the next request
    assert await in_thread(local.files.exists, "home/data/big.bin")


async def test_file_errors_carry_the_server_code(server_url, home, tmp_path):
    local = await open_local(server_url)
    files = local.files
    with pytest.raises(RemoteError) as info:
        await in_thread(files.read_text, "home/data/missing.txt")
    assert info.value.code == "files.not_found" and "missing.txt" in info.value.message
    target = tmp_path / "back"
    target.mkdir()
    with pytest.raises(RemoteError) as info:
        await in_thread(files.download, "home/data/missing.txt", target)
    assert info.value.code == "files.not_found" and os.listdir(target) == []
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    (home / "escape").symlink_to(secret)
    with pytest.raises(RemoteError) as info:
        await in_thread(files.read_text, "home/escape")
    assert info.value.code == "files.outside_roots"
    with pytest.raises(RemoteError) as info:
        await in_thread(files.write_text, "home/escape", "overwritten?")
    assert info.value.code == "files.outside_roots" and secret.read_text() == "not yours"
    with pytest.raises(FileNotFoundError):  # a missing local file is a local error
        await in_thread(files.upload, tmp_path / "no-such-local-file", "home/x")


def test_cluster_errors_that_need_a_person_say_which_panel_to_open():
    session = Session("http://127.0.0.1:9/", "t")
    body = (
        b'{"message": "The host 127.0.0.1:2222 (testbed) is not known.", "code": "ssh.host_unknown",'
        b' "details": {"host": "127.0.0.1", "port": 2222, "key_type": "ssh-ed25519",'
        b' "fingerprint": "SHA256:abcDEF123"}}'
    )
    err = session._error(428, body, "clusters/testbed/jobs")
    assert isinstance(err, OpenPanelFirst) and isinstance(err, RemoteError)
    assert (
        err.code == "ssh.host_unknown"
        and err.cluster == "testbed"
        and err.fingerprint == "SHA256:abcDEF123"
    )
    assert (
        "SHA256:abcDEF123" in str(err)
        and "Jobs or Remote files panel" in str(err)
        and "'testbed'" in str(err)
    )
    body = b'{"message": "testbed asks for a login: Password.", "code": "ssh.auth_required", "details": {}}'
    err = session._error(428, body, "clusters/testbed/files/home")
    assert isinstance(err, OpenPanelFirst) and "log in there once" in str(err)
    plain = session._error(
        404, b'{"message": "No job 7.", "code": "job.not_found"}', "clusters/x/jobs/7"
    )
    assert type(plain) is RemoteError and plain.code == "job.not_found"


def test_dot_segments_are_sent_encoded():
    from jupyter_rpc.notebook.clusters import Cluster

    folder = Cluster.__new__(Cluster)
    folder.name = "local"
    from jupyter_rpc.notebook.clusters import RemoteFolder

    files = RemoteFolder.__new__(RemoteFolder)
    files.cluster = folder
    assert (
        files._path("files", "home/../../etc/passwd")
        == "clusters/local/files/home/%2E%2E/%2E%2E/etc/passwd"
    )
    assert files._path("files", "home/a b/c#d") == "clusters/local/files/home/a%20b/c%23d"


# -- asynchronous=True ---------------------------------------------------------------------


async def test_asynchronous_cluster_jobs_files_and_waits_can_be_cancelled(server_url, home):
    """With ``asynchronous=True`` the cluster's methods, its jobs' and its files' return
    coroutines: jobs submitted and waited for at once with ``asyncio.gather`` (the event
    loop stays free: the server under test runs on it), files read and written, and
    cancelling a wait stops waiting at once while the job goes on."""
    url, token = server_url
    c = await in_thread(jupyter_rpc.cluster, "local", url=url, token=token, asynchronous=True)
    jobs = await asyncio.gather(*(c.submit(f"sleep 1; echo job {i}") for i in range(3)))
    assert len({j.id for j in jobs}) == 3
    started = asyncio.get_running_loop().time()
    done = await asyncio.gather(*(j.wait(timeout=60, poll=0.2) for j in jobs))
    assert done == jobs and all(j.info["state"] == "completed" for j in jobs)
    assert asyncio.get_running_loop().time() - started < 30
    assert [await j.output() for j in jobs] == [f"job {i}\n" for i in range(3)]
    listed = await c.jobs()
    assert isinstance(listed, JobList)

    # files
    assert await c.files.write_text("home/data/a.txt", "async text") == len("async text")
    assert await c.files.read_text("home/data/a.txt") == "async text"
    assert await c.files.exists("home/data/a.txt") and not await c.files.exists("home/none")
    names = [e["name"] for e in await c.files.ls("home/data")]
    assert "a.txt" in names and "notes.txt" in names
    await c.files.delete("home/data/a.txt")
    with pytest.raises(RemoteError) as info:
        await c.files.read_text("home/data/a.txt")
    assert info.value.code == "files.not_found"

    # cancelling a wait: it ends at once, the job goes on, its state is read without a request
    long = await c.submit("sleep 60", name="long")
    waiting = asyncio.ensure_future(long.wait(poll=0.2))
    await asyncio.sleep(1.0)
    assert not waiting.done()
    waiting.cancel()
    stopped = asyncio.get_running_loop().time()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert asyncio.get_running_loop().time() - stopped < 2
    assert (await long.refresh()).info["state"] in ("pending", "running")
    assert long.state in ("pending", "running")  # the last fetched value: no blocking request
    assert (await long.cancel()).info["state"] == "cancelled"

    # help() shows what waiting returns, not the generator behind it
    import inspect

    from jupyter_rpc.notebook.jobs import Job

    assert inspect.signature(Job.wait).return_annotation == "Job"
    assert "cancelling the task" in (Job.wait.__doc__ or "")
