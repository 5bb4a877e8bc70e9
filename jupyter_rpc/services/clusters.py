"""Clusters: where jobs run and files live, each with its scheduler, files and runner.

A cluster is either ``local`` (this machine: the local scheduler and a local folder, the
embedded default) or a host reached over SSH through the one :class:`SSHPool`. Site
clusters come from ``RPCApp.clusters``; users may add their own, kept in
``<state_dir>/clusters.json`` (mode 0600).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidRequest, NotFound, RPCError
from ..files import registry as files_registry
from ..files.base import RemoteFiles
from ..files.registry import FilesContext
from ..schedulers import registry as schedulers
from ..schedulers.base import OUTPUT_STREAMS, JobInfo, OutputChunk, Partition, Scheduler
from ..schedulers.registry import SchedulerContext
from ..ssh.runner import CommandRunner, LocalRunner
from . import strict_json
from .cluster_config import user_cluster_problems

if TYPE_CHECKING:  # asyncssh is imported when the first SSH cluster is built
    from ..ssh.pool import SSHPool
    from ..ssh.target import SSHTarget

log = logging.getLogger(__name__)


@dataclass
class _JobsCache:
    fetched: float = 0.0
    jobs: list[JobInfo] | None = None
    task: asyncio.Task[list[JobInfo]] | None = None
    #: id(job) → (job, its JSON text): a job object that is still in the next listing
    #: (the scheduler reuses unchanged ones) is not serialized again.
    encoded: dict[int, tuple[JobInfo, str]] = field(default_factory=dict)


class Cluster:
    """One cluster: its scheduler, its files, where its commands run."""

    def __init__(
        self,
        name: str,
        config: dict[str, Any],
        *,
        source: str,
        scheduler: Scheduler | None,
        files: RemoteFiles,
        runner: CommandRunner,
        pool: SSHPool | None = None,
        target: SSHTarget | None = None,
        refresh_min: float = 5.0,
        local_user: str = "",
    ) -> None:
        self.name = name
        self.config = config
        self.source = source
        self.scheduler = scheduler
        self.files = files
        self.runner = runner
        self.pool = pool
        self.target = target
        self.refresh_min = refresh_min
        #: Whose jobs and files these are on this machine (a cluster without ``target``).
        self.local_user = local_user
        self._jobs: dict[bool, _JobsCache] = {False: _JobsCache(), True: _JobsCache()}
        self.queries = 0  # scheduler list queries made (benchmarks, tests)
        self._partitions: tuple[float, list[Partition]] | None = None
        self._output_paths: dict[str, tuple[str, str]] = {}  # job id → (stdout, stderr)

    @property
    def kind(self) -> str:
        return "ssh" if self.target is not None else "local"

    def need_scheduler(self) -> Scheduler:
        if self.scheduler is None:
            raise NotFound(
                f"Cluster '{self.name}' has no batch scheduler configured.",
                code="cluster.no_scheduler",
                details={"cluster": self.name},
            )
        return self.scheduler

    def default_workdir(self) -> str | None:
        """The configured working folder for jobs, as the scheduler should get it:
        ``~`` expanded here for this machine, home-relative over SSH (where the login
        shell starts in the home folder), ``None`` for the scheduler's own default."""
        workdir: str | None = self.config.get("workdir")
        if not workdir or workdir in ("~", "~/"):
            return os.path.expanduser("~") if workdir and self.target is None else None
        if self.target is None:
            return os.path.expanduser(workdir)
        if workdir.startswith("~/"):
            return workdir[2:]
        return workdir

    # -- the SSH connection ----------------------------------------------------------

    async def connect(self) -> None:
        """Open the SSH connection now (to learn about host keys and prompts early);
        nothing to do for this machine."""
        if self.pool is not None and self.target is not None:
            await self.pool.connect(self.target)

    def _ssh(self, nothing: str) -> tuple[SSHPool, SSHTarget]:
        if self.pool is None or self.target is None:
            raise InvalidRequest(f"Cluster '{self.name}' is this machine: {nothing}.")
        return self.pool, self.target

    async def trust_host(self, fingerprint: str) -> None:
        """Trust an unknown host key the user has checked."""
        pool, target = self._ssh("there is no host key to trust")
        await pool.trust_host(target, fingerprint)

    async def answer(self, prompt_id: str, responses: list[str]) -> None:
        """Answer a password or one-time-code prompt of the SSH server."""
        pool, target = self._ssh("there is nothing to log in to")
        await pool.answer(target, prompt_id, responses)

    # -- jobs ------------------------------------------------------------------------

    async def jobs(self, *, all_users: bool = False) -> tuple[list[JobInfo], float]:
        """The job list, from one scheduler query shared by every caller within
        ``refresh_min`` seconds (concurrent callers wait for the same query)."""
        scheduler = self.need_scheduler()
        cache = self._jobs[all_users]
        now = time.time()
        if cache.jobs is not None and now - cache.fetched < self.refresh_min:
            return cache.jobs, cache.fetched
        if cache.task is None or cache.task.done():
            cache.task = asyncio.ensure_future(self._query(scheduler, all_users))
        jobs = await asyncio.shield(cache.task)
        return jobs, cache.fetched

    async def _query(self, scheduler: Scheduler, all_users: bool) -> list[JobInfo]:
        self.queries += 1
        jobs = await scheduler.list_jobs(all_users=all_users)
        cache = self._jobs[all_users]
        cache.jobs, cache.fetched = jobs, time.time()
        return jobs

    async def partitions(self, max_age: float = 300.0) -> list[Partition]:
        """The scheduler's partitions, asked at most every ``max_age`` seconds."""
        if self._partitions is None or time.time() - self._partitions[0] > max_age:
            self._partitions = (time.time(), await self.need_scheduler().partitions())
        return self._partitions[1]

    async def jobs_json(self, *, all_users: bool = False) -> str:
        """The job list as the JSON text of the REST answer, each job encoded once for
        as long as it does not change."""
        jobs, fetched = await self.jobs(all_users=all_users)
        cache = self._jobs[all_users]
        old, new = cache.encoded, {}
        parts = []
        for job in jobs:
            hit = old.get(id(job))
            text = hit[1] if hit is not None and hit[0] is job else strict_json.dumps(job.to_json())
            new[id(job)] = (job, text)
            parts.append(text)
        cache.encoded = new
        user = strict_json.dumps(self.user_name())  # known once connected
        return f'{{"jobs": [{", ".join(parts)}], "fetched": {strict_json.dumps(fetched)}, "user": {user}}}'

    def jobs_changed(self) -> None:
        """Forget the cached list (after a submit, cancel, hold or release)."""
        for cache in self._jobs.values():
            cache.jobs = None

    async def read_output(self, job_id: str, stream: str, offset: int, limit: int) -> OutputChunk:
        """A piece of a job's stdout or stderr, from ``offset`` (a live tail)."""
        if stream not in OUTPUT_STREAMS:
            raise InvalidRequest(
                f"stream must be one of {', '.join(OUTPUT_STREAMS)}, not {stream!r}."
            )
        paths = self._output_paths.get(job_id)
        if paths is None:
            # Once; a tail polled every 2 s must not cost an scontrol round trip each time.
            job = await self.need_scheduler().get_job(job_id)
            paths = (job.stdout, job.stderr)
            if any(paths):  # a job's output files never change once known
                self._output_paths[job_id] = paths
                while len(self._output_paths) > 512:
                    self._output_paths.pop(next(iter(self._output_paths)))
        path = paths[0] if stream == "stdout" else paths[1]
        if not path:
            return OutputChunk(
                path="", offset=offset, next_offset=offset, size=0, data="", exists=False
            )
        try:
            size = await self.files.file_size(path, check_roots=False)
            if size is not None:  # past the end (a bad offset, or the file was cut): the end
                offset = min(offset, size)
            pieces = [
                piece
                async for piece in self.files.read_chunks(
                    path, offset=offset, length=limit, check_roots=False
                )
            ]
            data = b"".join(pieces)
        except RPCError as exc:
            if exc.code == "files.not_found":
                return OutputChunk(
                    path=path, offset=offset, next_offset=offset, size=0, data="", exists=False
                )
            raise
        text, used = _decode_complete(data)
        next_offset = offset + used
        # the file's size, not how far this piece reached (it may have grown since the stat)
        size = next_offset if size is None else max(size, offset + len(data))
        return OutputChunk(path=path, offset=offset, next_offset=next_offset, size=size, data=text)

    # -- model -----------------------------------------------------------------------

    def user_name(self, conn: dict[str, Any] | None = None) -> str:
        """The account jobs and files belong to (as far as known before connecting)."""
        if self.target is None:
            return self.local_user or _local_user()
        if conn is None and self.pool is not None:
            conn = self.pool.state(self.target)
        user: str = (conn or {}).get("user") or self.target.user or self.config.get("user", "")
        return user

    def to_json(self) -> dict[str, Any]:
        if self.pool is not None and self.target is not None:
            conn = self.pool.state(self.target)
        else:
            conn = {"state": "connected", "error": None, "prompt": None}
        config = self.config
        return {
            "name": self.name,
            "display_name": config.get("display_name") or self.name,
            "description": config.get("description", ""),
            "kind": self.kind,
            "scheduler": self.scheduler.kind if self.scheduler is not None else "none",
            "capabilities": (
                self.scheduler.capabilities.to_json() if self.scheduler is not None else None
            ),
            "source": self.source,
            "host": config.get("host", ""),
            "user": self.user_name(conn),
            "state": conn.get("state", "idle"),
            "error": conn.get("error"),
            "prompt": conn.get("prompt"),
            "roots": [{"name": r.name, "path": r.path, "real": r.real} for r in self.files.roots],
            "workdir": config.get("workdir", "~"),
            "stats": {"job_queries": self.queries},
        }

    async def close(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.close()
        await self.files.close()


def _decode_complete(data: bytes) -> tuple[str, int]:
    """Decode UTF-8, leaving a multi-byte character cut at the end for the next read."""
    cut = len(data)
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 == 0x80:  # a continuation byte: keep looking for the lead
            continue
        if byte & 0x80:  # a lead byte: is its sequence complete?
            need = 2 if byte & 0xE0 == 0xC0 else 3 if byte & 0xF0 == 0xE0 else 4
            if back < need:
                cut = len(data) - back
        break
    return data[:cut].decode("utf-8", errors="replace"), cut


class ClusterRegistry:
    """Every cluster of this server: the site's and the user's own."""

    def __init__(
        self,
        site: dict[str, dict[str, Any]],
        *,
        state_dir: Path,
        allow_user_clusters: bool = True,
        refresh_min: float = 5.0,
        ssh_idle_timeout: float = 600.0,
        local_jobs_dir: Path | None = None,
    ) -> None:
        if not Path(state_dir).is_absolute() or not Path(local_jobs_dir or "/").is_absolute():
            # never state relative to wherever the server happens to run
            raise ValueError(f"the state folder must be an absolute path, not {str(state_dir)!r}")
        self.state_dir = state_dir
        self.allow_user_clusters = allow_user_clusters
        #: Called after a user cluster was added or removed (the kernelspecs follow).
        self.on_user_change: Callable[[], None] | None = None
        self.refresh_min = refresh_min
        self.local_jobs_dir = local_jobs_dir or state_dir / "local-jobs"
        self._site = dict(site)
        self._clusters: dict[str, Cluster] = {}
        self._pool: SSHPool | None = None
        self._ssh_idle_timeout = ssh_idle_timeout
        for name, config in self._site.items():
            try:
                self._clusters[name] = self._build(name, config, source="site")
            except (RPCError, ImportError, ValueError) as exc:
                log.error(
                    "jupyter_rpc: cluster %r is not available: %s",
                    name,
                    _reason(exc),
                )
        stored = self._load_user()
        if stored and not allow_user_clusters:
            log.warning(
                "jupyter_rpc: the user clusters in %s are not loaded: "
                "RPCApp.allow_user_clusters is false (%s)",
                self.user_file,
                ", ".join(repr(name) for name in stored),
            )
            stored = {}
        for name, config in stored.items():
            if name in self._clusters:
                log.warning(
                    "jupyter_rpc: user cluster %r is hidden by a site cluster of that name", name
                )
                continue
            # The file can be written by the user (the files API): the checks of a POST.
            problems = user_cluster_problems({**config, "name": name})
            if problems:
                log.warning("jupyter_rpc: user cluster %r is ignored: %s", name, problems)
                continue
            try:
                self._clusters[name] = self._build(name, config, source="user")
            except (RPCError, ImportError, ValueError) as exc:
                log.warning(
                    "jupyter_rpc: user cluster %r is ignored: %s",
                    name,
                    _reason(exc),
                )

    # -- building ------------------------------------------------------------------------

    @property
    def pool(self) -> SSHPool:
        """The one SSH connection pool (made on first need)."""
        if self._pool is None:
            from ..ssh.pool import SSHPool

            self._pool = SSHPool(
                idle_timeout=self._ssh_idle_timeout,
                trusted_hosts=str(self.state_dir / "known_hosts"),
            )
        return self._pool

    def _build(self, name: str, config: dict[str, Any], *, source: str) -> Cluster:
        roots = config.get("roots") or {"home": "~"}
        remote = bool(config.get("host"))
        kind = config.get("scheduler", "slurm" if remote else "local")
        files_kind = config.get("files") or files_registry.default(remote=remote)
        if not remote:
            runner: CommandRunner = LocalRunner()
            user = _local_user()
            files = self._files(files_kind, FilesContext(name, roots, user, False, runner))
            scheduler = self._scheduler(
                kind,
                name,
                runner,
                user,
                None,
                remote=False,
                kill_grace=config.get("kill_grace"),
                commands_dir=config.get("scheduler_bin"),
            )
            return Cluster(
                name,
                config,
                source=source,
                scheduler=scheduler,
                files=files,
                runner=runner,
                refresh_min=self.refresh_min,
                local_user=user,
            )
        from ..ssh.runner import SSHRunner
        from ..ssh.target import SSHTarget

        ssh_keys = {k: config[k] for k in _SSH_KEYS if k in config}
        if source == "user":  # never an ssh_config file (commands), never another known_hosts
            ssh_keys["ssh_config"] = False
            ssh_keys.pop("known_hosts", None)
        target = SSHTarget.from_config(name, ssh_keys)
        pool = self.pool
        ssh = SSHRunner(pool, target)
        user = target.user or config.get("user") or ""
        ctx = FilesContext(name, roots, user, True, ssh, open_sftp=lambda: pool.sftp(target))
        files = self._files(files_kind, ctx)
        scheduler = self._scheduler(
            kind,
            name,
            ssh,
            user or None,
            target.command_timeout,
            remote=True,
            commands_dir=config.get("scheduler_bin"),
        )
        return Cluster(
            name,
            config,
            source=source,
            scheduler=scheduler,
            files=files,
            runner=ssh,
            pool=pool,
            target=target,
            refresh_min=self.refresh_min,
        )

    @staticmethod
    def _files(kind: str, ctx: FilesContext) -> RemoteFiles:
        """The cluster's files, from the registry (the only place names are mapped)."""
        try:
            return files_registry.make(kind, ctx)
        except ValueError as exc:
            raise InvalidRequest(f"Cluster '{ctx.cluster}': {exc}.") from None

    def _scheduler(
        self,
        kind: str,
        name: str,
        runner: CommandRunner,
        user: str | None,
        command_timeout: float | None,
        *,
        remote: bool,
        kill_grace: float | None = None,
        commands_dir: str | None = None,
    ) -> Scheduler | None:
        """The cluster's scheduler, from the registry (the only place names are mapped)."""
        state_dir = self.local_jobs_dir if name == "local" else self.local_jobs_dir / name
        ctx = SchedulerContext(
            name,
            runner,
            user,
            remote,
            command_timeout,
            state_dir,
            kill_grace=kill_grace,
            commands_dir=commands_dir,
        )
        try:
            return schedulers.make(kind, ctx)
        except ValueError as exc:
            raise InvalidRequest(f"Cluster '{name}': {exc}.") from None

    # -- lookup ------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Cluster]:
        return iter(self._clusters.values())

    def __len__(self) -> int:
        return len(self._clusters)

    def get(self, name: str) -> Cluster:
        try:
            return self._clusters[name]
        except KeyError:
            available = ", ".join(sorted(self._clusters)) or "none"
            raise NotFound(
                f"There is no cluster named '{name}'. Available: {available}.",
                code="cluster.not_found",
                details={"cluster": name},
            ) from None

    # -- the SSH connection of one -------------------------------------------------------

    async def connect(self, name: str) -> Cluster:
        """Open cluster ``name``'s SSH connection now; the cluster, to show its state."""
        cluster = self.get(name)
        await cluster.connect()
        return cluster

    async def trust_host(self, name: str, fingerprint: str) -> Cluster:
        """Trust the host key ``fingerprint`` of cluster ``name``, checked by the user."""
        cluster = self.get(name)
        await cluster.trust_host(fingerprint)
        return cluster

    async def answer(self, name: str, prompt_id: str, responses: list[str]) -> Cluster:
        """Answer a login prompt of cluster ``name``'s SSH server."""
        cluster = self.get(name)
        await cluster.answer(prompt_id, responses)
        return cluster

    # -- user clusters -------------------------------------------------------------------

    @property
    def user_file(self) -> Path:
        return self.state_dir / "clusters.json"

    def _load_user(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.user_file.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("jupyter_rpc: cannot read %s: %s", self.user_file, exc)
            return {}
        return (
            {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}
        )

    def _save_user(self) -> None:
        data = {c.name: c.config for c in self._clusters.values() if c.source == "user"}
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.user_file.with_name(f".clusters.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
        os.replace(tmp, self.user_file)

    def add_user(self, body: dict[str, Any]) -> Cluster:
        if not self.allow_user_clusters:
            raise RPCError(
                "This site does not allow adding clusters; ask your administrator.",
                code="cluster.user_clusters_disabled",
                status=403,
            )
        problems = user_cluster_problems(body)
        if problems:
            raise InvalidRequest(f"The cluster is not valid: {problems}", code="cluster.invalid")
        config = dict(body)
        name = config.pop("name")
        if name in self._clusters:
            raise RPCError(
                f"A cluster named '{name}' exists already.",
                code="cluster.exists",
                status=409,
                details={"cluster": name},
            )
        try:
            cluster = self._build(name, config, source="user")
        except ValueError as exc:
            raise InvalidRequest(
                f"The cluster is not valid: {exc}", code="cluster.config_invalid"
            ) from None
        self._clusters[name] = cluster
        self._save_user()
        self._user_changed()
        return cluster

    def _user_changed(self) -> None:
        if self.on_user_change is not None:
            try:
                self.on_user_change()
            except Exception:  # noqa: BLE001 - the cluster itself is added or removed
                log.exception("jupyter_rpc: after a change of the user's clusters")

    async def remove_user(self, name: str) -> None:
        cluster = self.get(name)
        if cluster.source != "user":
            raise RPCError(
                f"Cluster '{name}' is configured by the site and cannot be removed here.",
                code="cluster.site_defined",
                status=403,
                details={"cluster": name},
            )
        del self._clusters[name]
        self._save_user()
        self._user_changed()
        await cluster.close()

    async def close(self) -> None:
        for cluster in self._clusters.values():
            try:
                await cluster.close()
            except Exception:  # noqa: BLE001 - shutdown goes on
                log.exception("jupyter_rpc: closing cluster %s failed", cluster.name)
        if self._pool is not None:
            await self._pool.close()


def _local_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


#: The keys of a cluster's config that say how to reach it over SSH.
_SSH_KEYS = (
    "host",
    "port",
    "user",
    "identity_file",
    "agent",
    "jump",
    "ssh_config",
    "known_hosts",
    "max_channels",
    "connect_timeout",
    "command_timeout",
)


def _reason(exc: Exception) -> str:
    """Why a cluster could not be built, for the log."""
    return exc.message if isinstance(exc, RPCError) else str(exc)
