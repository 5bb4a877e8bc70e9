"""The demo: jupyter_rpc's embedded default, nothing to configure.

The example backend runs as a local process started on first use.
"""

c = get_config()  # noqa: F821 - provided by Jupyter

c.ServerApp.ip = "127.0.0.1"
c.RPCApp.backends = {
    "examples": {
        "module": "jupyter_rpc.examples.demo",
        "display_name": "Examples",
        "description": "Example scientific functions shipped with jupyter_rpc.",
    },
    "geo": {
        "module": "jupyter_rpc.examples.geo",
        "display_name": "Maps",
        "description": "Example functions taking a point, a polygon or a box; features and rasters.",
    },
}

# Open on the demo folder, with its notebook (not the whole repository).
c.ServerApp.root_dir = __import__("os").path.dirname(__file__)  # noqa: F821

# This machine as a cluster: jobs run as local processes, files are this folder.
_DEMO = __import__("os").path.dirname(__file__)
c.RPCApp.clusters = {
    "local": {
        "display_name": "This computer",
        "description": "The demo: jobs run as processes of this server; files are the demo folder.",
        "scheduler": "local",
        "roots": {"demo": _DEMO},
        "workdir": _DEMO + "/jobs",
    }
}

# Workflow templates (docs/workflows.md): the three-step demo; runs go to jobs/jupyter-rpc-runs.
c.RPCApp.workflow_dirs = [_DEMO + "/workflows"]
