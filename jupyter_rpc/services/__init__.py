"""The Jupyter server's services: backends, calls, function schemas, rendering, clusters
(with their config schema), jobs (job spec defaults, resubmit) and contents (a cluster's
files as contents-API models, uploads).

Plain asyncio, no tornado: the handlers (jupyter_rpc.handlers) call one service method
per verb.
"""
