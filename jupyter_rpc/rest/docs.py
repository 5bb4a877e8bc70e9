"""The error-code section of ``docs/rest-api.md``, written from :data:`ERROR_CODES`.

``python -m jupyter_rpc.rest.docs docs/rest-api.md`` rewrites the part between the
``<!-- error-codes -->`` markers; ``tests/server/test_rest_contract.py`` fails while it differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import ERROR_CODES

BEGIN = "<!-- error-codes: generated from jupyter_rpc.errors.ERROR_CODES, do not edit -->"
END = "<!-- /error-codes -->"


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


def main(argv: list[str]) -> int:
    """Rewrite the error-code section of each markdown file named in ``argv``."""
    for name in argv:
        path = Path(name)
        path.write_text(with_error_codes(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
