"""Placement advice: where should this job run? (issue 15, HEROES' decision module)

For one job, every cluster the user may use (or those asked for) is asked at once, each
within one bound, and each of its partitions whose limits fit the job is tested:

* the scheduler's own test-only start where it has one (Slurm ``sbatch --test-only``,
  the local scheduler's estimate); Grid Engine's ``qsub -w v`` says whether a queue
  fits, not when;
* otherwise, an estimate from the queue: the jobs pending ahead in that partition
  (everyone's, from the shared listing).

With the site's cost per core-hour and energy factor of each cluster (cluster keys
``cost_per_core_hour``, ``energy_factor``, ``cost_unit``) this gives a ranking; every
entry says why it is where it is. Clusters that cannot be reached, that would refuse the
job (partition limits, the user's policy, the scheduler's own check) or have no scheduler
are listed with the reason, never left out. Nothing is submitted.

Plain asyncio over :class:`~jupyter_rpc.services.clusters.ClusterRegistry`: no tornado.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import InvalidRequest, RPCError
from ..policy import EVERYTHING, Grant
from ..schedulers.base import JobSpec, Partition
from ..schedulers.forms import check_spec
from .clusters import Cluster, ClusterRegistry
from .jobs import JobRequest, job_spec

log = logging.getLogger(__name__)

#: How long each cluster may take to answer by default (seconds).
DEFAULT_TIMEOUT = 5.0
#: The job's length when neither the job nor the partition says (minutes).
ASSUMED_MINUTES = 60

Status = Literal["ok", "refused", "forbidden", "unreachable", "timeout", "no_scheduler", "error"]
Prefer = Literal["balanced", "start", "cost"]
#: How much the start counts against the cost in the score.
START_WEIGHT: dict[str, float] = {"start": 1.0, "balanced": 0.5, "cost": 0.0}


@dataclass
class Placement:
    """One row of the ranking: a cluster and a partition (or the whole cluster, when it
    did not get as far as its partitions)."""

    cluster: str
    display_name: str
    partition: str | None
    status: Status
    reason: str
    code: str | None = None
    #: When it would start (POSIX seconds), where the scheduler or the queue tells.
    expected_start: float | None = None
    #: Seconds from now to ``expected_start`` (0: now).
    wait_seconds: float | None = None
    #: Where the start comes from: the scheduler's test-only start, or the queue.
    estimate: Literal["test_only", "queue"] | None = None
    #: Jobs pending ahead in the partition (the queue estimate).
    jobs_ahead: int | None = None
    #: Core-hours the job may use at most (its cores × its time limit).
    core_hours: float | None = None
    cost: float | None = None
    cost_unit: str | None = None
    energy_factor: float | None = None
    #: Lower is better; ``None`` for entries that cannot take the job.
    score: float | None = None
    rank: int | None = None
    #: The form values that send the job here.
    submit: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "display_name": self.display_name,
            "partition": self.partition,
            "status": self.status,
            "reason": self.reason,
            "code": self.code,
            "expected_start": self.expected_start,
            "wait_seconds": self.wait_seconds,
            "estimate": self.estimate,
            "jobs_ahead": self.jobs_ahead,
            "core_hours": self.core_hours,
            "cost": self.cost,
            "cost_unit": self.cost_unit,
            "energy_factor": self.energy_factor,
            "score": self.score,
            "rank": self.rank,
            "submit": self.submit,
        }


class PlacementService:
    """Rank the clusters for one job."""

    def __init__(self, clusters: ClusterRegistry) -> None:
        self.clusters = clusters

    async def rank(
        self,
        request: JobRequest,
        *,
        names: list[str] | None = None,
        grant: Grant = EVERYTHING,
        timeout: float = DEFAULT_TIMEOUT,
        prefer: Prefer = "balanced",
    ) -> dict[str, Any]:
        """The ranking: ``{"placements": [...], "prefer", "timeout", "elapsed"}``, the
        entries that can take the job first (best first), then the others with why."""
        started = time.monotonic()
        if names is None:
            chosen = [
                c
                for c in self.clusters
                if grant.allows_cluster(c.name, user_defined=c.source == "user")
            ]
        else:
            chosen = [self.clusters.get(name) for name in dict.fromkeys(names)]  # 404 unknown
        results = await asyncio.gather(
            *(self._cluster(cluster, request, grant, timeout) for cluster in chosen)
        )
        entries = [entry for result in results for entry in result]
        _score(entries, START_WEIGHT[prefer])
        return {
            "placements": [entry.to_json() for entry in entries],
            "prefer": prefer,
            "timeout": timeout,
            "elapsed": round(time.monotonic() - started, 3),
        }

    async def _cluster(
        self, cluster: Cluster, request: JobRequest, grant: Grant, timeout: float
    ) -> list[Placement]:
        """The cluster's entries, within ``timeout`` (one entry saying so if not)."""
        whole = _entry(cluster, None)
        if not grant.allows_cluster(cluster.name, user_defined=cluster.source == "user"):
            try:
                grant.check_cluster(cluster.name, user_defined=cluster.source == "user")
            except RPCError as exc:
                return [_failed(whole, "forbidden", exc.message, exc.code)]
        if cluster.scheduler is None:
            return [
                _failed(
                    whole,
                    "no_scheduler",
                    f"Cluster '{cluster.name}' has no batch scheduler configured.",
                    "cluster.no_scheduler",
                )
            ]
        try:
            return await asyncio.wait_for(self._partitions(cluster, request, grant), timeout)
        except asyncio.TimeoutError:
            return [
                _failed(
                    whole,
                    "timeout",
                    f"Cluster '{cluster.name}' did not answer within {timeout:g} s.",
                    None,
                )
            ]
        except RPCError as exc:  # the partitions could not be read: it cannot be reached
            return [_failed(whole, _status_of(exc), exc.message, exc.code)]
        except Exception:  # noqa: BLE001 - one cluster's fault must not hide the others
            log.exception("jupyter_rpc: placement on cluster %s failed", cluster.name)
            reason = (
                f"Asking cluster '{cluster.name}' failed unexpectedly; "
                "the server's log has the details."
            )
            return [_failed(whole, "error", reason, "internal")]

    async def _partitions(
        self, cluster: Cluster, request: JobRequest, grant: Grant
    ) -> list[Placement]:
        partitions = await cluster.partitions()
        asked = request.get("partition")
        if asked:
            names = asked.split(",")
            known = {p.name for p in partitions}
            missing = [n for n in names if n not in known]
            if partitions and missing:
                listed = ", ".join(sorted(known))
                return [
                    _failed(
                        _entry(cluster, asked),
                        "refused",
                        f"Cluster '{cluster.name}' has no partition {missing[0]!r} (it has: {listed}).",
                        "job.invalid",
                    )
                ]
            partitions = [p for p in partitions if p.name in names] or partitions
        if not partitions:  # a scheduler that lists none: the cluster as a whole
            return [await self._one(cluster, None, request, grant)]
        return list(
            await asyncio.gather(*(self._one(cluster, p, request, grant) for p in partitions))
        )

    async def _one(
        self, cluster: Cluster, partition: Partition | None, request: JobRequest, grant: Grant
    ) -> Placement:
        """Test the job on one partition."""
        entry = _entry(cluster, partition.name if partition else None)
        body: dict[str, Any] = dict(request)
        if partition is not None:
            body["partition"] = partition.name
            entry.submit = {"cluster": cluster.name, "partition": partition.name}
            if partition.state not in ("up", ""):
                return _failed(
                    entry,
                    "refused",
                    f"Partition {partition.name} is {partition.state}.",
                    "job.invalid",
                )
            try:  # the limits first: no round trip for a job that cannot fit
                check_spec(JobSpec(**_spec_fields(body)), [partition])
            except InvalidRequest as exc:
                return _failed(entry, "refused", exc.message, exc.code)
        else:
            entry.submit = {"cluster": cluster.name}
        scheduler = cluster.need_scheduler()
        try:
            spec = await job_spec(cluster, JobRequest(**body), grant)  # type: ignore[typeddict-item]
        except RPCError as exc:
            return _failed(entry, _status_of(exc), exc.message, exc.code)
        _cost(entry, cluster, spec, partition)
        answer: dict[str, Any] = {}
        words = ""
        try:
            answer = await scheduler.test_submit(spec)
            words = str(answer.get("message") or "")
        except RPCError as exc:
            if exc.code != "scheduler.unsupported":
                return _failed(entry, _status_of(exc), exc.message, exc.code)
        start = answer.get("expected_start")
        now = time.time()
        if isinstance(start, (int, float)) and math.isfinite(start):
            entry.expected_start = float(start)
            entry.wait_seconds = max(0.0, round(float(start) - now, 1))
            entry.estimate = "test_only"
            when = "now" if entry.wait_seconds < 60 else f"in {_duration(entry.wait_seconds)}"
            entry.reason = f"{_SAYS.get(scheduler.kind, scheduler.kind)} says it would start {when}"
        else:
            try:
                ahead: int | None = await _jobs_ahead(cluster, partition)
            except RPCError as exc:  # it fits; only the estimate is missing
                log.warning("jupyter_rpc: placement: %s's queue: %s", cluster.name, exc.message)
                ahead = None
            entry.jobs_ahead = ahead
            entry.estimate = "queue" if ahead is not None else None
            if ahead is None:
                entry.reason = "It fits; its queue could not be read to tell when it would start"
            elif ahead == 0 and not words.lower().startswith("would wait"):
                entry.expected_start = now
                entry.wait_seconds = 0.0
                entry.reason = "No job waits in this queue: likely to start soon"
            else:
                entry.reason = f"{ahead} job{'s' if ahead != 1 else ''} waiting ahead in this queue"
            if words:
                says = _SAYS.get(scheduler.kind, scheduler.kind)
                entry.reason += f"; {says}: {words.rstrip('.')}"
        entry.status = "ok"
        if entry.cost is not None:
            unit = f" {entry.cost_unit}" if entry.cost_unit else ""
            entry.reason += f"; at most {entry.core_hours:g} core-hours, {entry.cost:g}{unit}"
        entry.reason += "."
        return entry


#: Who tells the start, in the reason.
_SAYS = {"slurm": "Slurm", "local": "The local scheduler", "sge": "Grid Engine"}


def _spec_fields(body: dict[str, Any]) -> dict[str, Any]:
    names = set(JobSpec.__dataclass_fields__)
    return {k: v for k, v in body.items() if k in names}


def _entry(cluster: Cluster, partition: str | None) -> Placement:
    return Placement(
        cluster=cluster.name,
        display_name=cluster.config.get("display_name") or cluster.name,
        partition=partition,
        status="error",
        reason="",
        cost_unit=cluster.config.get("cost_unit"),
        energy_factor=cluster.config.get("energy_factor"),
    )


def _failed(entry: Placement, status: Status, reason: str, code: str | None) -> Placement:
    entry.status, entry.reason, entry.code = status, reason, code
    return entry


def _status_of(exc: RPCError) -> Status:
    """What an error says about the cluster: it refuses the job, the user's policy
    does, it cannot be reached, or something else."""
    if exc.code == "cluster.no_scheduler":
        return "no_scheduler"
    if exc.status == 403:
        return "forbidden"
    if exc.status in (400, 404, 409, 413):
        return "refused"
    if exc.code.startswith("ssh.") or exc.status in (502, 503, 504) or exc.status == 428:
        return "unreachable"
    return "error"


def _cost(entry: Placement, cluster: Cluster, spec: JobSpec, partition: Partition | None) -> None:
    """The job's core-hours at most, and its cost where the site set a price."""
    minutes = spec.time_limit or (partition.default_time if partition else None)
    if not minutes and partition is not None and partition.max_time:
        minutes = partition.max_time
    minutes = minutes or ASSUMED_MINUTES
    cores = (spec.cpus or 1) * max(spec.ntasks or 1, spec.nodes or 1)
    entry.core_hours = round(cores * minutes / 60.0, 3)
    price = cluster.config.get("cost_per_core_hour")
    if isinstance(price, (int, float)):
        factor = cluster.config.get("energy_factor", 1.0)
        entry.cost = round(entry.core_hours * float(price) * float(factor), 4)


async def _jobs_ahead(cluster: Cluster, partition: Partition | None) -> int:
    """Everyone's pending jobs in the partition (all of them if it has none)."""
    jobs, _ = await cluster.jobs(all_users=True)
    pending = [j for j in jobs if j.state == "pending"]
    if partition is None:
        return len(pending)
    return sum(1 for j in pending if not j.partition or partition.name in j.partition.split(","))


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


_STATUS_ORDER = {
    "ok": 0,
    "refused": 1,
    "forbidden": 2,
    "no_scheduler": 3,
    "timeout": 4,
    "unreachable": 5,
    "error": 6,
}


def _score(entries: list[Placement], start_weight: float) -> None:
    """Order ``entries`` in place: those that can take the job by score (the wait and
    the cost, each as a share of the largest among them, weighed by ``start_weight``;
    a wait the queue cannot tell after every known one), then the others."""
    ok = [e for e in entries if e.status == "ok"]
    waits = [e.wait_seconds for e in ok if e.wait_seconds is not None]
    costs = [e.cost for e in ok if e.cost is not None]
    max_wait = max(waits, default=0.0) or 1.0
    max_cost = max(costs, default=0.0) or 1.0
    priced = bool(costs)
    for e in ok:
        wait_share = (
            1.0 + (e.jobs_ahead or 0) if e.wait_seconds is None else e.wait_seconds / max_wait
        )
        cost_share = (e.cost if e.cost is not None else max_cost) / max_cost if priced else 0.0
        weight = start_weight if priced else 1.0
        e.score = round(weight * wait_share + (1.0 - weight) * cost_share, 4)

    def key(e: Placement) -> tuple[Any, ...]:
        return (
            _STATUS_ORDER[e.status],
            e.score if e.score is not None else math.inf,
            e.wait_seconds if e.wait_seconds is not None else math.inf,
            e.cost if e.cost is not None else math.inf,
            e.cluster,
            e.partition or "",
        )

    entries.sort(key=key)
    for i, e in enumerate(x for x in entries if x.status == "ok"):
        e.rank = i + 1
