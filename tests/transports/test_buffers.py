"""A raster's values as a binary buffer after its answer's line (issue 21): the stdio
runner sends them raw to a server that asked in its ``api_info``, not as base64 inside the
base64 of the JSON; a runner nobody asked sends base64 as before; buffers over the size
limit fail their call only; the parsers on recorded frames."""

from __future__ import annotations

import asyncio
import sys

import pytest

from jupyter_rpc import protocol
from jupyter_rpc.errors import RemoteFailed
from jupyter_rpc.examples import geo
from jupyter_rpc.transports import LocalTransport

ARGV = [sys.executable, "-m", "jupyter_rpc.backend", "serve", "jupyter_rpc.examples.geo"]


async def test_a_raster_comes_as_its_bytes_after_the_line() -> None:
    transport = LocalTransport("geo", ARGV)
    try:
        result = await transport.call({"func_name": "raster", "rows": 50, "cols": 40})
        assert isinstance(result["values"], bytes)
        assert result["values"] == geo.raster(50, 40).data  # every cell, as the backend made it
        assert result["shape"] == [50, 40] and result["colormap"] == "viridis"
        # other answers on the same stream come after it, whole
        box = await transport.call({"func_name": "echo_bbox", "box": [1, 2, 3, 4]})
        assert box == [1.0, 2.0, 3.0, 4.0]
    finally:
        await transport.close()


async def test_a_runner_not_asked_for_buffers_sends_base64() -> None:
    """A server that does not know buffers (or a broker) gets the raster in base64."""
    proc = await asyncio.create_subprocess_exec(
        *ARGV, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 24
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(protocol.dumps_line(protocol.message(protocol.API_INFO, "1")))
        request = {"func_name": "raster", "rows": 3, "cols": 2}
        proc.stdin.write(
            protocol.dumps_line(
                protocol.message(protocol.REQUEST, "2", payload=protocol.encode_payload(request))
            )
        )
        await proc.stdin.drain()
        replies = {}
        while len(replies) < 2:
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            msg = protocol.loads_line(line)
            replies[msg["properties"]["requestContext"]] = msg
        answer = replies["2"]
        assert protocol.BUFFERS not in answer["properties"]
        value = protocol.decode_payload(answer["payload"])
        assert isinstance(value["values"], str)
        assert protocol.with_buffers(value, None) is value
    finally:
        proc.stdin.close()
        await asyncio.wait_for(proc.wait(), 30)


async def test_buffers_over_the_limit_fail_their_call_only() -> None:
    transport = LocalTransport("geo", ARGV, max_message_size=100_000)
    try:
        with pytest.raises(RemoteFailed) as info:
            await transport.call({"func_name": "raster", "rows": 200, "cols": 200})  # 160 kB
        assert "over the limit" in info.value.message
        small = await transport.call({"func_name": "raster", "rows": 10, "cols": 10})
        assert small["values"] == geo.raster(10, 10).data
    finally:
        await transport.close()


def test_buffer_lengths_of_recorded_properties() -> None:
    assert protocol.buffer_lengths({"messageType": "response"}) == []
    assert protocol.buffer_lengths({"buffers": "64000000"}) == [64_000_000]
    assert protocol.buffer_lengths({"buffers": "3,0,5"}) == [3, 0, 5]
    for bad in ("x", "-1", "1,,2", ",".join(["1"] * 17)):
        with pytest.raises(protocol.ProtocolError):
            protocol.buffer_lengths({"buffers": bad})


def test_only_a_top_level_raster_values_reference_is_replaced() -> None:
    data = [b"\x00\x00\x80\x3f"]
    assert protocol.with_buffers({"values": {"$buffer": 0}, "shape": [1, 1]}, data) == {
        "values": data[0],
        "shape": [1, 1],
    }
    for kept in (
        {"values": {"$buffer": 1}},  # no such buffer
        {"values": {"$buffer": True}},
        {"values": {"$buffer": 0, "more": 1}},
        {"other": {"$buffer": 0}},  # not the raster's values
        [{"values": {"$buffer": 0}}],
    ):
        assert protocol.with_buffers(kept, data) == kept
