"""A kernel profile's values (issue 20): the form the start dialog shows (the submit
form's resources, the profile's as defaults, the site's limits), the values a user
confirms there (checked as a job's, kept in a 0600 file), and a compute-node kernel on
the test bed's real Slurm that gets them: its job has the CPUs and time limit chosen."""

from __future__ import annotations

import json
import os
import pathlib
import stat
import subprocess
from typing import Any

import pytest

from tests.fixtures.hpc import HPCTestbed
from tests.kernels.conftest import ssh_cluster
from tests.kernels.test_job_kernels import QUEUED, gone_from_squeue

PROFILE = "rpc-testbed-small"


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], hpc_testbed: HPCTestbed, kernel_python: str, tmp_path: Any
) -> dict[str, Any]:
    profiles = {
        "small": {
            "display_name": "small",
            "resources": {"partition": "debug", "time_limit": 10, "cpus": 1},
        }
    }
    return {
        **jp_server_config,
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {
                "testbed": ssh_cluster(
                    hpc_testbed,
                    scheduler="slurm",
                    kernel_python=kernel_python,
                    display_name="Test bed",
                    kernel_profiles=profiles,
                    # the site's limit, narrower than the partition's
                    submit={"time_limit": {"maximum": 30}},
                ),
            },
            "state_dir": str(tmp_path / "state"),
        },
    }


def squeue_fields(job_id: str) -> list[str]:
    """The job's CPUs, time limit and partition as ``squeue`` shows them."""
    done = subprocess.run(
        ["squeue", "-h", "-j", job_id, "-o", "%C %l %P"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    return done.stdout.split()


def values_file(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / "state" / "kernel-profiles.json"


async def test_the_form_has_the_profiles_values_and_the_sites_limits(rpc: Any) -> None:
    status, form = await rpc("GET", "clusters", "testbed", "kernel-profiles", "small")
    assert status == 200, form
    assert form["display_name"] == "Python 3 on Test bed, small"
    props = form["schema"]["properties"]
    assert list(props)[:3] == ["partition", "time_limit", "cpus"]
    assert props["partition"]["enum"] == ["debug", "long"]
    assert props["time_limit"]["maximum"] == 30  # the site's, not the partition's 60
    assert "script" not in props and "hold" not in props  # a kernel's job has its own
    assert form["values"] == {"partition": "debug", "time_limit": 10, "cpus": 1}
    assert form["defaults"] == form["values"]


async def test_confirmed_values_are_kept_checked_and_forgotten(
    rpc: Any, tmp_path: pathlib.Path
) -> None:
    path = ("clusters", "testbed", "kernel-profiles", "small")
    status, form = await rpc("PUT", *path, body={"values": {"cpus": 2, "time_limit": 7}})
    assert status == 200, form
    assert form["values"] == {"partition": "debug", "time_limit": 7, "cpus": 2}
    assert form["defaults"]["cpus"] == 1
    kept = values_file(tmp_path)
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600
    assert json.loads(kept.read_text()) == {"testbed": {"small": {"cpus": 2, "time_limit": 7}}}
    status, again = await rpc("GET", *path)
    assert again["values"] == form["values"]  # the dialog opens with them next time

    refused = [
        ({"time_limit": 45}, "time_limit", "the maximum of 30"),  # the site's limit
        ({"partition": "nosuch"}, "partition", "is not one of"),
        ({"cpus": 0}, "cpus", None),  # the schema's (JSON body) minimum
        ({"script": "rm -rf ~"}, "values", None),  # not a profile's value
    ]
    for values, field, words in refused:
        status, error = await rpc("PUT", *path, body={"values": values})
        assert status == 400, (values, error)
        assert error["message"] and "Traceback" not in error["message"], error
        if words is not None:
            assert words in error["message"], error
            assert error["details"]["field"] == field, error
    assert json.loads(kept.read_text())["testbed"]["small"] == {"cpus": 2, "time_limit": 7}

    status, form = await rpc("DELETE", *path)
    assert status == 200 and form["values"] == form["defaults"], form
    status, error = await rpc("GET", "clusters", "testbed", "kernel-profiles", "nosuch")
    assert status == 404 and error["code"] == "kernel.profile_unknown", error


async def test_a_kernel_started_after_the_dialog_has_its_values(
    rpc: Any, api: Any, kernel_ws: Any
) -> None:
    status, form = await rpc(
        "PUT",
        "clusters",
        "testbed",
        "kernel-profiles",
        "small",
        body={"values": {"cpus": 2, "time_limit": 7}},
    )
    assert status == 200, form
    status, model = await api("POST", "kernels", body={"name": PROFILE}, request_timeout=QUEUED)
    assert status == 201, model
    try:
        kernel = await kernel_ws(model["id"])
        result = await kernel.execute("import os; print(os.environ['SLURM_JOB_ID'])")
        assert result["status"] == "ok", result
        job_id = result["stdout"].strip()
        shown = squeue_fields(job_id)
        assert shown == ["2", "7:00", "debug"], shown  # CPUs, time limit, partition
    finally:
        status, _ = await api("DELETE", "kernels", model["id"])
    assert status == 204
    assert await gone_from_squeue(job_id, 30)


def test_zero_gpus_asks_for_none() -> None:
    """The form's GPUs start at 0 ("none"); the schedulers take 1 and up, so a job of a
    profile whose user chose 0 asks for no GPUs instead of failing at every start."""
    from jupyter_rpc.services.kernel_values import resources

    profile = {"resources": {"partition": "gpu", "gpus": 1, "time_limit": 30}}
    assert resources(profile, {"gpus": 0}) == {"partition": "gpu", "time_limit": 30}
    assert resources(profile, {"gpus": 2, "cpus": None})["gpus"] == 2
    assert resources(profile, {"partition": ""})["partition"] == "gpu"  # empty: the profile's
