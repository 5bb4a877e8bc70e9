"""Build hook: jupyter-rpc-backend's files come from the one source tree.

In a checkout the sources are ``../../jupyter_rpc/{backend,protocol,examples}``; an sdist
(recognised by its ``PKG-INFO``) carries them under its own ``jupyter_rpc/``. The sdist and
the wheel get exactly these folders (no ``jupyter_rpc/__init__.py``); the editable
install gets nothing copied (``dev-mode-dirs`` puts the checkout's root on ``sys.path``).
"""

from __future__ import annotations

import os
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: The folders of ``jupyter_rpc`` this distribution ships: the runner, the protocol, and the
#: example backend module (``jupyter-rpc serve jupyter_rpc.examples.demo`` on a cluster).
FOLDERS = ("jupyter_rpc/backend", "jupyter_rpc/protocol", "jupyter_rpc/examples")


class SourcesHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        in_sdist = os.path.isfile(os.path.join(self.root, "PKG-INFO"))
        tree = self.root if in_sdist else os.path.normpath(os.path.join(self.root, "..", ".."))
        for folder in FOLDERS:
            source = os.path.join(tree, *folder.split("/"))
            if not os.path.isfile(os.path.join(source, "__init__.py")):
                raise FileNotFoundError(f"jupyter-rpc-backend: no {folder} in {tree}")
            if self.target_name == "wheel" or not in_sdist:
                build_data["force_include"][source] = folder
