"""A short run of the load test (``benchmarks/bench_load.py``) in CI: 4 clients × 100 calls
against a real ``jupyter server``, mixed with uploads (64 KB, some downloaded and compared),
listings of the clients' folders and local-scheduler jobs (their output checked). No call
is lost or answered twice, every result is right, and the server holds no more RSS, fds,
temp files, processes or threads afterwards than after its warm-up."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from tests.fixtures import REPO
from tests.hardening.conftest import ServerStarter


def _bench() -> ModuleType:
    """benchmarks/bench_load.py as a module (benchmarks/ is no package)."""
    spec = importlib.util.spec_from_file_location(
        "bench_load", REPO / "benchmarks" / "bench_load.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_load", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_a_short_load_loses_no_call_and_holds_no_more(
    jupyter_server_process: ServerStarter,
) -> None:
    bench = _bench()
    server = jupyter_server_process(
        None, backends={"examples": {"module": "jupyter_rpc.examples.demo"}}
    )
    bench.warm_up(server.port, server.token)
    server.resources.baseline()

    load, elapsed = bench.run_load(server.port, server.token, clients=4, calls=100)
    lost, duplicated = bench.lost_and_duplicated(server.port, server.token, load)

    assert len(load.sent) == 400 and len(load.jobs) == 8
    assert not lost and not duplicated, f"lost {lost[:5]}, duplicated {duplicated[:5]}"
    assert not load.wrong, "\n".join(load.wrong[:10])
    assert elapsed < 40, f"400 calls with uploads, listings and jobs took {elapsed:.0f} s"
    server.resources.check(settle=10.0)
