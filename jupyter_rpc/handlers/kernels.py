"""Compute-node kernels being started (issue 20): ``GET jupyter-rpc/kernels/starting``
lists them with their cluster, job, state and the scheduler's reason;
``DELETE jupyter-rpc/kernels/starting/{kernel}`` cancels one (its job is cancelled and
the kernel's start fails with "cancelled"). The service is
:class:`~jupyter_rpc.services.kernels.KernelStarts`.

``jupyter-rpc/clusters/{cluster}/kernel-profiles/{profile}``: a kernel profile's form and
the user's values for it, which its next starts use
(:mod:`jupyter_rpc.services.kernel_values`)."""

from __future__ import annotations

from jsonschema import Draft202012Validator

from ..errors import NotFound
from ..services.kernel_values import FIELDS, KernelEnvService, KernelValuesService
from .base import RPCHandler, requires
from .clusters import JOB_FIELDS, ClusterHandler

#: ``PUT .../kernel-profiles/{profile}``: the values, each a job's (``null``: the
#: profile's own).
PROFILE_VALUES = Draft202012Validator(
    {
        "type": "object",
        "properties": {
            "values": {
                "type": "object",
                "properties": {
                    name: {
                        "anyOf": [
                            {"type": "null"},
                            {**JOB_FIELDS[name], "minimum": 0}
                            if name == "gpus"
                            else JOB_FIELDS[name],
                        ]
                    }
                    for name in FIELDS
                },
                "additionalProperties": False,
            }
        },
        "required": ["values"],
        "additionalProperties": False,
    }
)


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


class KernelProfileHandler(ClusterHandler):
    """A kernel profile's form and the user's values for it (issue 20;
    :mod:`jupyter_rpc.services.kernel_values`): ``GET`` the form with the values the
    start dialog opens with; ``PUT {"values": {...}}`` stores the values the next starts
    use (checked as a job's); ``DELETE`` forgets them (the profile's own apply)."""

    @property
    def values(self) -> KernelValuesService:
        service = self.services.kernel_values
        if service is None:
            raise NotFound("Kernel profiles are not served here.", code="kernel.profile_unknown")
        return service

    @requires("read")
    async def get(self, cluster: str, profile: str) -> None:
        self.write_json(await self.values.form(self.cluster(cluster), profile, self.grant))

    @requires("write", event="kernel.set_values")
    async def put(self, cluster: str, profile: str) -> None:
        body = self.json_body(PROFILE_VALUES)
        self.write_json(
            await self.values.choose(self.cluster(cluster), profile, body["values"], self.grant)
        )

    @requires("write", event="kernel.reset_values")
    async def delete(self, cluster: str, profile: str) -> None:
        self.write_json(await self.values.choose(self.cluster(cluster), profile, None, self.grant))


#: ``PUT .../kernel-env``: the user's environment (``null`` or empty: the cluster's).
KERNEL_ENV = Draft202012Validator(
    {
        "type": "object",
        "properties": {
            "values": {
                "type": "object",
                "properties": {
                    "kernel_python": {"type": ["string", "null"], "maxLength": 4096},
                    "kernel_conda_env": {"type": ["string", "null"], "maxLength": 4096},
                    "kernel_modules": {
                        "type": ["array", "null"],
                        "items": {"type": "string", "maxLength": 200},
                        "maxItems": 50,
                    },
                },
                "additionalProperties": False,
            }
        },
        "required": ["values"],
        "additionalProperties": False,
    }
)


class KernelEnvHandler(ClusterHandler):
    """The user's own kernel environment on a cluster (issue 20): ``GET`` the cluster's,
    the user's and the effective one; ``PUT {"values": {...}}`` keeps the user's, which
    the cluster's kernels start with from then on; ``DELETE`` forgets it."""

    @property
    def envs(self) -> KernelEnvService:
        service = self.services.kernel_env
        if service is None:
            raise NotFound("Kernel environments are not served here.", code="cluster.not_found")
        return service

    @requires("read")
    async def get(self, cluster: str) -> None:
        self.write_json(self.envs.describe(self.cluster(cluster)))

    @requires("write", event="kernel.set_env")
    async def put(self, cluster: str) -> None:
        body = self.json_body(KERNEL_ENV)
        self.write_json(self.envs.choose(self.cluster(cluster), body["values"]))

    @requires("write", event="kernel.reset_env")
    async def delete(self, cluster: str) -> None:
        self.write_json(self.envs.choose(self.cluster(cluster), None))
