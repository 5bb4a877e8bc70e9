"""Clusters, batch jobs and remote files from notebook cells, as plain Python.

``jupyter_rpc.cluster("levante")`` returns a :class:`Cluster`: submit and follow jobs, list
the queue, read and write files in the cluster's folders. Everything goes through the
Jupyter server that runs the extension (its REST API, its authentication, its SSH
connection): the kernel holds no cluster credentials and opens no SSH connection itself.

Calls block until answered (every one with a timeout); ``await``-able variants are a later
step. Errors raise :class:`~jupyter_rpc.notebook.client.RemoteError` with the server's
message and its stable ``code``; a cluster that first needs a person (an unknown host key,
a password or one-time code) raises :class:`~jupyter_rpc.notebook.client.OpenPanelFirst`.

This module is the cluster and what it is asked directly (jobs, partitions, submit); a
job is :mod:`.jobs`, the cluster's files :mod:`.folders`, the tables a notebook shows
:mod:`.tables`, and the values people type (``"2:00:00"``, ``"4G"``) :mod:`.units`. Their
public names are importable from here too.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from typing import Any, NamedTuple

from . import apps as _apps
from . import workflows as _workflows
from .aio import awaitable
from .apps import AppSession, SessionList
from .client import RemoteError, Session, Unsupported, need_capability
from .folders import RemoteFolder
from .jobs import ACTIVE, OUTPUT_LIMIT, Job
from .tables import ClusterList, Column, HistoryList, JobList, Listing, PartitionList, Table
from .units import megabytes, minutes, quote, when
from .workflows import RunList, WorkflowList, WorkflowRun


class SubmitTest(NamedTuple):
    """What ``Cluster.test`` learnt: when the job would start (``None``: unknown) and the
    scheduler's own words."""

    expected_start: dt.datetime | None
    message: str


class Cluster:
    """A place where jobs run and files live, through the Jupyter server.

    Get one with :func:`cluster`. ``files`` reads and writes its folders; :meth:`submit`
    runs batch jobs; :meth:`jobs` lists the queue.
    """

    def __init__(self, name: str, session: Session):
        self.name = name
        self._session = session
        self.info: dict[str, Any] = session.request("GET", f"clusters/{quote(name)}")
        self.files = RemoteFolder(self)

    def _path(self, *parts: str) -> str:
        return "/".join(["clusters", quote(self.name), *parts])

    @property
    def _asynchronous(self) -> bool:
        return self._session.asynchronous

    @property
    def roots(self) -> list[str]:
        """The names of the cluster's top-level folders (``files.ls()`` lists them)."""
        return [r["name"] for r in self.info.get("roots", [])]

    def __repr__(self) -> str:
        info = self.info
        where = info.get("host") or "this machine"
        return (
            f"<Cluster {self.name!r} ({info.get('display_name') or self.name}): {where}, "
            f"scheduler {info.get('scheduler')}, {info.get('state')}>"
        )

    @awaitable
    def refresh(self) -> Cluster:
        """Fetch the cluster's description (connection state) again."""
        self.info = self._session.request("GET", self._path())
        return self

    @awaitable
    def jobs(self, all_users: bool = False) -> JobList:
        """The jobs the scheduler shows now (yours, or everyone's with ``all_users``)."""
        body = self._session.request(
            "GET", self._path("jobs") + ("?all_users=1" if all_users else "")
        )
        return JobList(Job(self, j) for j in body["jobs"])

    @awaitable
    def history(self, days: float = 7) -> JobList:
        """Your jobs that ended in the last ``days`` days, from the scheduler's accounting,
        with their CPU efficiency and peak memory where it measured them."""
        need_capability(self.info, "history")
        body = self._session.request("GET", self._path("history") + f"?days={float(days):g}")
        return HistoryList(Job(self, j) for j in body["jobs"])

    @awaitable
    def job(self, job_id: str | int) -> Job:
        """An existing job by its id."""
        return Job(self, self._session.request("GET", self._path("jobs", quote(str(job_id)))))

    @awaitable
    def partitions(self) -> PartitionList:
        """The partitions (queues) with their limits."""
        return PartitionList(
            self._session.request("GET", self._path("submit-schema"))["partitions"]
        )

    @awaitable
    def submit(
        self,
        script: str | None = None,
        *,
        script_path: str | None = None,
        name: str | None = None,
        partition: str | None = None,
        time_limit: int | float | str | dt.timedelta | None = None,
        cpus: int | None = None,
        memory: int | str | None = None,
        gpus: int | None = None,
        nodes: int | None = None,
        ntasks: int | None = None,
        account: str | None = None,
        qos: str | None = None,
        array: str | None = None,
        workdir: str | None = None,
        stdout: str | None = None,
        stderr: str | None = None,
        env: dict[str, str] | None = None,
        hold: bool = False,
    ) -> Job:
        """Submit a batch job; returns the :class:`Job`.

        Parameters
        ----------
        script
            The batch script's text (dedented; ``#!/bin/bash`` is added when it has no
            ``#!`` line), or
        script_path
            a script file on the cluster (a path the cluster understands).
        name, partition, account, qos
            As the scheduler knows them; ``None`` = the scheduler's default.
        time_limit
            Minutes, a ``timedelta``, or ``"HH:MM:SS"`` / ``"D-HH:MM:SS"``.
        cpus, memory, gpus, nodes, ntasks
            CPUs per task, memory per node (MB, or ``"4G"`` / ``"500M"``), GPUs, nodes, tasks.
        array
            An array job: ``"0-9"``, ``"1,3,5"``, ``"1-100%10"``.
        workdir, stdout, stderr
            Working folder and output files on the cluster (scheduler defaults otherwise).
        env
            Environment variables for the job.
        hold
            Submit held: it waits for :meth:`Job.release`.
        """
        spec = _spec(locals())
        home = workdir in ("~", "~/")  # the home folder: where every scheduler starts a job
        for value, capability in (
            (array, "arrays"),
            (hold, "hold"),
            (workdir and not home, "workdir"),
        ):
            if value:
                need_capability(self.info, capability)
        return Job(self, self._session.request("POST", self._path("jobs"), spec, timeout=120))

    @awaitable
    def test(self, script: str | None = None, **kwargs: Any) -> SubmitTest:
        """When would this job start? Takes :meth:`submit`'s arguments; submits nothing."""
        need_capability(self.info, "test_only")
        spec = _spec({"script": script, **kwargs})
        body = self._session.request("POST", self._path("jobs", "test"), spec, timeout=120)
        return SubmitTest(when(body.get("expected_start")), str(body.get("message") or ""))

    # -- interactive apps ----------------------------------------------------------------

    @awaitable
    def launch(
        self,
        app: str,
        *,
        hours: float | None = None,
        cpus: int | None = None,
        gpus: int | None = None,
        partition: str | None = None,
        memory: int | str | None = None,
        **values: Any,
    ) -> AppSession:
        """Launch an interactive app here (as the Launcher's card does); returns its
        :class:`~jupyter_rpc.notebook.apps.AppSession` (``.wait()``, ``.url``, ``.end()``).

        Parameters
        ----------
        app
            The app's name (``"webapp"``, ``"desktop"``) or its display name
            (``"Remote desktop"``); :func:`jupyter_rpc.apps` lists them.
        hours, cpus, gpus, partition, memory
            The job's resources (``None``: the form's default); memory in MB or ``"4G"``.
        values
            The app's own fields, e.g. ``command=...`` for the Web app, ``geometry=...``
            for the desktop (a field the form does not have is refused, naming it).
        """
        return _apps.launch(
            self,
            app,
            hours=hours,
            cpus=cpus,
            gpus=gpus,
            partition=partition,
            memory=memory,
            **values,
        )

    @awaitable
    def sessions(self) -> SessionList:
        """The interactive app sessions on this cluster (ended ones too)."""
        body = self._session.request("GET", "sessions")
        return SessionList(
            AppSession(self._session, s) for s in body["sessions"] if s.get("cluster") == self.name
        )

    # -- workflows (docs/workflows.md) -------------------------------------------------

    @awaitable
    def workflows(self) -> WorkflowList:
        """The workflow templates this cluster offers (``.names`` for their names)."""
        return _workflows.workflows(self)

    @awaitable
    def run_workflow(
        self,
        name: str,
        *,
        hours: float | None = None,
        cpus: int | None = None,
        gpus: int | None = None,
        partition: str | None = None,
        memory: int | str | None = None,
        **inputs: Any,
    ) -> WorkflowRun:
        """Run the workflow template ``name`` here, every step chained by the scheduler;
        returns its :class:`~jupyter_rpc.notebook.workflows.WorkflowRun` (``.wait()``,
        ``.outputs``, ``.cancel()``).

        Parameters
        ----------
        name
            The template's name (:meth:`workflows` lists them).
        hours, cpus, gpus, partition, memory
            Each step's resources (``None``: the form's default); memory in MB or ``"4G"``.
        inputs
            The template's inputs (checked against its form before anything is
            submitted: a value out of bounds is refused naming the field).
        """
        return _workflows.run_workflow(
            self, name, hours=hours, cpus=cpus, gpus=gpus, partition=partition,
            memory=memory, **inputs,
        )  # fmt: skip

    @awaitable
    def run_notebook(
        self,
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
        """Run the notebook ``path`` here as a batch job, headless, with ``parameters``
        for its cell tagged ``parameters`` (papermill's convention); returns its
        :class:`~jupyter_rpc.notebook.workflows.WorkflowRun`: ``.wait()`` (a failing cell
        raises ``WorkflowFailed`` naming it), then ``.fetch_notebook()`` saves the
        executed notebook here.

        ``environment`` is a shell line run first on the node (``module load python``,
        ``source ~/venv/bin/activate``); it needs ``nbclient`` and ``ipykernel``.
        """
        return _workflows.run_notebook(
            self, path, parameters, environment=environment, hours=hours, cpus=cpus,
            gpus=gpus, partition=partition, memory=memory,
        )  # fmt: skip

    @awaitable
    def runs(self) -> RunList:
        """The workflow runs on this cluster, newest first."""
        return _workflows.runs(self)

    @awaitable
    def run(self, run_id: str) -> WorkflowRun:
        """One workflow run by its id."""
        return _workflows.get_run(self, run_id)


_SPEC_ARGS = {
    "script",
    "script_path",
    "name",
    "partition",
    "time_limit",
    "cpus",
    "memory",
    "gpus",
    "nodes",
    "ntasks",
    "account",
    "qos",
    "array",
    "workdir",
    "stdout",
    "stderr",
    "env",
    "hold",
}


def _spec(args: dict[str, Any]) -> dict[str, Any]:
    """The ``JobSpec`` body of the REST API from :meth:`Cluster.submit`'s arguments."""
    unknown = set(args) - _SPEC_ARGS - {"self"}
    if unknown:
        raise TypeError(f"unexpected argument(s): {', '.join(sorted(unknown))}")
    script, script_path = args.get("script"), args.get("script_path")
    if (script is None) == (script_path is None):
        raise ValueError("Give the job's script text or script_path (one of them).")
    spec: dict[str, Any] = {}
    if script is not None:
        text = textwrap.dedent(script).lstrip("\n")
        if not text.startswith("#!"):
            text = "#!/bin/bash\n" + text  # sbatch refuses a script without an interpreter line
        spec["script"] = text if text.endswith("\n") else text + "\n"
    else:
        spec["script_path"] = script_path
    for key in ("name", "partition", "account", "qos", "array", "workdir", "stdout", "stderr"):
        if args.get(key) is not None:
            spec[key] = str(args[key])
    for key in ("cpus", "gpus", "nodes", "ntasks"):
        if args.get(key) is not None:
            value = args[key]
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{key} must be an integer, not {value!r}.")
            spec[key] = value
    if args.get("time_limit") is not None:
        spec["time_limit"] = minutes(args["time_limit"])
    if args.get("memory") is not None:
        spec["memory_mb"] = megabytes(args["memory"])
    if args.get("env"):
        spec["env"] = {str(k): str(v) for k, v in args["env"].items()}
    if args.get("hold"):
        spec["hold"] = True
    return spec


def clusters(*, url: str | None = None, token: str | None = None) -> ClusterList:
    """The clusters the Jupyter server knows (dicts; ``.names`` for just their names)."""
    return ClusterList(Session(url, token).request("GET", "clusters")["clusters"])


def cluster(
    name: str,
    url: str | None = None,
    token: str | None = None,
    *,
    asynchronous: bool = False,
) -> Cluster:
    """The cluster ``name`` (as the Jobs and Remote files panels list it).

    Parameters
    ----------
    name
        The cluster's name, e.g. ``"local"`` or ``"levante"``.
    url, token
        The Jupyter server to use; found automatically inside JupyterLab / JupyterHub.
    asynchronous
        Methods of the cluster, its jobs, files and app sessions return coroutines
        (``job = await c.submit(...)``, ``await job.wait()``, ``await c.files.ls()``), so
        many can run at once (``asyncio.gather``) without blocking the kernel.
    """
    return Cluster(name, Session(url, token, asynchronous=asynchronous))


__all__ = [
    "ACTIVE",
    "AppSession",
    "OUTPUT_LIMIT",
    "Cluster",
    "ClusterList",
    "Column",
    "HistoryList",
    "Job",
    "JobList",
    "Listing",
    "PartitionList",
    "RemoteError",
    "RemoteFolder",
    "SessionList",
    "SubmitTest",
    "Table",
    "Unsupported",
    "cluster",
    "clusters",
    "megabytes",
    "minutes",
]
