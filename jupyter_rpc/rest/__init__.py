"""The REST contract of ``{base_url}jupyter-rpc/``: ``openapi.yaml`` (OpenAPI 3.1) and
the checker of real responses against it (:mod:`jupyter_rpc.rest.contract`)."""

from __future__ import annotations

from .contract import OPENAPI_PATH, Contract, ResponseRecorder, contract, load_openapi

__all__ = ["OPENAPI_PATH", "Contract", "ResponseRecorder", "contract", "load_openapi"]
