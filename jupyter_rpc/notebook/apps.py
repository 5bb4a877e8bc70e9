"""Interactive apps from a notebook (issue 14): ``hpc.launch("Remote desktop", hours=1)``
launches an app template on a cluster as the Launcher's card does and returns an
:class:`AppSession`: its ``url`` (the server's proxy: open it in a browser tab), its
``state``, :meth:`AppSession.wait` until it runs, :meth:`AppSession.end`.

The kernel never sees the app's secret or its node's address: the session's URL is the
Jupyter server's proxy, which checks the user's login on every request.
"""

from __future__ import annotations

import html
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

from .aio import Steps, awaitable, polling
from .client import RemoteError, Session
from .display import StatusLine
from .tables import Column, Table
from .units import duration, megabytes, quote

if TYPE_CHECKING:
    from .clusters import Cluster

#: Session states in which it may still become usable.
WAITING = frozenset({"queued", "starting"})


class SessionEnded(RemoteError):
    """The session ended (its job ended, was cancelled, or its app never started);
    the message is the server's, with the end of the job's log when the app never ran."""


class AppSession:
    """One interactive app session (a web app or a desktop running as a batch job).

    ``info`` is the server's description as last fetched; ``state`` asks again while the
    session may still change.
    """

    def __init__(self, client: Session, info: dict[str, Any]):
        self._client = client
        self.info = info

    # -- what it is ------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The session's id (12 hex digits)."""
        return str(self.info["id"])

    @property
    def app(self) -> str:
        """The app template's name (``webapp``, ``desktop``, a site's own)."""
        return str(self.info.get("app") or "")

    @property
    def cluster(self) -> str:
        """The cluster it runs on."""
        return str(self.info.get("cluster") or "")

    @property
    def job_id(self) -> str:
        """The batch job that runs it."""
        return str(self.info.get("job_id") or "")

    @property
    def path(self) -> str:
        """The proxy's path on the Jupyter server (``{base_url}jupyter-rpc/sessions/{id}/proxy/``)."""
        return str(self.info.get("url") or "")

    @property
    def url(self) -> str:
        """The proxy's full URL, as this kernel reaches the Jupyter server: open it in a
        browser where you are logged in to JupyterLab (under JupyterHub, the hub's
        address with :attr:`path`)."""
        return urllib.parse.urljoin(self._client.url, self.path)

    @property
    def state(self) -> str:
        """``queued``, ``starting``, ``running`` or ``ended`` (asked again unless ended)."""
        if self.info.get("state") != "ended" and not self._asynchronous:
            self.refresh()
        return str(self.info.get("state"))

    @property
    def message(self) -> str:
        """Why it waits or why it ended (the server's words; ``""`` while running)."""
        return str(self.info.get("message") or "")

    @property
    def time_left(self) -> float | None:
        """Seconds until its job's time limit (``None`` when not running or unknown)."""
        value = self.info.get("time_left")
        return None if value is None else float(value)

    # -- asking and acting -------------------------------------------------------------

    @property
    def _asynchronous(self) -> bool:
        return self._client.asynchronous

    @awaitable
    def refresh(self) -> AppSession:
        """Fetch the session's description again; returns the session."""
        self.info = self._client.request("GET", f"sessions/{quote(self.id)}")
        return self

    @polling
    def wait(self, timeout: float = 600.0, poll: float = 1.0) -> Steps[AppSession]:
        """Block until the app is usable (``running``); returns the session.

        A status line in the cell follows its state. If it ends instead,
        :class:`SessionEnded` says why (the end of its job's log when the app never
        started). After ``timeout`` seconds :class:`TimeoutError` is raised and the
        session goes on (:meth:`end` ends it). Interrupting stops waiting only.
        """
        status = _StatusLine(self)
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.refresh()
                status.show()
                state = self.info.get("state")
                if state == "running":
                    return self
                if state not in WAITING:
                    raise SessionEnded(
                        f"The session {self.id} ({self._name}) on {self.cluster} ended before "
                        f"it was ready: {self.message or 'no reason given'}",
                        code="session.not_running",
                        details={"session": self.id, "job_id": self.job_id},
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"The session {self.id} ({self._name}) is still {state} after "
                        f"{timeout:g} s"
                        + (f" ({self.message})" if self.message else "")
                        + "; it goes on (.end() ends it)."
                    )
                yield max(0.05, min(poll, left))
        except KeyboardInterrupt:
            status.show(note="stopped waiting; the session goes on")
            raise

    @awaitable
    def end(self) -> AppSession:
        """End the session (its job is cancelled); ending an ended one does nothing."""
        self.info = self._client.request("DELETE", f"sessions/{quote(self.id)}")
        return self

    # -- how it looks ------------------------------------------------------------------

    @property
    def _name(self) -> str:
        return str(self.info.get("display_name") or self.app)

    def __repr__(self) -> str:
        info = self.info
        bits = [
            f"AppSession {self.id}",
            repr(self._name),
            f"on {self.cluster}",
            str(info.get("state")),
        ]
        if info.get("state") == "running":
            if self.time_left is not None:
                bits.append(f"{duration(self.time_left)} left")
            bits.append(self.url)
        elif self.message:
            bits.append(f"({self.message.splitlines()[0]})")
        return f"<{' '.join(bits)}>"

    def _repr_html_(self) -> str:
        info = self.info
        running = info.get("state") == "running"
        link = (
            f'<a href="{html.escape(self.url, quote=True)}" target="_blank" '
            f'rel="noopener">{html.escape(self.url)}</a>'
            if running
            else html.escape(self.url)
        )
        rows = [
            ("session", html.escape(self.id)),
            ("app", html.escape(self._name)),
            ("cluster", html.escape(self.cluster)),
            ("job", html.escape(self.job_id)),
            ("state", html.escape(str(info.get("state", "")))),
            ("time left", html.escape(duration(self.time_left) if running else "")),
            ("message", f"<pre>{html.escape(self.message)}</pre>" if self.message else ""),
            ("url", link),
        ]
        body = "".join(
            f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>{v}</td></tr>"
            for k, v in rows
        )
        return f"<table>{body}</table>"


class SessionList(Table):
    """Sessions (a list of :class:`AppSession`) that a notebook shows as a table."""

    columns: tuple[Column, ...] = (
        ("id", lambda s: s.id),
        ("app", lambda s: s._name),
        ("cluster", lambda s: s.cluster),
        ("job", lambda s: s.job_id),
        ("state", lambda s: s.info.get("state")),
        ("time left", lambda s: duration(s.time_left) if s.time_left is not None else ""),
        ("url", lambda s: s.path),
    )
    empty = "(no sessions)"


class AppList(Table):
    """The apps a user may launch (dicts as the server lists them)."""

    columns: tuple[Column, ...] = (
        ("name", lambda a: a.get("name")),
        ("display name", lambda a: a.get("display_name")),
        ("kind", lambda a: a.get("kind")),
        (
            "clusters",
            lambda a: (
                a["clusters"] if a.get("clusters") == "*" else ", ".join(a.get("clusters") or [])
            ),
        ),
        ("description", lambda a: a.get("description")),
    )
    empty = "(no apps)"

    @property
    def names(self) -> list[str]:
        return [str(a.get("name")) for a in self]


#: launch()'s resource arguments and the form's field each fills.
_RESOURCES = ("partition", "hours", "cpus", "gpus")


def app_name(client: Session, app: str) -> str:
    """The template's name for ``app``: its name, or its display name (``"Remote
    desktop"``, any case); anything else is left for the server to refuse."""
    apps = client.request("GET", "apps")["apps"]
    if any(a.get("name") == app for a in apps):
        return app
    folded = app.casefold()
    for entry in apps:
        if str(entry.get("display_name", "")).casefold() == folded:
            return str(entry["name"])
    return app


def launch(
    cluster: Cluster,
    app: str,
    *,
    hours: float | None = None,
    cpus: int | None = None,
    gpus: int | None = None,
    partition: str | None = None,
    memory: int | str | None = None,
    **values: Any,
) -> AppSession:
    """Launch ``app`` on ``cluster`` (see :meth:`Cluster.launch`)."""
    client = cluster._session
    form: dict[str, Any] = dict(values)
    for key, value in zip(_RESOURCES, (partition, hours, cpus, gpus), strict=True):
        if value is not None:
            form[key] = value
    if memory is not None:
        form["memory_mb"] = megabytes(memory)
    body = {"app": app_name(client, app), "cluster": cluster.name, "values": form}
    return AppSession(client, client.request("POST", "sessions", body, timeout=120))


def sessions(*, url: str | None = None, token: str | None = None) -> SessionList:
    """Every interactive app session of this Jupyter server's user (ended ones too)."""
    client = Session(url, token)
    return SessionList(AppSession(client, s) for s in client.request("GET", "sessions")["sessions"])


def apps(*, url: str | None = None, token: str | None = None) -> AppList:
    """The interactive apps this Jupyter server offers."""
    return AppList(Session(url, token).request("GET", "apps")["apps"])


class _StatusLine(StatusLine):
    """The session's state as one live line in the cell (printed lines outside IPython)."""

    def __init__(self, session: AppSession):
        super().__init__()
        self.session = session

    def text(self, note: str = "") -> str:
        s = self.session
        state = str(s.info.get("state"))
        parts = [f"{s._name} on {s.cluster} (job {s.job_id}): {state}"]
        if state in WAITING and s.message:
            parts.append(s.message.splitlines()[0])
        if state == "running":
            parts.append(s.url)
        if note:
            parts.append(note)
        return " · ".join(parts)


__all__ = ["AppList", "AppSession", "SessionEnded", "SessionList", "apps", "launch", "sessions"]
