"""Workflow runs (issue 24): a template's steps submitted as jobs chained by the
scheduler, their run folder on the cluster, their state, outputs and cancel.

A run is one folder on the cluster, ``<runs root>/<template>-<YYYYmmdd-HHMMSS>-<4 hex>``
(``RPCApp.workflow_runs_dir``, relative to the cluster's working folder or the login
home), holding the rendered step scripts (``01-prepare.sh``, ...), ``inputs.json``, the
steps' logs (the scheduler's default names, the run folder being their working folder)
and the outputs, and ``run.json`` (the steps' job ids): a restarted server finds its runs
again by reading those files (one command for all).

On a scheduler driven by command-line tools (Slurm, Grid Engine, PBS, LSF), one remote
shell script, run in one SSH round trip, makes the folder, writes the files and submits
every step waiting for the ones it names (the scheduler's own dependency:
``CommandScheduler.dependency_args``), reading each new id in the shell
(``submitted_id_sed``); it prints the ids. Every value in it is quoted once, by
:func:`shlex.quote`. The local scheduler chains jobs itself (``submit_after``).

When a step fails, the steps waiting for it are cancelled (Slurm does it itself with
``--kill-on-invalid-dep``; for the others the server does when it sees the failure: a
background check of the runs it knows every ``poll`` seconds, and every read) and the run
names the failed step with the end of its log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import re
import secrets
import shlex
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import Conflict, InvalidRequest, NotFound, RemoteFailed, RPCError
from ..policy import EVERYTHING, Grant
from ..schedulers.base import JobInfo, JobSpec
from ..schedulers.command import CommandScheduler
from ..schedulers.local import parse_array
from ..tasks import TaskOwner
from .clusters import Cluster, ClusterRegistry
from .jobs import JobRequest, JobsService, job_spec
from .placement import DEFAULT_TIMEOUT, PlacementService
from .workflow_notebooks import NOTEBOOK_OUTPUT, NOTEBOOK_PREFIX, notebook_files, notebook_template
from .workflows import Step, WorkflowCatalog, WorkflowTemplate, template_from_job

log = logging.getLogger(__name__)

#: A run's id: the template's name, a time stamp and 4 hex digits.
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}-\d{8}-\d{6}-[0-9a-f]{4}$")
#: Characters of a job id the run folder's run.json may hold.
_JOB_ID = re.compile(r"^[A-Za-z0-9_.\[\]-]{1,128}$")
#: Bytes of a failed step's log shown.
LOG_TAIL = 3000
#: States a step ends in.
_ENDED = frozenset({"completed", "failed", "cancelled"})


@dataclass
class StepRun:
    """One step of a run: its job and, once read, its state."""

    name: str
    after: list[str]
    array: str | None
    job_id: str
    script: str
    state: str = "pending"
    reason: str = ""
    tasks: dict[str, int] = field(default_factory=dict)
    started: float | None = None
    ended: float | None = None
    exit_code: int | None = None
    failed_task: str = ""  # the job id of the (first) failed task

    def to_json(self, now: float) -> dict[str, Any]:
        elapsed = None
        if self.started is not None:
            elapsed = max(0.0, (self.ended or now) - self.started)
        return {
            "name": self.name,
            "after": list(self.after),
            "array": self.array,
            "job_id": self.job_id,
            "state": self.state,
            "reason": self.reason,
            "tasks": dict(self.tasks),
            "started": self.started,
            "ended": self.ended,
            "elapsed": elapsed,
            "exit_code": self.exit_code,
            "script": self.script,
        }


@dataclass
class Run:
    """A workflow run: what run.json keeps, and what the server learned since."""

    id: str
    workflow: str
    display_name: str
    cluster: str
    folder: str
    created: float
    inputs: dict[str, Any]
    outputs: list[str]
    steps: list[StepRun]
    home: str = ""
    log_tail: str = ""
    cancelled: bool = False  # the user cancelled it

    def record(self) -> dict[str, Any]:
        """run.json (job ids as the submit script fills them in)."""
        return {
            "version": 1,
            "id": self.id,
            "workflow": self.workflow,
            "display_name": self.display_name,
            "cluster": self.cluster,
            "folder": self.folder,
            "created": self.created,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "steps": [
                {
                    k: v
                    for k, v in asdict(s).items()
                    if k in {"name", "after", "array", "job_id", "script"}
                }
                for s in self.steps
            ],
            "cancelled": self.cancelled,
        }

    @classmethod
    def from_record(cls, data: dict[str, Any], cluster: str) -> Run:
        steps = [
            StepRun(
                name=str(s["name"]),
                after=[str(a) for a in s.get("after") or []],
                array=s.get("array"),
                job_id=str(s["job_id"]),
                script=str(s.get("script", "")),
            )
            for s in data["steps"]
        ]
        return cls(
            id=str(data["id"]),
            workflow=str(data["workflow"]),
            display_name=str(data.get("display_name") or data["workflow"]),
            cluster=cluster,
            folder=str(data["folder"]),
            created=float(data["created"]),
            inputs=dict(data.get("inputs") or {}),
            outputs=[str(o) for o in data.get("outputs") or []],
            steps=steps,
            cancelled=data.get("cancelled") is True,
        )

    @property
    def ended(self) -> bool:
        return all(s.state in _ENDED for s in self.steps)

    def state(self) -> tuple[str, str | None, str]:
        """(state, failed step, message for people)."""
        failed = next((s for s in self.steps if s.state == "failed"), None)
        if failed is not None:
            how = "hit its time limit" if failed.reason == "hit its time limit" else "failed"
            if failed.exit_code:
                how += f" (exit code {failed.exit_code})"
            gone = [s.name for s in self.steps if s.state == "cancelled"]
            tail = ""
            if gone:
                names = ", ".join(f"'{n}'" for n in gone)
                tail = f"; {names} {'was' if len(gone) == 1 else 'were'} cancelled"
            return "failed", failed.name, f"Step '{failed.name}' {how}{tail}."
        if any(s.state == "cancelled" for s in self.steps):
            if self.ended:
                return "cancelled", None, "The run was cancelled."
            return "running", None, "Cancelling."
        if all(s.state == "completed" for s in self.steps):
            return "completed", None, "Every step completed."
        if any(s.state == "running" for s in self.steps):
            running = [s.name for s in self.steps if s.state == "running"]
            return "running", None, f"Running: {', '.join(running)}."
        if any(s.state == "unknown" for s in self.steps):
            return "unknown", None, "The scheduler no longer knows some of the steps."
        if any(s.state == "completed" for s in self.steps):
            return "running", None, "Waiting for the next step to start."
        return "pending", None, "Waiting in the queue."

    def to_json(
        self,
        now: float,
        outputs: list[dict[str, Any]] | None = None,
        drive: str | None = None,
        progress: dict[str, int] | None = None,
    ) -> dict[str, Any]:
        state, failed, message = self.state()
        starts = [s.started for s in self.steps if s.started is not None]
        ends = [s.ended for s in self.steps if s.ended is not None]
        elapsed = None
        if starts:
            end = max(ends) if self.ended and ends else now
            elapsed = max(0.0, end - min(starts))
        return {
            "id": self.id,
            "workflow": self.workflow,
            "display_name": self.display_name,
            "cluster": self.cluster,
            "folder": self.folder,
            "drive_path": drive,
            "created": self.created,
            "state": state,
            "elapsed": elapsed,
            "failed_step": failed,
            "message": message,
            "log_tail": self.log_tail if failed else "",
            "steps": [s.to_json(now) for s in self.steps],
            "outputs": outputs or [],
            "progress": progress,
            "inputs": self.inputs,
        }


def _word(arg: str) -> str:
    """One shell word for ``arg``, where ``\\0k\\0`` stands for the id of step k (the
    shell variable ``$Jk``, set when that step was submitted)."""
    parts = arg.split("\0")
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f'"$J{int(part)}"')
        elif part:
            out.append(shlex.quote(part))
    return "".join(out) or "''"


def _local_home() -> str:
    return os.path.expanduser("~")


def _printf_format(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "%%")


class WorkflowService:
    """The workflow routes' logic, one method each; plain asyncio (no tornado)."""

    def __init__(
        self,
        clusters: ClusterRegistry,
        catalog: WorkflowCatalog,
        *,
        runs_dir: str = "jupyter-rpc-runs",
        poll: float = 10.0,
        jobs: JobsService | None = None,
    ) -> None:
        self.clusters = clusters
        self.catalog = catalog
        self.runs_dir = runs_dir
        self.poll = poll
        self.jobs = jobs or JobsService()
        self._runs: dict[tuple[str, str], Run] = {}
        self._homes: dict[str, str] = {}
        self._owner = TaskOwner("workflows")
        self._monitor: asyncio.Task[None] | None = None

    # -- the catalog ---------------------------------------------------------------------

    def catalog_json(self, cluster: Cluster) -> dict[str, Any]:
        self.catalog.fresh()
        return {
            "workflows": [t.to_json() for t in self.catalog.for_cluster(cluster.name)],
            "problems": list(self.catalog.problems),
        }

    def _form(self, cluster: Cluster, template: WorkflowTemplate, grant: Grant) -> dict[str, Any]:
        return template.schema(grant.merged_submit(cluster.config.get("submit")))

    def detail(self, cluster: Cluster, name: str, grant: Grant = EVERYTHING) -> dict[str, Any]:
        template = self.catalog.fresh().get(name, cluster.name)
        return {**template.to_json(), "form": self._form(cluster, template, grant)}

    def remove(self, name: str) -> None:
        self.catalog.remove_user(name)

    async def save_job(self, cluster: Cluster, job_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """*Save as template*: a one-step template of the user's own from a job's script
        and resources (``job.no_script`` when the scheduler no longer has the script)."""
        values = await self.jobs.resubmit_form(cluster, job_id)
        name = body["name"]
        entry = template_from_job(
            values["script"],
            values,
            display_name=body.get("display_name") or name,
            description=body.get("description") or f"Saved from job {job_id} on {cluster.name}.",
        )
        entry["clusters"] = [cluster.name]
        return self.catalog.save_user(name, entry).to_json()

    async def placement(
        self, name: str, body: dict[str, Any], grant: Grant = EVERYTHING
    ) -> dict[str, Any]:
        """Where should a run of ``name`` go? The clusters the template fits (and the user
        may use) ranked by the placement service for the whole run as one job: the
        largest step's CPUs (and GPUs, memory), for as long as the sum of every step's
        (and array task's) core-hours takes on them, so the cost is the run's."""
        template = self.catalog.fresh().get(name)
        values = template.values(template.schema(), body.get("values") or {})
        cpus, gpus, memory, core_hours, jobs = 1, 0, 0, 0.0, 0
        for step in template.steps:
            own = {**values, **step.resources}
            tasks = _tasks_of(step.array)
            step_cpus = int(own.get("cpus") or 1)
            cpus, jobs = max(cpus, step_cpus), jobs + tasks
            gpus = max(gpus, int(own.get("gpus") or 0))
            memory = max(memory, int(own.get("memory_mb") or 0))
            core_hours += step_cpus * float(own.get("hours") or 1) * tasks
        request: dict[str, Any] = {
            "script": "#!/bin/bash\ntrue\n",
            "name": template.name,
            "cpus": cpus,
            "time_limit": max(1, math.ceil(core_hours * 60 / cpus)),
        }
        if values.get("partition"):
            request["partition"] = values["partition"]
        if gpus:
            request["gpus"] = gpus
        if memory:
            request["memory_mb"] = memory
        names = [
            c.name
            for c in self.clusters
            if template.runs_on(c.name)
            and grant.allows_cluster(c.name, user_defined=c.source == "user")
        ]
        if not names:
            raise NotFound(
                f"No cluster you may use fits the workflow '{name}'.",
                code="workflow.not_found",
                details={"workflow": name},
            )
        ranking = await PlacementService(self.clusters).rank(
            JobRequest(**request),  # type: ignore[typeddict-item]
            names=names,
            grant=grant,
            timeout=float(body.get("timeout", DEFAULT_TIMEOUT)),
            prefer=body.get("prefer", "balanced"),
        )
        run = {
            "cpus": cpus,
            "time_limit": request["time_limit"],
            "jobs": jobs,
            "core_hours": round(core_hours, 3),
        }
        return {"run": run, "ranking": ranking}

    # -- submitting ------------------------------------------------------------------------

    async def submit(
        self, cluster: Cluster, name: str, body: dict[str, Any], grant: Grant = EVERYTHING
    ) -> dict[str, Any]:
        """Check the values, then make the run folder and submit every step (one SSH
        round trip on a command-line scheduler); the new run."""
        template = self.catalog.fresh().get(name, cluster.name)
        values = template.values(self._form(cluster, template, grant), body)
        return await self._launch(cluster, template, values, grant)

    async def submit_notebook(
        self, cluster: Cluster, body: dict[str, Any], grant: Grant = EVERYTHING
    ) -> dict[str, Any]:
        """Run a notebook as a job here (``body``: ``notebook``, its ``name``,
        ``parameters``, ``values``: resources and ``environment``); the new run, whose
        ``out.ipynb`` is the executed notebook."""
        template = notebook_template(str(body.get("name") or "notebook.ipynb"))
        values = template.values(self._form(cluster, template, grant), body.get("values") or {})
        files = notebook_files(body["notebook"], dict(body.get("parameters") or {}))
        return await self._launch(cluster, template, values, grant, files)

    async def _launch(
        self,
        cluster: Cluster,
        template: WorkflowTemplate,
        values: dict[str, Any],
        grant: Grant,
        extra_files: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Make the run folder (its scripts, inputs.json and ``extra_files``) and submit
        every step of ``template`` with the checked ``values``; the new run."""
        scheduler = cluster.need_scheduler()
        chained = len(template.steps) > 1 or any(s.after for s in template.steps)
        if chained and not scheduler.capabilities.dependencies:
            raise InvalidRequest(
                f"The scheduler of '{cluster.name}' ({scheduler.kind}) cannot make a job wait "
                f"for another, so the {len(template.steps)} steps of '{template.display_name}' "
                "cannot run in order there. Nothing was submitted.",
                code="workflow.no_dependencies",
                details={"cluster": cluster.name},
            )
        created = time.time()
        run_id = (
            f"{template.name}-{time.strftime('%Y%m%d-%H%M%S', time.localtime(created))}"
            f"-{secrets.token_hex(2)}"
        )
        folder = f"{await self._root(cluster)}/{run_id}"
        specs, files, scripts = [], {}, []
        for index, step in enumerate(template.steps):
            script_name = f"{index + 1:02d}-{step.name}.sh"
            scripts.append(f"{folder}/{script_name}")
            text = template.render(
                step, values, run_dir=folder, run_id=run_id, image=values.get("image", "")
            )
            if not text.startswith("#!"):
                text = "#!/bin/bash\n" + text
            files[script_name] = text
            specs.append(
                await self._spec(
                    cluster, template, step, values, f"{folder}/{script_name}", run_id, grant
                )
            )
        files["inputs.json"] = json.dumps(values, indent=1) + "\n"
        files.update(extra_files or {})
        run = Run(
            id=run_id,
            workflow=template.name,
            display_name=template.display_name,
            cluster=cluster.name,
            folder=folder,
            created=created,
            inputs=values,
            outputs=list(template.outputs),
            steps=[
                StepRun(s.name, list(s.after), s.array, "", path)
                for s, path in zip(template.steps, scripts, strict=True)
            ],
        )
        index_of = {s.name: i for i, s in enumerate(template.steps)}
        after = [[index_of[a] for a in s.after] for s in template.steps]
        if isinstance(scheduler, CommandScheduler):
            await self._submit_script(cluster, scheduler, run, files, specs, after)
        else:
            await self._submit_each(cluster, run, files, specs, after)
        cluster.jobs_changed()
        self._runs[(cluster.name, run.id)] = run
        self._watch()
        return run.to_json(time.time(), drive=self._drive(cluster, run.folder))

    async def _spec(
        self,
        cluster: Cluster,
        template: WorkflowTemplate,
        step: Step,
        values: dict[str, Any],
        script_path: str,
        run_id: str,
        grant: Grant,
    ) -> JobSpec:
        resources: dict[str, Any] = {
            k: values.get(k) for k in ("partition", "hours", "cpus", "gpus", "memory_mb")
        }
        resources.update(step.resources)
        request: dict[str, Any] = {"script_path": script_path, "name": f"{run_id}.{step.name}"}
        if resources.get("partition"):
            request["partition"] = resources["partition"]
        if resources.get("hours"):
            request["time_limit"] = max(1, math.ceil(float(resources["hours"]) * 60))
        for key in ("cpus", "gpus", "memory_mb"):
            if resources.get(key):
                request[key] = int(resources[key])
        if step.array:
            request["array"] = step.array
        spec = await job_spec(cluster, JobRequest(**request), grant)  # type: ignore[typeddict-item]
        folder = script_path.rsplit("/", 1)[0]
        scheduler = cluster.need_scheduler()
        spec.workdir = folder if scheduler.capabilities.workdir else None
        return spec

    def _prepare_lines(self, run: Run, files: dict[str, str]) -> list[str]:
        """Shell lines that make the run folder (0700) and write its files."""
        parent = run.folder.rsplit("/", 1)[0]
        q = shlex.quote
        lines = [
            "set -u",
            "umask 077",
            f"mkdir -p -- {q(parent)} && mkdir -- {q(run.folder)} || exit 3",
            f"cd -- {q(run.folder)} || exit 3",
        ]
        for name, text in files.items():
            lines.append(f"printf '%s' {q(text)} > {q(name)} || exit 3")
            if name.endswith(".sh"):
                lines.append(f"chmod 700 {q(name)}")
        return lines

    def _record_line(self, run: Run, ids: list[str]) -> str:
        """A shell line writing run.json, with ``ids`` (shell words) as the job ids."""
        record = run.record()
        marks = []
        for k, step in enumerate(record["steps"]):
            step["job_id"] = f"@@JOB{k}@@"
            marks.append(f"@@JOB{k}@@")
        text = _printf_format(json.dumps(record, indent=1))
        for mark in marks:
            text = text.replace(mark, "%s")
        return f"printf {shlex.quote(text)} {' '.join(ids)} > run.json.tmp && mv -f run.json.tmp run.json"

    async def _submit_script(
        self,
        cluster: Cluster,
        scheduler: CommandScheduler,
        run: Run,
        files: dict[str, str],
        specs: list[JobSpec],
        after: list[list[int]],
    ) -> None:
        lines = self._prepare_lines(run, files)
        sed = shlex.quote(scheduler.submitted_id_sed)
        for k, (spec, deps) in enumerate(zip(specs, after, strict=True)):
            argv = await scheduler.submit_command(spec, [f"\0{d}\0" for d in deps])
            command = " ".join(_word(a) for a in argv)
            lines += [
                f"out=$({command}) || {{ printf 'JRPC-REFUSED {k}\\n'; exit 0; }}",
                f"J{k}=$(printf '%s\\n' \"$out\" | sed -n {sed} | head -n 1)",
                f'case "$J{k}" in ""|*[!A-Za-z0-9_.\\[\\]-]*) '
                f"printf 'JRPC-NOID {k}\\n'; printf '%s\\n' \"$out\" >&2; exit 0;; esac",
                f"printf 'JRPC-JOB {k} %s\\n' \"$J{k}\"",
            ]
        lines.append(self._record_line(run, [f'"$J{k}"' for k in range(len(specs))]))
        lines.append("printf 'JRPC-DONE\\n'")
        done = await cluster.runner.run(
            ["/bin/sh", "-s"], input="\n".join(lines) + "\n", timeout=scheduler.command_timeout
        )
        ids = {}
        failed = None
        for line in done.stdout.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "JRPC-JOB":
                ids[int(parts[1])] = parts[2]
            elif len(parts) == 2 and parts[0] in {"JRPC-REFUSED", "JRPC-NOID"}:
                failed = int(parts[1])
        for k, step in enumerate(run.steps):
            step.job_id = ids.get(k, "")
        if done.exit_status != 0 or failed is not None or "JRPC-DONE" not in done.stdout:
            await self._undo(cluster, run)
            words = scheduler._words(done.stderr) or done.stdout.strip()[-500:]
            if failed is not None:
                what = f"{scheduler.label} refused step '{run.steps[failed].name}': {words}"
            else:
                what = f"The run folder {run.folder} could not be made: {words or f'exit status {done.exit_status}'}"
            raise RemoteFailed(
                f"{what}. Nothing of the run is left queued.",
                code="run.submit_failed",
                details={
                    "stderr": done.stderr[-4000:],
                    "step": run.steps[failed].name if failed is not None else None,
                },
            )

    async def _submit_each(
        self,
        cluster: Cluster,
        run: Run,
        files: dict[str, str],
        specs: list[JobSpec],
        after: list[list[int]],
    ) -> None:
        """A scheduler that is not a command-line tool (the local one): the folder and
        files by one command, then each step with ``submit_after``."""
        scheduler = cluster.need_scheduler()
        done = await cluster.runner.run(
            ["/bin/sh", "-s"], input="\n".join(self._prepare_lines(run, files)) + "\n"
        )
        if not done.ok:
            raise RemoteFailed(
                f"The run folder {run.folder} could not be made: {done.stderr.strip()[-500:]}",
                code="run.submit_failed",
            )
        for k, (spec, deps) in enumerate(zip(specs, after, strict=True)):
            try:
                run.steps[k].job_id = await scheduler.submit_after(
                    spec, [run.steps[d].job_id for d in deps]
                )
            except RPCError as exc:
                await self._undo(cluster, run)
                raise RemoteFailed(
                    f"Step '{run.steps[k].name}' was refused: {exc.message} Nothing of the run "
                    "is left queued.",
                    code="run.submit_failed",
                    details={"step": run.steps[k].name},
                ) from None
        ids = [shlex.quote(s.job_id) for s in run.steps]
        done = await cluster.runner.run(
            ["/bin/sh", "-s"],
            input=f"cd -- {shlex.quote(run.folder)} || exit 3\n{self._record_line(run, ids)}\n",
        )
        if not done.ok:
            log.warning("jupyter_rpc: run %s: run.json not written: %s", run.id, done.stderr)

    async def _undo(self, cluster: Cluster, run: Run) -> None:
        """Cancel the steps of a run that could not be submitted whole."""
        scheduler = cluster.need_scheduler()
        for step in run.steps:
            if step.job_id:
                with contextlib.suppress(RPCError):
                    await scheduler.cancel(step.job_id)

    # -- where runs are ---------------------------------------------------------------------

    async def _home(self, cluster: Cluster) -> str:
        if cluster.name not in self._homes:
            if cluster.target is None:
                self._homes[cluster.name] = _local_home()
            else:
                done = await cluster.runner.run(["printenv", "HOME"])
                home = done.stdout.strip()
                if not done.ok or not home.startswith("/"):
                    raise RemoteFailed(
                        f"The home folder on {cluster.name} is not known: {done.stderr.strip()}",
                        code="run.submit_failed",
                    )
                self._homes[cluster.name] = home
        return self._homes[cluster.name]

    async def _root(self, cluster: Cluster) -> str:
        """The folder of the run folders: ``RPCApp.workflow_runs_dir``, relative to the
        cluster's working folder (or home)."""
        root = self.runs_dir.rstrip("/")
        if root.startswith("~/"):
            return f"{await self._home(cluster)}/{root[2:]}"
        if root.startswith("/"):
            return root
        base = cluster.default_workdir()
        if base and base.startswith("/"):
            return f"{base.rstrip('/')}/{root}"
        home = await self._home(cluster)
        return f"{home}/{base.strip('/')}/{root}" if base else f"{home}/{root}"

    def _drive(self, cluster: Cluster, path: str) -> str | None:
        """``path`` as a path of the cluster's Remote files drive, or None."""
        roots: dict[str, Any] = cluster.config.get("roots") or {"home": "~"}
        home = self._homes.get(cluster.name) or (
            os.path.expanduser("~") if cluster.target is None else ""
        )
        for name, root in roots.items():
            root = str(root)
            if root == "~" or root.startswith("~/"):
                if not home:
                    continue
                root = home + root[1:]
            root = root.rstrip("/") or "/"
            if path == root:
                return name
            if path.startswith(root.rstrip("/") + "/"):
                return f"{name}/{path[len(root.rstrip('/')) + 1 :]}"
        return None

    # -- reading ------------------------------------------------------------------------

    async def _discover(self, cluster: Cluster) -> None:
        """Add the runs in the cluster's runs root that this server does not know (after
        a restart): their run.json files, read by one command."""
        root = await self._root(cluster)
        script = (
            'for f in "$1"/*/run.json; do [ -f "$f" ] || continue; '
            "cat -- \"$f\"; printf '\\n\\036\\n'; done"
        )
        done = await cluster.runner.run(["/bin/sh", "-c", script, "sh", root])
        for text in done.stdout.split("\n\x1e\n"):
            if not text.strip():
                continue
            try:
                data = json.loads(text)
                run = Run.from_record(data, cluster.name)
            except (ValueError, KeyError, TypeError):
                continue  # a damaged run.json: that run is not listed
            if RUN_ID.match(run.id) and (cluster.name, run.id) not in self._runs:
                if all(_JOB_ID.match(s.job_id) for s in run.steps):
                    self._runs[(cluster.name, run.id)] = run

    def _find(self, cluster: Cluster, run_id: str) -> Run:
        run = self._runs.get((cluster.name, run_id))
        if run is None:
            raise NotFound(
                f"There is no workflow run '{run_id}' on '{cluster.name}'.",
                code="run.not_found",
                details={"run": run_id},
            )
        return run

    async def _known(self, cluster: Cluster, run_id: str) -> Run:
        if (cluster.name, run_id) not in self._runs and RUN_ID.match(run_id):
            await self._discover(cluster)
        return self._find(cluster, run_id)

    async def listing(self, cluster: Cluster) -> list[dict[str, Any]]:
        await self._discover(cluster)
        self._watch()  # runs found again are checked as the ones submitted here
        runs = [r for (c, _), r in self._runs.items() if c == cluster.name]
        await asyncio.gather(*(self.refresh(cluster, r) for r in runs), return_exceptions=True)
        now = time.time()
        runs.sort(key=lambda r: r.created, reverse=True)
        return [r.to_json(now, drive=self._drive(cluster, r.folder)) for r in runs]

    async def get(self, cluster: Cluster, run_id: str) -> dict[str, Any]:
        """A run's detail. Its steps' states come from the cluster's shared job list (at
        most ``jobs_refresh_min`` old), except when the run folder says the work is done
        (a notebook run's ``out.ipynb`` is written as its runner ends): then the scheduler
        is asked afresh, so the run is seen ended seconds sooner."""
        run = await self._known(cluster, run_id)
        outputs, progress = await self._outputs(cluster, run)
        done_here = run.workflow.startswith(NOTEBOOK_PREFIX) and any(
            o["path"] == NOTEBOOK_OUTPUT for o in outputs
        )
        await self.refresh(cluster, run, cached=not (done_here and not run.ended))
        return run.to_json(time.time(), outputs, self._drive(cluster, run.folder), progress)

    async def form(
        self, cluster: Cluster, run_id: str, grant: Grant = EVERYTHING
    ) -> dict[str, Any]:
        run = await self._known(cluster, run_id)
        template = self.catalog.get(run.workflow, cluster.name)
        form = self._form(cluster, template, grant)
        values = {k: v for k, v in run.inputs.items() if k in form["properties"]}
        return {"workflow": template.name, "form": form, "values": values}

    async def cancel(self, cluster: Cluster, run_id: str) -> dict[str, Any]:
        """Cancel every step that has not ended; the run after."""
        run = await self._known(cluster, run_id)
        await self.refresh(cluster, run)
        active = [s for s in run.steps if s.state not in _ENDED]
        if not active:
            raise Conflict(
                f"Every step of run '{run_id}' has ended already.",
                code="run.finished",
                details={"run": run_id},
            )
        scheduler = cluster.need_scheduler()
        run.cancelled = True
        for step in reversed(active):  # the dependents first: none starts meanwhile
            with contextlib.suppress(Conflict, NotFound):
                await scheduler.cancel(step.job_id)
        # run.json says so: after a restart, steps cancelled before they started (which
        # leave no accounting record) are still known as cancelled
        record = shlex.quote(json.dumps(run.record(), indent=1))
        done = await cluster.runner.run(
            ["/bin/sh", "-s"],
            input=f"cd -- {shlex.quote(run.folder)} || exit 3\n"
            f"printf '%s' {record} > run.json.tmp && mv -f run.json.tmp run.json\n",
        )
        if not done.ok:
            log.warning("jupyter_rpc: run %s: run.json not updated: %s", run.id, done.stderr)
        cluster.jobs_changed()
        await self.refresh(cluster, run, cached=False)
        return run.to_json(time.time(), drive=self._drive(cluster, run.folder))

    async def refresh(self, cluster: Cluster, run: Run, *, cached: bool = True) -> None:
        """Read the steps' states; cancel the steps waiting for a failed one; read the
        failed step's log tail once."""
        if run.ended and (run.log_tail or run.state()[0] != "failed"):
            return
        scheduler = cluster.need_scheduler()
        if not cached:
            cluster.jobs_changed()
        listing, _ = await cluster.jobs()
        history: list[JobInfo] | None = None
        for step in run.steps:
            if step.state in _ENDED:
                continue
            records = [j for j in listing if j.id == step.job_id or j.array_job_id == step.job_id]
            if not records or (step.array and _tasks(records) < _tasks_of(step.array)):
                # ended tasks leave the queue's listing: accounting has them
                if step.array:
                    if history is None:
                        days = (time.time() - run.created) / 86400 + 0.05
                        try:
                            history = await scheduler.history(days=days)
                        except RPCError:
                            history = []
                    seen = {j.id for j in records}
                    records += [
                        j for j in history if j.array_job_id == step.job_id and j.id not in seen
                    ]
                if not records:
                    try:
                        records = [await scheduler.get_job(step.job_id)]
                    except NotFound:
                        if run.cancelled or step.state == "cancelled":
                            # a job cancelled before it started leaves no record
                            # (Grid Engine's qacct has none)
                            step.state, step.reason = "cancelled", "cancelled by the user"
                            step.ended = step.ended or time.time()
                        else:
                            step.state, step.reason = "unknown", "the scheduler no longer knows it"
                        continue
            _apply(step, records)
        failed = {s.name for s in run.steps if s.state == "failed"}
        if failed:
            doomed = _dependents(run.steps, failed)
            waiting = [s for s in run.steps if s.name in doomed and s.state not in _ENDED]
            for step in reversed(waiting):  # the last first: none starts meanwhile
                try:
                    await scheduler.cancel(step.job_id)
                except Conflict:
                    continue  # it ended meanwhile (Grid Engine's -hold_jid may start it)
                except NotFound:
                    pass  # the scheduler removed it itself (Slurm's --kill-on-invalid-dep)
                except RPCError as exc:
                    log.warning(
                        "jupyter_rpc: run %s: step %s not cancelled: %s", run.id, step.name, exc
                    )
                    continue
                step.state, step.reason = "cancelled", "DependencyNeverSatisfied"
                step.ended = step.ended or time.time()
            if waiting:
                cluster.jobs_changed()
            if not run.log_tail:
                run.log_tail = await self._log_tail(cluster, run)

    async def _log_tail(self, cluster: Cluster, run: Run) -> str:
        """The end of the failed step's (failed task's) stdout and stderr: the paths the
        scheduler gives, else the files of the run folder named after the job (the
        schedulers' default names: ``slurm-12_3.out``, ``name.o12.3``, ``job-12_3.out``)."""
        step = next(s for s in run.steps if s.state == "failed")
        task_id = step.failed_task or step.job_id
        paths: list[str] = []
        with contextlib.suppress(RPCError):
            job = await cluster.need_scheduler().get_job(task_id)
            paths = [p for p in dict.fromkeys((job.stdout, job.stderr)) if p]
        if paths:
            done = await cluster.runner.run(["tail", "-c", str(LOG_TAIL), "--", *paths])
            if done.stdout.strip():
                return done.stdout[-LOG_TAIL * 2 :]
        found = re.match(r"^(\d+)(?:[._\[](\d+)\]?)?", task_id)
        if not found:
            return ""
        base, task = found.groups()
        pattern = f"*{base}[._]{task}" if task else f"*{base}"
        script = (
            'cd -- "$1" || exit 0; for f in $2 $2.*; do [ -f "$f" ] || continue; '
            'tail -c "$3" -- "$f"; done'
        )
        done = await cluster.runner.run(
            ["/bin/sh", "-c", script, "sh", run.folder, pattern, str(LOG_TAIL)]
        )
        return done.stdout[-LOG_TAIL * 2 :]

    async def _outputs(
        self, cluster: Cluster, run: Run
    ) -> tuple[list[dict[str, Any]], dict[str, int] | None]:
        """The files matching the run's outputs, and its progress: the run folder's
        ``progress`` file, two numbers (done, of how many) that a step may write (a
        notebook run's cells)."""
        script = (
            'cd -- "$1" || exit 0; shift; IFS=""; '
            'for p in "$@"; do for f in $p; do [ -f "$f" ] || continue; '
            'printf \'%s\\t%s\\n\' "$(wc -c < "$f")" "$f"; done; done; '
            "[ -f progress ] && printf 'progress:%s\\n' \"$(head -c 64 progress | tr -d '\\t\\n')\"; "
            "exit 0"
        )
        done = await cluster.runner.run(["/bin/sh", "-c", script, "sh", run.folder, *run.outputs])
        found: dict[str, int | None] = {}
        progress: dict[str, int] | None = None
        for line in done.stdout.splitlines():
            if line.startswith("progress:"):
                numbers = line[9:].split()
                if len(numbers) == 2 and all(n.isdigit() and len(n) < 10 for n in numbers):
                    progress = {"done": int(numbers[0]), "total": int(numbers[1])}
                continue
            size, _, path = line.partition("\t")
            if path and path not in found:
                found[path] = int(size.strip()) if size.strip().isdigit() else None
        outputs = [
            {
                "path": path,
                "drive_path": self._drive(cluster, f"{run.folder}/{path}"),
                "size": size,
            }
            for path, size in found.items()
        ]
        return outputs, progress

    # -- watching -----------------------------------------------------------------------

    def _watch(self) -> None:
        if self.poll > 0 and (self._monitor is None or self._monitor.done()):
            self._monitor = self._owner.create_task(self._check_runs(), name="workflow-runs")

    async def _check_runs(self) -> None:
        """While runs this server knows are active: read them every ``poll`` s (a failed
        step's dependents are cancelled even if nobody looks)."""
        while True:
            await asyncio.sleep(self.poll)
            active = [(c, r) for (c, _), r in self._runs.items() if not r.ended]
            if not active:
                return
            for name, run in active:
                try:
                    await self.refresh(self.clusters.get(name), run)
                except Exception as exc:  # noqa: BLE001 - logged; the next round tries again
                    log.debug("jupyter_rpc: run %s not read: %s", run.id, exc)

    async def close(self) -> None:
        await self._owner.cancel_all(timeout=5)


def _dependents(steps: list[StepRun], failed: set[str]) -> set[str]:
    """The steps that wait, directly or through others, for a step of ``failed``."""
    doomed: set[str] = set()
    for step in steps:  # in order: a step names only earlier ones
        if any(a in failed or a in doomed for a in step.after):
            doomed.add(step.name)
    return doomed


def _tasks_of(array: str | None) -> int:
    """How many tasks an array range makes (``1-4`` → 4, ``1,3,5-6%2`` → 4)."""
    if not array:
        return 1
    try:
        indexes, _ = parse_array(array)
    except RPCError:
        return 1
    return max(1, len(indexes))


def _tasks(records: list[JobInfo]) -> int:
    """How many tasks ``records`` stand for (a pending record may be ``12_[3-4]``)."""
    return sum(_tasks_of(j.array_task_id.strip("[]")) if j.array_task_id else 1 for j in records)


def _apply(step: StepRun, records: list[JobInfo]) -> None:
    """A step's state from its job's records (an array's tasks); an array whose tasks
    are not all seen yet (accounting is a moment late) has not ended."""
    counts: Counter[str] = Counter()
    for j in records:
        counts[j.state] += _tasks_of(j.array_task_id.strip("[]")) if j.array_task_id else 1
    step.tasks = dict(counts) if step.array else {}
    unseen = _tasks_of(step.array) - sum(counts.values()) if step.array else 0
    failed = [j for j in records if j.state in {"failed", "timeout"}]
    if failed:
        step.state = "failed"
        step.failed_task = failed[0].id
        step.exit_code = failed[0].exit_code
        step.reason = "hit its time limit" if failed[0].state == "timeout" else failed[0].reason
    elif "cancelled" in counts:
        step.state = "cancelled"
        step.reason = next(j.reason for j in records if j.state == "cancelled")
    elif counts.keys() & {"running", "completing"} or (unseen > 0 and "completed" in counts):
        step.state, step.reason = "running", ""
    elif counts.keys() & {"pending", "held", "suspended"} or unseen > 0:
        step.state = "pending"
        step.reason = next(
            (j.reason for j in records if j.state in {"pending", "held", "suspended"}), ""
        )
    elif records and all(j.state == "completed" for j in records):
        step.state, step.reason = "completed", ""
        step.exit_code = 0
    else:
        step.state, step.reason = "unknown", records[0].raw_state if records else ""
    starts = [j.started for j in records if j.started]
    ends = [j.ended for j in records if j.ended]
    step.started = min(starts) if starts else None
    step.ended = max(ends) if ends and step.state in _ENDED else None
