"""Where should this job run? ``jupyter_rpc.place(script, **resources)`` from a notebook.

The Jupyter server asks every cluster you may use at once (``POST placement``, see
``docs/placement.md``) and ranks them by expected start and the site's cost; the answer
is a :class:`Placements` table, best first, with the clusters that cannot take the job
after them and why::

    options = jupyter_rpc.place("python train.py", cpus=4, time_limit="2:00:00")
    options                 # the table
    job = options.best.submit()  # to the best cluster and partition

It is not tied to one :class:`~jupyter_rpc.notebook.clusters.Cluster`: the ranking is
across them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .aio import awaitable
from .client import RemoteError, Session
from .clusters import Cluster, _spec
from .jobs import Job
from .tables import Table
from .units import duration, when


class Placement(dict):  # type: ignore[type-arg]
    """One row: a cluster and partition, whether it can take the job and why (the
    server's answer as a dict), and :meth:`submit` to send the job there."""

    def __init__(self, row: dict[str, Any], args: dict[str, Any], session: Session):
        super().__init__(row)
        self._args = args  # place()'s job arguments
        self._session = session

    @property
    def _asynchronous(self) -> bool:
        return self._session.asynchronous

    @property
    def ok(self) -> bool:
        """Whether this cluster and partition can take the job."""
        return self.get("status") == "ok"

    @property
    def expected_start(self) -> dt.datetime | None:
        return when(self.get("expected_start"))

    def __repr__(self) -> str:
        where = self["cluster"] + (f"/{self['partition']}" if self.get("partition") else "")
        return f"<Placement {where}: {self['status']}, {self['reason']}>"

    @awaitable
    def submit(self, **changes: Any) -> Job:
        """Submit the job to this cluster and partition (``changes``: other values of
        :meth:`Cluster.submit`'s arguments than those given to :func:`place`)."""
        if not self.ok:
            code = self.get("code") or ""  # the server's code for why not
            raise RemoteError(
                f"Cluster {self['cluster']!r} cannot take this job: {self['reason']}", code=code
            )
        args = {**self._args, **changes}
        if self.get("partition"):
            args["partition"] = self["partition"]
        body = _spec(args)
        cluster = Cluster(self["cluster"], self._session)
        path = cluster._path("jobs")
        return Job(cluster, self._session.request("POST", path, body, timeout=120))


def _start(row: dict[str, Any]) -> str:
    wait = row.get("wait_seconds")
    if wait is None:
        ahead = row.get("jobs_ahead")
        return f"after {ahead} queued" if ahead else ""
    return "now" if wait < 60 else f"in {duration(wait)}"


def _cost(row: dict[str, Any]) -> str:
    cost = row.get("cost")
    if cost is None:
        return ""
    unit = row.get("cost_unit") or ""
    return f"{cost:g} {unit}".strip()


class Placements(Table):
    """The ranking: those that can take the job first (best first), then the others
    with why. ``.best``: the first that can (``None`` if none can)."""

    columns = (
        ("#", lambda r: r.get("rank") or ""),
        ("cluster", lambda r: r["cluster"]),
        ("partition", lambda r: r.get("partition") or ""),
        ("status", lambda r: r["status"]),
        ("starts", _start),
        ("cost", _cost),
        ("reason", lambda r: r["reason"]),
    )
    empty = "(no clusters)"

    @property
    def best(self) -> Placement | None:
        return next((row for row in self if row.ok), None)

    @property
    def usable(self) -> list[Placement]:
        """The rows that can take the job, best first."""
        return [row for row in self if row.ok]


def place(
    script: str | None = None,
    *,
    clusters: list[str] | None = None,
    timeout: float = 5.0,
    prefer: str = "balanced",
    url: str | None = None,
    token: str | None = None,
    asynchronous: bool = False,
    **resources: Any,
) -> Placements:
    """Where should this job run? Ranks every cluster you may use (or ``clusters``).

    Parameters
    ----------
    script, resources
        The job, as for :meth:`Cluster.submit` (``cpus=4, time_limit="2:00:00",
        memory="8G"``, ``script_path=...``); leave ``partition`` out to rank them all.
    clusters
        The clusters to ask; default every one.
    timeout
        Seconds each cluster may take to answer (one that does not is listed so).
    prefer
        ``"balanced"``, ``"start"`` or ``"cost"``: what counts where the site set prices.
    url, token
        The Jupyter server; found automatically inside JupyterLab / JupyterHub.
    asynchronous
        Return a coroutine (``options = await jupyter_rpc.place(...)``); the rows'
        ``submit()`` then return coroutines too.
    """
    args = {"script": script, **resources}
    body: dict[str, Any] = {"spec": _spec(args), "timeout": timeout, "prefer": prefer}
    if clusters is not None:
        body["clusters"] = list(clusters)
    session = Session(url, token, asynchronous=asynchronous)
    return _Ranker(session, args)(body)


class _Ranker:
    def __init__(self, session: Session, args: dict[str, Any]):
        self._session = session
        self._args = args

    @property
    def _asynchronous(self) -> bool:
        return self._session.asynchronous

    @awaitable
    def __call__(self, body: dict[str, Any]) -> Placements:
        answer = self._session.request(
            "POST", "placement", body, timeout=float(body["timeout"]) + 60
        )
        return Placements(Placement(row, self._args, self._session) for row in answer["placements"])


__all__ = ["Placement", "Placements", "place"]
