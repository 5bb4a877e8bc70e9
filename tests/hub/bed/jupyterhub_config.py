"""The JupyterHub test bed's hub (tests/hub/bed/up.sh installs it as
$JRPC_HUB_BED/etc/jupyterhub_config.py; the tests' session fixture starts the hub with it).

A site-wide jupyter_rpc as a site runs it, on one machine: each user's single-user server is
started by LocalProcessSpawner as that Unix user, from a venv that holds JupyterHub and
jupyter_rpc; the extension is enabled there for everyone by the wheel's own file in
``<venv>/etc/jupyter/jupyter_server_config.d/``, and the site's settings (backends,
clusters, policy) are the extension's own file ``<venv>/etc/jupyter/jupyter_rpc_config.json``
(Jupyter reads only ``jpserver_extensions`` from the files in ``jupyter_server_config.d/``). What is particular to a test bed is marked
"test bed": the ports from the environment, one password for every user, an admin token.
"""

import os
import pathlib
import pwd

c = get_config()  # noqa: F821 (traitlets config file)

BED = pathlib.Path(os.environ.get("JRPC_HUB_BED", "/opt/jupyter-rpc-hub"))
VENV = BED / "venv"


def secret(name: str) -> str:
    return (BED / "secrets" / name).read_text().strip()


# ---------------------------------------------------------------- network: loopback only
# test bed: free ports chosen by the fixture that starts the hub
c.JupyterHub.bind_url = f"http://127.0.0.1:{os.environ.get('JRPC_HUB_PORT', '18000')}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{os.environ.get('JRPC_HUB_API_PORT', '18081')}"
c.ConfigurableHTTPProxy.api_url = (
    f"http://127.0.0.1:{os.environ.get('JRPC_HUB_PROXY_API_PORT', '18001')}"
)
# configurable-http-proxy from the bed's own lock (tests/hub/bed/package-lock.json)
c.ConfigurableHTTPProxy.command = [str(BED / "proxy/node_modules/.bin/configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(BED / "state/proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{BED / 'state/jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(BED / "state/cookie_secret")
# each user's server listens on 127.0.0.1 (a random free port), reached through the proxy
c.Spawner.ip = "127.0.0.1"

# ---------------------------------------------------------------- who may log in
# test bed: the dummy authenticator with one password for the bed's Unix users (a site uses
# PAM, OAuth, LDAP...; what follows does not depend on which)
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = secret("password")
c.Authenticator.allowed_users = {
    name
    for name in ["alice", "bob"] + [f"hubuser{i:02d}" for i in range(1, 100)]
    if name in {p.pw_name for p in pwd.getpwall()}
}

# ---------------------------------------------------------------- each user's server
# LocalProcessSpawner (the default) runs `jupyterhub-singleuser` as the user (the hub is root)
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(VENV / "bin/jupyterhub-singleuser")]
c.Spawner.environment = {"PATH": f"{VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin"}
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
# JupyterHub's own authorizer checks only `access:servers`: anyone who may reach a server may
# do everything on it. jupyter_rpc.hub.GranularHubAuthorizer checks the `custom:jupyter_server`
# scopes below by action (read, write, execute), so a token can read and write without
# running code (jupyter_rpc's calls and job submissions need `execute`, as kernels and
# terminals do: docs/rest-api.md, Permissions).
c.Spawner.args = ["--ServerApp.authorizer_class=jupyter_rpc.hub.GranularHubAuthorizer"]

# ---------------------------------------------------------------- permissions (scopes)
# jupyter_server's actions as hub scopes: write includes read, execute includes both
c.JupyterHub.custom_scopes = {
    "custom:jupyter_server:read:*": {"description": "read a server's files, calls and jobs"},
    "custom:jupyter_server:write:*": {
        "description": "change files and clusters, cancel calls and jobs; run nothing",
        "subscopes": ["custom:jupyter_server:read:*"],
    },
    "custom:jupyter_server:execute:*": {
        "description": "run code: kernels, terminals, jupyter_rpc calls and job submissions",
        "subscopes": ["custom:jupyter_server:write:*"],
    },
}
c.JupyterHub.load_roles = [
    # every user may do everything on their own server (and nothing on another's)
    {"name": "user", "scopes": ["self", "custom:jupyter_server:execute:*!user"]},
    # test bed: the tests' admin token (start and stop servers, issue users' tokens)
    {"name": "admin", "services": ["jupyter-rpc-tests"]},
]
# what a server may ask for a user's browser session (the OAuth token behind its cookie):
# at most its own server, every action
c.Spawner.oauth_client_allowed_scopes = [
    "access:servers!server",
    "custom:jupyter_server:execute:*!server",
]
# the server's own $JUPYTERHUB_API_TOKEN, which its kernels inherit (jupyter_rpc.notebook
# finds its server from JUPYTERHUB_SERVICE_URL and this token): the hub's default `server`
# role plus running code on this server
c.Spawner.server_token_scopes = [
    "users:activity!user",
    "access:servers!server",
    "custom:jupyter_server:execute:*!server",
]
c.JupyterHub.services = [{"name": "jupyter-rpc-tests", "api_token": secret("api_token")}]
