"""A cluster's batch jobs: submit (with the site's fixed values and our defaults), test,
detail, cancel, hold, release, resubmit, history and the submit form.

Plain asyncio over a :class:`~jupyter_rpc.services.clusters.Cluster` and its scheduler: no
tornado, so a CLI or a test can use it as the REST handlers do. The shared job listing
and output tails stay with the cluster (their caches are per cluster).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, TypedDict

from ..errors import InvalidRequest, NotFound
from ..policy import EVERYTHING, Grant
from ..schedulers.base import JobInfo, JobSpec, OutputChunk
from ..schedulers.forms import apply_overrides, check_spec, submit_schema
from .clusters import Cluster

#: The interpreter line given to a script typed without one (Slurm wants one).
DEFAULT_SHEBANG = "#!/bin/bash\n"


class JobRequest(TypedDict, total=False):
    """A job as the submit form sends it (already checked against the REST schema);
    what is left out is the site's default, then the scheduler's."""

    script: str
    script_path: str
    name: str
    partition: str
    time_limit: int  # minutes
    cpus: int
    memory_mb: int
    gpus: int
    nodes: int
    ntasks: int
    account: str
    qos: str
    array: str
    workdir: str
    stdout: str
    stderr: str
    env: dict[str, str]
    hold: bool


class JobsService:
    """The job operations of the REST API, one method each."""

    async def listing(self, cluster: Cluster, *, all_users: bool = False) -> str:
        """The job list as the JSON text of the REST answer (one scheduler query serves
        every caller for a few seconds)."""
        return await cluster.jobs_json(all_users=all_users)

    async def output(
        self, cluster: Cluster, job_id: str, stream: str, offset: int, limit: int
    ) -> OutputChunk:
        """A piece of a job's ``stream`` (stdout or stderr) from ``offset``: a live tail."""
        return await cluster.read_output(job_id, stream, offset, limit)

    async def submit(
        self, cluster: Cluster, request: JobRequest, grant: Grant = EVERYTHING
    ) -> JobInfo:
        """Submit a job; its detail (a stub if the scheduler does not show it yet).
        ``grant``: what the site's policy lets the user choose (403 policy.forbidden)."""
        spec = await job_spec(cluster, request, grant)
        job_id = await cluster.need_scheduler().submit(spec)
        cluster.jobs_changed()
        return await _job_or_stub(cluster, job_id, spec)

    async def test(
        self, cluster: Cluster, request: JobRequest, grant: Grant = EVERYTHING
    ) -> dict[str, Any]:
        """When would this job start? Nothing is submitted."""
        scheduler = cluster.need_scheduler()
        return await scheduler.test_submit(await job_spec(cluster, request, grant))

    async def get(self, cluster: Cluster, job_id: str) -> JobInfo:
        """One job in full, with what it used if it ended."""
        return await cluster.need_scheduler().get_job(job_id, usage=True)

    async def cancel(self, cluster: Cluster, job_id: str) -> JobInfo:
        """Cancel a job; its state after."""
        scheduler = cluster.need_scheduler()
        await scheduler.cancel(job_id)
        cluster.jobs_changed()
        return await scheduler.get_job(job_id)

    async def hold(self, cluster: Cluster, job_id: str) -> JobInfo:
        """Hold a pending job; its state after."""
        scheduler = cluster.need_scheduler()
        await scheduler.hold(job_id)
        cluster.jobs_changed()
        return await scheduler.get_job(job_id)

    async def release(self, cluster: Cluster, job_id: str) -> JobInfo:
        """Release a held job; its state after."""
        scheduler = cluster.need_scheduler()
        await scheduler.release(job_id)
        cluster.jobs_changed()
        return await scheduler.get_job(job_id)

    async def resubmit(self, cluster: Cluster, job_id: str, grant: Grant = EVERYTHING) -> JobInfo:
        """Submit a job again with its script and resources; the new job (its resources
        must still be the user's to choose under ``grant``)."""
        scheduler = cluster.need_scheduler()
        spec = await resubmit_spec(cluster, job_id)
        grant.check_submit(asdict(spec))
        new_id = await scheduler.submit(spec)
        cluster.jobs_changed()
        return await _job_or_stub(cluster, new_id, spec)

    async def resubmit_form(self, cluster: Cluster, job_id: str) -> dict[str, Any]:
        """What :meth:`resubmit` would submit, as the submit form's values (the fields
        the job has; ``job.no_script`` when the scheduler no longer has its script)."""
        spec = await resubmit_spec(cluster, job_id)
        return {k: v for k, v in asdict(spec).items() if v not in (None, "", {}, [], False)}

    async def history(self, cluster: Cluster, days: float) -> list[JobInfo]:
        """The user's jobs of the last ``days`` days, from accounting."""
        return await cluster.need_scheduler().history(days=days)

    async def submit_form(self, cluster: Cluster, grant: Grant = EVERYTHING) -> dict[str, Any]:
        """The submit form's JSON Schema for this cluster (its partitions and the site's
        limits, narrowed by the user's ``grant``), with the partitions the user may
        choose."""
        scheduler = cluster.need_scheduler()
        overrides = grant.merged_submit(cluster.config.get("submit"))
        partitions = await cluster.partitions()
        chosen = overrides.get("partition") or {}
        if "const" in chosen:
            partitions = [p for p in partitions if p.name == chosen["const"]]
        elif "enum" in chosen:
            partitions = [p for p in partitions if p.name in chosen["enum"]]
        form = submit_schema(
            partitions,
            overrides=overrides,
            kind=scheduler.kind,
            capabilities=scheduler.capabilities,
        )
        return {**form, "partitions": [p.to_json() for p in partitions]}


async def job_spec(cluster: Cluster, request: JobRequest, grant: Grant = EVERYTHING) -> JobSpec:
    """The requested job with the site's fixed values, checked against the partition's
    limits, and our defaults: an interpreter line for a typed script, the cluster's
    working folder. What the user chose, and what the cluster's defaults filled in, must
    be allowed by the user's ``grant`` (403 policy.forbidden naming the rule)."""
    body: dict[str, Any] = dict(request)
    grant.check_submit(body)
    overrides = grant.merged_submit(cluster.config.get("submit"))
    if overrides:
        body = apply_overrides(body, overrides)
    grant.check_submit(body)
    spec = JobSpec(**body)
    check_spec(spec, await cluster.partitions())
    if spec.script is not None and not spec.script.startswith("#!"):
        # Plain commands typed into the form: Slurm wants an interpreter line.
        spec.script = DEFAULT_SHEBANG + spec.script
    if spec.workdir is None:
        spec.workdir = cluster.default_workdir()
    return spec


async def resubmit_spec(cluster: Cluster, job_id: str) -> JobSpec:
    """The spec to submit a job again: its script and its resources (``job.no_script``
    if the scheduler no longer has the script)."""
    scheduler = cluster.need_scheduler()
    job = await scheduler.get_job(job_id)
    script = await scheduler.job_script(job_id)
    if not script:
        raise InvalidRequest(
            f"The batch script of job {job_id} is no longer known to the scheduler; submit it again from its file.",
            code="job.no_script",
        )
    spec = JobSpec(
        script=script,
        name=job.name or None,
        partition=job.partition or None,
        account=job.account or None,
        qos=job.qos or None,
        workdir=job.workdir or None,
    )
    if job.time_limit:
        spec.time_limit = max(1, int(job.time_limit // 60))
    if job.cpus:
        spec.cpus = job.cpus
    if job.memory_mb:
        spec.memory_mb = job.memory_mb
    return spec


async def _job_or_stub(cluster: Cluster, job_id: str, spec: JobSpec) -> JobInfo:
    """The new job's detail; a minimal model if the scheduler does not show it yet."""
    try:
        return await cluster.need_scheduler().get_job(job_id)
    except NotFound:
        return JobInfo(id=job_id, name=spec.name or "", state="pending", raw_state="SUBMITTED")
