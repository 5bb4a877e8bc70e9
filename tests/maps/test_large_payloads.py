"""A raster's payload on the wire (issue 21): the DASF envelope is written around a large
base64 string instead of JSON scanning it (protocol.encode_payload, dumps_line), and the
bytes are exactly what json.dumps gives."""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

import pytest

from jupyter_rpc.protocol import decode_payload, dumps_line, encode_payload, loads_line, message


def reference_payload(value: Any) -> str:
    raw = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return base64.b64encode(raw.encode("utf-8")).decode("ascii")


def reference_line(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=True).encode("ascii") + b"\n"


BIG = base64.b64encode(os.urandom(3 * 1024 * 1024)).decode("ascii")


@pytest.mark.parametrize(
    "value",
    [
        {
            "bounds": [0, 1, 2, 3],
            "shape": [1024, 768],
            "values": BIG,
            "name": "café",
            "nodata": None,
        },
        {"values": BIG, "other": "\x00"},  # a stand-in look-alike: the plain way
        {"a": BIG, "b": BIG},  # two large strings: the plain way
        {"values": BIG[:-8] + 'x"y\\z\n'},  # not base64: escaped as JSON does
        {"values": BIG[:5000]},  # small
        [BIG],
        "text",
    ],
)
def test_payloads_are_the_bytes_json_gives(value: Any) -> None:
    assert encode_payload(value) == reference_payload(value)
    msg = message("response", "ctx-1", payload=encode_payload(value), status="success")
    line = dumps_line(msg)
    assert line == reference_line(msg)
    assert decode_payload(loads_line(bytearray(line[:-1]))["payload"]) == value


def test_a_line_with_a_stand_in_look_alike_is_written_the_plain_way() -> None:
    msg = message("response", "\x00", payload=BIG)  # the context is a NUL: no splice
    msg["properties"]["payload"] = "\x00"
    assert dumps_line(msg) == reference_line(msg)


def test_the_splice_is_faster_for_a_raster_sized_payload() -> None:
    value = {"values": base64.b64encode(os.urandom(16 * 1024 * 1024)).decode("ascii")}
    started = time.perf_counter()
    ours = dumps_line(message("response", "c", payload=encode_payload(value)))
    spliced = time.perf_counter() - started
    started = time.perf_counter()
    theirs = reference_line(message("response", "c", payload=reference_payload(value)))
    plain = time.perf_counter() - started
    assert ours == theirs
    print(f"\n16 MB of float32 as a DASF line: {spliced:.2f} s spliced, {plain:.2f} s plain")
