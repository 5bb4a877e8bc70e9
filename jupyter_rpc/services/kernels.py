"""Kernels on compute nodes being started (issue 20): what the front end shows while a
kernel's batch job waits in the queue, and its Cancel.

The provisioner (:mod:`jupyter_rpc.kernels.provisioner`) registers a start here when it
submits the kernel's job and updates it as the job moves (submitting, pending with the
scheduler's reason, starting on its node); the start is gone once the kernel is up or the
start failed. Cancel sets the start's event: the provisioner cancels the job and the
kernel's start fails with "cancelled". Plain asyncio, no tornado.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import NotFound

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


class KernelStarts:
    """The compute-node kernels being started on this server."""

    def __init__(self) -> None:
        self._starts: dict[str, KernelStart] = {}

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
