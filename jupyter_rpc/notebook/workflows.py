"""Workflows from a notebook (issue 24): ``hpc.workflows()`` lists the templates a
cluster offers, ``run = hpc.run_workflow("three-steps", label="x", hours=1)`` submits every
step as the Workflows view does and returns a :class:`WorkflowRun`: its ``state`` and
``steps``, :meth:`WorkflowRun.wait` until every step ended, ``outputs`` (paths in the
run folder, readable with ``hpc.files``), :meth:`WorkflowRun.cancel`.
"""

from __future__ import annotations

import html
import json
import os
import time
from typing import TYPE_CHECKING, Any

from .aio import Steps, awaitable, polling
from .client import RemoteError, Session
from .display import StatusLine
from .tables import Column, Table
from .units import duration, megabytes, quote

if TYPE_CHECKING:
    from .clusters import Cluster

#: Run states in which it may still change.
WAITING = frozenset({"pending", "running", "unknown"})
#: run_workflow()'s resource arguments and the form's field each fills.
_RESOURCES = ("partition", "hours", "cpus", "gpus")


class WorkflowFailed(RemoteError):
    """A step of the run failed (the steps after it were cancelled) or the run was
    cancelled; the message names the step, ``details["log_tail"]`` has the end of its
    log."""


class WorkflowRun:
    """One run of a workflow template: its steps as jobs on a cluster, its run folder.

    ``info`` is the server's description as last fetched; ``state`` asks again while the
    run may still change.
    """

    def __init__(self, client: Session, cluster: str, info: dict[str, Any]):
        self._client = client
        self._cluster = cluster
        self.info = info

    @property
    def _asynchronous(self) -> bool:
        return self._client.asynchronous

    @property
    def _path(self) -> str:
        return f"clusters/{quote(self._cluster)}/runs/{quote(self.id)}"

    # -- what it is ------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The run's id (its folder's name)."""
        return str(self.info["id"])

    @property
    def workflow(self) -> str:
        return str(self.info.get("workflow") or "")

    @property
    def cluster(self) -> str:
        return self._cluster

    @property
    def folder(self) -> str:
        """The run folder's path on the cluster."""
        return str(self.info.get("folder") or "")

    @property
    def state(self) -> str:
        """``pending``, ``running``, ``completed``, ``failed`` or ``cancelled`` (asked
        again while it may change)."""
        if self.info.get("state") in WAITING and not self._asynchronous:
            self.refresh()
        return str(self.info.get("state"))

    @property
    def steps(self) -> list[dict[str, Any]]:
        """Each step: name, job_id, state, tasks (an array's), elapsed, exit_code."""
        return list(self.info.get("steps") or [])

    @property
    def message(self) -> str:
        return str(self.info.get("message") or "")

    @property
    def failed_step(self) -> str | None:
        value = self.info.get("failed_step")
        return None if value is None else str(value)

    @property
    def log_tail(self) -> str:
        """The end of the failed step's log ("" unless a step failed)."""
        return str(self.info.get("log_tail") or "")

    @property
    def inputs(self) -> dict[str, Any]:
        return dict(self.info.get("inputs") or {})

    @property
    def progress(self) -> tuple[int, int] | None:
        """(done, total) as the run last said (a notebook run: its code cells executed),
        or None."""
        value = self.info.get("progress")
        if not isinstance(value, dict):
            return None
        return int(value.get("done") or 0), int(value.get("total") or 0)

    @property
    def outputs(self) -> OutputList:
        """The run's outputs (the template's patterns, found in the run folder now):
        ``path`` relative to the folder, ``drive_path`` for ``hpc.files``, ``size``."""
        if not self._asynchronous:
            self.refresh()
        return OutputList(self.info.get("outputs") or [])

    # -- asking and acting -------------------------------------------------------------

    @awaitable
    def refresh(self) -> WorkflowRun:
        """Fetch the run again (its steps' states, its outputs); returns the run."""
        self.info = self._client.request("GET", self._path)
        return self

    @polling
    def wait(self, timeout: float = 3600.0, poll: float = 2.0) -> Steps[WorkflowRun]:
        """Block until every step ended; returns the run when all completed.

        A status line in the cell follows its steps. A failed step (or a cancelled run)
        raises :class:`WorkflowFailed` naming the step, with the end of its log. After
        ``timeout`` seconds :class:`TimeoutError` is raised and the run goes on
        (:meth:`cancel` ends it). Interrupting (or cancelling the task) stops waiting
        only.
        """
        status = _StatusLine(self)
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.refresh()
                status.show()
                state = self.info.get("state")
                if state == "completed":
                    return self
                if state not in WAITING:
                    tail = f"\n{self.log_tail}" if self.log_tail else ""
                    raise WorkflowFailed(
                        f"The run {self.id} on {self.cluster} {state}: {self.message}{tail}",
                        code="run.finished",
                        details={
                            "state": state,
                            "run": self.id,
                            "step": self.failed_step,
                            "log_tail": self.log_tail,
                        },
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"The run {self.id} is still {state} after {timeout:g} s "
                        f"({self.message}); it goes on (.cancel() ends it)."
                    )
                yield max(0.05, min(poll, left))
        except KeyboardInterrupt:
            status.show(note="stopped waiting; the run goes on")
            raise

    @awaitable
    def cancel(self) -> WorkflowRun:
        """Cancel every step that has not ended; the run after."""
        self.info = self._client.request("DELETE", self._path)
        return self

    @awaitable
    def fetch_notebook(self, path: str | None = None) -> str:
        """Save the executed notebook of a notebook run (its ``out.ipynb``) next to this
        kernel: ``path``, by default ``<run id>.ipynb``; returns the path written."""
        out = next((o for o in self.outputs if o.get("path") == "out.ipynb"), None)
        if out is None or not out.get("drive_path"):
            raise RemoteError(
                f"The run {self.id} has no executed notebook (yet): state {self.info.get('state')}.",
                code="run.not_found",
            )
        model = self._client.request(
            "GET",
            f"clusters/{quote(self._cluster)}/files/{quote(str(out['drive_path']), safe='/')}",
        )
        content = model["content"]
        text = content if isinstance(content, str) else json.dumps(content)
        target = path or f"{self.id}.ipynb"
        with open(target, "w", encoding="utf-8") as fh:
            fh.write(text)
        return target

    @awaitable
    def form(self) -> dict[str, Any]:
        """The template's form with this run's inputs as its values (*Run again*)."""
        return dict(self._client.request("GET", f"{self._path}/form"))

    # -- how it looks ------------------------------------------------------------------

    def __repr__(self) -> str:
        bits = [f"WorkflowRun {self.id}", f"on {self.cluster}", str(self.info.get("state"))]
        if self.message:
            bits.append(f"({self.message})")
        return f"<{' '.join(bits)}>"

    def _repr_html_(self) -> str:
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td style='text-align:left'>{html.escape(str(v))}</td>"
                for v in (
                    s.get("name"),
                    s.get("job_id"),
                    s.get("state"),
                    _tasks(s),
                    duration(s["elapsed"]) if s.get("elapsed") is not None else "",
                )
            )
            + "</tr>"
            for s in self.steps
        )
        head = "".join(
            f"<th style='text-align:left'>{h}</th>"
            for h in ("step", "job", "state", "tasks", "elapsed")
        )
        tail = f"<pre>{html.escape(self.log_tail)}</pre>" if self.log_tail else ""
        return (
            f"<p><b>{html.escape(str(self.info.get('display_name') or self.workflow))}</b> "
            f"{html.escape(self.id)} on {html.escape(self.cluster)}: "
            f"{html.escape(str(self.info.get('state')))}. {html.escape(self.message)}</p>"
            f"<table><tr>{head}</tr>{rows}</table>{tail}"
        )


def _tasks(step: dict[str, Any]) -> str:
    tasks = step.get("tasks") or {}
    return ", ".join(f"{n} {state}" for state, n in tasks.items())


class WorkflowList(Table):
    """The workflow templates a cluster offers (dicts as the server lists them)."""

    columns: tuple[Column, ...] = (
        ("name", lambda w: w.get("name")),
        ("display name", lambda w: w.get("display_name")),
        ("steps", lambda w: " → ".join(s["name"] for s in w.get("steps") or [])),
        ("description", lambda w: w.get("description")),
    )
    empty = "(no workflows)"

    @property
    def names(self) -> list[str]:
        return [str(w.get("name")) for w in self]


class RunList(Table):
    """Workflow runs (a list of :class:`WorkflowRun`)."""

    columns: tuple[Column, ...] = (
        ("id", lambda r: r.id),
        ("workflow", lambda r: r.workflow),
        ("state", lambda r: r.info.get("state")),
        ("elapsed", lambda r: duration(r.info["elapsed"]) if r.info.get("elapsed") else ""),
        ("message", lambda r: r.message),
    )
    empty = "(no runs)"


class OutputList(Table):
    """A run's output files (dicts: path, drive_path, size)."""

    columns: tuple[Column, ...] = (
        ("path", lambda o: o.get("path")),
        ("size", lambda o: o.get("size")),
        ("drive path", lambda o: o.get("drive_path")),
    )
    empty = "(no outputs yet)"

    @property
    def paths(self) -> list[str]:
        return [str(o.get("path")) for o in self]


def workflows(cluster: Cluster) -> WorkflowList:
    body = cluster._session.request("GET", f"clusters/{quote(cluster.name)}/workflows")
    return WorkflowList(body["workflows"])


def run_workflow(
    cluster: Cluster,
    name: str,
    *,
    hours: float | None = None,
    cpus: int | None = None,
    gpus: int | None = None,
    partition: str | None = None,
    memory: int | str | None = None,
    **inputs: Any,
) -> WorkflowRun:
    """Submit a run of ``name`` on ``cluster`` (see :meth:`Cluster.run_workflow`)."""
    values: dict[str, Any] = dict(inputs)
    for key, value in zip(_RESOURCES, (partition, hours, cpus, gpus), strict=True):
        if value is not None:
            values[key] = value
    if memory is not None:
        values["memory_mb"] = megabytes(memory)
    client = cluster._session
    path = f"clusters/{quote(cluster.name)}/workflows/{quote(name)}"
    info = client.request("POST", path, {"values": values}, timeout=120)
    return WorkflowRun(client, cluster.name, info)


def run_notebook(
    cluster: Cluster,
    path: str,
    parameters: dict[str, Any] | None = None,
    *,
    environment: str | None = None,
    hours: float | None = None,
    cpus: int | None = None,
    gpus: int | None = None,
    partition: str | None = None,
    memory: int | str | None = None,
) -> WorkflowRun:
    """Run the notebook file ``path`` (of this kernel's machine) on ``cluster`` (see
    :meth:`Cluster.run_notebook`)."""
    with open(path, encoding="utf-8") as fh:
        notebook = json.load(fh)
    values: dict[str, Any] = {}
    for key, value in zip(_RESOURCES, (partition, hours, cpus, gpus), strict=True):
        if value is not None:
            values[key] = value
    if memory is not None:
        values["memory_mb"] = megabytes(memory)
    if environment is not None:
        values["environment"] = environment
    body = {
        "notebook": notebook,
        "name": os.path.basename(path),
        "parameters": dict(parameters or {}),
        "values": values,
    }
    client = cluster._session
    info = client.request("POST", f"clusters/{quote(cluster.name)}/notebooks", body, timeout=120)
    return WorkflowRun(client, cluster.name, info)


def runs(cluster: Cluster) -> RunList:
    body = cluster._session.request("GET", f"clusters/{quote(cluster.name)}/runs")
    return RunList(WorkflowRun(cluster._session, cluster.name, r) for r in body["runs"])


def get_run(cluster: Cluster, run_id: str) -> WorkflowRun:
    path = f"clusters/{quote(cluster.name)}/runs/{quote(run_id)}"
    return WorkflowRun(cluster._session, cluster.name, cluster._session.request("GET", path))


class _StatusLine(StatusLine):
    """The run's steps as one live line in the cell (printed lines outside IPython)."""

    def __init__(self, run: WorkflowRun):
        super().__init__()
        self.run = run

    def text(self, note: str = "") -> str:
        run = self.run
        steps = " → ".join(
            f"{s.get('name')} {s.get('state')}" + (f" ({_tasks(s)})" if s.get("tasks") else "")
            for s in run.steps
        )
        parts = [f"{run.id} on {run.cluster}: {run.info.get('state')}", steps]
        if run.progress is not None and run.progress[1]:
            unit = "cells" if run.workflow.startswith("nb-") else "done"
            parts.append(f"{run.progress[0]}/{run.progress[1]} {unit}")
        if note:
            parts.append(note)
        return " · ".join(parts)


__all__ = ["OutputList", "RunList", "WorkflowFailed", "WorkflowList", "WorkflowRun"]
