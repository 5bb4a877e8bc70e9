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
    }
}

# Open on the demo folder, with its notebook (not the whole repository).
c.ServerApp.root_dir = __import__("os").path.dirname(__file__)  # noqa: F821
