"""Notebook display of remote calls: rich results that stay plain Python values, and progress.

A result keeps its plain type (``list``, ``bytes``, ``str``, ``dict``) so code can use it
as is; subclasses add IPython's ``_repr_*_`` methods, so the last expression of a cell
shows a table, an image or a chart, the same MIME bundle the panel shows.
"""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Callable
from typing import Any

from .geo import geo_value


class Records(list):  # type: ignore[type-arg]
    """A list of records (dicts) that a notebook shows as a table."""

    _html: str = ""

    def _repr_html_(self) -> str:
        return self._html


class Image(bytes):
    """The bytes of an image file that a notebook shows as the image."""

    mime_type: str = "image/png"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {
            self.mime_type: base64.b64encode(self).decode("ascii"),
            "text/plain": f"<{self.mime_type}, {len(self):,} bytes>",
        }


class Text(str):
    """Text in a rich format (HTML, Markdown, SVG) that a notebook renders."""

    mime_type: str = "text/html"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        # Outputs a cell produces are *trusted* by JupyterLab, so nothing a backend sent
        # may reach a renderer that runs scripts: HTML goes into a sandboxed iframe
        # (no scripts, no same-origin), Markdown only when it holds no raw HTML, SVG as
        # is (Lab shows SVG as an <img>, where scripts never run).
        text = str(self)
        if self.mime_type == "text/html":
            frame = (
                f'<iframe sandbox="" srcdoc="{html.escape(text, quote=True)}" '
                'style="width: 100%; min-height: 12em; border: 0"></iframe>'
            )
            return {"text/html": frame, "text/plain": text}
        if self.mime_type == "text/markdown" and ("<" in text or "javascript:" in text.lower()):
            return {"text/plain": text}
        return {self.mime_type: text, "text/plain": text}


class Chart(dict):  # type: ignore[type-arg]
    """A Vega-Lite specification that a notebook draws as a chart."""

    mime_type: str = "application/vnd.vegalite.v5+json"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {self.mime_type: dict(self), "text/plain": "<chart>"}


def rich_value(
    result: Any, bundle: dict[str, Any] | None, fetch: Callable[[str], bytes] | None = None
) -> Any:
    """``result`` as a plain-typed value that displays like ``bundle`` (``fetch``: how a
    raster downloads its whole grid, a path under the server's base URL -> bytes)."""
    if not bundle:
        return result
    mapped = geo_value(result, bundle, fetch)  # GeoJSON, rasters: a map
    if mapped is not None:
        return mapped
    for mime in ("image/png", "image/jpeg", "image/gif"):
        if mime in bundle and isinstance(result, str):
            value = Image(base64.b64decode(result))
            value.mime_type = mime
            return value
    for mime in ("image/svg+xml", "text/markdown", "text/html"):
        if mime in bundle and isinstance(result, str):
            text = Text(result)
            text.mime_type = mime
            return text
    for mime in bundle:
        if mime.startswith("application/vnd.vega") and isinstance(result, dict):
            chart = Chart(result)
            chart.mime_type = mime
            return chart
    if "text/html" in bundle and isinstance(result, list):
        records = Records(result)
        records._html = bundle["text/html"]
        return records
    return result


def in_ipython() -> bool:
    """Whether this runs in an IPython kernel or shell (where cells show displays)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


class LiveOutput:
    """One display in the running cell that later calls replace in place (IPython's
    display handle): shown by the first :meth:`show`, updated by the next ones."""

    def __init__(self) -> None:
        self._handle: Any = None

    @property
    def shown(self) -> bool:
        return self._handle is not None

    def show(self, bundle: dict[str, str]) -> None:
        from IPython.display import display

        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)


class StatusLine:
    """A job's, session's or run's state as one live line in the cell (a
    :class:`LiveOutput`), or as printed lines outside IPython. Subclasses say what the
    line reads (:meth:`text`) and, outside IPython, whether a line is printed
    (:meth:`prints`: by default whenever it changed)."""

    def __init__(self) -> None:
        self.output = LiveOutput()
        self.last = ""
        self.ipython = in_ipython()

    def text(self, note: str = "") -> str:
        raise NotImplementedError

    def prints(self, line: str, note: str) -> bool:
        return line != self.last

    def show(self, note: str = "") -> None:
        line = self.text(note)
        if not self.ipython:
            if self.prints(line, note):
                print(line, flush=True)
        elif not self.output.shown or line != self.last:
            self.output.show({"text/plain": line, "text/html": f"<code>{html.escape(line)}</code>"})
        self.last = line


class ProgressView:
    """A live progress display in the running cell (only inside IPython)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._output = LiveOutput()
        self._t0 = time.monotonic()

    def update(self, tree: dict[str, Any] | None, state: str) -> None:
        """Show the latest progress tree."""
        if tree is None or not in_ipython():
            return
        self._output.show(
            {"text/plain": self._text(tree, state), "text/html": self._html(tree, state)}
        )

    def done(self, tree: dict[str, Any] | None, state: str) -> None:
        """Replace the live tree (if it was ever shown) by one summary line: how the call
        ended, when, how many of its top steps were done, and for a call that did not
        succeed the step it was in. No bar is left."""
        if self._output.shown and in_ipython():
            line = html.escape(self.summary(tree, state))
            self._output.show(
                {"text/plain": self.summary(tree, state), "text/html": f"<pre>{line}</pre>"}
            )

    def summary(self, tree: dict[str, Any] | None, state: str) -> str:
        """``✓ examples.simulate: succeeded in 5.1 s · 10/10 steps`` (``✗`` and ``at``
        the last step reached when it failed or was cancelled)."""
        mark = "✓" if state == "succeeded" else "✗"
        parts = [f"{mark} {self.label}: {state} in {time.monotonic() - self._t0:.1f} s"]
        tree = tree or {}
        steps = int(tree.get("steps") or 0)
        children = tree.get("children") or []
        if steps:
            done = sum(1 for c in children if c.get("status") == "success")
            parts.append(f"{done}/{steps} steps")
        if state != "succeeded":
            reached = children[-1] if children else tree
            message = str(reached.get("step_message") or "")
            if message:
                parts.append(f"at {message}")
        return " · ".join(parts)

    def _text(self, tree: dict[str, Any], state: str) -> str:
        lines = [f"{self.label}: {state} ({time.monotonic() - self._t0:.1f} s)"]

        def walk(node: dict[str, Any], depth: int) -> None:
            mark = {"success": "✓", "error": "✗"}.get(str(node.get("status")), "…")
            steps = int(node.get("steps") or 0)
            done = sum(1 for c in node.get("children", []) if c.get("status") == "success")
            count = f" [{done}/{steps}]" if steps else ""
            lines.append(f"{'  ' * depth}{mark} {node.get('step_message', '')}{count}")
            for child in node.get("children", []):
                walk(child, depth + 1)

        walk(tree, 0)
        return "\n".join(lines)

    def _html(self, tree: dict[str, Any], state: str) -> str:
        steps = int(tree.get("steps") or 0)
        done = sum(1 for c in tree.get("children", []) if c.get("status") == "success")
        bar = (
            f'<progress value="{done}" max="{steps}"></progress>'
            if steps
            else "<progress></progress>"
        )
        if state in ("succeeded", "failed", "cancelled"):
            bar = '<progress value="1" max="1"></progress>' if state == "succeeded" else ""
        return f"{bar}<pre>{html.escape(self._text(tree, state))}</pre>"


class MapProgress:
    """One live line for a whole ``Executor.map`` (only inside IPython): how many calls
    are done, failed and running; redrawn at most five times a second."""

    EVERY = 0.2

    def __init__(self, label: str) -> None:
        self.label = label
        self._output = LiveOutput()
        self._t0 = time.monotonic()
        self._shown_at = 0.0

    def show(self, done: int, failed: int, running: int, *, final: bool = False) -> None:
        now = time.monotonic()
        if not in_ipython() or (not final and now - self._shown_at < self.EVERY):
            return
        self._shown_at = now
        text = self.text(done, failed, running, final=final)
        total = done + failed + running
        bar = f'<progress value="{done + failed}" max="{max(total, 1)}"></progress>'
        self._output.show({"text/plain": text, "text/html": f"{bar}<pre>{html.escape(text)}</pre>"})

    def text(self, done: int, failed: int, running: int, *, final: bool = False) -> str:
        elapsed = time.monotonic() - self._t0
        state = "ended" if final else "running"
        return (
            f"{self.label} map: {state}: {done:,} done, {failed:,} failed, "
            f"{running:,} running ({elapsed:.1f} s)"
        )


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


class TransferProgress:
    """A live line for an upload or download in the running cell: a bar, bytes and speed.

    Shown only inside IPython, and only for transfers of ``threshold`` bytes or more (unless
    ``show`` is True or False); updates are throttled so a fast copy does not flood the
    notebook with display messages.
    """

    def __init__(
        self, label: str, total: int | None, show: bool | None = None, threshold: int = 8_000_000
    ):
        self.label = label
        self.total = total
        self.done = 0
        self._t0 = time.monotonic()
        self._last = 0.0
        self._output = LiveOutput()
        if show is None:
            show = total is None or total >= threshold
        self.enabled = bool(show) and in_ipython()

    def add(self, n: int) -> None:
        """Count ``n`` more bytes moved."""
        self.done += n
        if self.enabled and time.monotonic() - self._last >= 0.25:
            self._show("")

    def finish(self, error: str = "") -> None:
        """The final line: the size and time of the whole copy, or why it stopped."""
        if self.enabled:
            self._show(error or "done")

    def text(self, final: str = "") -> str:
        elapsed = max(time.monotonic() - self._t0, 1e-6)
        size = _megabytes(self.done)
        if self.total is not None and final != "done":
            size += f" of {_megabytes(self.total)}"
            if self.total:
                size += f" ({100 * self.done / self.total:.0f} %)"
        parts = [self.label, size, f"{self.done / elapsed / 1e6:,.1f} MB/s"]
        if final == "done":
            parts.append(f"done in {elapsed:.1f} s")
        elif final:
            parts.append(final)
        return " · ".join(parts)

    def _show(self, final: str) -> None:
        self._last = time.monotonic()
        line = self.text(final)
        if final == "done":
            bar = '<progress value="1" max="1"></progress>'
        elif final:
            bar = ""
        elif self.total:
            bar = f'<progress value="{self.done}" max="{self.total}"></progress>'
        else:
            bar = "<progress></progress>"
        self._output.show(
            {"text/plain": line, "text/html": f"{bar} <code>{html.escape(line)}</code>"}
        )
