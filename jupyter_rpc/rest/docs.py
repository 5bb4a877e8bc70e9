"""The generated sections of ``docs/rest-api.md``: the error codes, written from
:data:`ERROR_CODES`, and the permission each route needs, from the description's
``x-jupyter-rpc-action``.

``python -m jupyter_rpc.rest.docs docs/rest-api.md`` rewrites the parts between the
``<!-- error-codes -->`` and ``<!-- permissions -->`` markers;
``tests/server/test_rest_contract.py`` and ``tests/server/test_permissions.py`` fail while
they differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import ERROR_CODES
from .contract import METHODS, load_openapi

BEGIN = "<!-- error-codes: generated from jupyter_rpc.errors.ERROR_CODES, do not edit -->"
END = "<!-- /error-codes -->"
PERMISSIONS_BEGIN = (
    "<!-- permissions: generated from x-jupyter-rpc-action in openapi.yaml, do not edit -->"
)
PERMISSIONS_END = "<!-- /permissions -->"


def error_codes_markdown() -> str:
    """The table of every error code: code, status(es), meaning."""
    lines = ["| code | status | meaning |", "| --- | --- | --- |"]
    for entry in ERROR_CODES:
        status = ", ".join(map(str, entry.statuses))
        meaning = entry.meaning.replace("|", r"\|")
        lines.append(f"| `{entry.code}` | {status} | {meaning} |")
    return "\n".join(lines)


def with_error_codes(text: str) -> str:
    """``text`` (the markdown of the REST docs) with its error-code section made current."""
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return f"{text[:start]}\n{error_codes_markdown()}\n{text[end:]}"


def permissions_markdown() -> str:
    """The table of every operation and the action it needs on ``jupyter_rpc``."""
    lines = ["| method + path | action |", "| --- | --- |"]
    for template, item in load_openapi()["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                path = f"/jupyter-rpc{template}"
                action = operation["x-jupyter-rpc-action"]
                lines.append(f"| `{method.upper()} {path}` | `{action}` |")
    return "\n".join(lines)


def with_permissions(text: str) -> str:
    """``text`` with its permissions section made current."""
    start = text.index(PERMISSIONS_BEGIN) + len(PERMISSIONS_BEGIN)
    end = text.index(PERMISSIONS_END)
    return f"{text[:start]}\n{permissions_markdown()}\n{text[end:]}"


def main(argv: list[str]) -> int:
    """Rewrite the error-code section of each markdown file named in ``argv``."""
    for name in argv:
        path = Path(name)
        text = with_error_codes(path.read_text(encoding="utf-8"))
        if PERMISSIONS_BEGIN in text:
            text = with_permissions(text)
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
