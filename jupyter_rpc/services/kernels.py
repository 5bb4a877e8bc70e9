"""Kernels on compute nodes being started (issue 20): what the front end shows while a
kernel's batch job waits in the queue, and its Cancel.

The provisioner (:mod:`jupyter_rpc.kernels.provisioner`) registers a start here when it
submits the kernel's job and updates it as the job moves (submitting, pending with the
scheduler's reason, starting on its node); the start is gone once the kernel is up or the
start failed. Cancel sets the start's event: the provisioner cancels the job and the
kernel's start fails with "cancelled". Plain asyncio, no tornado.

:class:`KernelOwner`: whose grant of the site's policy (``RPCApp.policy``) the kernels on
clusters follow. jupyter_server starts a kernel without telling its provisioner who asked
(``POST /api/sessions`` and ``/api/kernels`` are its own handlers), and a kernel runs
with the server's cluster credentials, which are its owner's: on a JupyterHub single-user
server the hub user ``$JUPYTERHUB_USER``, elsewhere the account that runs the server.
So kernels follow the owner's grant: the kernelspecs name only the clusters it allows,
and a start checks the cluster and the profile's resources against it. The owner's groups
are known from the owner's own authenticated requests to the extension (JupyterLab makes
some as it loads); an admin who opens another user's server does not change them.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import NotFound
from ..policy import EVERYTHING, Grant, Policy, PolicyForbidden, identity

log = logging.getLogger(__name__)

StartState = Literal["submitting", "pending", "starting"]


@dataclass
class KernelStart:
    """One compute-node kernel between its start request and its first ready port."""

    id: str  # the Jupyter kernel id
    kernel_name: str  # its kernelspec
    display_name: str
    cluster: str
    profile: str
    state: StartState = "submitting"
    job_id: str = ""
    reason: str = ""  # the scheduler's words for why it waits
    partition: str = ""
    since: float = field(default_factory=time.time)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    ended: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kernel_name": self.kernel_name,
            "display_name": self.display_name,
            "cluster": self.cluster,
            "profile": self.profile,
            "state": self.state,
            "job_id": self.job_id,
            "reason": self.reason,
            "partition": self.partition,
            "since": self.since,
        }


def server_owner() -> str:
    """The server's owner: the hub user of a JupyterHub single-user server
    (``$JUPYTERHUB_USER``), else the account that runs the server."""
    name = os.environ.get("JUPYTERHUB_USER")
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid
        return str(os.getuid())


class KernelOwner:
    """The grant of the server's owner, which kernels on clusters follow."""

    def __init__(
        self,
        policy: Policy | None = None,
        owner: str | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.policy = policy or Policy()
        self.name = owner if owner is not None else server_owner()
        #: A hub's single-user server: the owner's groups come from the hub's user model
        #: (their requests); elsewhere no groups but a custom identity provider's.
        self.on_hub = bool(os.environ.get("JUPYTERHUB_USER"))
        self.on_change = on_change
        self._seen: Grant | None = None  # the owner's grant from their own request

    def seen(self, user: Any) -> None:
        """An authenticated request's user: when it is the owner, their grant (with the
        groups their identity gives) is the kernels' from now on."""
        if not self.policy.enabled or user is None:
            return
        name, _ = identity(user)
        if name != self.name:
            return  # another user on this server (a hub admin): not the owner's grant
        grant = self.policy.grant(user)
        if grant == self._seen:
            return
        self._seen = grant
        log.info("jupyter_rpc: kernels follow %s for %s", grant.why, self.name)
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:  # the kernelspecs; a start still checks the grant
                log.exception("jupyter_rpc: kernelspecs not rewritten")

    @property
    def grant(self) -> Grant | None:
        """The owner's grant; ``None`` while it is unknown (on a hub, the policy has rules
        for groups and the owner has made no request yet)."""
        if not self.policy.enabled:
            return EVERYTHING
        if self._seen is not None:
            return self._seen
        if not self.policy.uses_groups or not self.on_hub:
            return self.policy.grant(self.name)  # the name alone decides
        return None

    def allows_cluster(self, name: str, *, user_defined: bool = False) -> bool:
        """Whether the cluster gets kernelspecs (an unknown grant: yes, the start checks)."""
        grant = self.grant
        return grant is None or grant.allows_cluster(name, user_defined=user_defined)

    def check_start(self, cluster: str, *, user_defined: bool, resources: dict[str, Any]) -> Grant:
        """The owner's grant, when it lets a kernel start on ``cluster`` with
        ``resources`` (a profile's; ``{}`` on the login node); else 403
        ``policy.forbidden`` naming the rule."""
        grant = self.grant
        if grant is None:
            raise PolicyForbidden(
                f"The site's policy decides by hub groups, and this server does not know "
                f"the groups of its owner {self.name} yet: they come with the owner's first "
                "request to jupyter_rpc (opening JupyterLab makes one). Open JupyterLab, "
                "or ask jupyter_rpc anything with the owner's token, then start the kernel "
                "again.",
                details={"rule": None, "cluster": cluster},
            )
        grant.check_cluster(cluster, user_defined=user_defined)
        grant.check_submit(resources)
        return grant


class KernelStarts:
    """The compute-node kernels being started on this server."""

    def __init__(self) -> None:
        self._starts: dict[str, KernelStart] = {}
        #: Whose policy grant the kernels follow (set by the extension).
        self.owner = KernelOwner()

    def add(self, start: KernelStart) -> KernelStart:
        self._starts[start.id] = start
        return start

    def remove(self, start: KernelStart) -> None:
        if self._starts.get(start.id) is start:
            del self._starts[start.id]
        start.ended.set()

    def list(self) -> list[KernelStart]:
        return sorted(self._starts.values(), key=lambda s: s.since)

    def get(self, start_id: str) -> KernelStart:
        start = self._starts.get(start_id)
        if start is None:
            raise NotFound(
                f"No kernel is being started with id '{start_id}' (it is up, or its start ended).",
                code="kernel.start_not_found",
                details={"kernel": start_id},
            )
        return start

    async def close(self, timeout: float = 15.0) -> None:
        """The server stops: cancel every start (their jobs are cancelled, not left in the
        queue) and wait, up to ``timeout``, until their provisioners have done so."""
        starts = list(self._starts.values())
        for start in starts:
            start.cancelled.set()
        if starts:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(start.ended.wait() for start in starts)), timeout
                )

    def cancel(self, start_id: str) -> KernelStart:
        """Ask the start to end: its job is cancelled and the start fails."""
        start = self.get(start_id)
        start.cancelled.set()
        return start
