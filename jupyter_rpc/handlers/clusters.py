"""Clusters, their SSH connection, and their batch jobs."""

from __future__ import annotations

import dataclasses
from typing import Any

from jsonschema import Draft202012Validator
from jupyter_server.auth.decorator import authorized
from tornado import web

from ..errors import InvalidRequest
from ..schedulers.base import JobSpec
from ..schedulers.forms import apply_overrides, check_spec, submit_schema
from ..services.clusters import Cluster, ClusterRegistry
from .base import RPCHandler

TRUST_REQUEST = Draft202012Validator(
    {
        "type": "object",
        "properties": {
            "fingerprint": {"type": "string", "pattern": "^[A-Za-z0-9]+:[A-Za-z0-9+/=:]+$"}
        },
        "required": ["fingerprint"],
        "additionalProperties": False,
    }
)

AUTH_REQUEST = Draft202012Validator(
    {
        "type": "object",
        "properties": {
            "prompt_id": {"type": "string", "minLength": 1, "maxLength": 200},
            "responses": {
                "type": "array",
                "items": {"type": "string", "maxLength": 4096},
                "maxItems": 20,
            },
        },
        "required": ["prompt_id", "responses"],
        "additionalProperties": False,
    }
)

_NAME = {"type": "string", "minLength": 1, "maxLength": 200}
_COUNT = {"type": "integer", "minimum": 1, "maximum": 1_000_000}
JOB_SPEC = Draft202012Validator(
    {
        "type": "object",
        "properties": {
            "script": {"type": "string", "maxLength": 1_000_000},
            "script_path": {"type": "string", "minLength": 1, "maxLength": 4096},
            "name": _NAME,
            "partition": _NAME,
            "time_limit": {"type": "integer", "minimum": 1, "maximum": 10_000_000},
            "cpus": _COUNT,
            "memory_mb": _COUNT,
            "gpus": {"type": "integer", "minimum": 1, "maximum": 1024},
            "nodes": _COUNT,
            "ntasks": _COUNT,
            "account": _NAME,
            "qos": _NAME,
            "array": {"type": "string", "minLength": 1, "maxLength": 200},
            "workdir": {"type": "string", "minLength": 1, "maxLength": 4096},
            "stdout": {"type": "string", "minLength": 1, "maxLength": 4096},
            "stderr": {"type": "string", "minLength": 1, "maxLength": 4096},
            "env": {
                "type": "object",
                "additionalProperties": {"type": "string", "maxLength": 100_000},
            },
            "hold": {"type": "boolean"},
        },
        "oneOf": [{"required": ["script"]}, {"required": ["script_path"]}],
        "additionalProperties": False,
    }
)

USER_CLUSTER_BODY = Draft202012Validator({"type": "object"})


class ClusterHandler(RPCHandler):
    """Base of the cluster routes."""

    @property
    def clusters(self) -> ClusterRegistry:
        registry = self.services.clusters
        assert registry is not None
        return registry

    def cluster(self, name: str) -> Cluster:
        return self.clusters.get(name)

    async def job_spec(self, cluster: Cluster) -> JobSpec:
        """The request's job, with the site's fixed values, checked against the limits."""
        body = self.json_body(JOB_SPEC)
        overrides = cluster.config.get("submit") or {}
        if overrides:
            body = apply_overrides(body, overrides)
        spec = JobSpec(**body)
        check_spec(spec, await cluster.partitions())
        if spec.script is not None and not spec.script.startswith("#!"):
            # Plain commands typed into the form: Slurm wants an interpreter line.
            spec.script = "#!/bin/bash\n" + spec.script
        if spec.workdir is None:
            spec.workdir = cluster.default_workdir()
        return spec


class ClustersHandler(ClusterHandler):
    """The clusters; users add their own."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json({"clusters": [c.to_json() for c in self.clusters]})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body(USER_CLUSTER_BODY)
        self.write_json(self.clusters.add_user(body).to_json(), status=201)


class OneClusterHandler(ClusterHandler):
    """One cluster."""

    @web.authenticated
    @authorized
    async def get(self, cluster: str) -> None:
        self.write_json(self.cluster(cluster).to_json())

    @web.authenticated
    @authorized
    async def delete(self, cluster: str) -> None:
        await self.clusters.remove_user(cluster)
        self.set_status(204)
        self.finish()


class ConnectHandler(ClusterHandler):
    """Open the SSH connection now (to learn about host keys and prompts early)."""

    @web.authenticated
    @authorized
    async def post(self, cluster: str) -> None:
        c = self.cluster(cluster)
        if c.pool is not None:
            await c.pool.connect(c.target)
        self.write_json(c.to_json())


class TrustHandler(ClusterHandler):
    """Trust an unknown host key the user has checked."""

    @web.authenticated
    @authorized
    async def post(self, cluster: str) -> None:
        body = self.json_body(TRUST_REQUEST)
        c = self.cluster(cluster)
        if c.pool is None:
            raise InvalidRequest(
                f"Cluster '{cluster}' is this machine: there is no host key to trust."
            )
        await c.pool.trust_host(c.target, body["fingerprint"])
        self.write_json(c.to_json())


class AuthHandler(ClusterHandler):
    """Answer a password or one-time-code prompt of the SSH server."""

    @web.authenticated
    @authorized
    async def post(self, cluster: str) -> None:
        body = self.json_body(AUTH_REQUEST)
        c = self.cluster(cluster)
        if c.pool is None:
            raise InvalidRequest(
                f"Cluster '{cluster}' is this machine: there is nothing to log in to."
            )
        await c.pool.answer(c.target, body["prompt_id"], body["responses"])
        self.write_json(c.to_json())


class JobsHandler(ClusterHandler):
    """List (one shared query) and submit."""

    @web.authenticated
    @authorized
    async def get(self, cluster: str) -> None:
        c = self.cluster(cluster)
        all_users = self.get_query_argument("all_users", "0") in ("1", "true", "yes")
        self.set_header("Content-Type", "application/json")
        self.finish(await c.jobs_json(all_users=all_users))

    @web.authenticated
    @authorized
    async def post(self, cluster: str) -> None:
        c = self.cluster(cluster)
        spec = await self.job_spec(c)
        job_id = await c.need_scheduler().submit(spec)
        c.jobs_changed()
        self.write_json((await _job_or_stub(c, job_id, spec)).to_json(), status=201)


class TestJobHandler(ClusterHandler):
    """When would this job start? (nothing is submitted)"""

    @web.authenticated
    @authorized
    async def post(self, cluster: str) -> None:
        c = self.cluster(cluster)
        self.write_json(await c.need_scheduler().test_submit(await self.job_spec(c)))


class JobHandler(ClusterHandler):
    """One job: detail, cancel."""

    @web.authenticated
    @authorized
    async def get(self, cluster: str, job_id: str) -> None:
        c = self.cluster(cluster)
        self.write_json((await c.need_scheduler().get_job(job_id, usage=True)).to_json())

    @web.authenticated
    @authorized
    async def delete(self, cluster: str, job_id: str) -> None:
        c = self.cluster(cluster)
        scheduler = c.need_scheduler()
        await scheduler.cancel(job_id)
        c.jobs_changed()
        self.write_json((await scheduler.get_job(job_id)).to_json())


class JobActionHandler(ClusterHandler):
    """hold, release, resubmit."""

    @web.authenticated
    @authorized
    async def post(self, cluster: str, job_id: str, action: str) -> None:
        c = self.cluster(cluster)
        scheduler = c.need_scheduler()
        if action == "hold":
            await scheduler.hold(job_id)
        elif action == "release":
            await scheduler.release(job_id)
        else:  # resubmit
            job = await scheduler.get_job(job_id)
            spec = await _spec_of(c, job_id, job)
            new_id = await scheduler.submit(spec)
            c.jobs_changed()
            self.write_json((await _job_or_stub(c, new_id, spec)).to_json(), status=201)
            return
        c.jobs_changed()
        self.write_json((await scheduler.get_job(job_id)).to_json())


class OutputHandler(ClusterHandler):
    """A piece of a job's stdout or stderr (live tail)."""

    @web.authenticated
    @authorized
    async def get(self, cluster: str, job_id: str) -> None:
        c = self.cluster(cluster)
        stream = self.get_query_argument("stream", "stdout")
        offset = int(self._number("offset", 0, 0, 1 << 62))
        limit = int(self._number("limit", 65536, 1, 4 * 1024 * 1024))
        self.write_json((await c.read_output(job_id, stream, offset, limit)).to_json())


class HistoryHandler(ClusterHandler):
    """Ended jobs from accounting."""

    @web.authenticated
    @authorized
    async def get(self, cluster: str) -> None:
        c = self.cluster(cluster)
        days = self._number("days", 7.0, 0.01, 366.0)
        jobs = await c.need_scheduler().history(days=days)
        self.write_json({"jobs": [j.to_json() for j in jobs]})


class SubmitSchemaHandler(ClusterHandler):
    """The submit form of this cluster: its partitions and the site's limits."""

    @web.authenticated
    @authorized
    async def get(self, cluster: str) -> None:
        c = self.cluster(cluster)
        scheduler = c.need_scheduler()
        partitions = await c.partitions()
        form = submit_schema(
            partitions, overrides=c.config.get("submit") or {}, kind=scheduler.kind
        )
        self.write_json({**form, "partitions": [p.to_json() for p in partitions]})


async def _job_or_stub(cluster: Cluster, job_id: str, spec: JobSpec) -> Any:
    """The new job's detail; a minimal model if the scheduler does not show it yet."""
    from ..errors import NotFound
    from ..schedulers.base import JobInfo

    try:
        return await cluster.need_scheduler().get_job(job_id)
    except NotFound:
        return JobInfo(id=job_id, name=spec.name or "", state="pending", raw_state="SUBMITTED")


async def _spec_of(cluster: Cluster, job_id: str, job: Any) -> JobSpec:
    """The spec to submit a job again: its script and its resources."""
    script = await cluster.need_scheduler().job_script(job_id)
    if not script:
        raise InvalidRequest(
            f"The batch script of job {job_id} is no longer known to the scheduler; submit it again from its file.",
            code="job.no_script",
        )
    fields = {f.name for f in dataclasses.fields(JobSpec)}
    spec = JobSpec(script=script)
    for name in ("name", "partition", "account", "qos", "workdir"):
        value = getattr(job, name, None)
        if value and name in fields:
            setattr(spec, name, value)
    if job.time_limit:
        spec.time_limit = max(1, int(job.time_limit // 60))
    if job.cpus:
        spec.cpus = job.cpus
    if job.memory_mb:
        spec.memory_mb = job.memory_mb
    return spec
