"""Workflows on the local cluster (issue 24): the demo's three-step template (prepare ->
an array of 4 -> collect) through a real Jupyter server and the local scheduler's real
processes; templates refused at load; values refused before anything is submitted;
cancel; Run again; Save as template."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.schedulers.bed import PAYLOADS

DEMO = Path(__file__).resolve().parents[2] / "demo" / "workflows"

SLEEPER = {
    "display_name": "Sleeper",
    "steps": [
        {"name": "first", "script": "#!/bin/bash\nsleep 60\n"},
        {"name": "second", "after": ["first"], "script": "#!/bin/bash\nsleep 60\n"},
        {"name": "third", "after": ["second"], "array": "1-2", "script": "#!/bin/bash\necho\n"},
    ],
}
#: A template offering container images: the form's ``image``, printed as one word.
IMAGED = {
    "images": ["docker://python:3.12", "/sw/images/a b.sif"],
    "steps": [
        {
            "name": "show",
            "script": "#!/bin/bash\nprintf '%s\\n' {{ image }} > {{ run_dir }}/image.txt\n",
        }
    ],
}
#: A site template with an error in its second step's ``after``: refused, the others load.
BROKEN = {"steps": [{"name": "a", "script": "x"}, {"name": "b", "after": ["nope"], "script": "y"}]}


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], with_local_cluster: Any, home: Path, tmp_path: Path
) -> dict[str, Any]:
    bad_dir = tmp_path / "site-workflows"
    bad_dir.mkdir()
    (bad_dir / "typo.yaml").write_text("steps:\n  - name: one\n    script: [not, text]\n")
    return with_local_cluster(
        jp_server_config,
        home,
        jobs_refresh_min=0.0,
        workflows={"sleeper": SLEEPER, "broken": BROKEN, "imaged": IMAGED},
        workflow_dirs=[str(DEMO), str(bad_dir)],
        workflow_poll=0.5,
    )


async def wait_run(rpc: Any, run_id: str, states: set[str], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, run = await rpc("GET", "clusters", "local", "runs", run_id)
        assert status == 200, run
        if run["state"] in states:
            return run
        assert time.monotonic() < deadline, f"run stayed {run['state']}: {run}"
        await asyncio.sleep(0.3)


async def test_the_catalog_lists_the_demo_and_names_what_was_refused(rpc: Any) -> None:
    status, catalog = await rpc("GET", "clusters", "local", "workflows")
    assert status == 200
    names = {w["name"] for w in catalog["workflows"]}
    assert {"three-steps", "sleeper"} <= names
    assert "broken" not in names and "typo" not in names
    problems = {p["file"]: p["message"] for p in catalog["problems"]}
    assert "steps[1].after[0]: 'nope' is not an earlier step" in problems["RPCApp.workflows.broken"]
    typo = next(m for f, m in problems.items() if f.endswith("typo.yaml"))
    assert "typo.yaml" in typo and "steps[0].script" in typo
    demo = next(w for w in catalog["workflows"] if w["name"] == "three-steps")
    assert [s["name"] for s in demo["steps"]] == ["prepare", "simulate", "collect"]
    assert demo["steps"][1] == {"name": "simulate", "after": ["prepare"], "array": "1-4"}
    status, detail = await rpc("GET", "clusters", "local", "workflows", "three-steps")
    assert status == 200
    assert detail["form"]["properties"]["scale"]["maximum"] == 100
    assert detail["form"]["properties"]["hours"]["maximum"] == 2
    status, error = await rpc("GET", "clusters", "local", "workflows", "broken")
    assert status == 404 and error["code"] == "workflow.not_found"
    assert "'nope' is not an earlier step" in error["message"]


async def test_three_steps_run_to_the_end_with_their_outputs(rpc: Any, home: Path) -> None:
    started = time.monotonic()
    status, run = await rpc(
        "POST", "clusters", "local", "workflows", "three-steps", body={"values": {"label": "x"}}
    )
    assert status == 201, run
    assert [s["name"] for s in run["steps"]] == ["prepare", "simulate", "collect"]
    assert all(s["job_id"] for s in run["steps"])
    folder = Path(run["folder"])
    assert folder.parent == home / "jupyter-rpc-runs" and folder.name == run["id"]
    assert json.loads((folder / "inputs.json").read_text())["label"] == "x"
    assert (folder / "01-prepare.sh").is_file() and (folder / "run.json").is_file()
    assert oct(folder.stat().st_mode & 0o777) == "0o700"  # noqa: ASYNC240 - a test
    assert run["drive_path"] == f"home/jupyter-rpc-runs/{run['id']}"
    done = await wait_run(rpc, run["id"], {"completed", "failed", "cancelled"})
    assert done["state"] == "completed", done
    assert time.monotonic() - started < 30
    assert done["steps"][1]["tasks"] == {"completed": 4}
    assert all(s["state"] == "completed" and s["elapsed"] is not None for s in done["steps"])
    summary = (folder / "results" / "summary.txt").read_text()
    assert summary == "label: x\nmembers: 4\ntotal: 100\n"
    outputs = {o["path"]: o for o in done["outputs"]}
    assert set(outputs) == {
        "results/summary.txt",
        "results/label.txt",
        *(f"results/member-{i}.txt" for i in range(1, 5)),
    }
    assert outputs["results/summary.txt"]["size"] == len(summary)
    drive = outputs["results/summary.txt"]["drive_path"]
    assert drive == f"home/jupyter-rpc-runs/{run['id']}/results/summary.txt"
    status, model = await rpc("GET", "clusters", "local", "files", drive)  # Open in Lab
    assert status == 200 and model["content"] == summary
    assert done["inputs"]["label"] == "x" and done["inputs"]["scale"] == 10
    status, runs = await rpc("GET", "clusters", "local", "runs")
    assert status == 200 and [r["id"] for r in runs["runs"]] == [run["id"]]
    status, again = await rpc("GET", "clusters", "local", "runs", run["id"], "form")
    assert status == 200 and again["workflow"] == "three-steps"
    assert again["values"]["label"] == "x" and "label" in again["form"]["properties"]


async def test_a_failed_member_cancels_collect_and_names_the_step(rpc: Any) -> None:
    values = {"label": "f", "fail_member": 2}
    status, run = await rpc(
        "POST", "clusters", "local", "workflows", "three-steps", body={"values": values}
    )
    assert status == 201, run
    done = await wait_run(rpc, run["id"], {"completed", "failed", "cancelled"})
    assert done["state"] == "failed", done
    assert done["failed_step"] == "simulate"
    steps = {s["name"]: s for s in done["steps"]}
    assert steps["simulate"]["state"] == "failed" and steps["simulate"]["exit_code"] == 3
    assert steps["collect"]["state"] == "cancelled"
    assert steps["prepare"]["state"] == "completed"
    assert done["message"] == "Step 'simulate' failed (exit code 3); 'collect' was cancelled."
    assert "member 2: failing on purpose" in done["log_tail"]
    assert not (Path(done["folder"]) / "results" / "summary.txt").exists()


@pytest.mark.parametrize("payload", PAYLOADS)
async def test_a_label_with_shell_characters_arrives_literally(
    rpc: Any, home: Path, payload: str
) -> None:
    # A short marker path: the payload holds it twice within the label's 200 characters,
    # which a pytest folder under a deep clone (CI's own included) does not fit
    folder = Path(tempfile.mkdtemp(prefix="jr", dir="/tmp"))
    marker = folder / "i"
    label = payload.format(m=marker)
    assert len(label) <= 200
    try:
        status, run = await rpc(
            "POST",
            "clusters",
            "local",
            "workflows",
            "three-steps",
            body={"values": {"label": label}},
        )
        assert status == 201, run
        done = await wait_run(rpc, run["id"], {"completed", "failed", "cancelled"})
        assert done["state"] == "completed", done
        assert (Path(done["folder"]) / "results" / "label.txt").read_text() == label + "\n"
        assert not marker.exists()
    finally:
        shutil.rmtree(folder)


async def test_values_out_of_bounds_are_refused_before_anything_is_submitted(
    rpc: Any, home: Path
) -> None:
    for values, field in (
        ({"label": "x", "scale": 1000}, "scale"),
        ({"label": "x", "hours": 5}, "hours"),
        ({"label": "x", "unknown": 1}, "unknown"),
        ({"scale": 2, "label": 7}, "label"),
    ):
        status, error = await rpc(
            "POST", "clusters", "local", "workflows", "three-steps", body={"values": values}
        )
        assert status == 400, error
        assert error["code"] == "request.schema" and field in error["message"], error
    assert not (home / "jupyter-rpc-runs").exists()
    status, jobs = await rpc("GET", "clusters", "local", "jobs")
    assert status == 200 and jobs["jobs"] == []


async def test_cancel_ends_every_step(rpc: Any) -> None:
    status, run = await rpc("POST", "clusters", "local", "workflows", "sleeper", body={})
    assert status == 201, run
    await wait_run(rpc, run["id"], {"running"})
    status, cancelled = await rpc("DELETE", "clusters", "local", "runs", run["id"])
    assert status == 200, cancelled
    assert cancelled["state"] == "cancelled", cancelled
    assert [s["state"] for s in cancelled["steps"]] == ["cancelled"] * 3
    status, jobs = await rpc("GET", "clusters", "local", "jobs")
    assert not [j for j in jobs["jobs"] if j["state"] in {"pending", "running"}]
    status, error = await rpc("DELETE", "clusters", "local", "runs", run["id"])
    assert status == 409 and error["code"] == "run.finished"
    status, error = await rpc("GET", "clusters", "local", "runs", "nope-20260101-000000-abcd")
    assert status == 404 and error["code"] == "run.not_found"


async def test_save_a_job_as_a_template_and_run_it(rpc: Any, home: Path) -> None:
    script = "#!/bin/bash\necho 'saved {{ not a value }}' > saved.txt\n"
    status, job = await rpc("POST", "clusters", "local", "jobs", body={"script": script, "cpus": 1})
    assert status == 201, job
    status, saved = await rpc(
        "POST", "clusters", "local", "jobs", job["id"], "save-as-template",
        body={"name": "mine", "display_name": "My job"},
    )  # fmt: skip
    assert status == 201, saved
    assert saved["source"] == "user" and saved["clusters"] == ["local"]
    status, again = await rpc(
        "POST", "clusters", "local", "jobs", job["id"], "save-as-template", body={"name": "mine"}
    )
    assert status == 409 and again["code"] == "workflow.exists"
    status, run = await rpc("POST", "clusters", "local", "workflows", "mine", body={})
    assert status == 201, run
    done = await wait_run(rpc, run["id"], {"completed", "failed", "cancelled"})
    assert done["state"] == "completed", done
    assert (Path(done["folder"]) / "saved.txt").read_text() == "saved {{ not a value }}\n"
    status, _ = await rpc("DELETE", "clusters", "local", "workflows", "mine")
    assert status == 204
    status, error = await rpc("DELETE", "clusters", "local", "workflows", "three-steps")
    assert status == 403 and error["code"] == "workflow.site_defined"


async def test_the_form_offers_the_images_and_the_script_gets_the_choice(rpc: Any) -> None:
    status, detail = await rpc("GET", "clusters", "local", "workflows", "imaged")
    assert status == 200
    image = detail["form"]["properties"]["image"]
    assert image["enum"] == IMAGED["images"] and image["default"] == "docker://python:3.12"
    status, error = await rpc(
        "POST", "clusters", "local", "workflows", "imaged", body={"values": {"image": "evil"}}
    )
    assert status == 400 and error["code"] == "request.schema" and "image" in error["message"]
    status, run = await rpc(
        "POST", "clusters", "local", "workflows", "imaged",
        body={"values": {"image": "/sw/images/a b.sif"}},
    )  # fmt: skip
    assert status == 201, run
    done = await wait_run(rpc, run["id"], {"completed", "failed", "cancelled"})
    assert done["state"] == "completed", done
    assert (Path(done["folder"]) / "image.txt").read_text() == "/sw/images/a b.sif\n"


async def test_templates_dropped_in_the_users_folder_load_and_a_loop_is_refused(
    rpc: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "state" / "workflows"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dropped.yaml").write_text(
        "steps:\n  - name: one\n    script: |\n      #!/bin/bash\n      echo {{ run_id }}\n"
    )
    (folder / "busy.yaml").write_text(
        "steps:\n  - name: one\n    script: |\n      #!/bin/bash\n"
        "      {% for i in range(10**8) %}{% endfor %}\n"
    )
    status, catalog = await rpc("GET", "clusters", "local", "workflows")
    assert status == 200
    mine = {w["name"]: w for w in catalog["workflows"] if w["source"] == "user"}
    assert list(mine) == ["dropped"]
    busy = next(p["message"] for p in catalog["problems"] if p["file"].endswith("busy.yaml"))
    assert "steps[0].script line 2: For is not allowed in a template of your own" in busy
    (folder / "dropped.yaml").unlink()
    status, catalog = await rpc("GET", "clusters", "local", "workflows")
    assert "dropped" not in [w["name"] for w in catalog["workflows"]]


async def test_where_should_the_whole_run_go(rpc: Any) -> None:
    values = {"label": "x", "cpus": 2, "hours": 1}
    status, answer = await rpc(
        "POST", "workflows", "three-steps", "placement", body={"values": values}
    )
    assert status == 200, answer
    # prepare and collect fix 1 CPU; simulate is 4 tasks of 2 CPUs: 1 + 8 + 1 core-hours
    assert answer["run"] == {"cpus": 2, "time_limit": 300, "jobs": 6, "core_hours": 10.0}
    [local] = [p for p in answer["ranking"]["placements"] if p["cluster"] == "local"]
    assert local["status"] == "ok", local
    status, error = await rpc(
        "POST", "workflows", "three-steps", "placement", body={"values": {"scale": 0}}
    )
    assert status == 400 and error["code"] == "request.schema" and "scale" in error["message"]
