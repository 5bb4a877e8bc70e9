"""Placement advice: where should this job run? The REST side of
:mod:`jupyter_rpc.services.placement`."""

from __future__ import annotations

from typing import Any, cast

from jsonschema import Draft202012Validator

from ..services.jobs import JobRequest
from ..services.placement import DEFAULT_TIMEOUT, PlacementService
from .base import RPCHandler, requires
from .clusters import JOB_SPEC

PLACEMENT_REQUEST = Draft202012Validator(
    {
        "type": "object",
        "properties": {
            "spec": JOB_SPEC.schema,
            "clusters": {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "maxLength": 200},
                "minItems": 1,
                "maxItems": 100,
            },
            "timeout": {"type": "number", "minimum": 0.5, "maximum": 60},
            "prefer": {"enum": ["balanced", "start", "cost"]},
        },
        "required": ["spec"],
        "additionalProperties": False,
    }
)


class PlacementHandler(RPCHandler):
    """Rank the clusters for one job. It runs the schedulers' test-only submits (Slurm's
    ``sbatch --test-only`` reads the script's ``#SBATCH`` lines, as ``jobs/test``
    does): ``execute``, like ``jobs/test``; nothing is submitted."""

    @requires("execute", event="job.place")
    async def post(self) -> None:
        body: dict[str, Any] = self.json_body(PLACEMENT_REQUEST)
        self.audit_arguments(body)
        service = PlacementService(self.services.clusters)
        ranking = await service.rank(
            cast(JobRequest, body["spec"]),
            names=body.get("clusters"),
            grant=self.grant,
            timeout=float(body.get("timeout", DEFAULT_TIMEOUT)),
            prefer=body.get("prefer", "balanced"),
        )
        self.write_json(ranking)
