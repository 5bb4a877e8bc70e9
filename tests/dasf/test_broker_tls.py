"""wss:// to a real broker: a TLS front (self-signed certificate for 127.0.0.1, made with the
openssl command) before the test bed's dasf-broker-django, trusted through ``ca_bundle`` or not."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.calls import call

from .testbed import HOST, MODULES, Broker

DEMO = MODULES / "dasf_demo.py"


class TLSFront:
    """Terminates TLS on a free port of 127.0.0.1 and passes the bytes on to ``port``."""

    def __init__(self, cert: Path, key: Path, port: int) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.target = port
        self.writers: set[asyncio.StreamWriter] = set()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("the TLS front did not start")

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._serve, HOST, 0, ssl=self.context)
        )
        self.port = self.server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(HOST, self.target)
        except OSError:
            writer.close()
            return
        self.writers.add(up_writer)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, ssl.SSLError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()
            for writer in self.writers:
                writer.transport.abort()  # not close(): no TLS goodbye that may wait 30 s
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.wait_for(self.server.wait_closed(), 5)
            await asyncio.sleep(0.1)  # closed sockets are released on a later turn

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={HOST}",
         "-addext", f"subjectAltName=IP:{HOST}"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_front(certificate, dasf_broker: Broker, dasf_backend) -> Iterator[TLSFront]:
    dasf_backend(DEMO, dasf_broker.public_topic)
    front = TLSFront(*certificate, dasf_broker.port)
    try:
        yield front
    finally:
        front.close()


@pytest.fixture
def jp_server_config(tls_front: TLSFront, certificate, dasf_broker: Broker) -> dict[str, Any]:
    url = f"wss://{HOST}:{tls_front.port}/ws"
    topic = dasf_broker.public_topic
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_rpc": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        },
        "RPCApp": {
            "backends": {
                "trusted": {
                    "transport": "broker",
                    "url": url,
                    "topic": topic,
                    "ca_bundle": str(certificate[0]),
                },
                "untrusted": {
                    "transport": "broker",
                    "url": url,
                    "topic": topic,
                    "connect_timeout": 5,
                },
            }
        },
    }


async def test_wss_with_a_ca_bundle(rpc):
    _, model = await call(rpc, "trusted", "add", {"a": 2, "b": 40})
    assert model["state"] == "succeeded" and model["result"] == 42, model


async def test_wss_with_an_untrusted_certificate_says_so(rpc):
    status, body = await rpc("GET", "backends", "untrusted", "functions")
    assert status == 503 and body["code"] == "broker.unavailable", body
    assert (
        "CERTIFICATE_VERIFY_FAILED" in body["message"] or "certificate" in body["message"].lower()
    )
    assert f"wss://{HOST}:" in body["message"]
