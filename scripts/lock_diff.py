"""Which installed packages differ from a lock file (scripts/test.sh --latest prints it).

Usage: python scripts/lock_diff.py requirements/dev.txt

Reads the lock's ``name==version ; marker`` lines, keeps those whose environment marker
holds for this interpreter (a universal lock pins some packages per Python version), and
compares them with what this environment has installed.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata

from packaging.markers import Marker
from packaging.utils import canonicalize_name

PIN = re.compile(
    r"^([A-Za-z0-9][A-Za-z0-9._\-]*)(?:\[[^\]]*\])?==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$"
)


def locked(path: str) -> dict[str, str]:
    """The lock's pins that apply here, by canonical name."""
    pins: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = PIN.match(line.strip())
            if m and (m[3] is None or Marker(m[3]).evaluate()):
                pins[canonicalize_name(m[1])] = m[2]
    return pins


def main(path: str) -> int:
    pins = locked(path)
    changed = 0
    for dist in sorted(metadata.distributions(), key=lambda d: d.metadata["Name"].lower()):
        name = canonicalize_name(dist.metadata["Name"])
        if name in pins and pins[name] != dist.version:
            print(f"  {dist.metadata['Name']}: {pins[name]} (locked) -> {dist.version}")
            changed += 1
    if not changed:
        print("  none: the lock has the newest versions")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
