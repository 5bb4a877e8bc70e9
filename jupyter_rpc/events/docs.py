"""The generated table of ``docs/accountability.md``: every action that emits an event,
with its route and permission, read from the route table (``@requires(..., event=...)``).

``python -m jupyter_rpc.events.docs docs/accountability.md`` rewrites the part between
the markers; ``tests/server/test_events.py`` fails while it differs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

BEGIN = "<!-- event-actions: generated from the route table, do not edit -->"
END = "<!-- /event-actions -->"
VERBS = ("get", "post", "put", "patch", "delete")


def readable(pattern: str) -> str:
    """A route's regular expression as a path template: ``{cluster}``, ``{path}``."""
    text = re.sub(r"\(\?P<(\w+)>(\w+(?:\|\w+)+)\)", r"{\2}", pattern)
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", text)
    return text.replace("/?", "/").replace("//", "/").rstrip("/") or "/"


def actions_markdown() -> str:
    """The table: action (and what the route may say instead), route, permission."""
    from ..handlers import routes  # the handlers import this package

    lines = ["| action | method + route | permission |", "| --- | --- | --- |"]
    for pattern, handler, _ in routes(None):  # type: ignore[arg-type]
        for verb in VERBS:
            method = getattr(handler, verb, None)
            names = getattr(method, "jupyter_rpc_events", ())
            if names:
                action = ", ".join(f"`{name}`" for name in names)
                permission = getattr(method, "jupyter_rpc_action", "")
                route = readable(pattern).replace("|", r"\|")  # a table's cell
                lines.append(f"| {action} | `{verb.upper()} {route}` | `{permission}` |")
    return "\n".join(lines)


def with_actions(text: str) -> str:
    """``text`` (docs/accountability.md) with its table of actions made current."""
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return f"{text[:start]}\n{actions_markdown()}\n{text[end:]}"


def main(argv: list[str]) -> int:
    """Rewrite the generated part of the file named in ``argv``."""
    if len(argv) != 1:
        print("usage: python -m jupyter_rpc.events.docs docs/accountability.md", file=sys.stderr)
        return 2
    path = Path(argv[0])
    path.write_text(with_actions(path.read_text()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
