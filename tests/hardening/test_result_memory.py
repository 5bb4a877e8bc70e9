"""A large result costs the server about its own size while it is received (issue 12 item 3,
follow-up), against a real ``jupyter server`` serving the hostile backend module.

The answer of a call crosses the backend's stdout as one JSON line whose ``payload`` is the
base64 of the result's JSON (4/3 of its size). Received naively, the reader's buffer, the
line, the envelope's payload text, the decoded bytes, their text and the result all exist
at once: a 40 MB result raised the server's peak RSS (VmHWM) by about 200 MB (5x).
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import Callable

import pytest

from jupyter_rpc import protocol
from jupyter_rpc.protocol.broker import fragment_message
from jupyter_rpc.protocol.replies import Replies
from jupyter_rpc.ssh import SSHPool, SSHTarget
from jupyter_rpc.transports.base import result_of
from jupyter_rpc.transports.ssh import _pump
from jupyter_rpc.transports.stream import READ_LIMIT
from tests.fixtures import HOSTILE
from tests.fixtures.hpc import HPCTestbed
from tests.hardening.conftest import Bounds, ServerProcess, _kb, _status

MB = 1_000_000
SIZE = 40 * MB


def hwm_mb(pid: int) -> float:
    return _kb(_status(pid)["VmHWM"]) / 1024


def test_a_large_result_is_received_at_about_its_own_size(
    jupyter_server_process: Callable[..., ServerProcess],
) -> None:
    server = jupyter_server_process(HOSTILE, bounds=Bounds(children=1))
    reply = server.request(
        "POST",
        "backends/test/calls",
        {"function": "huge_result", "arguments": {"size": 10}, "wait": 20},
        timeout=50,
    )
    assert reply.json()["result"] == "x" * 10  # the backend is up
    server.resources.baseline()
    before = hwm_mb(server.pid)

    started = server.request(
        "POST",
        "backends/test/calls",
        {"function": "huge_result", "arguments": {"size": SIZE}, "wait": 0},
    ).json()
    deadline = time.monotonic() + 30
    while True:  # the listing leaves results out: polling it costs nothing
        calls = server.request("GET", "calls").json()["calls"]
        (mine,) = [c for c in calls if c["id"] == started["id"]]
        if mine["state"] in ("succeeded", "failed", "cancelled"):
            break
        assert time.monotonic() < deadline, "the call did not end in 30 s"
        time.sleep(0.2)
    assert mine["state"] == "succeeded", mine
    grown = hwm_mb(server.pid) - before
    print(f"reception: VmHWM grew {grown:.0f} MB for a {SIZE / MB:.0f} MB result")

    model = server.request("GET", f"calls/{started['id']}", timeout=60).json()
    assert model["result"] == "x" * SIZE  # intact
    print(f"and answering it: VmHWM grew {hwm_mb(server.pid) - before:.0f} MB in all")
    # the result itself is 40 MB (an ASCII str), its base64 line 53 MB: 2.5x leaves room
    # for the line and the result at once, not for the five copies of before (~200 MB)
    assert grown <= 2.5 * SIZE / MB, f"VmHWM grew {grown:.0f} MB receiving {SIZE / MB:.0f} MB"


@pytest.mark.asyncio
async def test_an_ssh_channel_is_not_read_faster_than_its_lines_are(
    hpc_testbed: HPCTestbed,
) -> None:
    # A remote backend writes 30 MB without a newline while nobody takes its lines: the
    # reader's buffer stays at its bound (the channel is no longer read, and SSH's window
    # makes the remote side wait) instead of taking all 30 MB; then all of it arrives.
    pool = SSHPool()
    target = SSHTarget(
        "127.0.0.1",
        hpc_testbed.port,
        hpc_testbed.user,
        label="testbed",
        identity_files=(hpc_testbed.key,),
        agent=False,
        config_files=(),
        known_hosts=(hpc_testbed.known_hosts,),
    )
    try:
        proc = await pool.create_process(target, "head -c 30000000 /dev/zero | tr '\\0' x")
        reader = asyncio.StreamReader(limit=READ_LIMIT)
        pump = asyncio.create_task(_pump(proc.stdout, reader))
        await asyncio.sleep(2.0)
        held = len(reader._buffer)  # what the server holds of a line nobody reads yet
        assert held <= 2 * READ_LIMIT + 65536, f"{held} bytes buffered"
        total = 0
        while chunk := await reader.read(1 << 20):
            total += len(chunk)
        assert total == 30_000_000
        await pump
        proc.close()
    finally:
        await pool.close()


def test_a_line_read_as_bytearray_keeps_its_payload_in_place() -> None:
    payload = protocol.encode_payload({"x": "y" * 1000})
    msg = protocol.message("response", "7", payload=payload, status="success")
    line = bytearray(protocol.dumps_line(msg))
    parsed = protocol.loads_line(line)
    assert parsed["payload"] is line  # the line's own buffer, cut down to the base64
    assert parsed["properties"] == msg["properties"] and parsed["context"] == "7"
    assert protocol.decode_payload(parsed["payload"]) == {"x": "y" * 1000}
    assert len(line) == 0  # consumed once decoded
    assert protocol.decode_payload(protocol.encode_payload([1, 2])) == [1, 2]  # str as before


def test_a_line_in_another_framing_is_parsed_whole() -> None:
    b64 = protocol.encode_payload(42)
    tricky = [
        # the key's text inside a property (escaped quotes), the payload elsewhere
        '{"properties":{"messageType":"response","k":"\\"payload\\":\\"QQ==\\""},'
        f'"payload":"{b64}"}}',
        # a key ending in \"payload whose value looks like a payload
        f'{{"properties":{{"messageType":"response"}},"a\\"payload":"QQ==","payload":"{b64}"}}',
        # spaces after the colon, an escaped slash in the base64
        f'{{"properties": {{"messageType": "response"}}, "payload": "{b64}"}}',
        '{"properties":{"messageType":"response"},"payload":"MQ\\u003d\\u003d"}',
    ]
    for text in tricky:
        parsed = protocol.loads_line(bytearray(text.encode()))
        assert protocol.decode_payload(parsed["payload"]) in (42, 1), text
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_payload(bytearray(b"not base64!"))


@pytest.mark.asyncio
async def test_a_fragmented_answer_is_put_together_without_a_second_copy() -> None:
    # A DASF broker answer comes in fragments (demessaging cuts anything over ~5 MB): they
    # are joined into one buffer, each dropped once in, and decoded from that buffer.
    size = 20 * MB
    replies = Replies("dasf", protocol_fault=RuntimeError)
    pending = replies.add(protocol.REQUEST)
    tracemalloc.start()
    try:
        answer = protocol.message(
            protocol.RESPONSE,
            pending.context,
            payload=protocol.encode_payload("x" * size),
            status=protocol.SUCCESS,
        )
        frames = fragment_message(answer, 2 * MB)
        del answer
        tracemalloc.reset_peak()  # what is held now: the fragments, as received
        while frames:
            frame = frames.pop(0)
            replies.deliver(frame["properties"], frame["payload"])
            del frame
        reply = await pending.future
        value = result_of(reply)
        del reply
        peak = tracemalloc.get_traced_memory()[1] / MB
    finally:
        tracemalloc.stop()
    assert value == "x" * size
    # the fragments (1.33x) joined into one buffer (freed as it grows, which over-allocates
    # by 1/8) and decoded from it (1x): 2.5x at the peak, and 2x for the text and the result;
    # joining into a string held the fragments, the string, then the string, the bytes and
    # their text at once (3.7x)
    assert peak <= 2.6 * size / MB, f"peak {peak:.0f} MB receiving {size / MB:.0f} MB"
