"""Interactive app sessions (issue 14): an app template launched as a batch job on a
cluster, followed from queued to running to ended, and the upstream the proxy reaches
it through. Plain asyncio, no tornado (the proxy handler lives in ``handlers/``).

Launch: the server picks the session's id and makes its folder on the cluster (0700:
``~/.jupyter-rpc/sessions/<id>`` over SSH, ``<state_dir>/sessions/<id>`` for this
machine), renders the template (:mod:`jupyter_rpc.services.apps`) and submits it through
the cluster's scheduler with ``RPC_SESSION_DIR`` in its environment and its log in
``job.log`` there. The job writes ``connection.json`` when its app listens.

States: ``queued`` (the job waits), ``starting`` (it runs, no connection file yet),
``running`` (it runs and its connection file is there: a file alone is no proof, a job
that ended without its trap leaves one), ``ended`` (the job ended, was cancelled, or
did not write its file within the template's ``start_timeout``: then it is cancelled and
the message carries the end of its log). The sessions are listed in
``<state_dir>/sessions.json`` (0600), so a restarted server finds them again; what they
are now comes from the scheduler and the session folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from ..errors import Conflict, InvalidRequest, NotFound, RemoteFailed, RPCError
from ..policy import EVERYTHING, Grant
from ..private import private_dir, write_private
from ..schedulers.base import ACTIVE_STATES
from ..ssh.forward import Forward, UnixResolver, open_forward
from .apps import (
    RESOURCES,
    AppTemplate,
    build_app,
    launch_values,
    render_script,
    user_app_problems,
)
from .clusters import Cluster, ClusterRegistry
from .jobs import JobRequest, job_spec

log = logging.getLogger(__name__)

#: A session id: 12 hex digits (also a folder name on the cluster).
SESSION_ID = re.compile(r"^[0-9a-f]{12}$")
#: Seconds a known state is reused by the proxy before the scheduler is asked again.
STATE_MAX_AGE = 5.0
#: Bytes of the job's log quoted when it failed to start.
LOG_TAIL = 2000
#: Largest connection file read (it is a few hundred bytes).
MAX_CONNECTION_FILE = 64 * 1024
#: A session folder's record of its session (written by the server that launched it),
#: from which another server, or this one after a restart, finds the session again.
SESSION_FILE = "session.json"
#: Seconds a listing waits for the clusters' session folders to be read (a cluster that
#: answers later adds its sessions to a later listing).
DISCOVERY_WAIT = 5.0
#: Seconds before a cluster whose session folders could not be read is tried again.
DISCOVERY_RETRY = 60.0


@dataclass
class Upstream:
    """Where the proxy sends a session's requests (``token``: the app's secret, which
    the proxy adds and the browser never sees)."""

    url: str  # http://host:port (no path)
    host_header: str
    token: str
    kind: str
    strip_prefix: bool
    prefix: str  # the public path of the session's proxy, ending in /
    resolver: UnixResolver | None = None
    #: A desktop's VNC password: the proxy answers the VNC server's challenge with it,
    #: so the browser's viewer connects without one (it never sees it).
    password: str | None = field(default=None, repr=False)


@dataclass
class Session:
    id: str
    app: str
    display_name: str
    kind: str
    cluster: str
    job_id: str
    folder: str
    created: float
    values: dict[str, Any]
    strip_prefix: bool
    start_timeout: float
    state: str = "queued"
    message: str = ""
    time_left: float | None = None
    started: float | None = None
    ended_at: float | None = None
    checked: float = 0.0
    connection: dict[str, Any] | None = field(default=None, repr=False)
    forward: Forward | None = field(default=None, repr=False)

    def record(self) -> dict[str, Any]:
        """What sessions.json keeps (no secret: the connection is read again)."""
        return {
            "id": self.id,
            "app": self.app,
            "display_name": self.display_name,
            "kind": self.kind,
            "cluster": self.cluster,
            "job_id": self.job_id,
            "folder": self.folder,
            "created": self.created,
            "values": self.values,
            "strip_prefix": self.strip_prefix,
            "start_timeout": self.start_timeout,
            "state": self.state if self.state == "ended" else "queued",
            "message": self.message if self.state == "ended" else "",
            "ended_at": self.ended_at,
        }

    def to_json(self, base_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "app": self.app,
            "display_name": self.display_name,
            "kind": self.kind,
            "cluster": self.cluster,
            "job_id": self.job_id,
            "state": self.state,
            "message": self.message,
            "created": self.created,
            "started": self.started,
            "time_left": None if self.time_left is None else round(self.time_left),
            "values": self.values,
            "url": proxy_prefix(base_url, self.id),
        }


def proxy_prefix(base_url: str, session_id: str) -> str:
    """The public path of a session's proxy, ``{base_url}jupyter-rpc/sessions/{id}/proxy/``."""
    return f"{base_url.rstrip('/')}/jupyter-rpc/sessions/{session_id}/proxy/"


class SessionService:
    """Every session of this server's user (one Jupyter server is one user's)."""

    def __init__(
        self,
        clusters: ClusterRegistry,
        apps: dict[str, AppTemplate],
        state_dir: str | os.PathLike[str],
        base_url: str = "/",
        *,
        allow_user_apps: bool = True,
        ended_session_ttl: float = 86400.0,
    ) -> None:
        self.clusters = clusters
        self.apps = dict(apps)
        self.base_url = base_url
        self.state_dir = Path(state_dir)
        self.allow_user_apps = allow_user_apps
        #: Seconds an ended session stays listed (and its folder kept) before both go.
        self.ended_session_ttl = ended_session_ttl
        #: cluster name -> the task reading its session folders, and when it ended
        self._discovery: dict[str, asyncio.Task[None]] = {}
        self._discovered: dict[str, float] = {}
        self._index = self.state_dir / "sessions.json"
        self._sessions: dict[str, Session] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._user_apps: dict[str, dict[str, Any]] = {}
        self._load()
        self._load_user_apps()

    # -- templates ---------------------------------------------------------------------

    def app(self, name: str) -> AppTemplate:
        template = self.apps.get(name)
        if template is None:
            raise NotFound(
                f"There is no app '{name}' (this server has: {', '.join(sorted(self.apps)) or 'none'}).",
                code="app.not_found",
                details={"app": name},
            )
        return template

    def form(self, name: str, cluster_name: str) -> dict[str, Any]:
        """The launch form of app ``name`` on ``cluster_name`` (JSON Schema)."""
        template = self.app(name)
        cluster = self.clusters.get(cluster_name)
        self._runs_on(template, cluster)
        return template.schema(cluster.config.get("submit"))

    @staticmethod
    def _runs_on(template: AppTemplate, cluster: Cluster) -> None:
        if not template.runs_on(cluster.name):
            raise InvalidRequest(
                f"The app '{template.display_name}' does not run on cluster '{cluster.name}' "
                f"(it runs on: {', '.join(template.clusters)}).",
                code="app.not_here",
                details={"app": template.name, "cluster": cluster.name},
            )

    # -- a user's own templates ------------------------------------------------------------

    @property
    def user_apps_file(self) -> Path:
        return self.state_dir / "apps.json"

    def _load_user_apps(self) -> None:
        """The user's templates from ``apps.json``, each checked as a new one is (the
        user can write the file through the files API): one that fails is skipped and
        the log says why. Not read at all with ``allow_user_apps`` false."""
        try:
            data = json.loads(self.user_apps_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("jupyter_rpc: cannot read %s: %s", self.user_apps_file, exc)
            return
        if not self.allow_user_apps:
            log.warning(
                "jupyter_rpc: the apps in %s are not loaded: RPCApp.allow_user_apps is false",
                self.user_apps_file,
            )
            return
        for name, entry in data.items() if isinstance(data, dict) else ():
            if name in self.apps:
                log.warning(
                    "jupyter_rpc: your app %r is hidden by the site's app of that name", name
                )
                continue
            problems = user_app_problems(name, entry)
            if problems:
                log.warning("jupyter_rpc: your app %r is ignored: %s", name, "; ".join(problems))
                continue
            self._user_apps[name] = entry
            self.apps[name] = build_app(name, entry, "user")

    def _save_user_apps(self) -> None:
        private_dir(self.state_dir)
        tmp = self.user_apps_file.with_name(f".apps.{os.getpid()}.tmp")
        write_private(tmp, json.dumps(self._user_apps, indent=1))
        os.replace(tmp, self.user_apps_file)

    def add_user_app(self, body: dict[str, Any], grant: Grant = EVERYTHING) -> AppTemplate:
        """Add a template of the user's own (``body``: ``name`` and what a site's entry
        may say), checked as a site's is and more (:func:`user_app_problems`); it may
        name only clusters the user may use."""
        if not self.allow_user_apps:
            raise RPCError(
                "This site does not allow adding apps of your own; ask your administrator.",
                code="app.user_apps_disabled",
                status=403,
            )
        if not grant.allows_app("", user_defined=True):  # only under "apps": "*"
            name = body.get("name")
            grant.check_app(name if isinstance(name, str) else "", user_defined=True)
        entry = dict(body)
        name = entry.pop("name", None)
        problems = user_app_problems(name, entry)
        if problems:
            raise InvalidRequest(
                f"The app is not valid: {'; '.join(problems)}",
                code="app.invalid",
                details={"problems": problems},
            )
        assert isinstance(name, str)
        if name in self.apps:
            raise RPCError(
                f"An app named '{name}' exists already.",
                code="app.exists",
                status=409,
                details={"app": name},
            )
        clusters = entry.get("clusters", "*")
        for cluster in [] if clusters == "*" else clusters:
            try:
                user_defined = self.clusters.get(cluster).source == "user"
            except NotFound:
                user_defined = False
            grant.check_cluster(cluster, user_defined=user_defined)
        template = build_app(name, entry, "user")
        self._user_apps[name] = entry
        self.apps[name] = template
        self._save_user_apps()
        log.info("jupyter_rpc: the user added app %r", name)
        return template

    def remove_user_app(self, name: str) -> None:
        """Remove a template of the user's own (a site's: 403 ``app.site_defined``)."""
        template = self.app(name)
        if template.source != "user":
            raise RPCError(
                f"The app '{name}' is the site's and cannot be removed here.",
                code="app.site_defined",
                status=403,
                details={"app": name},
            )
        del self.apps[name]
        self._user_apps.pop(name, None)
        self._save_user_apps()

    # -- launch ------------------------------------------------------------------------

    async def launch(
        self,
        app_name: str,
        cluster_name: str,
        body: dict[str, Any],
        grant: Grant = EVERYTHING,
    ) -> Session:
        """Launch app ``app_name`` on ``cluster_name`` with the form's values ``body``."""
        template = self.app(app_name)
        grant.check_app(template.name, user_defined=template.source == "user")
        cluster = self.clusters.get(cluster_name)
        self._runs_on(template, cluster)
        scheduler = cluster.need_scheduler()
        values = launch_values(template, template.schema(cluster.config.get("submit")), body)
        sid = secrets.token_hex(6)
        folder = await self._make_folder(cluster, sid)
        script = render_script(
            template,
            values,
            app=template.name,
            base_path=proxy_prefix(self.base_url, sid),
            session=sid,
            start_seconds=max(5, int(template.start_timeout)),
        )
        request: JobRequest = {
            "script": script,
            "name": f"rpc-{template.name}"[:64],
            "workdir": folder,
            "stdout": f"{folder}/job.log",
            "env": {"RPC_SESSION_DIR": folder},
        }
        if cluster.config.get("scheduler") == "local":
            # the app's errors beside the script's lines, as Slurm does without --error
            # (the local scheduler writes stderr to job-<id>.err otherwise)
            request["stderr"] = request["stdout"]
        if values.get("partition"):
            request["partition"] = values["partition"]
        if values.get("hours"):
            request["time_limit"] = max(1, round(float(values["hours"]) * 60))
        if values.get("cpus"):
            request["cpus"] = int(values["cpus"])
        if values.get("gpus"):
            request["gpus"] = int(values["gpus"])
        if values.get("memory_mb"):
            request["memory_mb"] = int(values["memory_mb"])
        spec = await job_spec(cluster, request, grant)
        spec.workdir = folder  # the session's folder, not the cluster's default
        job_id = await scheduler.submit(spec)
        cluster.jobs_changed()
        public = {k: v for k, v in values.items() if k not in ("partition",) or v}
        session = Session(
            id=sid,
            app=template.name,
            display_name=template.display_name,
            kind=template.kind,
            cluster=cluster.name,
            job_id=job_id,
            folder=folder,
            created=time.time(),
            values=public,
            strip_prefix=bool(values.get("strip_prefix", template.strip_prefix)),
            start_timeout=template.start_timeout,
        )
        self._sessions[sid] = session
        self._save()
        await self._write_record(cluster, session)
        log.info("session %s: %s on %s, job %s", sid, template.name, cluster.name, job_id)
        self._spawn(self._follow(session), f"session {sid}")
        return session

    async def _sessions_root(self, cluster: Cluster) -> str:
        """The folder of the session folders: ``~/.jupyter-rpc/sessions`` on an SSH
        cluster, ``<state_dir>/sessions`` for this machine."""
        if cluster.target is None:
            return str(self.state_dir / "sessions")
        assert cluster.pool is not None
        sftp = await cluster.pool.sftp(cluster.target)
        home = await sftp.realpath(".")
        return f"{home.rstrip('/')}/.jupyter-rpc/sessions"

    async def _make_folder(self, cluster: Cluster, sid: str) -> str:
        if cluster.target is None:
            return str(private_dir(self.state_dir / "sessions" / sid))
        assert cluster.pool is not None
        sftp = await cluster.pool.sftp(cluster.target)
        try:
            home = await sftp.realpath(".")
            path = home.rstrip("/")
            for part in (".jupyter-rpc", "sessions", sid):
                path = f"{path}/{part}"
                with contextlib.suppress(asyncssh.SFTPFailure, asyncssh.SFTPFileAlreadyExists):
                    await sftp.mkdir(path, asyncssh.SFTPAttrs(permissions=0o700))
                await sftp.chmod(path, 0o700)
        except (asyncssh.Error, OSError) as exc:
            raise RemoteFailed(
                f"Cannot make the session's folder on {cluster.name}: {exc}",
                code="session.failed",
            ) from None
        return path

    # -- state -------------------------------------------------------------------------

    def sessions(self) -> list[Session]:
        return sorted(self._sessions.values(), key=lambda s: s.created)

    def get(self, sid: str) -> Session:
        session = self._sessions.get(sid) if SESSION_ID.match(sid) else None
        if session is None:
            raise NotFound(
                f"There is no session '{sid}'.",
                code="session.not_found",
                details={"session": sid},
            )
        return session

    async def lookup(self, sid: str) -> Session:
        """:meth:`get`, after the clusters' session folders were read (a session this
        server has not seen yet: launched before a restart that lost its state, or by
        another server of the same user)."""
        if SESSION_ID.match(sid) and sid not in self._sessions:
            await self.discover()
        return self.get(sid)

    async def refresh_all(self) -> list[Session]:
        await self.discover()
        sessions = self.sessions()
        await asyncio.gather(
            *(self.refresh(s) for s in sessions if s.state != "ended"), return_exceptions=True
        )
        await self.sweep()
        return self.sessions()

    # -- sessions found again from the clusters' session folders -------------------------

    async def discover(self, wait: float = DISCOVERY_WAIT) -> None:
        """Read each cluster's session folders once (again after a failure, at most every
        :data:`DISCOVERY_RETRY` s), adding the sessions this server does not know; waits
        up to ``wait`` s for clusters read for the first time (they go on in the
        background after that, as retries do)."""
        now = time.monotonic()
        for cluster in list(self.clusters):
            if cluster.scheduler is None or cluster.name in self._discovery:
                continue
            if cluster.pool is not None and cluster.target is not None:
                if cluster.pool.state(cluster.target)["state"] in ("auth_required", "error"):
                    continue  # the user answers the prompt (or fixes it) first
            failed = self._discovered.get(cluster.name)
            if failed is not None and (failed == 0.0 or now - failed < DISCOVERY_RETRY):
                continue  # read already (0.0), or failed a moment ago
            self._discovery[cluster.name] = self._spawn(
                self._discover(cluster), f"sessions of {cluster.name}"
            )
        pending = [  # a retry goes on in the background
            t for name, t in self._discovery.items() if name not in self._discovered
        ]
        if pending:
            await asyncio.wait(pending, timeout=wait)

    async def _discover(self, cluster: Cluster) -> None:
        ok = False
        try:
            root = await self._sessions_root(cluster)
            for sid, record in await self._records(cluster, root):
                if sid in self._sessions:
                    continue
                session = self._adopt(cluster, root, sid, record)
                if session is not None:
                    log.info(
                        "session %s found again on %s (job %s)", sid, cluster.name, session.job_id
                    )
            ok = True
        except (RPCError, asyncssh.Error, OSError) as exc:
            log.info("the session folders of %s cannot be read now: %s", cluster.name, exc)
        except Exception:  # noqa: BLE001 - a cluster's folders never stop the listing
            log.exception("reading the session folders of %s failed", cluster.name)
        finally:
            self._discovery.pop(cluster.name, None)
            self._discovered[cluster.name] = 0.0 if ok else time.monotonic()
        if ok:
            self._save()

    async def _records(self, cluster: Cluster, root: str) -> list[tuple[str, dict[str, Any]]]:
        """The session records (``session.json``) under ``root``, by session id."""
        if cluster.target is None:

            def read_all() -> list[tuple[str, dict[str, Any]]]:
                found = []
                try:
                    names = os.listdir(root)
                except FileNotFoundError:
                    return []
                for name in names:
                    if not SESSION_ID.match(name) or name in self._sessions:
                        continue
                    try:
                        with open(os.path.join(root, name, SESSION_FILE), "rb") as f:
                            record = _record(f.read(MAX_CONNECTION_FILE))
                    except OSError:
                        continue
                    if record is not None:
                        found.append((name, record))
                return found

            return await asyncio.get_running_loop().run_in_executor(None, read_all)
        assert cluster.pool is not None
        sftp = await cluster.pool.sftp(cluster.target)
        try:
            names = await sftp.listdir(root)
        except asyncssh.SFTPNoSuchFile:
            return []
        wanted = [n for n in names if SESSION_ID.match(n) and n not in self._sessions]
        found = []
        for start in range(0, len(wanted), 16):  # a round trip each: 16 at a time
            batch = wanted[start : start + 16]
            datas = await asyncio.gather(
                *(
                    self._read(cluster, f"{root}/{name}/{SESSION_FILE}", MAX_CONNECTION_FILE)
                    for name in batch
                )
            )
            for name, data in zip(batch, datas, strict=True):
                record = _record(data) if data else None
                if record is not None:
                    found.append((name, record))
        return found

    def _adopt(
        self, cluster: Cluster, root: str, sid: str, record: dict[str, Any]
    ) -> Session | None:
        """A session from its folder's record (its state is the scheduler's, asked on
        the next refresh). Another configured cluster's record (two names for one
        account) is left to that cluster."""
        named = record.get("cluster")
        if named != cluster.name and any(c.name == named for c in self.clusters):
            return None
        try:
            session = Session(
                **{k: v for k, v in record.items() if k in _RECORD_KEYS},
            )
        except TypeError:
            return None
        if session.id != sid or not isinstance(session.job_id, str) or not session.job_id:
            return None
        session.cluster = cluster.name
        session.folder = f"{root}/{sid}"
        if session.state != "ended":
            session.state, session.message, session.ended_at = "queued", "", None
        elif not session.ended_at:
            session.ended_at = time.time()
        self._sessions[sid] = session
        return session

    async def _write_record(self, cluster: Cluster, session: Session) -> None:
        """Write ``session.json`` in the session's folder (best effort: a session whose
        record could not be written is still this server's)."""
        data = json.dumps(session.record(), indent=1).encode()
        path = f"{session.folder}/{SESSION_FILE}"
        tmp = f"{session.folder}/.{SESSION_FILE}.tmp"
        try:
            if cluster.target is None:
                write_private(Path(tmp), data.decode())
                os.replace(tmp, path)
                return
            assert cluster.pool is not None
            sftp = await cluster.pool.sftp(cluster.target)
            async with sftp.open(tmp, "wb", asyncssh.SFTPAttrs(permissions=0o600)) as f:
                await f.write(data)
            await sftp.posix_rename(tmp, path)
        except (RPCError, asyncssh.Error, OSError) as exc:
            log.info("session %s: its record in %s cannot be written: %s", session.id, path, exc)

    async def sweep(self) -> None:
        """Forget the sessions that ended more than :attr:`ended_session_ttl` s ago and
        remove their folders (on the cluster, and this machine's), so nothing piles up."""
        cutoff = time.time() - self.ended_session_ttl
        old = [
            s
            for s in self._sessions.values()
            if s.state == "ended" and s.ended_at is not None and s.ended_at < cutoff
        ]
        if not old:
            return
        for session in old:
            self._sessions.pop(session.id, None)
            self._locks.pop(session.id, None)
        self._save()
        for session in old:
            await self._remove_folder(session)

    async def _remove_folder(self, session: Session) -> None:
        try:
            cluster = self.clusters.get(session.cluster)
        except NotFound:
            return
        folder = session.folder
        if not SESSION_ID.match(folder.rstrip("/").rsplit("/", 1)[-1]):
            return  # never anything but a session's own folder
        try:
            if cluster.target is None:
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: shutil.rmtree(folder, ignore_errors=True)
                )
            else:
                assert cluster.pool is not None
                sftp = await cluster.pool.sftp(cluster.target)
                await sftp.rmtree(folder, ignore_errors=True)
            log.info("session %s: its folder %s removed (ended long ago)", session.id, folder)
        except (RPCError, asyncssh.Error, OSError) as exc:
            log.info("session %s: its folder %s cannot be removed now: %s", session.id, folder, exc)

    async def refresh(self, session: Session, max_age: float = 0.0) -> Session:
        """Ask the scheduler (and the session folder) what ``session`` is now."""
        if session.state == "ended" or time.monotonic() - session.checked < max_age:
            return session
        lock = self._locks.setdefault(session.id, asyncio.Lock())
        async with lock:
            if session.state == "ended" or time.monotonic() - session.checked < max_age:
                return session
            await self._refresh(session)
            session.checked = time.monotonic()
        return session

    async def _refresh(self, session: Session) -> None:
        try:
            cluster = self.clusters.get(session.cluster)
        except NotFound:
            await self._end(session, f"Its cluster '{session.cluster}' is no longer configured.")
            return
        scheduler = cluster.need_scheduler()
        try:
            job = await scheduler.get_job(session.job_id)
        except NotFound:
            await self._end(session, f"The scheduler no longer knows its job {session.job_id}.")
            return
        now = time.time()
        if job.state in ("pending", "held"):
            session.state = "queued"
            session.message = job.reason or ""
            return
        if job.state not in ACTIVE_STATES:
            tail = "" if session.connection else await self._log_tail(cluster, session)
            why = f"Its job {session.job_id} ended ({job.state}" + (
                f": {job.reason})" if job.reason else ")"
            )
            if tail:
                why += f" before the app was ready. The end of its log:\n{tail}"
            await self._end(session, why + ("" if tail else "."))
            return
        session.started = job.started or session.started or now
        if job.time_limit:
            session.time_left = max(0.0, job.time_limit - (now - session.started))
        if session.connection is None:
            session.connection = await self._read_connection(cluster, session)
        if session.connection is not None:
            session.state, session.message = "running", ""
            return
        session.state = "starting"
        waited = now - session.started
        if waited > session.start_timeout:
            tail = await self._log_tail(cluster, session)
            with contextlib.suppress(RPCError):
                await scheduler.cancel(session.job_id)
            cluster.jobs_changed()
            await self._end(
                session,
                f"The app did not start within {session.start_timeout:g} s (no connection "
                f"file in its session folder); its job {session.job_id} was cancelled."
                + (f" The end of its log:\n{tail}" if tail else ""),
            )

    async def _end(self, session: Session, message: str) -> None:
        session.state, session.message = "ended", message
        session.ended_at = session.ended_at or time.time()
        session.connection = None
        session.time_left = None
        forward, session.forward = session.forward, None
        self._save()
        if forward is not None:
            await forward.close()
        with contextlib.suppress(NotFound):
            await self._write_record(self.clusters.get(session.cluster), session)
        log.info("session %s ended: %s", session.id, message.splitlines()[0] if message else "")

    async def _read(
        self, cluster: Cluster, path: str, limit: int, tail: bool = False
    ) -> bytes | None:
        """Up to ``limit`` bytes of a file on the cluster (its end with ``tail``);
        ``None`` if it is not there."""
        if cluster.target is None:

            def read() -> bytes | None:
                try:
                    with open(path, "rb") as f:
                        if tail:
                            f.seek(max(0, os.fstat(f.fileno()).st_size - limit))
                        return f.read(limit)
                except (FileNotFoundError, NotADirectoryError):
                    return None

            return await asyncio.get_running_loop().run_in_executor(None, read)
        assert cluster.pool is not None
        sftp = await cluster.pool.sftp(cluster.target)
        try:
            async with sftp.open(path, "rb") as f:
                if tail:
                    size = (await f.stat()).size or 0
                    await f.seek(max(0, size - limit))
                data: Any = await f.read(limit)
                return data if isinstance(data, bytes) else None
        except asyncssh.SFTPNoSuchFile:
            return None
        except (asyncssh.Error, OSError):
            log.debug("session folder %s: cannot read %s", cluster.name, path, exc_info=True)
            return None

    async def _read_connection(self, cluster: Cluster, session: Session) -> dict[str, Any] | None:
        data = await self._read(cluster, f"{session.folder}/connection.json", MAX_CONNECTION_FILE)
        if not data:
            return None
        try:
            info = json.loads(data)
        except ValueError:
            return None  # being written (it is renamed into place, so: someone else's)
        if not isinstance(info, dict) or not isinstance(info.get("token"), str):
            return None
        has_port = isinstance(info.get("host"), str) and isinstance(info.get("port"), int)
        if not has_port and not isinstance(info.get("socket"), str):
            return None
        return info

    async def _log_tail(self, cluster: Cluster, session: Session) -> str:
        data = await self._read(cluster, f"{session.folder}/job.log", LOG_TAIL, tail=True)
        return data.decode("utf-8", "replace").strip() if data else ""

    async def _follow(self, session: Session) -> None:
        """Follow a new session until it runs or ends (its start bound is enforced
        even when nobody looks)."""
        delay = 0.3
        while session.state in ("queued", "starting"):
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 3.0)
            try:
                await self.refresh(session)
            except RPCError as exc:
                log.info("session %s: %s", session.id, exc.message)
            except Exception:  # noqa: BLE001 - a follower's failure is logged, never raised
                log.exception("session %s: following it failed", session.id)

    # -- end -----------------------------------------------------------------------------

    async def end(self, sid: str) -> Session:
        """End a session: cancel its job (an ended job is fine)."""
        session = await self.lookup(sid)
        if session.state != "ended":
            cluster = self.clusters.get(session.cluster)
            try:
                await cluster.need_scheduler().cancel(session.job_id)
            except (NotFound, Conflict):
                pass
            cluster.jobs_changed()
            await self._end(session, "Ended by the user.")
        return session

    # -- the proxy's upstream --------------------------------------------------------------

    async def upstream(self, sid: str) -> Upstream:
        """Where to send a request of session ``sid`` (409 ``session.not_running``)."""
        session = await self.lookup(sid)
        await self.refresh(session, max_age=STATE_MAX_AGE)
        info = session.connection
        if session.state != "running" or info is None:
            raise Conflict(
                f"The session '{session.display_name}' is {session.state}"
                + (f": {session.message}" if session.message else ".")
                + ("" if session.state == "ended" else " Try again once it is running."),
                code="session.not_running",
                details={"session": sid, "state": session.state},
            )
        cluster = self.clusters.get(session.cluster)
        host, port = info.get("host", "localhost"), info.get("port", 80)
        resolver = None
        if cluster.target is not None or "socket" in info:
            if session.forward is None or not session.forward.alive:
                if cluster.target is None:  # a socket on this machine
                    resolver = UnixResolver(str(info["socket"]))
                else:
                    assert cluster.pool is not None
                    if session.forward is not None:
                        forward, session.forward = session.forward, None
                        await forward.close()
                    session.forward = await open_forward(
                        cluster.pool,
                        cluster.target,
                        **(
                            {"remote_socket": info["socket"]}
                            if "socket" in info
                            else {"host": host, "port": port}
                        ),
                    )
            if session.forward is not None:
                resolver = session.forward.resolver()
        return Upstream(
            url=f"http://{_url_host(host)}:{int(port)}",
            host_header=f"{_url_host(host)}:{int(port)}",
            token=str(info["token"]),
            kind=session.kind,
            strip_prefix=session.strip_prefix,
            prefix=proxy_prefix(self.base_url, sid),
            resolver=resolver,
            password=str(info["password"]) if isinstance(info.get("password"), str) else None,
        )

    async def lost(self, sid: str) -> None:
        """The proxy could not reach the app: ask the scheduler before the next request."""
        session = self._sessions.get(sid)
        if session is not None:
            session.checked = 0.0
            session.connection = None
            forward, session.forward = session.forward, None
            if forward is not None:
                await forward.close()

    # -- persistence -----------------------------------------------------------------------

    def _load(self) -> None:
        try:
            records = json.loads(self._index.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError):
            log.warning("%s cannot be read: its sessions are not listed", self._index)
            return
        for record in records if isinstance(records, list) else []:
            try:
                session = Session(**{k: v for k, v in record.items() if k in _RECORD_KEYS})
            except TypeError:
                continue
            if SESSION_ID.match(session.id):
                self._sessions[session.id] = session

    def _save(self) -> None:
        private_dir(self.state_dir)
        records = [s.record() for s in self.sessions()]
        tmp = self._index.with_suffix(".tmp")
        write_private(tmp, json.dumps(records, indent=1))
        os.replace(tmp, self._index)

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        """The server stops: the apps run on (their jobs are the scheduler's), the
        forwards close."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)
        for session in self._sessions.values():
            forward, session.forward = session.forward, None
            if forward is not None:
                await forward.close()


# -- VNC (RFB 3.8) authentication on the browser's behalf -----------------------------

#: The protocol version both sides of the proxy speak (RFC 6143).
RFB_VERSION = b"RFB 003.008\n"


class RFBError(Exception):
    """The VNC server refused us, or spoke something else."""


class ByteReader:
    """Exact reads over a stream of messages (a websocket's binary frames)."""

    def __init__(self, next_message: Any) -> None:
        self._next = next_message
        self._buffer = bytearray()

    async def read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            message = await self._next()
            if message is None:
                raise RFBError("the connection closed during the VNC handshake")
            self._buffer += message if isinstance(message, bytes) else message.encode()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def rest(self) -> bytes:
        """What was received beyond the reads (it belongs to the relay)."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


def vnc_response(challenge: bytes, password: str) -> bytes:
    """VncAuth's answer: the 16-byte challenge DES-encrypted with the password's first
    8 bytes, each byte's bits reversed (RFB's quirk)."""
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    key = password.encode("latin-1", "replace")[:8].ljust(8, b"\0")
    key = bytes(int(f"{b:08b}"[::-1], 2) for b in key)
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()  # 3 equal keys: DES
    return encryptor.update(challenge) + encryptor.finalize()


async def vnc_login(reader: ByteReader, send: Any, password: str | None) -> None:
    """Authenticate to the VNC server behind ``reader``/``send`` (RFB 3.8, VncAuth or
    None); afterwards the server waits for ClientInit."""
    version = await reader.read(12)
    if not version.startswith(b"RFB "):
        raise RFBError(f"not a VNC server (it said {version[:12]!r})")
    await send(RFB_VERSION)
    count = (await reader.read(1))[0]
    if count == 0:
        length = int.from_bytes(await reader.read(4), "big")
        raise RFBError((await reader.read(min(length, 1000))).decode("utf-8", "replace"))
    types = await reader.read(count)
    if 2 in types and password is not None:
        await send(b"\x02")
        await send(vnc_response(await reader.read(16), password))
    elif 1 in types:
        await send(b"\x01")
    else:
        raise RFBError(f"no security type the proxy can answer (offered: {list(types)})")
    result = int.from_bytes(await reader.read(4), "big")
    if result != 0:
        raise RFBError("the VNC server refused the session's password")


async def vnc_offer_none(reader: ByteReader, send: Any) -> None:
    """The browser's side: version 3.8, then one security type, None (the proxy
    authenticated already), and its success."""
    await send(RFB_VERSION)
    version = await reader.read(12)
    if not version.startswith(b"RFB 003."):
        raise RFBError(f"the viewer is not a VNC client (it said {version[:12]!r})")
    await send(b"\x01\x01")
    if (await reader.read(1)) != b"\x01":
        raise RFBError("the viewer chose a security type that was not offered")
    await send(b"\x00\x00\x00\x00")


_RECORD_KEYS = frozenset(
    {
        "id",
        "app",
        "display_name",
        "kind",
        "cluster",
        "job_id",
        "folder",
        "created",
        "values",
        "strip_prefix",
        "start_timeout",
        "state",
        "message",
        "ended_at",
    }
)


def _record(data: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(data)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


__all__ = [
    "RESOURCES",
    "ByteReader",
    "RFBError",
    "Session",
    "SessionService",
    "Upstream",
    "proxy_prefix",
    "vnc_login",
    "vnc_offer_none",
]
