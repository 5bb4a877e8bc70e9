"""Browser test of "Where should it run?" in the submit dialog (issue 15): a real
JupyterLab with the local cluster and the HPC test bed's Slurm (partitions debug, 1 h,
and long). The ranking shows every cluster and partition with why; Use fills the form."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import testbed
from conftest import LabServer, open_lab, start_lab
from jobs_helpers import choose_cluster, job_row, open_jobs_panel, submitted_job_id
from playwright.sync_api import Page, expect


@pytest.fixture(scope="module")
def placement_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    testbed.require()
    home = tmp_path_factory.mktemp("placement-home")
    clusters = {
        "local": {
            "display_name": "This computer",
            "scheduler": "local",
            "roots": {"home": str(home)},
            "workdir": str(home),
        },
        "testbed": {
            "display_name": "Test bed (Slurm)",
            "host": "127.0.0.1",
            "port": 2222,
            "user": "hpcuser",
            "identity_file": str(testbed.KEYS / "id_ed25519"),
            "known_hosts": str(testbed.KEYS / "known_hosts"),
            "ssh_config": False,
            "scheduler": "slurm",
            "workdir": "/home/hpcuser",
            "cost_per_core_hour": 0.05,
            "cost_unit": "EUR",
        },
    }
    with start_lab(
        tmp_path_factory.mktemp("placement-lab"), {"RPCApp": {"clusters": clusters}}
    ) as server:
        yield server


@pytest.fixture
def lab(page: Page, placement_server: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from open_lab(page, placement_server, request)


def test_where_should_it_run_fills_the_form_and_submits_there(
    lab: Page, placement_server: LabServer
) -> None:
    panel = open_jobs_panel(lab)
    choose_cluster(panel, "This computer")
    panel.get_by_role("button", name="Submit job…").click()
    dialog = lab.locator(".jp-Dialog")
    script = dialog.locator("#jp-rpc-job_script")
    expect(script).to_be_visible(timeout=30_000)
    script.fill("#!/bin/bash\necho placed\n")
    name = f"placed-{uuid.uuid4().hex[:6]}"
    dialog.locator("#jp-rpc-job_name").fill(name)
    dialog.locator("#jp-rpc-job_time_limit").fill("90")  # over debug's hour

    dialog.get_by_role("button", name="Where should it run?").click()
    table = dialog.locator("table.jp-rpc-Placement")
    expect(table).to_be_visible(timeout=30_000)
    long = table.locator('tr[data-cluster="testbed"][data-partition="long"]')
    debug = table.locator('tr[data-cluster="testbed"][data-partition="debug"]')
    local = table.locator('tr[data-cluster="local"][data-partition="local"]')
    expect(long).to_contain_text("Slurm says it would start")
    expect(long).to_contain_text("EUR")  # 1.5 core-hours × 0.05
    expect(local).to_contain_text("The local scheduler says it would start")
    expect(debug).to_contain_text("does not fit")
    expect(debug).to_contain_text("allows at most 60 minutes; asked for 90")
    expect(debug.get_by_role("button", name="Use")).to_have_count(0)

    long.get_by_role("button", name="Use").click()
    expect(table).to_have_count(0)
    expect(
        dialog.get_by_role("status").filter(has_text="Chosen: testbed, partition long.")
    ).to_have_count(1)
    select = dialog.get_by_label("Cluster", exact=True)
    expect(select.locator("option:checked")).to_have_text("Test bed (Slurm)")
    partition = dialog.locator("#jp-rpc-job_partition")
    expect(partition.locator("option:checked")).to_have_text("long", timeout=30_000)
    expect(dialog.locator("#jp-rpc-job_name")).to_have_value(name)

    dialog.get_by_role("button", name="Submit", exact=True).click()
    expect(dialog).to_have_count(0, timeout=30_000)
    job_id = submitted_job_id(panel, name)
    try:
        job = placement_server.api(f"jupyter-rpc/clusters/testbed/jobs/{job_id}")
        assert isinstance(job, dict) and job["partition"] == "long", job
        assert job["time_limit"] == 90 * 60, job
        expect(job_row(panel, job_id)).to_contain_text(name)
    finally:
        try:
            placement_server.api(f"jupyter-rpc/clusters/testbed/jobs/{job_id}", method="DELETE")
        except Exception:  # noqa: BLE001 - already ended
            pass
