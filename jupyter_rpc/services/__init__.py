"""The Jupyter server's services: backends, calls, function schemas, rendering, clusters.

Plain asyncio, no tornado: the handlers (jupyter_rpc.handlers) call one service method
per verb.
"""
