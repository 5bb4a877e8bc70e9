"""Every job list the server writes is strict JSON: a figure a double cannot hold, in a
scheduler's output or in a job's record, becomes ``null`` (never a bare ``NaN`` or
``Infinity``, which the browser's ``JSON.parse`` rejects with the whole list)."""

from __future__ import annotations

import getpass
import json
import pathlib
import time
from typing import Any

import pytest

from jupyter_rpc.schedulers import slurm_parse as sp
from tests.fixtures import DATA

#: More digits than a double holds: float() of it is infinity.
HUGE = "9" * 400

#: The field order sacct-sep-ended.txt was recorded with (before TotalCPU and MaxRSS).
ENDED_ORDER = tuple(f for f in sp.SACCT_FIELDS if f not in ("TotalCPU", "MaxRSS"))


def strict(text: str | bytes) -> Any:
    """``json.loads`` as strict as ``JSON.parse``: NaN and Infinity are errors."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def recorded_row(job_id: str) -> dict[str, str]:
    """A job's line of the recorded ``sacct`` output, by field."""
    text = (DATA / "slurm" / "sacct-sep-ended.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        values = line.split(sp.SEP)
        if values[0] == job_id:
            return dict(zip(ENDED_ORDER, values, strict=True))
    raise AssertionError(f"no job {job_id} in the recording")


def test_sacct_figures_beyond_a_double_become_null() -> None:
    row = recorded_row("10")
    row |= {
        "End": HUGE,  # epoch seconds
        "Elapsed": f"{HUGE}:00:00",  # hours
        "Timelimit": f"00:00:{HUGE}",  # seconds
        "ReqMem": f"{HUGE}M",
        "TotalCPU": f"00:{HUGE}",
        "MaxRSS": f"{HUGE}K",
    }
    text = sp.SEP.join(row[f] for f in sp.SACCT_FIELDS) + "\n"
    (job,) = sp.parse_sacct(text)  # an OverflowError (the whole list) before
    assert job.id == "10" and job.state == "completed" and job.name == "rec done"
    figures = ("ended", "elapsed", "time_limit", "memory_mb", "cpu_used", "memory_peak_mb")
    assert {name: getattr(job, name) for name in figures} == dict.fromkeys(figures)
    assert strict(json.dumps(job.to_json()))["memory_peak_mb"] is None


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], home: pathlib.Path, tmp_path: pathlib.Path, odd_job: str
) -> dict[str, Any]:
    """The local cluster over ``home``; its jobs' records under ``tmp_path/state``, the
    odd one there before the server starts."""
    local = {"scheduler": "local", "roots": {"home": str(home)}, "workdir": str(home)}
    return {
        **jp_server_config,
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {"local": local},
            "state_dir": str(tmp_path / "state"),
        },
    }


@pytest.fixture
def odd_job(tmp_path: pathlib.Path, home: pathlib.Path) -> str:
    """An ended local job whose record holds odd usage figures (NaN CPU time, an
    infinite peak, as ``json.dumps`` writes them), there before the server starts."""
    job_dir = tmp_path / "state" / "local-jobs" / "7"
    job_dir.mkdir(parents=True)
    now = time.time()  # ended jobs stay listed for a while only
    record = {
        "id": "7",
        "name": "odd-usage",
        "state": "completed",
        "raw_state": "COMPLETED",
        "user": getpass.getuser(),  # the list shows our jobs
        "submitted": now - 10,
        "started": now - 9,
        "ended": now - 2,
        "elapsed": 7.0,
        "workdir": str(home),
        "exit_code": 0,
        "signal": 0,
        "cpu_used": float("nan"),
        "memory_peak_mb": float("inf"),
        "extra": {"load": float("-inf")},
    }
    data = {"spec": {"script": "true"}, "throttle": None, "records": [record]}
    (job_dir / "job.json").write_text(json.dumps(data), encoding="utf-8")
    assert "NaN" in (job_dir / "job.json").read_text()
    return "7"


async def test_the_job_list_is_strict_json_with_odd_usage_figures(
    jp_fetch: Any, odd_job: str
) -> None:
    response = await jp_fetch("jupyter-rpc", "clusters", "local", "jobs", method="GET")
    assert response.code == 200
    listing = strict(response.body)  # a bare NaN before: "not JSON: NaN"
    (job,) = [j for j in listing["jobs"] if j["id"] == odd_job]
    assert job["name"] == "odd-usage" and job["state"] == "completed"
    assert job["cpu_used"] is None and job["memory_peak_mb"] is None
    assert job["extra"]["load"] is None
    assert job["elapsed"] == 7.0  # the finite figures stay


async def test_a_job_with_odd_usage_figures_is_answered_with_nulls(
    jp_fetch: Any, odd_job: str
) -> None:
    response = await jp_fetch("jupyter-rpc", "clusters", "local", "jobs", odd_job, method="GET")
    assert response.code == 200  # 500 internal before: the strict encoder refused the NaN
    job = strict(response.body)
    assert (job["cpu_used"], job["memory_peak_mb"], job["extra"]["load"]) == (None, None, None)
    assert job["name"] == "odd-usage" and job["elapsed"] == 7.0
