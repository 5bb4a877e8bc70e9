"""A raster's values as a binary buffer after its answer's line (issue 21): the stdio
runner sends them raw to a server that asked in its ``api_info``, not as base64 inside the
base64 of the JSON; a runner nobody asked sends base64 as before; buffers over the size
limit fail their call only; the parsers on recorded frames."""

from __future__ import annotations

import asyncio
import base64
import struct
import sys
from pathlib import Path

import pytest

from jupyter_rpc import protocol
from jupyter_rpc.errors import RemoteFailed, RPCError
from jupyter_rpc.examples import geo
from jupyter_rpc.transports import LocalTransport

ARGV = [sys.executable, "-m", "jupyter_rpc.backend", "serve", "jupyter_rpc.examples.geo"]
RASTERS = str(Path(__file__).parent.parent / "backend_modules" / "rasters.py")
SRC = str(Path(__file__).resolve().parents[2])  # the project, for the fake backend's imports


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


async def test_only_a_result_declared_a_raster_goes_as_bytes() -> None:
    """``-> Raster | None`` is not turned back into a raster by the server (its schema is
    an ``anyOf``): its values stay base64, so the call's JSON never holds bytes."""
    transport = LocalTransport("rasters", [*ARGV[:-1], RASTERS])
    try:
        declared = await transport.call({"func_name": "grid"})
        optional = await transport.call({"func_name": "maybe_grid"})
        cells = struct.pack("<6f", 0, 1, 2, 3, 4, 5)
        assert declared["values"] == cells
        assert optional["values"] == base64.b64encode(cells).decode("ascii")
        assert await transport.call({"func_name": "maybe_grid", "rows": 0}) is None
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


#: A backend that answers its api_info, then every request with a broken announcement of
#: buffers: ``BROKEN`` as the ``buffers`` property.
LIAR = """
import json, sys
sys.path.insert(0, {src!r})
from jupyter_rpc import protocol
for line in sys.stdin.buffer:
    msg = protocol.loads_line(line)
    props, ctx = msg["properties"], msg["properties"]["requestContext"]
    if props["messageType"] == "api_info":
        info = json.dumps({{"functions": [], "classes": [], "rpc_schema": {{}}}})
        out = protocol.message("response", ctx, status="success", api_info=info)
    else:
        out = protocol.message(
            "response", ctx, payload=protocol.encode_payload({{"values": {{"$buffer": 0}}}}),
            status="success", buffers={broken!r},
        )
    sys.stdout.buffer.write(protocol.dumps_line(out))
    sys.stdout.buffer.flush()
"""


@pytest.mark.parametrize("broken", ["x", "99999999999"])
async def test_a_broken_announcement_ends_the_connection(tmp_path: Path, broken: str) -> None:
    """Where the next line starts is unknown after it (a length that is not one, or far
    beyond any answer): the call fails at once instead of waiting for bytes that never
    come, and the next call starts the backend again."""
    script = tmp_path / "liar.py"
    script.write_text(LIAR.format(src=SRC, broken=broken))
    transport = LocalTransport("liar", [sys.executable, str(script)], max_message_size=1 << 20)
    try:
        with pytest.raises(RPCError):
            await asyncio.wait_for(transport.call({"func_name": "any"}), 20)
        first = transport.restarts
        with pytest.raises(RPCError):
            await asyncio.wait_for(transport.call({"func_name": "any"}), 20)
        assert transport.restarts == first + 1  # a new process, a clean stream
    finally:
        await transport.close()
