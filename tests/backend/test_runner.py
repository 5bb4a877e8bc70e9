"""The stdio runner, tested as the server uses it: a real subprocess speaking JSON lines."""

from __future__ import annotations

import base64
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_rpc import protocol
from tests.fixtures import FAULTY, REPO

DEMO = "jupyter_rpc.examples.demo"


def backend_env() -> dict[str, str]:
    """The environment of a runner subprocess: the repository importable, installed or not."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class RunnerProcess:
    """A runner subprocess and a line-by-line client for it.

    Everything the runner writes on stdout must be a DASF message: anything else is
    kept in ``garbage`` and fails :meth:`close`.
    """

    def __init__(self, *args: str, cwd: Path = REPO) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_rpc.backend", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=backend_env(),
            cwd=cwd,
        )
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._stash: dict[str, list[dict[str, Any]]] = {}
        self.garbage: list[bytes] = []
        self._stderr: list[bytes] = []
        self._stderr_changed = threading.Condition()
        self._threads = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self._inbox.put(protocol.loads_line(line))
            except protocol.ProtocolError:
                self.garbage.append(line)
        self._inbox.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._stderr_changed:
                self._stderr.append(line)
                self._stderr_changed.notify_all()

    @property
    def stderr(self) -> str:
        return b"".join(self._stderr).decode("utf-8", "replace")

    def wait_for_stderr(self, text: str, timeout: float = 10.0) -> None:
        """Block until the runner has written ``text`` on stderr."""
        with self._stderr_changed:
            if not self._stderr_changed.wait_for(lambda: text in self.stderr, timeout):
                raise AssertionError(f"{text!r} did not appear on stderr:\n{self.stderr}")

    # -- sending ---------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, kind: str, context: str, payload: str = "") -> None:
        self.send_raw(protocol.dumps_line(protocol.message(kind, context, payload=payload)))

    def request(self, context: str, request: dict[str, Any]) -> None:
        self.send(protocol.REQUEST, context, protocol.encode_payload(request))

    # -- receiving -------------------------------------------------------------------------

    def next_for(self, context: str, timeout: float = 10.0) -> dict[str, Any]:
        """The next message for ``context`` (others are kept for later)."""
        if self._stash.get(context):
            return self._stash[context].pop(0)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"no message for {context!r} within {timeout} s; stderr:\n{self.stderr}"
                )
            try:
                msg = self._inbox.get(timeout=left)
            except queue.Empty:
                continue
            if msg is None:
                self._inbox.put(None)
                raise AssertionError(f"the runner closed stdout; stderr:\n{self.stderr}")
            if msg["properties"]["requestContext"] == context:
                return msg
            self._stash.setdefault(msg["properties"]["requestContext"], []).append(msg)

    def next_message(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next message in arrival order (nothing may be waiting in the stash)."""
        assert not any(self._stash.values()), self._stash
        try:
            msg = self._inbox.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no message within {timeout} s; stderr:\n{self.stderr}") from None
        assert msg is not None, f"the runner closed stdout; stderr:\n{self.stderr}"
        return msg

    def result_of(
        self, context: str, timeout: float = 10.0
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The progress frames and the final response of one call."""
        frames = []
        while True:
            msg = self.next_for(context, timeout)
            if msg["properties"]["messageType"] == protocol.PROGRESS:
                frames.append(msg)
            else:
                assert msg["properties"]["messageType"] == protocol.RESPONSE, msg
                return frames, msg

    def call(self, context: str, request: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        self.request(context, request)
        return self.result_of(context, timeout)[1]

    def value(self, context: str, request: dict[str, Any], timeout: float = 10.0) -> Any:
        """Call and return the decoded result, failing on an error response."""
        response = self.call(context, request, timeout)
        assert response["properties"]["status"] == "success", error_text(response)
        return protocol.decode_payload(response["payload"])

    # -- stopping --------------------------------------------------------------------------

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        if not self.proc.stdin.closed:
            self.proc.stdin.close()

    def wait(self, timeout: float) -> int:
        code = self.proc.wait(timeout)
        for thread in self._threads:
            thread.join(timeout)
        return code

    def close(self) -> None:
        """End the runner (EOF, then kill if it does not go); always safe to call."""
        try:
            self.close_stdin()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for thread in self._threads:
            thread.join(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def error_text(response: dict[str, Any]) -> str:
    return protocol.decode_text(response["payload"])


@pytest.fixture
def demo() -> Iterator[RunnerProcess]:
    runner = RunnerProcess("serve", DEMO)
    try:
        yield runner
    finally:
        runner.close()
    assert not runner.garbage, runner.garbage


@pytest.fixture
def faulty() -> Iterator[RunnerProcess]:
    runner = RunnerProcess(FAULTY)  # "serve" is the default verb
    try:
        yield runner
    finally:
        runner.close()
    assert not runner.garbage, runner.garbage


# -- discovery -------------------------------------------------------------------------------


def test_ping_answers_pong_with_the_same_context(demo: RunnerProcess) -> None:
    demo.send_raw(
        b'{"properties": {"messageType": "ping", "requestContext": 7}, "context": 7, "payload": ""}\n'
    )
    pong = demo.next_for("7")
    workers = pong["properties"].pop("workers")
    assert pong["properties"] == {
        "messageType": "pong",
        "requestContext": "7",
        "source_topic": DEMO,
        "busy": "0",  # workers running a plain function (a server tells a wedged pool by it)
    }
    assert int(workers) > 0
    assert pong["context"] == "7"
    assert pong["payload"] == ""


def test_api_info_and_info_are_served_as_json_strings(demo: RunnerProcess) -> None:
    demo.send(protocol.API_INFO, "a")
    reply = demo.next_for("a")
    props = reply["properties"]
    assert props["messageType"] == "response" and props["status"] == "success"
    assert reply["payload"] == ""
    api_info = json.loads(props["api_info"])
    assert sorted(api_info) == ["classes", "functions", "rpc_schema"]
    assert [f["name"] for f in api_info["functions"]][:2] == ["add", "greet"]
    assert [c["name"] for c in api_info["classes"]] == ["Accumulator"]

    demo.send(protocol.INFO, "i")
    info = json.loads(demo.next_for("i")["properties"]["info"])
    assert info == api_info["rpc_schema"]
    assert info["title"] == DEMO


# -- calls -----------------------------------------------------------------------------------


def test_a_call_returns_its_result(demo: RunnerProcess) -> None:
    response = demo.call("1", {"func_name": "add", "a": 2, "b": 40})
    assert response["properties"] == {
        "messageType": "response",
        "requestContext": "1",
        "status": "success",
        "source_topic": DEMO,
    }
    assert protocol.decode_payload(response["payload"]) == 42
    assert demo.value("2", {"func_name": "add", "a": 2}) == 3  # the default b=1


def test_a_class_method_call_builds_a_fresh_instance(demo: RunnerProcess) -> None:
    request = {
        "class_name": "Accumulator",
        "start": 10,
        "function": {"func_name": "add_all", "values": [1, 2.5]},
    }
    assert demo.value("1", request) == 13.5
    assert (
        demo.value("2", {"class_name": "Accumulator", "function": {"func_name": "scaled"}}) == 0.0
    )
    assert (
        demo.value(
            "3",
            {
                "class_name": "Accumulator",
                "start": 4,
                "function": {"func_name": "scaled", "factor": 3},
            },
        )
        == 12
    )


def test_arguments_are_coerced_and_results_serialized(demo: RunnerProcess) -> None:
    assert demo.value(
        "d", {"func_name": "daylight_hours", "day": "2026-06-21", "latitude": 52.4}
    ) == pytest.approx(16.6, abs=0.2)
    end = demo.value(
        "e",
        {"func_name": "experiment_end", "start": "2026-03-01T09:30:00+01:00", "duration_hours": 36},
    )
    assert end == "2026-03-02T21:30:00+01:00"
    assert (
        demo.value(
            "t",
            {
                "func_name": "convert_temperature",
                "value": 100,
                "source": "celsius",
                "target": "kelvin",
            },
        )
        == 373.15
    )
    rows = demo.value(
        "s", {"func_name": "stations", "near": {"lat": 52.4, "lon": 13.1}, "limit": 2}
    )
    assert [r["name"] for r in rows] == ["Potsdam", "Leipzig"]
    assert rows[0]["active_since"] == "1893-01-01"


def test_rich_results_arrive_as_json(demo: RunnerProcess) -> None:
    png = base64.b64decode(demo.value("p", {"func_name": "heatmap", "width": 16, "height": 8}))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert int.from_bytes(png[16:20], "big") == 16 and int.from_bytes(png[20:24], "big") == 8
    chart = demo.value("c", {"func_name": "temperature_chart", "days": 3})
    assert chart["$schema"].endswith("vega-lite/v5.json")
    assert len(chart["data"]["values"]) == 3
    assert demo.value("m", {"func_name": "station_report"}).startswith("## Potsdam")
    assert demo.value("v", {"func_name": "sparkline", "values": [1, 2]}).startswith("<svg")


def test_invalid_arguments_answer_with_field_paths(demo: RunnerProcess) -> None:
    response = demo.call("1", {"func_name": "add", "a": "two"})
    props = response["properties"]
    assert props["status"] == "error"
    assert props["error_type"] == "ValidationError"
    assert error_text(response).startswith("error validating request: ")
    assert "'two'" in error_text(response)
    assert json.loads(props["errors"]) == [
        {
            "path": ["a"],
            "message": "Input should be a valid integer, unable to parse string as an integer",
        }
    ]

    response = demo.call(
        "2", {"func_name": "distance", "start": {"lat": 95, "lon": 0}, "end": {"lon": 1}}
    )
    paths = [e["path"] for e in json.loads(response["properties"]["errors"])]
    assert paths == [["start", "lat"], ["end", "lat"]]

    response = demo.call(
        "3",
        {
            "class_name": "Accumulator",
            "start": "x",
            "function": {"func_name": "add_all", "values": [1, "y"]},
        },
    )
    paths = [e["path"] for e in json.loads(response["properties"]["errors"])]
    assert paths == [["start"], ["function", "values", 1]]

    response = demo.call("4", {"func_name": "no_such_function"})
    assert response["properties"]["error_type"] == "ValidationError"
    assert "no_such_function" in error_text(response) and "add" in error_text(response)
    assert [e["path"] for e in json.loads(response["properties"]["errors"])] == [["func_name"]]


def test_a_raising_function_answers_an_error_and_the_runner_keeps_serving(
    demo: RunnerProcess,
) -> None:
    response = demo.call("1", {"func_name": "divide", "a": 1, "b": 0})
    props = response["properties"]
    assert props["status"] == "error"
    assert props["error_type"] == "ValueError"
    assert error_text(response) == (
        "error executing request: ValueError: cannot divide by zero: choose a divisor b other than 0"
    )
    assert 'in divide\n    raise ValueError("cannot divide by zero' in props["traceback"]
    assert demo.value("2", {"func_name": "divide", "a": 1, "b": 4}) == 0.25


def test_progress_frames_form_a_tree_and_precede_the_response(demo: RunnerProcess) -> None:
    demo.request("s", {"func_name": "simulate", "steps": 2, "delay": 0.2})
    frames, response = demo.result_of("s")
    assert response["properties"]["status"] == "success"
    assert protocol.decode_payload(response["payload"])["steps"] == 2
    assert len(frames) >= 2
    trees = [protocol.decode_payload(f["payload"]) for f in frames]
    for frame, tree in zip(frames, trees, strict=True):
        assert frame["properties"]["status"] == tree["status"]
        assert frame["properties"]["source_topic"] == DEMO
    assert trees[0]["status"] == "running" and trees[0]["step_message"] == "Simulating"
    final = trees[-1]
    assert final["status"] == "success" and final["steps"] == 2
    assert [c["step_message"] for c in final["children"]] == ["Step 1 of 2", "Step 2 of 2"]
    for child in final["children"]:
        assert child["status"] == "success" and child["steps"] == 2 and child["report_id"] == "root"
        assert [g["step_message"] for g in child["children"]] == [
            "Computing forces",
            "Moving particles",
        ]
        assert all(g["status"] == "success" and g["children"] == [] for g in child["children"])


def test_a_call_without_progress_sends_no_progress_frames(demo: RunnerProcess) -> None:
    demo.request("1", {"func_name": "add", "a": 1})
    frames, _ = demo.result_of("1")
    assert frames == []


# -- concurrency and cancellation -------------------------------------------------------------


def test_calls_run_in_parallel(faulty: RunnerProcess) -> None:
    assert faulty.value("warm", {"func_name": "noop"}) is None
    began = time.monotonic()
    faulty.request("s1", {"func_name": "sleep", "seconds": 0.5})
    faulty.request("s2", {"func_name": "sleep", "seconds": 0.5})
    faulty.request("a1", {"func_name": "async_sleep", "seconds": 0.5})
    faulty.request("a2", {"func_name": "async_sleep", "seconds": 0.5})
    for context in ("s1", "s2", "a1", "a2"):
        _, response = faulty.result_of(context)
        assert protocol.decode_payload(response["payload"]) == 0.5
    assert time.monotonic() - began < 0.9


def test_a_quick_call_is_not_held_up_by_a_slow_one(faulty: RunnerProcess) -> None:
    faulty.request("slow", {"func_name": "sleep", "seconds": 5})
    assert faulty.next_for("slow")["properties"]["messageType"] == "progress"
    began = time.monotonic()
    assert faulty.value("quick", {"func_name": "echo", "value": "hi"}) == "hi"
    assert time.monotonic() - began < 0.5
    faulty.send(protocol.CANCEL, "slow")
    assert faulty.result_of("slow")[1]["properties"]["error_type"] == "Cancelled"


def test_cancel_a_sync_call(faulty: RunnerProcess) -> None:
    faulty.request("c", {"func_name": "sleep", "seconds": 30})
    first = faulty.next_for("c")  # it is running once it reports
    assert first["properties"]["messageType"] == "progress"
    began = time.monotonic()
    faulty.send(protocol.CANCEL, "c")
    frames, response = faulty.result_of("c", timeout=5)
    assert time.monotonic() - began < 1.0
    assert response["properties"]["status"] == "error"
    assert response["properties"]["error_type"] == "Cancelled"
    assert error_text(response) == "error executing request: Cancelled: the call was cancelled"
    assert frames and protocol.decode_payload(frames[-1]["payload"])["status"] == "error"
    assert faulty.value("after", {"func_name": "echo", "value": "still here"}) == "still here"


def test_cancel_an_async_call(faulty: RunnerProcess) -> None:
    faulty.request("c", {"func_name": "async_sleep", "seconds": 30})
    faulty.send(protocol.PING, "p")  # the loop has started the call once it answers this
    assert faulty.next_for("p")["properties"]["messageType"] == "pong"
    began = time.monotonic()
    faulty.send(protocol.CANCEL, "c")
    _, response = faulty.result_of("c", timeout=5)
    assert time.monotonic() - began < 0.5
    assert response["properties"]["error_type"] == "Cancelled"
    # cancelled before it even started: still exactly one answer
    faulty.request("c2", {"func_name": "async_sleep", "seconds": 30})
    faulty.send(protocol.CANCEL, "c2")
    assert faulty.result_of("c2", timeout=5)[1]["properties"]["error_type"] == "Cancelled"
    assert faulty.value("after", {"func_name": "noop"}) is None


# -- robustness --------------------------------------------------------------------------------


def test_user_output_does_not_corrupt_the_protocol(faulty: RunnerProcess) -> None:
    assert faulty.value("1", {"func_name": "chatty", "text": "hello"}) == "hello"
    assert faulty.value("2", {"func_name": "echo", "value": "next"}) == "next"
    faulty.close_stdin()
    assert faulty.wait(5) == 0
    assert faulty.garbage == []
    assert "chatty print: hello" in faulty.stderr
    assert "chatty fd1: hello" in faulty.stderr


def test_malformed_lines_and_unknown_messages_are_ignored(faulty: RunnerProcess) -> None:
    faulty.send_raw(b"this is not json\n")
    faulty.send_raw(b'{"no": "properties"}\n')
    faulty.send_raw(
        b'{"properties": {"messageType": "gossip", "requestContext": "g"}, "payload": ""}\n'
    )
    faulty.send(protocol.CANCEL, "nothing-running")
    faulty.send(protocol.REQUEST, "bad", payload="%%% not base64")
    response = faulty.result_of("bad")[1]
    assert response["properties"]["status"] == "error"
    assert error_text(response).startswith(
        "error validating request: the request payload is unreadable"
    )
    faulty.send(protocol.PING, "p")
    assert faulty.next_for("p")["properties"]["messageType"] == "pong"
    faulty.close_stdin()
    assert faulty.wait(5) == 0
    assert "not a JSON message" in faulty.stderr
    assert "gossip" in faulty.stderr


def test_eof_exits_promptly_and_cancels_running_calls(faulty: RunnerProcess) -> None:
    faulty.request("long", {"func_name": "sleep", "seconds": 60})
    assert faulty.next_for("long")["properties"]["messageType"] == "progress"
    faulty.request("along", {"func_name": "async_sleep", "seconds": 60})
    faulty.send(protocol.PING, "p")
    faulty.next_for("p")
    began = time.monotonic()
    faulty.close_stdin()
    assert faulty.wait(5) == 0
    assert time.monotonic() - began < 2.0
    assert faulty.result_of("long")[1]["properties"]["error_type"] == "Cancelled"
    assert faulty.result_of("along")[1]["properties"]["error_type"] == "Cancelled"


def test_eof_when_idle_exits_at_once(faulty: RunnerProcess) -> None:
    faulty.send(protocol.PING, "p")
    faulty.next_for("p")
    began = time.monotonic()
    faulty.close_stdin()
    assert faulty.wait(5) == 0
    assert time.monotonic() - began < 1.0


def test_a_call_that_kills_the_process(faulty: RunnerProcess) -> None:
    faulty.request("x", {"func_name": "crash", "after": 0})
    assert faulty.wait(5) == 3


def test_a_20_mb_result_arrives_intact(faulty: RunnerProcess) -> None:
    text = ("0123456789abcdef" * (20 * 1024 * 1024 // 16))[:-3] + "\u00e9\u4e2d\U0001f600"
    assert faulty.value("big", {"func_name": "echo", "value": text}, timeout=60) == text
    assert faulty.value("after", {"func_name": "echo", "value": "small"}) == "small"


def test_round_trip_overhead_is_small(faulty: RunnerProcess) -> None:
    for i in range(50):
        faulty.value(f"w{i}", {"func_name": "noop"})
    times = []
    for i in range(300):
        began = time.perf_counter()
        faulty.value(f"n{i}", {"func_name": "noop"})
        times.append(time.perf_counter() - began)
    times.sort()
    median = times[len(times) // 2]
    # the whole round trip including this test's client; the runner's share is far less
    assert median < 0.005, f"median no-op round trip {median * 1e6:.0f} µs"


# -- modules ----------------------------------------------------------------------------------

FUTURE_MODULE = '''
"""A module with postponed annotations (demessaging cannot serve these)."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from pydantic import BaseModel

from jupyter_rpc.backend import Progress

print("importing prints are harmless")


class Window(BaseModel):
    start: dt.date
    days: int = 1


def count(window: Window, progress: Progress, label: Optional[str] = None) -> dict[str, object]:
    """Count the days of a window, one step per day."""
    progress.start("Counting", steps=window.days)
    for i in range(window.days):
        with progress.step(f"day {i + 1}"):
            pass
    return {"label": label, "end": window.start + dt.timedelta(days=window.days)}


def spin(n: int, progress: Optional[Progress] = None) -> int:
    """Report in a tight loop."""
    assert progress is not None
    for i in range(n):
        progress.update(f"update {i}")
    return n
'''


def test_a_module_file_with_future_annotations(tmp_path: Path) -> None:
    path = tmp_path / "postponed.py"
    path.write_text(FUTURE_MODULE)
    runner = RunnerProcess("serve", str(path), cwd=tmp_path)
    try:
        runner.send(protocol.API_INFO, "a")
        api_info = json.loads(runner.next_for("a")["properties"]["api_info"])
        count = api_info["functions"][0]
        assert count["name"] == "count"
        assert list(count["rpc_schema"]["properties"]) == ["func_name", "window", "label"]
        assert count["rpc_schema"]["properties"]["window"] == {"$ref": "#/$defs/Window"}
        assert api_info["rpc_schema"]["title"] == "postponed"

        runner.request("c", {"func_name": "count", "window": {"start": "2026-02-27", "days": 3}})
        frames, response = runner.result_of("c")
        assert protocol.decode_payload(response["payload"]) == {"label": None, "end": "2026-03-02"}
        final = protocol.decode_payload(frames[-1]["payload"])
        assert final["status"] == "success" and len(final["children"]) == 3

        # Progress reports in a tight loop are throttled, and the last state still arrives.
        runner.request("s", {"func_name": "spin", "n": 20000})
        frames, response = runner.result_of("s")
        assert protocol.decode_payload(response["payload"]) == 20000
        assert 1 <= len(frames) < 40
        last = protocol.decode_payload(frames[-1]["payload"])
        assert last["step_message"] == "update 19999" and last["status"] == "success"
    finally:
        runner.close()
    assert not runner.garbage
    assert "importing prints are harmless" in runner.stderr


def test_a_module_that_cannot_be_described_fails_at_start(tmp_path: Path) -> None:
    (tmp_path / "opaque.py").write_text(
        "class Handle:\n    pass\n\n\ndef use(handle: Handle, n: int = 1) -> int:\n    return n\n"
    )
    runner = RunnerProcess("serve", str(tmp_path / "opaque.py"), cwd=tmp_path)
    try:
        assert runner.wait(10) == 1
    finally:
        runner.close()
    assert "use: parameter 'handle' has the type Handle" in runner.stderr


STUBBORN_MODULE = '''
import time


def block(seconds: float) -> float:
    """Sleep without ever reporting progress: cannot be interrupted."""
    print(f"block({seconds}) started", flush=True)
    time.sleep(seconds)
    return seconds
'''


def test_a_call_that_ignores_cancellation(tmp_path: Path) -> None:
    (tmp_path / "stubborn.py").write_text(STUBBORN_MODULE)
    runner = RunnerProcess("serve", str(tmp_path / "stubborn.py"), cwd=tmp_path)
    try:
        # cancelled while it runs: answered as cancelled once it returns
        runner.request("c", {"func_name": "block", "seconds": 0.3})
        runner.wait_for_stderr("block(0.3) started")
        runner.send(protocol.CANCEL, "c")
        assert runner.result_of("c")[1]["properties"]["error_type"] == "Cancelled"
        # still running at the end of input: the process does not wait for it
        runner.request("stuck", {"func_name": "block", "seconds": 60})
        runner.wait_for_stderr("block(60.0) started")
        began = time.monotonic()
        runner.close_stdin()
        assert runner.wait(10) == 0
        assert time.monotonic() - began < 3.0
    finally:
        runner.close()
    assert "ignored the cancellation" in runner.stderr


def test_workers_limits_how_many_plain_calls_run_at_once() -> None:
    runner = RunnerProcess("serve", FAULTY, "--workers", "1")
    try:
        runner.request("first", {"func_name": "sleep", "seconds": 0.3})
        assert runner.next_for("first")["properties"]["messageType"] == "progress"
        runner.request("second", {"func_name": "echo", "value": "queued"})
        runner.request("async", {"func_name": "async_sleep", "seconds": 0})  # not in the pool
        order = []
        while len(order) < 3:
            msg = runner.next_message()
            if msg["properties"]["messageType"] == "response":
                assert msg["properties"]["status"] == "success"
                order.append(msg["properties"]["requestContext"])
        # the async call overtakes; the second plain call waits for the only worker
        assert order == ["async", "first", "second"]
    finally:
        runner.close()
