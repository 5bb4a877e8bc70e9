"""Run modules written for demessaging (DASF's backend library) unchanged.

Two demessaging features are honoured without importing demessaging or deprogressapi
(jupyter_rpc does not depend on them):

* ``@demessaging.configure(field_params={"param": {"min_length": 1, ...}})`` on a
  function or method: the pydantic ``Field`` arguments are applied to those parameters
  (:func:`field_params`);
* deprogressapi progress reports, below.

A demessaging module asks for a progress report by annotating a parameter with
``deprogressapi.ProgressReport`` (any ``BaseReport`` subclass, also inside ``Optional``)::

    def count(n: int, reporter: ProgressReport = ProgressReport(step_message="Counting")):
        with reporter:                       # sends the tree, status running
            sub = reporter.create_subreport(step_message="step 1")
            sub.submit(); ...; sub.complete()  # sends the whole tree again

Under our runner such a parameter gets, for every call, a fresh copy of its default
report (or an empty one) whose messaging hook (``report._pulsar``, which demessaging sets
to its broker connection) is a :class:`ReportSink`: every ``submit()`` hands the report's
JSON (the whole tree, deprogressapi's shape) to the call's progress channel, so clients
receive the very progress frames a demessaging backend sends (throttled like our own
:class:`~jupyter_rpc.backend.progress.Progress`). A cancelled call raises
:class:`~jupyter_rpc.backend.progress.Cancelled` from the next ``submit()``.

deprogressapi is not imported here: report classes are recognised by their base class's
module and name, so jupyter_rpc does not depend on it.
"""

from __future__ import annotations

import json
import threading
import types
import typing
from typing import Annotated, Any, TypeGuard, Union

from .progress import Progress

__all__ = ["ReportSink", "field_params", "make_report", "report_class"]


def field_params(func: Any) -> dict[str, dict[str, Any]]:
    """``@configure(field_params=...)`` of a demessaging function: parameter -> Field kwargs."""
    config = getattr(func, "__pulsar_config__", None)
    params = getattr(config, "field_params", None)
    if not isinstance(params, dict):
        return {}
    return {str(k): dict(v) for k, v in params.items() if isinstance(v, dict)}


def _is_report_class(candidate: Any) -> TypeGuard[type]:
    if not isinstance(candidate, type):
        return False
    return any(
        klass.__name__ == "BaseReport" and klass.__module__.startswith("deprogressapi")
        for klass in candidate.__mro__
    )


def report_class(annotation: Any) -> type | None:
    """The deprogressapi report class a parameter is annotated with (None if it is not)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return report_class(typing.get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        for arg in typing.get_args(annotation):
            if _is_report_class(arg):
                return arg
        return None
    return annotation if _is_report_class(annotation) else None


class _ReportTree:
    """A submitted report tree, as the progress channel sees a root node."""

    def __init__(self, tree: dict[str, Any]) -> None:
        self._lock = threading.RLock()
        self._tree = tree

    @property
    def status(self) -> str:
        return str(self._tree.get("status", "running"))

    @status.setter
    def status(self, value: str) -> None:
        self._tree["status"] = value

    def to_dict(self) -> dict[str, Any]:
        return self._tree


class ReportSink:
    """Stands in for demessaging's connection in ``report._pulsar``."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def send_response(
        self,
        request: Any = None,
        msg_type: Any = None,
        response_payload: Any = None,
        response_properties: Any = None,
        **_: Any,
    ) -> None:
        self._progress.check()
        if isinstance(response_payload, (bytes, bytearray)):
            response_payload = response_payload.decode("utf-8")
        tree = (
            json.loads(response_payload) if isinstance(response_payload, str) else response_payload
        )
        if not isinstance(tree, dict):
            return
        hook = self._progress._on_change
        if hook is not None:
            hook(_ReportTree(tree))  # type: ignore[arg-type]


def make_report(cls: type, default: Any, progress: Progress) -> Any:
    """A fresh report for one call, wired to the call's progress."""
    if isinstance(default, cls):
        report = default.model_copy(deep=True)  # type: ignore[attr-defined]
    else:
        report = cls.model_validate(cls.get_dummy_arguments())  # type: ignore[attr-defined]
    settings = getattr(report, "settings", None)
    if settings is not None:
        try:  # never draw in the backend's terminal (curses), even after the call
            settings.show_method = type(settings.show_method)("NONE")
        except (TypeError, ValueError):
            pass
    report._pulsar = ReportSink(progress)
    report._request = {}
    return report
