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

import os
from typing import Any

from jupyterhub.singleuser.extension import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
    JupyterHubAuthorizer,
)

__all__ = ["GranularHubAuthorizer", "required_scopes"]


def required_scopes(action: str, resource: str, user: str, server_name: str) -> set[str]:
    """The scopes of which any one grants ``action`` on ``resource`` of the server
    ``server_name`` (``""``: the default server) of the hub user ``user``."""
    filters = ("", f"!user={user}", f"!server={user}/{server_name}")
    return {
        f"custom:jupyter_server:{action}:{name}{f}" for name in (resource, "*") for f in filters
    }


class GranularHubAuthorizer(JupyterHubAuthorizer):  # type: ignore[misc,unused-ignore]
    """Grants an action only to hub tokens holding its ``custom:jupyter_server`` scope for
    this server; the hub's custom scopes say which includes which (execute includes write
    and read in the example)."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        if not super().is_authorized(handler, user, action, resource):
            return False  # no access:servers for this server: nothing at all
        wanted = required_scopes(
            action,
            resource,
            os.environ.get("JUPYTERHUB_USER", ""),
            os.environ.get("JUPYTERHUB_SERVER_NAME", ""),
        )
        granted = self.hub_auth.check_scopes(wanted, user.hub_user)
        self.log.debug("%s may %s %s: %s", user.username, action, resource, sorted(granted))
        return bool(granted)
