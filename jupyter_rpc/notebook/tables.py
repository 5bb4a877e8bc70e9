"""Lists that a notebook shows as tables: jobs, ended jobs, a folder's entries,
clusters, partitions."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from .units import duration, size_text, when

#: (heading, function of an item returning the cell's text)
Column = tuple[str, Callable[[Any], Any]]


class Table(list):  # type: ignore[type-arg]
    """A list that a notebook shows as a table (every value HTML-escaped)."""

    columns: tuple[Column, ...] = ()
    empty = "(none)"

    def _rows(self) -> list[list[str]]:
        return [
            ["" if (v := fn(item)) is None else str(v) for _, fn in self.columns] for item in self
        ]

    def __repr__(self) -> str:
        if not self:
            return self.empty
        heads = [h for h, _ in self.columns]
        rows = self._rows()
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)).rstrip()]
        lines += [
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        ]
        return "\n".join(lines)

    __str__ = __repr__

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        if not self:
            return f"<p>{html.escape(self.empty)}</p>"
        head = "".join(f"<th>{html.escape(h)}</th>" for h, _ in self.columns)
        body = "".join(
            "<tr>"
            + "".join(f'<td style="text-align:left">{html.escape(c)}</td>' for c in row)
            + "</tr>"
            for row in self._rows()
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _ts(key: str) -> Callable[[dict[str, Any]], str]:
    return lambda info: w.strftime("%Y-%m-%d %H:%M") if (w := when(info.get(key))) else ""


class JobList(Table):
    """Jobs (a list of :class:`Job`) that a notebook shows as a table."""

    columns: tuple[Column, ...] = (
        ("id", lambda j: j.id),
        ("name", lambda j: j.info.get("name")),
        ("state", lambda j: j.info.get("state")),
        ("user", lambda j: j.info.get("user")),
        ("partition", lambda j: j.info.get("partition")),
        ("submitted", lambda j: _ts("submitted")(j.info)),
        ("elapsed", lambda j: duration(j.info.get("elapsed"))),
        ("time limit", lambda j: duration(j.info.get("time_limit"))),
        ("exit", lambda j: j.info.get("exit_code")),
        ("reason", lambda j: j.info.get("reason")),
    )
    empty = "(no jobs)"


def _percent(fraction: float | None) -> str:
    return "" if fraction is None else f"{fraction * 100:.0f} %"


def _memory_peak(info: dict[str, Any]) -> str:
    peak, asked = info.get("memory_peak_mb"), info.get("memory_mb")
    if peak is None:
        return ""
    text = size_text(round(peak * 1024 * 1024))
    return f"{text} ({_percent(peak / asked)})" if asked else text


class HistoryList(JobList):
    """Ended jobs, with what they used: CPU efficiency and peak memory (of the request)."""

    columns = (
        *(c for c in JobList.columns if c[0] not in ("user", "time limit", "reason")),
        ("cpu", lambda j: _percent(j.cpu_efficiency)),
        ("memory peak", lambda j: _memory_peak(j.info)),
        ("ended", lambda j: _ts("ended")(j.info)),
        ("reason", lambda j: j.info.get("reason")),
    )
    empty = "(no ended jobs)"


class Listing(Table):
    """A folder's entries (dicts: ``name``, ``path``, ``type``, ``size``, ``modified``, ...)."""

    columns = (
        ("name", lambda e: e["name"] + ("/" if e["type"] == "directory" else "")),
        ("type", lambda e: e["type"]),
        ("size", lambda e: "" if e["type"] == "directory" else size_text(e["size"])),
        (
            "modified",
            lambda e: (
                e["modified"].astimezone().strftime("%Y-%m-%d %H:%M") if e["modified"] else ""
            ),
        ),
    )
    empty = "(empty folder)"


class ClusterList(Table):
    """The clusters (dicts as ``GET /jupyter-rpc/clusters`` describes them)."""

    columns = (
        ("name", lambda c: c["name"]),
        ("display name", lambda c: c.get("display_name")),
        ("kind", lambda c: c.get("kind")),
        ("scheduler", lambda c: c.get("scheduler")),
        ("host", lambda c: c.get("host")),
        ("state", lambda c: c.get("state")),
    )
    empty = "(no clusters)"

    @property
    def names(self) -> list[str]:
        """Just the names, for ``jupyter_rpc.cluster(name)``."""
        return [c["name"] for c in self]


class PartitionList(Table):
    """Partitions (queues) with their limits (minutes, MB)."""

    columns = (
        ("name", lambda p: p["name"] + (" (default)" if p.get("default") else "")),
        ("state", lambda p: p.get("state")),
        ("max time", lambda p: duration(p["max_time"] * 60) if p.get("max_time") else "unlimited"),
        ("max nodes", lambda p: p.get("max_nodes")),
        ("cpus/node", lambda p: p.get("max_cpus_per_node")),
        (
            "memory/node",
            lambda p: size_text(p["max_memory_mb"] * 1024 * 1024) if p.get("max_memory_mb") else "",
        ),
        ("gpus/node", lambda p: p.get("gpus")),
    )
    empty = "(no partitions)"
