"""The harness itself: a ResourceTracker sees each kind of leak in a process and names it,
and a process that let go of everything passes its check."""

from __future__ import annotations

import pathlib
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.hardening.conftest import Bounds, ResourceTracker

#: a process that leaks on command (one per line on stdin; answers "ok")
LEAKER = r"""
import os, subprocess, sys, threading, time
held = []
for line in sys.stdin:
    what, _, arg = line.strip().partition(" ")
    if what == "file":
        held.append(open(arg, "w"))
    elif what == "temp":
        open(os.path.join(arg, ".big.bin.jrpc-upload-x1y2"), "w").close()
    elif what == "child":
        held.append(subprocess.Popen(["sleep", "30"]))
    elif what == "zombie":
        held.append(subprocess.Popen(["true"]))
        time.sleep(0.3)
    elif what == "threads":
        for _ in range(int(arg)):
            threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
    elif what == "memory":
        held.append(bytearray(int(arg) * 1024 * 1024))
    elif what == "release":
        for thing in held:
            if hasattr(thing, "kill"):
                thing.kill()
                thing.wait()
            elif hasattr(thing, "close"):
                thing.close()
        held.clear()
    print("ok", flush=True)
"""


@pytest.fixture
def leaker() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", LEAKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()


def _tell(proc: subprocess.Popen[str], *commands: str) -> None:
    assert proc.stdin is not None and proc.stdout is not None
    for command in commands:
        proc.stdin.write(command + "\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "ok"


def test_each_kind_of_leak_is_seen_and_named(
    leaker: subprocess.Popen[str], tmp_path: pathlib.Path
) -> None:
    _tell(leaker, "memory 1")  # the interpreter is up
    tracker = ResourceTracker(leaker.pid, name="leaker")
    tracker.watch(tmp_path)
    tracker.baseline()
    kept = tmp_path / "kept.txt"
    _tell(leaker, f"file {kept}", f"temp {tmp_path}", "child", "zombie", "threads 3", "memory 40")

    found = "\n".join(tracker.problems(Bounds(rss_mb=20, threads=2, fds=0)))

    assert "RSS grew" in found
    assert "files held open" in found and str(kept) in found
    assert "temp files left" in found and ".big.bin.jrpc-upload-x1y2" in found
    assert "new child processes still running" in found and "sleep 30" in found
    assert "never reaped (zombies)" in found
    assert "threads grew by 3" in found
    with pytest.raises(AssertionError, match=r"the leaker \(PID \d+\) holds more"):
        tracker.check(Bounds(rss_mb=20, threads=2), settle=0.5)


def test_a_process_that_let_go_passes(
    leaker: subprocess.Popen[str], tmp_path: pathlib.Path
) -> None:
    _tell(leaker, "memory 1")
    tracker = ResourceTracker(leaker.pid, name="leaker")
    tracker.watch(tmp_path)
    tracker.baseline()
    _tell(leaker, f"file {tmp_path / 'a.txt'}", "child", "zombie", "release")

    tracker.check(Bounds(fds=0, threads=0), settle=5.0)
