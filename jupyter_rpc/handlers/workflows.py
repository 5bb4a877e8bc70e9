"""Workflows (issue 24): the catalog of templates, runs of them and *Save as template*;
the REST side of :mod:`jupyter_rpc.services.workflow_runs` (docs/workflows.md)."""

from __future__ import annotations

from jsonschema import Draft202012Validator

from ..errors import RemoteFailed
from ..services.clusters import Cluster
from ..services.workflow_runs import WorkflowService
from .base import RPCHandler, Services, requires

WORKFLOW_RUN_REQUEST = Draft202012Validator(
    {
        "type": "object",
        "properties": {"values": {"type": "object"}},
        "additionalProperties": False,
    }
)
NOTEBOOK_RUN_REQUEST = Draft202012Validator(
    {
        "type": "object",
        "properties": {
            "notebook": {"type": "object"},
            "name": {"type": "string", "minLength": 1, "maxLength": 255},
            "parameters": {"type": "object"},
            "values": {"type": "object"},
        },
        "required": ["notebook"],
        "additionalProperties": False,
    }
)
WORKFLOW_PLACEMENT_REQUEST = Draft202012Validator(
    {
        "type": "object",
        "properties": {
            "values": {"type": "object"},
            "timeout": {"type": "number", "minimum": 0.5, "maximum": 60},
            "prefer": {"enum": ["balanced", "start", "cost"]},
        },
        "additionalProperties": False,
    }
)
SAVE_AS_TEMPLATE_REQUEST = Draft202012Validator(
    {
        "type": "object",
        "properties": {
            "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"},
            "display_name": {"type": "string", "maxLength": 200},
            "description": {"type": "string", "maxLength": 2000},
        },
        "required": ["name"],
        "additionalProperties": False,
    }
)


def _service(services: Services) -> WorkflowService:
    if services.workflows is None:  # pragma: no cover - RPCApp always makes one
        raise RemoteFailed("Workflows are not available on this server.", code="run.submit_failed")
    return services.workflows


class WorkflowHandlerBase(RPCHandler):
    """Base of the workflow routes."""

    @property
    def workflows(self) -> WorkflowService:
        return _service(self.services)

    def cluster(self, name: str) -> Cluster:
        return self.services.clusters.get(name)


class WorkflowsHandler(WorkflowHandlerBase):
    """``GET``: the templates that fit the cluster."""

    @requires("read")
    async def get(self, cluster: str) -> None:
        self.write_json(self.workflows.catalog_json(self.cluster(cluster)))


class WorkflowHandler(WorkflowHandlerBase):
    """``GET``: a template and its form; ``POST``: run it; ``DELETE``: remove one of the
    user's own."""

    @requires("read")
    async def get(self, cluster: str, workflow: str) -> None:
        self.write_json(self.workflows.detail(self.cluster(cluster), workflow, self.grant))

    @requires("execute", event="workflow.run")
    async def post(self, cluster: str, workflow: str) -> None:
        body = self.json_body(WORKFLOW_RUN_REQUEST)
        self.audit(workflow=workflow)
        values = body.get("values") or {}
        self.audit_arguments(values)
        run = await self.workflows.submit(self.cluster(cluster), workflow, values, self.grant)
        self.audit(run=run["id"], job_id=" ".join(s["job_id"] for s in run["steps"]))
        self.write_json(run, status=201)

    @requires("write", event="workflow.remove")
    async def delete(self, cluster: str, workflow: str) -> None:
        self.cluster(cluster)
        self.audit(workflow=workflow)
        self.workflows.remove(workflow)
        self.set_status(204)
        self.finish()


class RunsHandler(WorkflowHandlerBase):
    """``GET``: the runs on the cluster, newest first."""

    @requires("read")
    async def get(self, cluster: str) -> None:
        self.write_json({"runs": await self.workflows.listing(self.cluster(cluster))})


class RunHandler(WorkflowHandlerBase):
    """``GET``: one run; ``DELETE``: cancel every step that has not ended."""

    @requires("read")
    async def get(self, cluster: str, run: str) -> None:
        self.write_json(await self.workflows.get(self.cluster(cluster), run))

    @requires("write", event="run.cancel")
    async def delete(self, cluster: str, run: str) -> None:
        self.audit(run=run)
        self.write_json(await self.workflows.cancel(self.cluster(cluster), run))


class RunFormHandler(WorkflowHandlerBase):
    """``GET``: the run's template form with its inputs, for *Run again*."""

    @requires("read")
    async def get(self, cluster: str, run: str) -> None:
        self.write_json(await self.workflows.form(self.cluster(cluster), run, self.grant))


class SaveAsTemplateHandler(WorkflowHandlerBase):
    """``POST``: a template of the user's own from a job's script and resources."""

    @requires("write", event="workflow.save")
    async def post(self, cluster: str, job_id: str) -> None:
        body = self.json_body(SAVE_AS_TEMPLATE_REQUEST)
        self.audit(workflow=body["name"], source_job_id=job_id)
        saved = await self.workflows.save_job(self.cluster(cluster), job_id, body)
        self.write_json(saved, status=201)


class NotebooksHandler(WorkflowHandlerBase):
    """``POST``: run a notebook as a batch job on the cluster."""

    @requires("execute", event="notebook.run")
    async def post(self, cluster: str) -> None:
        body = self.json_body(NOTEBOOK_RUN_REQUEST)
        self.audit_arguments({"parameters": body.get("parameters"), "values": body.get("values")})
        run = await self.workflows.submit_notebook(self.cluster(cluster), body, self.grant)
        self.audit(run=run["id"], job_id=" ".join(s["job_id"] for s in run["steps"]))
        self.write_json(run, status=201)


class WorkflowPlacementHandler(WorkflowHandlerBase):
    """``POST``: where should a run of the template go (the whole run ranked)."""

    @requires("execute", event="workflow.place")
    async def post(self, workflow: str) -> None:
        body = self.json_body(WORKFLOW_PLACEMENT_REQUEST)
        self.audit(workflow=workflow)
        self.audit_arguments(body)
        self.write_json(await self.workflows.placement(workflow, body, self.grant))
