"""``python -m jupyter_rpc.backend [serve|schema|call] MODULE ...`` (see :mod:`.cli`)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
