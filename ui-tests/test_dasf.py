"""A real DASF backend (demessaging, through a real dasf-broker-django) in the panel."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LabServer, open_lab, start_lab
from helpers import choose, field, open_panel, result, run, status
from playwright.sync_api import Page, expect

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from dasf import testbed  # noqa: E402

DEMO = REPO / "tests" / "dasf" / "modules" / "dasf_demo.py"


@pytest.fixture(scope="module")
def dasf_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab whose only backend is a demessaging module on a broker topic."""
    try:
        env = testbed.ensure_venv()
    except testbed.TestbedError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the DASF test bed cannot be built in CI: {exc}", pytrace=False)
        pytest.skip(f"the DASF venv cannot be built here: {exc}")
    broker = testbed.start_broker(env)
    backend = None
    try:
        backend = testbed.start_backend(env, DEMO, testbed.PUBLIC_TOPIC, broker)
        config = {
            "RPCApp": {
                "backends": {
                    "dasf": {
                        "transport": "broker",
                        "url": broker.ws_url,
                        "topic": testbed.PUBLIC_TOPIC,
                        "display_name": "DASF demo",
                        "timeout": 60,
                    }
                }
            }
        }
        with start_lab(tmp_path_factory.mktemp("dasf-lab"), config) as server:
            yield server
    finally:
        if backend is not None:
            backend.stop()
        broker.close()


@pytest.fixture
def dasf_page(page: Page, dasf_lab: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from open_lab(page, dasf_lab, request)


def test_dasf_functions_render_and_run(dasf_page: Page) -> None:
    panel = open_panel(dasf_page)
    expect(panel).to_contain_text("DASF demo")
    call = choose(panel, "greet")
    expect(call.locator("select").first).to_be_visible()  # the Literal became a dropdown
    field(call, "name").fill("Ada")
    run(call)
    expect(status(call)).to_have_attribute("data-state", "succeeded", timeout=30_000)
    expect(result(call)).to_contain_text("Ada")


def test_dasf_progress_and_errors(dasf_page: Page) -> None:
    panel = open_panel(dasf_page)
    call = choose(panel, "count_slowly")
    field(call, "steps").fill("4")
    field(call, "pause").fill("0.5")
    run(call)
    # deprogressapi's report tree, shown as nested steps
    expect(call.locator(".jp-rpc-ProgressSteps")).to_contain_text("step 1", timeout=30_000)
    expect(status(call)).to_have_attribute("data-state", "succeeded", timeout=30_000)
    expect(result(call)).to_have_text("4")
    call = choose(panel, "fail")
    field(call, "reason").fill("sensor offline")
    run(call)
    expect(status(call)).to_have_attribute("data-state", "failed", timeout=30_000)
    expect(call).to_contain_text("sensor offline")
