"""Compute-node kernels being started (issue 20): ``GET jupyter-rpc/kernels/starting``
lists them with their cluster, job, state and the scheduler's reason;
``DELETE jupyter-rpc/kernels/starting/{kernel}`` cancels one (its job is cancelled and
the kernel's start fails with "cancelled"). The service is
:class:`~jupyter_rpc.services.kernels.KernelStarts`."""

from __future__ import annotations

from .base import RPCHandler, requires


class KernelStartsHandler(RPCHandler):
    """``GET``: the compute-node kernels being started."""

    @requires("read")
    async def get(self) -> None:
        starts = self.services.kernels.list()
        self.write_json({"starts": [s.to_json() for s in starts]})


class KernelStartHandler(RPCHandler):
    """``DELETE``: cancel a kernel's start (and its job)."""

    @requires("write", event="kernel.cancel")
    async def delete(self, kernel: str) -> None:
        start = self.services.kernels.cancel(kernel)
        self.audit(cluster=start.cluster, job_id=start.job_id)
        self.write_json(start.to_json())
