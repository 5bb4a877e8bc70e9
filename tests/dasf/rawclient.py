"""A minimal DASF client on tornado websockets, for tests that look at the wire.

It runs in jupyter_rpc's own environment (no demessaging), speaks what notes on the DASF
protocol describe, and keeps everything it received, so tests can check frame shapes,
progress and fragments::

    reply = dasf_exchange(ws_url, "demo", "request", {"func_name": "add", "a": 1})
    reply.status, reply.value, reply.progress, reply.fragments

Every wait is bounded by ``timeout``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

__all__ = ["Reply", "dasf_exchange"]


@dataclass
class Reply:
    """What came back for one request."""

    final: dict[str, Any]  # the last (or only) response frame
    frames: list[dict[str, Any]] = field(default_factory=list)  # everything, in order
    payload: str = ""  # the reassembled base64 payload
    seconds: float = 0.0
    ack: dict[str, Any] = field(default_factory=dict)  # the broker's ack of our request

    @property
    def properties(self) -> dict[str, Any]:
        return self.final.get("properties", {})

    @property
    def status(self) -> str | None:
        return self.properties.get("status")

    @property
    def kind(self) -> str | None:
        return self.properties.get("messageType")

    @property
    def raw(self) -> bytes:
        return base64.b64decode(self.payload) if self.payload else b""

    @property
    def value(self) -> Any:
        """The decoded result (JSON), or the error text for ``status == "error"``."""
        if self.status == "error":
            return self.raw.decode("utf-8")
        return json.loads(self.raw) if self.raw else None

    @property
    def progress(self) -> list[dict[str, Any]]:
        """The decoded progress trees, in arrival order."""
        return [
            json.loads(base64.b64decode(f["payload"]))
            for f in self.frames
            if f.get("properties", {}).get("messageType") == "progress"
        ]

    @property
    def fragments(self) -> int:
        """How many fragments the response came in (0: not fragmented)."""
        return int(self.properties.get("num_fragments", 0) or 0)


def _request(url: str, token: str | None, ca_bundle: Any = None) -> HTTPRequest:
    headers = {"Authorization": f"Token {token}"} if token else {}
    ssl_options = ssl.create_default_context(cafile=str(ca_bundle)) if ca_bundle else None
    return HTTPRequest(
        url, headers=headers, connect_timeout=5, request_timeout=5, ssl_options=ssl_options
    )


async def _exchange(
    ws_url: str,
    topic: str,
    kind: str,
    request: Any,
    token: str | None,
    timeout: float,
    response_topic: str | None,
    ca_bundle: Any,
) -> Reply:
    start = time.monotonic()
    response_topic = response_topic or f"{topic}_{secrets.token_hex(4)}"
    consumer = await websocket_connect(
        _request(f"{ws_url}/{response_topic}/raw-test-client", token, ca_bundle),
        max_message_size=256 * 1024 * 1024,
    )
    producer = await websocket_connect(_request(f"{ws_url}/{topic}", token, ca_bundle))
    try:
        # dasf-broker-django keeps ``context`` in an integer column: keep it numeric
        context = str(secrets.randbelow(10**9))
        payload = ""
        if request is not None:
            payload = base64.b64encode(json.dumps(request).encode()).decode()
        msg = {
            "properties": {
                "messageType": kind,
                "response_topic": response_topic,
                "requestContext": context,
            },
            "context": context,
            "payload": payload,
        }
        await producer.write_message(json.dumps(msg))
        ack = json.loads(await asyncio.wait_for(producer.read_message(), timeout))
        if ack.get("result") != "ok":
            raise RuntimeError(f"the broker refused the request: {ack.get('result')}")
        frames: list[dict[str, Any]] = []
        chunks: dict[int, str] = {}
        deadline = start + timeout
        while True:
            text = await asyncio.wait_for(
                consumer.read_message(), max(0.1, deadline - time.monotonic())
            )
            if text is None:
                raise RuntimeError("the broker closed the response socket")
            frame = json.loads(text)
            if "messageId" in frame:
                await consumer.write_message(json.dumps({"messageId": frame["messageId"]}))
            props = frame.get("properties", {})
            if str(props.get("requestContext")) != context:
                continue
            frames.append(frame)
            if props.get("messageType") == "progress":
                continue
            if "num_fragments" in props:
                chunks[int(props["fragment"])] = frame.get("payload", "")
                if len(chunks) < int(props["num_fragments"]):
                    continue
                body = "".join(chunks[i] for i in sorted(chunks))
            else:
                body = frame.get("payload", "")
            return Reply(frame, frames, body, time.monotonic() - start, ack)
    finally:
        await _close(consumer)
        await _close(producer)


async def _close(ws: Any) -> None:
    """Close a websocket and wait (briefly) until its socket is really closed, so that no
    socket (TLS ones warn) is left for the garbage collector."""
    ws.close()
    try:
        while await asyncio.wait_for(ws.read_message(), 2) is not None:
            pass
    except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - closing anyway
        pass
    stream = getattr(ws.protocol, "stream", None) if ws.protocol is not None else None
    if stream is not None and not stream.closed():
        stream.close()


def dasf_exchange(
    ws_url: str,
    topic: str,
    kind: str = "request",
    request: Any = None,
    *,
    token: str | None = None,
    timeout: float = 20.0,
    response_topic: str | None = None,
    ca_bundle: Any = None,
) -> Reply:
    """Send one message of ``kind`` (request, ping, info, api_info) to ``topic`` and wait
    for its final answer (at most ``timeout`` seconds; raises ``TimeoutError``).
    ``ca_bundle``: the certificate to trust for ``wss://``."""
    return asyncio.run(
        asyncio.wait_for(
            _exchange(ws_url, topic, kind, request, token, timeout, response_topic, ca_bundle),
            timeout + 5,
        )
    )
