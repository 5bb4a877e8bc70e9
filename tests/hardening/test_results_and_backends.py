"""Results, errors and backends that cannot take the server's memory or wedge it (issue 12,
items 3, 8 and 9), against a real ``jupyter server`` serving the hostile backend module.

- a result above ``RPCApp.max_kept_result_size`` reaches the caller who waits for it, then
  leaves the history (``result_dropped`` says why): ten 8 MB results do not stay in memory;
- a backend that writes one 20 MB stderr line and dies gives a short error (the stderr
  tail once, each line cut with "… (N bytes cut)"), and the server never holds the line;
- an answer over ``RPCApp.max_message_size`` fails its call alone with
  ``backend.message_too_large``; another call on the same backend goes on;
- calls that ignore cancellation and hold every worker wedge the backend: it is restarted,
  the call waiting fails with ``backend.wedged``, and the next call works.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from jupyter_rpc.services.calls import cut_text, json_size_over
from jupyter_rpc.transports.process import StderrTail
from tests.fixtures import HOSTILE
from tests.hardening.conftest import Bounds, ServerProcess

MB = 1_000_000


def call(
    server: ServerProcess,
    function: str,
    wait: float = 20.0,
    backend: str = "test",
    **arguments: Any,
) -> dict[str, Any]:
    """Start a call and wait up to ``wait`` seconds for it in the same request."""
    reply = server.request(
        "POST",
        f"backends/{backend}/calls",
        {"function": function, "arguments": arguments, "wait": wait},
        timeout=wait + 30,
    )
    assert reply.status in (200, 201), (reply.body[:500], server.log(40))
    return reply.json()  # type: ignore[no-any-return]


def until_done(server: ServerProcess, call_id: str, timeout: float) -> dict[str, Any]:
    """The call once it ended (fails after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        model = server.request("GET", f"calls/{call_id}", query={"wait": "1"}).json()
        if model["state"] in ("succeeded", "failed", "cancelled"):
            return model  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"still {model['state']} after {timeout} s"


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


# -- item 3: results and errors bounded ---------------------------------------------------


def test_large_results_reach_their_caller_then_leave_the_history(
    jupyter_server_process: Callable[..., ServerProcess],
) -> None:
    server = jupyter_server_process(
        HOSTILE, rpc_config={"max_kept_result_size": 1 * MB}, bounds=Bounds(rss_mb=48)
    )
    assert call(server, "huge_result", size=10)["result"] == "x" * 10
    server.resources.baseline()

    ids = []
    for _ in range(10):
        model = call(server, "huge_result", size=8 * MB)
        assert model["state"] == "succeeded"
        assert len(model["result"]) == 8 * MB  # the caller who waited gets all of it
        ids.append(model["id"])

    again = server.request("GET", f"calls/{ids[0]}").json()
    assert again["state"] == "succeeded"
    assert "result" not in again
    assert "max_kept_result_size" in again["result_dropped"]
    assert "run the call again" in again["result_dropped"]
    # a small result stays, as before
    small = call(server, "huge_result", size=100)
    assert server.request("GET", f"calls/{small['id']}").json()["result"] == "x" * 100
    # ten 8 MB results held would be 80 MB and more
    server.resources.check()


def test_a_giant_stderr_line_gives_a_short_error_and_is_never_held_whole(
    jupyter_server_process: Callable[..., ServerProcess],
) -> None:
    # children=1: the backend started again after its crash
    server = jupyter_server_process(HOSTILE, bounds=Bounds(hwm_mb=15, children=1))
    pid = call(server, "alive")["result"]
    server.resources.baseline()

    model = call(server, "giant_stderr_line", size=20 * MB)
    assert model["state"] == "failed"
    error = model["error"]
    assert error["code"] == "backend.crashed"
    assert len(error["message"]) < 20_000
    assert f"({20 * MB - 1000} bytes cut)" in error["message"], error["message"][-300:]
    assert "stderr" not in error["details"]  # the tail is in one place: the message
    listing = server.request("GET", "calls")
    assert len(listing.body) < 50_000
    # the backend comes back
    deadline = time.monotonic() + 20
    while (model := call(server, "alive"))["state"] != "succeeded":
        assert time.monotonic() < deadline, model["error"]
        time.sleep(0.2)
    assert model["result"] != pid
    # the 20 MB line went through 64 KB reads: no copy of it was ever held
    server.resources.check()


def test_a_stderr_flood_costs_no_memory(
    jupyter_server_process: Callable[..., ServerProcess],
) -> None:
    server = jupyter_server_process(HOSTILE, bounds=Bounds(hwm_mb=15))
    call(server, "alive")
    server.resources.baseline()
    model = call(server, "stderr_flood", lines=20_000, length=1000)
    assert model["state"] == "succeeded", model["error"]
    server.resources.check()


def test_a_huge_progress_report_is_not_kept_whole(
    jupyter_server_process: Callable[..., ServerProcess],
) -> None:
    server = jupyter_server_process(HOSTILE)
    call(server, "alive")
    server.resources.baseline()
    model = call(server, "huge_progress", size=2 * MB)
    assert model["state"] == "succeeded", model["error"]
    assert "not shown" in model["progress"]["step_message"]
    assert len(server.request("GET", "calls").body) < 50_000


def test_error_texts_are_cut_at_both_ends() -> None:
    text = "a" * 100_000 + "END"
    cut = cut_text(text, 1000)
    assert len(cut) < 1100
    assert cut.startswith("a" * 500) and cut.endswith("END")
    assert f"({len(text) - 1000} bytes cut)" in cut
    assert cut_text("short", 1000) == "short"


def test_the_stderr_tail_keeps_line_starts_and_counts_what_it_cut() -> None:
    tail = StderrTail(lines=3, line_limit=10)
    for _ in range(1000):
        tail.feed(b"E" * 1000)  # one 1 MB line, in pieces
    assert tail.feed(b"EE\nnext\n") == ["E" * 10 + f" \u2026 ({1_000_002 - 10} bytes cut)", "next"]
    tail.feed(b"partial")
    assert tail.tail().splitlines() == [
        "E" * 10 + f" \u2026 ({1_000_002 - 10} bytes cut)",
        "next",
        "partial",
    ]
    assert tail.end() == ["partial"]


def test_the_size_of_a_huge_result_is_found_without_walking_all_of_it() -> None:
    assert json_size_over("x" * 100, 1000) is None
    assert json_size_over({"a": [1, 2, "x" * 2000]}, 1000) is not None
    many = list(range(10_000_000))
    started = time.perf_counter()
    assert json_size_over(many, 1000) is not None
    assert time.perf_counter() - started < 0.5
    assert json_size_over([{"k": [1.5, None, True]}] * 10, 10_000) is None


# -- item 8: one answer over max_message_size ------------------------------------------------


def test_an_answer_over_the_message_limit_fails_that_call_alone(
    jupyter_server_process: Callable[..., ServerProcess],
) -> None:
    server = jupyter_server_process(HOSTILE, rpc_config={"max_message_size": 1 * MB})
    pid = call(server, "alive")["result"]
    server.resources.baseline()
    other = call(server, "ignore_cancel", wait=0, seconds=2.0)

    model = call(server, "huge_result", size=3 * MB)
    assert model["state"] == "failed"
    error = model["error"]
    assert error["code"] == "backend.message_too_large", error
    assert "max_message_size" in error["message"]
    assert f"limit of {1 * MB} bytes" in error["message"]
    assert error["details"]["limit"] == 1 * MB
    assert error["details"]["size"] > 3 * MB

    # the call running beside it and the backend go on
    assert until_done(server, other["id"], 20)["result"] == 2.0
    assert call(server, "alive")["result"] == pid
    (backend,) = server.request("GET", "backends").json()["backends"]
    assert backend["state"] == "running"
    assert backend["restarts"] == 0


# -- item 9: a backend wedged by calls that ignore cancellation ------------------------------


@pytest.mark.timeout(90)
def test_a_backend_wedged_by_calls_that_ignore_cancel_is_restarted(
    jupyter_server_process: Callable[..., ServerProcess],
) -> None:
    workers = 3
    command = [sys.executable, "-m", "jupyter_rpc.backend", "serve", HOSTILE]
    server = jupyter_server_process(
        None,
        backends={"test": {"command": [*command, "--workers", str(workers)]}},
        bounds=Bounds(children=1),  # the backend started again
    )
    pid = call(server, "alive")["result"]

    stuck = [call(server, "ignore_cancel", wait=0, seconds=600.0) for _ in range(workers)]
    time.sleep(0.5)  # every worker has one
    for model in stuck:
        assert server.request("DELETE", f"calls/{model['id']}").status == 200
    waiting = call(server, "alive", wait=0)  # queued behind them: no worker will free up

    ended = until_done(server, waiting["id"], 20)
    assert ended["state"] == "failed"
    assert ended["error"]["code"] == "backend.wedged", ended["error"]
    assert "ignore cancellation" in ended["error"]["message"]
    assert "restarted" in ended["error"]["message"]

    deadline = time.monotonic() + 20
    while (model := call(server, "alive"))["state"] != "succeeded":
        assert time.monotonic() < deadline, model["error"]
        time.sleep(0.2)
    assert model["result"] != pid
    assert not alive(pid), "the wedged process was not stopped"
    (backend,) = server.request("GET", "backends").json()["backends"]
    assert backend["restarts"] == 1


def test_a_backend_with_a_free_worker_is_not_restarted(
    jupyter_server_process: Callable[..., ServerProcess],
) -> None:
    command = [sys.executable, "-m", "jupyter_rpc.backend", "serve", HOSTILE, "--workers", "3"]
    server = jupyter_server_process(None, backends={"test": {"command": command}})
    pid = call(server, "alive")["result"]
    server.resources.baseline()
    stuck = [call(server, "ignore_cancel", wait=0, seconds=600.0) for _ in range(2)]
    time.sleep(0.5)
    for model in stuck:
        assert server.request("DELETE", f"calls/{model['id']}").status == 200
    time.sleep(7.0)  # past the 5 s a cancelled call has to answer, and its ping
    assert call(server, "alive")["result"] == pid  # the third worker still answers
    (backend,) = server.request("GET", "backends").json()["backends"]
    assert backend["restarts"] == 0
    assert backend["state"] == "running"
    server.resources.checked = True  # its two stuck workers end with the server


def test_a_backend_that_blocks_its_event_loop_is_restarted(
    jupyter_server_process: Callable[..., ServerProcess],
) -> None:
    server = jupyter_server_process(
        None,
        backends={"test": {"module": HOSTILE, "timeout": 1.0}},
        bounds=Bounds(children=1),  # the backend started again
    )
    pid = call(server, "alive")["result"]
    blocked = call(server, "block_loop", seconds=600.0)  # no pong, no cancel, no answer
    assert blocked["error"]["code"] == "call.timeout"

    deadline = time.monotonic() + 25
    while (model := call(server, "alive"))["state"] != "succeeded":
        assert time.monotonic() < deadline, model["error"]
        time.sleep(0.2)
    assert model["result"] != pid
    (backend,) = server.request("GET", "backends").json()["backends"]
    assert backend["restarts"] == 1
    assert not alive(pid)


def test_children_a_backend_leaves_behind_end_with_the_server(
    jupyter_server_process: Callable[..., ServerProcess],
) -> None:
    server = jupyter_server_process(HOSTILE)
    pids = call(server, "spawn_orphans", count=2, seconds=120.0)["result"]
    assert all(alive(p) for p in pids)
    assert server.stop() == []
    deadline = time.monotonic() + 5
    while any(alive(p) for p in pids):
        assert time.monotonic() < deadline, f"still running: {pids}"
        time.sleep(0.1)
    server.resources.checked = True
