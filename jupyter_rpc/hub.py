"""An authorizer for single-user servers of a JupyterHub: permissions by action from the hub's
scopes.

jupyter_server asks its authorizer for an action (``read``, ``write``, ``execute``) on a
resource; jupyter_rpc asks ``execute`` to start a call or submit a job, ``write`` to change
files or clusters, ``read`` for the rest (docs/rest-api.md, Permissions). JupyterHub's own
authorizer (``jupyterhub.singleuser.extension.JupyterHubAuthorizer``) checks only the
``access:servers`` scope, so on a hub whoever may reach a server may do everything on it.
:class:`GranularHubAuthorizer` grants an action only to a token that holds
``custom:jupyter_server:<action>:<resource>`` or ``custom:jupyter_server:<action>:*`` for
this server (unfiltered, ``!user=<owner>`` or ``!server=<owner>/<name>``). Enable it in the
single-user server's config::

    c.ServerApp.authorizer_class = "jupyter_rpc.hub.GranularHubAuthorizer"

and define the scopes in the hub's (``c.JupyterHub.custom_scopes``; give every user
``custom:jupyter_server:execute:*!user`` and the server's OAuth client
``custom:jupyter_server:execute:*!server``, or nobody may use their own server):
``tests/hub/bed/jupyterhub_config.py`` is a complete example. Importing this module needs
JupyterHub (every single-user server has it); jupyter_rpc does not depend on it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from jupyterhub.singleuser.extension import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
    JupyterHubAuthorizer,
)
from tornado.web import HTTPError

__all__ = ["GranularHubAuthorizer", "required_scopes", "starts_cluster_kernel"]


def required_scopes(action: str, resource: str, user: str, server_name: str) -> set[str]:
    """The scopes of which any one grants ``action`` on ``resource`` of the server
    ``server_name`` (``""``: the default server) of the hub user ``user``."""
    filters = ("", f"!user={user}", f"!server={user}/{server_name}")
    return {
        f"custom:jupyter_server:{action}:{name}{f}" for name in (resource, "*") for f in filters
    }


def starts_cluster_kernel(handler: Any, resource: str) -> bool:
    """Whether ``handler``'s request starts or restarts a kernel of a cluster (a kernelspec
    with ``metadata.jupyter_rpc``): ``POST /api/kernels``, ``POST``/``PATCH
    /api/sessions`` naming one (or none, when the default kernel is one), ``POST
    /api/kernels/ID/restart`` of one."""
    if resource not in ("kernels", "sessions") or handler is None:
        return False
    request = handler.request
    if request.method not in ("POST", "PATCH"):
        return False
    settings = handler.settings
    kernels, specs = settings.get("kernel_manager"), settings.get("kernel_spec_manager")
    path = request.path.rstrip("/")
    name: Any = None
    if resource == "kernels" and path.endswith("/restart"):
        try:
            name = kernels.get_kernel(path.split("/")[-2]).kernel_name
        except Exception:  # an unknown kernel: jupyter_server answers 404
            return False
    elif resource == "kernels" and path.endswith("/interrupt"):
        return False  # a SIGINT to a kernel already running
    else:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return False  # jupyter_server answers 400
        if not isinstance(body, dict):
            return False
        kernel = body.get("kernel") if resource == "sessions" else body
        if resource == "sessions" and request.method == "PATCH" and not isinstance(kernel, dict):
            return False  # a rename: no kernel starts
        name = kernel.get("name") if isinstance(kernel, dict) else None
        if resource == "sessions" and isinstance(kernel, dict) and kernel.get("id"):
            return False  # an existing kernel
        name = name or getattr(kernels, "default_kernel_name", None)
    if not isinstance(name, str) or specs is None:
        return False
    try:
        spec = specs.get_kernel_spec(name)
    except Exception:  # no such kernelspec: jupyter_server answers
        return False
    metadata = getattr(spec, "metadata", None) or {}
    return isinstance(metadata, dict) and "jupyter_rpc" in metadata


class GranularHubAuthorizer(JupyterHubAuthorizer):  # type: ignore[misc,unused-ignore]
    """Grants an action only to hub tokens holding its ``custom:jupyter_server`` scope for
    this server; the hub's custom scopes say which includes which (execute includes write
    and read in the example)."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        if not super().is_authorized(handler, user, action, resource):
            return False  # no access:servers for this server: nothing at all
        if action == "write" and starts_cluster_kernel(handler, resource):
            # jupyter_server asks only write to start a kernel; a cluster's runs there with
            # the owner's credentials (a batch job for a kernel profile), as a submit would
            if not self.is_authorized(handler, user, "execute", resource):
                # jupyter_server's own refusal would name 'write', which the token has
                raise HTTPError(
                    403,
                    "Starting or restarting a kernel on a cluster needs the 'execute' "
                    "permission (it runs there as you, like a job), which this token lacks.",
                )
        wanted = required_scopes(
            action,
            resource,
            os.environ.get("JUPYTERHUB_USER", ""),
            os.environ.get("JUPYTERHUB_SERVER_NAME", ""),
        )
        granted = self.hub_auth.check_scopes(wanted, user.hub_user)
        self.log.debug("%s may %s %s: %s", user.username, action, resource, sorted(granted))
        return bool(granted)
