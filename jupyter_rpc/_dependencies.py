"""Warnings that dependencies raise at import time and that no user can act on.

The policy: our own code fails on any warning in the tests (pytest's
``filterwarnings = error``); a dependency's warning is silenced here, narrowly, by the
module that triggers it and the exact category, only when a user of jupyter_rpc can do
nothing about it. Each entry says why. pyproject's ``filterwarnings`` lists the same
ones for pytest (which resets filters around every test).
"""

from __future__ import annotations

import warnings


def quiet_dependency_warnings() -> None:
    """Install the filters (idempotent: ``warnings.filterwarnings`` drops duplicates)."""
    try:
        from cryptography.utils import CryptographyDeprecationWarning
    except ImportError:  # a backend's environment on a cluster needs no cryptography
        return
    # cryptography 51 deprecates DSA; asyncssh still supports DSA keys and names the DSA
    # classes in type aliases at import time (asyncssh.crypto.misc, asyncssh.crypto.dsa),
    # five warnings at every server start. Nothing of ours uses DSA.
    warnings.filterwarnings(
        "ignore", category=CryptographyDeprecationWarning, module=r"asyncssh(\.|$)"
    )
