"""The extension's shutdown runs on every stop signal (issue 13 item 2, loose end).

A hub's idle culler and Ctrl-C send SIGINT, a hub's stop or ``kill`` SIGTERM. Either must
run ``RPCApp.stop_extension``: the backends' processes end (with the calls they run), the
SSH connections close; local jobs are not ours to end (they are re-adopted by the next
server, ``jupyter_rpc/schedulers/local.py``). Real ``jupyter server`` processes.
"""

from __future__ import annotations

import os
import random
import signal
from pathlib import Path

import pytest

from tests.hardening.conftest import ServerStarter, _cmdline, descendants
from tests.schedulers.test_local_readoption import _pids_with, _wait


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_ends_the_backends_and_keeps_the_jobs(
    jupyter_server_process: ServerStarter, sig: signal.Signals
) -> None:
    server = jupyter_server_process()
    word = str(300 + random.randint(1, 600) + 0.75)
    reply = server.request("POST", "clusters/local/jobs", {"script": f"sleep {word}\n"})
    assert reply.status == 201, reply.body
    # a backend process that runs a call when the signal comes
    reply = server.request(
        "POST", "backends/test/calls", {"function": "sleep", "arguments": {"seconds": 60}}
    )
    assert reply.status == 201, reply.body
    call_id = reply.json()["id"]
    _wait(
        lambda: server.request("GET", f"calls/{call_id}").json()["state"] == "running",
        20,
        "the call runs",
    )
    _wait(lambda: _pids_with(word), 10, "the job's sleep runs")
    backends = [pid for pid in descendants(server.pid) if "faulty" in _cmdline(pid)]
    assert backends, descendants(server.pid)
    try:
        server.stopped = True  # stopped here; its job outlives it
        os.kill(server.pid, sig)
        server.proc.wait(timeout=20)
        log = server.log(40)
        assert "jupyter_rpc: stopped" in log, log
        left = [pid for pid in backends if _alive(pid)]
        assert not left, f"backend processes left running after {sig.name}: {left}\n{log}"
        assert _pids_with(word), f"the local job ended with the server ({sig.name})"
    finally:
        for pid in [*backends, *_pids_with(word)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
