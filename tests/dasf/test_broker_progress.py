"""A progress sink that raises costs a broker call nothing: the call gets its answer, the
calls beside it theirs, and the broker connection stays up (the matching of replies is
jupyter_rpc.protocol.replies, shared with the stdio transports)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import pytest

from jupyter_rpc.transports.broker import BrokerTransport
from tests.fixtures import FAULTY

from .testbed import start_runner


@pytest.mark.asyncio
async def test_a_raising_progress_sink_breaks_neither_the_call_nor_the_connection(
    dasf_module_broker, caplog
):
    topic = dasf_module_broker.create_topic("rpc-progress-sink")
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(milliseconds=50)
    runner = start_runner(FAULTY, topic, dasf_module_broker, wait=False)
    transport = BrokerTransport("faulty", dasf_module_broker.ws_url, topic, start_timeout=30)
    trees: list[dict[str, Any]] = []

    def sink(tree: dict[str, Any]) -> None:
        trees.append(tree)
        raise RuntimeError("the sink is broken")

    try:
        runner.wait_online(dasf_module_broker, since)
        other = asyncio.ensure_future(transport.call({"func_name": "sleep", "seconds": 0.6}))
        with caplog.at_level(logging.ERROR, logger="jupyter_rpc.protocol.replies"):
            result = await transport.call({"func_name": "sleep", "seconds": 0.5}, on_progress=sink)
        assert result == 0.5 and trees  # progress came, and the sink raised each time
        assert await other == 0.6
        assert await transport.call({"func_name": "echo", "value": "again"}) == "again"
        assert transport.restarts == 0 and transport.state == "running"
        assert not transport._pending
        assert "could not be recorded" in caplog.text
    finally:
        await transport.close()
        runner.stop()
