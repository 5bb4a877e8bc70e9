"""Clusters, their SSH connection, and their batch jobs: the REST side of
:mod:`jupyter_rpc.services.clusters` and :mod:`jupyter_rpc.services.jobs`."""

from __future__ import annotations

from typing import Any, cast

from jsonschema import Draft202012Validator

from ..services.clusters import Cluster, ClusterRegistry
from ..services.jobs import JobRequest, JobsService
from .base import RPCHandler, requires

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
#: A job's fields in a request body (the submit form's; :class:`JobSpec`).
JOB_FIELDS: dict[str, Any] = {
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
}
JOB_SPEC = Draft202012Validator(
    {
        "type": "object",
        "properties": JOB_FIELDS,
        "oneOf": [{"required": ["script"]}, {"required": ["script_path"]}],
        "additionalProperties": False,
    }
)

USER_CLUSTER_BODY = Draft202012Validator({"type": "object"})


class ClusterHandler(RPCHandler):
    """Base of the cluster routes."""

    @property
    def clusters(self) -> ClusterRegistry:
        return self.services.clusters

    @property
    def jobs(self) -> JobsService:
        return self.services.jobs

    def cluster(self, name: str) -> Cluster:
        return self.clusters.get(name)

    def job_request(self) -> JobRequest:
        """The request's job, checked against the REST schema (its fields are the event's
        arguments)."""
        spec = self.json_body(JOB_SPEC)
        self.audit_arguments(spec)
        return cast(JobRequest, spec)


class ClustersHandler(ClusterHandler):
    """The clusters; users add their own."""

    @requires("read")
    async def get(self) -> None:
        grant = self.grant  # only those the site's policy lets this user use
        clusters = [
            c
            for c in self.clusters
            if grant.allows_cluster(c.name, user_defined=c.source == "user")
        ]
        self.write_json({"clusters": [c.to_json() for c in clusters]})

    @requires("write", event="cluster.add")
    async def post(self) -> None:
        body = self.json_body(USER_CLUSTER_BODY)
        name = body.get("name")
        self.audit(cluster=name if isinstance(name, str) else None)
        self.audit_arguments(body)
        self.grant.check_add_cluster()
        self.write_json(self.clusters.add_user(body).to_json(), status=201)


class OneClusterHandler(ClusterHandler):
    """One cluster."""

    @requires("read")
    async def get(self, cluster: str) -> None:
        self.write_json(self.cluster(cluster).to_json())

    @requires("write", event="cluster.remove")
    async def delete(self, cluster: str) -> None:
        await self.clusters.remove_user(cluster)
        self.set_status(204)
        self.finish()


class ConnectHandler(ClusterHandler):
    """Open the SSH connection now (to learn about host keys and prompts early)."""

    @requires("write", event="cluster.connect")
    async def post(self, cluster: str) -> None:
        self.write_json((await self.clusters.connect(cluster)).to_json())


class TrustHandler(ClusterHandler):
    """Trust an unknown host key the user has checked."""

    @requires("write", event="cluster.trust")
    async def post(self, cluster: str) -> None:
        body = self.json_body(TRUST_REQUEST)
        self.audit_arguments(body)
        self.write_json((await self.clusters.trust_host(cluster, body["fingerprint"])).to_json())


class AuthHandler(ClusterHandler):
    """Answer a password or one-time-code prompt of the SSH server."""

    @requires("write", event="cluster.auth")
    async def post(self, cluster: str) -> None:
        body = self.json_body(AUTH_REQUEST)
        self.audit_arguments(body, digest=False)  # the answers are a password or a code
        c = await self.clusters.answer(cluster, body["prompt_id"], body["responses"])
        self.write_json(c.to_json())


class JobsHandler(ClusterHandler):
    """List (one shared query) and submit."""

    @requires("read")
    async def get(self, cluster: str) -> None:
        c = self.cluster(cluster)
        all_users = self.get_query_argument("all_users", "0") in ("1", "true", "yes")
        self.set_header("Content-Type", "application/json")
        self.finish(await self.jobs.listing(c, all_users=all_users))

    @requires("execute", event="job.submit")
    async def post(self, cluster: str) -> None:
        c = self.cluster(cluster)
        job = await self.jobs.submit(c, self.job_request(), self.grant)
        self.audit(job_id=job.id)
        self.write_json(job.to_json(), status=201)


class TestJobHandler(ClusterHandler):
    """When would this job start? (nothing is submitted)"""

    @requires("execute", event="job.test")
    async def post(self, cluster: str) -> None:
        c = self.cluster(cluster)
        c.need_scheduler()  # without one: 404 before the body is read, as it always was
        self.write_json(await self.jobs.test(c, self.job_request(), self.grant))


class JobHandler(ClusterHandler):
    """One job: detail, cancel."""

    @requires("read")
    async def get(self, cluster: str, job_id: str) -> None:
        self.write_json((await self.jobs.get(self.cluster(cluster), job_id)).to_json())

    @requires("write", event="job.cancel")
    async def delete(self, cluster: str, job_id: str) -> None:
        self.write_json((await self.jobs.cancel(self.cluster(cluster), job_id)).to_json())


class JobActionHandler(ClusterHandler):
    """hold, release: they change a job's state and run no code (``write``)."""

    @requires("write", event=("job.hold", "job.release"))
    async def post(self, cluster: str, job_id: str, action: str) -> None:
        self.audit(action=f"job.{action}")  # hold or release
        c = self.cluster(cluster)
        if action == "hold":
            self.write_json((await self.jobs.hold(c, job_id)).to_json())
        else:  # release (the route allows no other)
            self.write_json((await self.jobs.release(c, job_id)).to_json())


class ResubmitHandler(ClusterHandler):
    """Submit a job's script again: it runs code (``execute``); or (GET) the script and
    resources it would submit, for the submit dialog to show them for editing first."""

    @requires("read")
    async def get(self, cluster: str, job_id: str) -> None:
        spec = await self.jobs.resubmit_form(self.cluster(cluster), job_id)
        self.write_json(spec)

    @requires("execute", event="job.resubmit")
    async def post(self, cluster: str, job_id: str) -> None:
        c = self.cluster(cluster)
        self.audit(source_job_id=job_id)
        job = await self.jobs.resubmit(c, job_id, self.grant)
        self.audit(job_id=job.id)
        self.write_json(job.to_json(), status=201)


class OutputHandler(ClusterHandler):
    """A piece of a job's stdout or stderr (live tail)."""

    @requires("read")
    async def get(self, cluster: str, job_id: str) -> None:
        c = self.cluster(cluster)
        stream = self.get_query_argument("stream", "stdout")
        offset = int(self._number("offset", 0, 0, 1 << 62))
        limit = int(self._number("limit", 65536, 1, 4 * 1024 * 1024))
        self.write_json((await self.jobs.output(c, job_id, stream, offset, limit)).to_json())


class HistoryHandler(ClusterHandler):
    """Ended jobs from accounting."""

    @requires("read")
    async def get(self, cluster: str) -> None:
        c = self.cluster(cluster)
        days = self._number("days", 7.0, 0.01, 366.0)
        self.write_json({"jobs": [j.to_json() for j in await self.jobs.history(c, days)]})


class SubmitSchemaHandler(ClusterHandler):
    """The submit form of this cluster: its partitions and the site's limits."""

    @requires("read")
    async def get(self, cluster: str) -> None:
        self.write_json(await self.jobs.submit_form(self.cluster(cluster), self.grant))
