"""What a notebook shows of ended jobs, partitions and sizes (jupyter_rpc.notebook.tables
and .units): the values people read, worked out from the server's numbers."""

from __future__ import annotations

import datetime as dt

from jupyter_rpc.notebook.jobs import Job
from jupyter_rpc.notebook.tables import HistoryList, PartitionList
from jupyter_rpc.notebook.units import duration, size_text, when


def test_durations_and_sizes_as_slurm_and_people_write_them() -> None:
    assert duration(None) == "" and duration(59) == "0:00:59"
    assert duration(3 * 3600 + 5 * 60 + 7) == "3:05:07"
    assert duration(86400 + 3600) == "1-1:00:00"
    assert size_text(None) == "" and size_text(512) == "512 B"
    assert size_text(1536) == "1.5 KB" and size_text(3 * 1024**3) == "3.0 GB"
    assert when(None) is None
    assert when(0.0) is None  # the server's "not yet"
    stamp = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
    assert when(stamp.timestamp()) == stamp


def test_ended_jobs_show_cpu_efficiency_and_peak_memory() -> None:
    info = {
        "id": 7,
        "name": "<fit>",
        "state": "completed",
        "elapsed": 100,
        "cpus": 4,
        "cpu_used": 200,
        "memory_mb": 2048,
        "memory_peak_mb": 512,
        "exit_code": 0,
    }
    unknown = {"id": 8, "name": "short", "state": "failed", "exit_code": 1}
    # ended jobs as the cluster's history gives them (no cluster needed to show them)
    table = HistoryList([Job(None, info), Job(None, unknown)])
    text = repr(table)
    header, first, second = text.splitlines()
    assert header.split()[:3] == ["id", "name", "state"] and "memory peak" in header
    assert "50 %" in first and "512.0 MB (25 %)" in first  # 200 s of 4 CPUs over 100 s
    assert "%" not in second  # not measured: left empty, not 0 %
    assert "&lt;fit&gt;" in table._repr_html_() and "<fit>" not in table._repr_html_()
    assert repr(HistoryList()) == "(no ended jobs)"


def test_partitions_show_their_limits() -> None:
    table = PartitionList(
        [
            {"name": "compute", "default": True, "max_time": 480, "max_memory_mb": 4096},
            {"name": "debug", "max_time": None},
        ]
    )
    first, second = repr(table).splitlines()[1:]
    assert first.startswith("compute (default)") and "8:00:00" in first and "4.0 GB" in first
    assert "unlimited" in second
