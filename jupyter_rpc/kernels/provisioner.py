"""A jupyter_client kernel provisioner that runs ipykernel on a cluster's login node, or
in a batch job on a compute node (a kernel profile).

The provisioner runs inside the Jupyter server (the server's ``MappingKernelManager``
makes one per kernel), so it reaches the jupyter_rpc extension through its parents: the
kernel manager's parent is the server's kernel manager, whose parent is the
``ServerApp``, whose extension manager holds the running ``RPCApp`` and its cluster
registry. It uses that cluster's pooled SSH connection, the one the server's files, jobs
and terminals use (so five kernels are still one SSH connection).

Start (``launch_kernel``):

1. over SFTP, a private folder ``~/.jupyter-rpc/kernels/<12 hex>`` (0700) and in it a
   connection file (0600) with a fresh HMAC key and all ports 0;
2. an exec channel runs a small POSIX shell guard: it starts ``PYTHON -m
   ipykernel_launcher -f FILE`` in the background (its output into ``kernel.log`` of the
   folder), prints its PID, and kills it when the folder's ``lease`` file has not changed
   for the watchdog bound (``RPCApp.kernel_watchdog``, default 120 s). The provisioner
   rewrites the lease over SFTP every few seconds, so the kernel outlives a short outage
   of the connection but not a Jupyter server that is gone (killed, frozen, cut off);
   nothing else stops a kernel started over an exec channel (notes/ssh-channels.md);
3. ipykernel binds free ports on the login node's loopback and writes them back into the
   file; the provisioner reads them and forwards each over SSH (``direct-tcpip``) from a
   UNIX socket in a 0700 folder of this machine: the kernel manager speaks ZMQ's ``ipc``
   transport to those sockets, so no other local user can reach the kernel's channels.

Interrupt is SIGINT to the remote kernel (``kill -s INT PID`` on the cluster); shutdown
asks the kernel over its control channel and kills it if it does not end; restart starts
a new remote kernel behind the same local sockets and key.

In a batch job (kernelspec config ``profile``): the same folder and connection file, then
one batch script (:func:`job_script`) submitted through the cluster's scheduler with the
profile's resources and the cluster's submit overrides. It starts ipykernel with
``--ip=<node address>``, runs the same lease watchdog, writes each kernel's exit status
(``exit.N``) and serves restarts (a new connection file, then ``restart``: the next kernel
in the same allocation). While the job is queued the start is listed in
:class:`~jupyter_rpc.services.kernels.KernelStarts` (state, reason; Cancel); the server
forwards to (node, port). Interrupt is a message (the kernelspec's ``interrupt_mode``);
shutdown cancels the job and removes the folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import secrets
import shlex
import signal
import time
from collections import deque
from typing import Any, cast

import asyncssh
from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning.provisioner_base import KernelProvisionerBase
from tornado.web import HTTPError
from traitlets import Unicode

from ..errors import NotFound, RPCError
from ..policy import EVERYTHING, Grant
from ..schedulers.base import ACTIVE_STATES, JobInfo, JobSpec, Scheduler
from ..schedulers.forms import apply_overrides
from ..services import kernel_values
from ..services.kernels import KernelOwner, KernelStart, KernelStarts
from ..ssh.forward import SocketForwards, open_socket_forwards
from ..ssh.pool import PooledProcess, SSHPool
from ..ssh.target import SSHTarget
from .paths import DRIVE_PATH, split_drive_path

log = logging.getLogger(__name__)

#: ZMQ channels in the order of the local sockets ``k-1`` ... ``k-5``.
CHANNELS = ("shell", "iopub", "stdin", "control", "hb")

#: The forward that listens again last after an outage (SocketForwards.reopen): requests
#: wait until the IOPub subscribers are back, or a re-run cell's output goes to nobody.
SHELL = CHANNELS.index("shell") + 1

#: How long a kernel may take from its start command to its ports (seconds).
START_TIMEOUT = 60.0

#: How long the connection file may be missing while ipykernel writes it back (seconds).
MISSING_GRACE = 3.0

#: Where the kernels' private folders are, under the user's home on the cluster.
REMOTE_BASE = ".jupyter-rpc/kernels"

# The guard: a POSIX shell script run by the user's login shell through sshd. The kernel
# is a plain simple command before '&', so $! is the kernel itself (notes/ssh-channels.md,
# gotcha 5); it keeps stdin from /dev/null and writes no output on the channel, which may
# be gone long before it. The lease's content (not its time: no clock skew) must change
# within BOUND seconds; a kernel the watchdog ended also loses its folder (the server
# that would remove it is gone).
_GUARD = """d={dir}
fail() {{ echo "jupyter_rpc: the kernel's environment failed: $1" >>"$d/kernel.log"; echo "EXIT=3"; exit 3; }}
{env}{python} -m ipykernel_launcher -f "$d/kernel.json" >"$d/kernel.log" 2>&1 </dev/null &
k=$!
echo "PID=$k"
n=0; last=
while kill -0 "$k" 2>/dev/null; do
  sleep 1
  now=$(cat "$d/lease" 2>/dev/null)
  if [ "$now" = "$last" ]; then n=$((n+1)); else n=0; last=$now; fi
  if [ "$n" -ge {bound} ]; then
    kill -TERM "$k" 2>/dev/null; sleep 2; kill -KILL "$k" 2>/dev/null; break
  fi
done
wait "$k"; s=$?
if [ "$n" -ge {bound} ]; then rm -rf "$d"; fi
echo "EXIT=$s"
"""


#: What the guard or job script writes into kernel.log when the environment failed.
ENV_FAILED = "jupyter_rpc: the kernel's environment failed"

#: Seconds a kernel's job waits for a restart request after its kernel ended, before the
#: job ends (a restart keeps the allocation: a new kernel in the same job).
RESTART_GRACE = 60

#: How long a compute-node kernel's job may wait in the queue (seconds) unless the
#: profile or the cluster says ``queue_timeout``.
QUEUE_TIMEOUT = 3600.0

# The batch script of a compute-node kernel (the one place it is made: every value is
# quoted once by job_script). It starts ipykernel on the node's address (the login
# node's sshd connects to node:port for the forwards), keeps the same lease watchdog as
# the login-node guard (the job ends itself when the server stops renewing the lease:
# a killed server leaves no job), and serves restarts: when a kernel ended, the server
# may write a new kernel.json and then 'restart' into the folder, and the next kernel
# starts in the same allocation; none within the grace ends the job. Each kernel's exit
# status goes into exit.<N>, N counting the kernels of this job. A job that is cancelled
# or reaches its time limit removes its folder (no key left behind).
_JOB_SCRIPT = """#!/bin/sh
# jupyter_rpc notebook kernel ({label})
d={dir}
umask 077
k=; wd=
stop() {{
  [ -z "$wd" ] || kill "$wd" 2>/dev/null
  [ -n "$k" ] || return 0
  kill -TERM "$k" 2>/dev/null
  i=0
  while kill -0 "$k" 2>/dev/null && [ "$i" -lt 30 ]; do sleep 0.1; i=$((i+1)); done
  kill -KILL "$k" 2>/dev/null
}}
trap 'stop; rm -rf "$d"; exit 143' TERM INT HUP
fail() {{
  echo "jupyter_rpc: the kernel's environment failed: $1" >>"$d/kernel.log"
  echo 3 >"$d/exit.1.tmp" && mv -f "$d/exit.1.tmp" "$d/exit.1"
  sleep {grace}; rm -rf "$d"; exit 3
}}
{env}ip=$(getent ahostsv4 "$(hostname)" 2>/dev/null | awk 'NR==1 {{print $1}}')
[ -n "$ip" ] || ip=127.0.0.1
watch() {{  # kernel $1 ends when the server has not renewed the lease for {bound} s
  n=0; last=
  while sleep 1; do
    now=$(cat "$d/lease" 2>/dev/null)
    if [ "$now" = "$last" ]; then n=$((n+1)); else n=0; last=$now; fi
    if [ "$n" -ge {bound} ]; then
      echo "no lease from the Jupyter server for {bound} s: the kernel is ended"
      : >"$d/stale"; kill -TERM "$1" 2>/dev/null; sleep 3; kill -KILL "$1" 2>/dev/null
      return 0
    fi
  done
}}
g=0
while :; do
  g=$((g+1))
  {python} -m ipykernel_launcher -f "$d/kernel.json" --ip="$ip" >>"$d/kernel.log" 2>&1 </dev/null &
  k=$!
  echo "kernel $g: process $k on $(hostname) ($ip)"
  watch "$k" &
  wd=$!
  wait "$k"; s=$?
  kill "$wd" 2>/dev/null; k=; wd=
  if [ -e "$d/stale" ]; then rm -rf "$d"; exit 0; fi
  echo "$s" >"$d/exit.$g.tmp" && mv -f "$d/exit.$g.tmp" "$d/exit.$g"
  echo "kernel $g ended with status $s"
  w=0
  while [ ! -e "$d/restart" ]; do
    w=$((w+1))
    [ "$w" -le {grace5} ] || {{ rm -rf "$d"; exit "$s"; }}
    sleep 0.2
  done
  rm -f "$d/restart"
done
"""


@dataclasses.dataclass(frozen=True)
class KernelEnv:
    """Where a kernel's Python comes from: module lines, then a conda environment, then
    the Python (a path, ``~/`` for the home; in a conda environment its ``python``)."""

    python: str = "python3"
    conda_env: str = ""
    modules: tuple[str, ...] = ()
    #: The folder on the cluster the kernel starts in ('': the home folder).
    cwd: str = ""

    @classmethod
    def of(cls, cluster: dict[str, Any], profile: dict[str, Any] | None = None) -> KernelEnv:
        """A cluster's kernel environment; a profile's keys replace the cluster's."""
        profile = profile or {}

        def pick(key: str) -> Any:
            return profile[key] if key in profile else cluster.get(key)

        conda = str(pick("kernel_conda_env") or "")
        python = str(pick("kernel_python") or ("python" if conda else "python3"))
        return cls(python=python, conda_env=conda, modules=tuple(pick("kernel_modules") or ()))

    def shell(self) -> str:
        """The shell lines that make the environment before the kernel's start line (the
        one place these values become shell words: each quoted once). A ``module`` or
        ``conda`` that is not a command yet (a non-login shell) comes from
        ``/etc/profile``, as in a login shell; a failure calls ``fail`` with what failed."""
        lines = []
        if self.modules:
            words = " ".join(shlex.quote(m) for m in self.modules)
            lines += [
                "{ command -v module >/dev/null 2>&1 || { _d=$d; . /etc/profile; d=$_d; }; } >/dev/null 2>&1 </dev/null",
                f'module load {words} >>"$d/kernel.log" 2>&1 </dev/null || '
                f"fail {shlex.quote('module load ' + ' '.join(self.modules))}",
            ]
        if self.conda_env:
            env = _shell_path(self.conda_env)
            lines += [
                "{ command -v conda >/dev/null 2>&1 || { _d=$d; . /etc/profile; d=$_d; }; } >/dev/null 2>&1 </dev/null",
                f'a=$(conda shell.posix activate {env} 2>>"$d/kernel.log" </dev/null) && '
                f'eval "$a" || fail {shlex.quote("conda activate " + self.conda_env)}',
            ]
        # the notebook's folder (gone since: the home folder), else the home folder
        if self.cwd:
            lines.append(f'cd {shlex.quote(self.cwd)} 2>/dev/null || cd "$HOME"')
        else:
            lines.append('cd "$HOME"')
        return "".join(line + "\n" for line in lines)


def job_script(folder: str, env: KernelEnv | str, bound: float, label: str = "") -> str:
    """The batch script of a kernel in ``folder`` (on the cluster) in ``env`` (or with
    that Python)."""
    if isinstance(env, str):
        env = KernelEnv(python=env)
    return _JOB_SCRIPT.format(
        label=" ".join(label.split())[:80],
        dir=shlex.quote(folder),
        env=env.shell(),
        python=_shell_path(env.python),
        bound=max(1, round(bound)),
        grace=RESTART_GRACE,
        grace5=RESTART_GRACE * 5,
    )


def guard_script(folder: str, env: KernelEnv, bound: float) -> str:
    """The login-node guard of a kernel in ``folder`` in ``env``."""
    return _GUARD.format(
        dir=shlex.quote(folder),
        env=env.shell(),
        python=_shell_path(env.python),
        bound=max(1, round(bound)),
    )


class KernelStartError(HTTPError):
    """A kernel that could not start or be reached, with a message a person understands
    (jupyter_server's API answers an ``HTTPError``'s message; any other exception is
    'Unhandled error')."""

    def __init__(self, message: str, status: int = 500) -> None:
        # tornado formats log_message with %: keep the text as it is
        super().__init__(status, message.replace("%", "%%"))
        self.message = message


class _Failed(Exception):
    """Why a start failed on the cluster (made a :class:`KernelStartError`)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def find_rpc_app(start: Any) -> Any:
    """The running ``RPCApp`` above ``start`` (a kernel manager) in its parents."""
    obj = start
    while obj is not None:
        manager = getattr(obj, "extension_manager", None)
        if manager is not None:
            for app in manager.extension_apps.get("jupyter_rpc", ()):
                if getattr(app, "services", None) is not None:
                    return app
        obj = getattr(obj, "parent", None)
    raise KernelStartError(
        "A kernel on a cluster starts only inside a Jupyter server that runs the "
        "jupyter_rpc extension (this kernel manager has no such server above it)."
    )


class ClusterProvisioner(KernelProvisionerBase):
    """Runs ipykernel on a cluster's login node (kernelspec metadata
    ``kernel_provisioner.config.cluster``)."""

    cluster = Unicode("", config=True, help="The cluster's name in jupyter_rpc.")
    profile = Unicode(
        "", config=True, help="A kernel profile of the cluster: the kernel runs in a batch job."
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._key: str | None = None
        self._pool: SSHPool | None = None
        self._target: SSHTarget | None = None
        self._python = "python3"
        self._env = KernelEnv()
        self._drive_path: str | None = None  # the notebook's, on a cluster's drive
        self._label = self.cluster
        self._bound = 120.0
        self._proc: PooledProcess | None = None
        self._pid: int | None = None
        self._exit: int | None = None
        self._lost_at: float | None = None
        self._running = False
        self._dir: str | None = None
        self._remotes: list[tuple[str, int]] = []
        self._forwards: SocketForwards | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._output: deque[str] = deque(maxlen=20)
        self._pid_seen = asyncio.Event()
        self._ended = asyncio.Event()
        # a compute-node kernel: its job, the scheduler, the kernel's number in the job
        self._scheduler: Scheduler | None = None
        self._job_id: str | None = None
        self._gen = 0
        self._polled = 0.0
        self._on_jobs_changed: Any = None
        self._grant: Grant = EVERYTHING
        self._chosen: dict[str, Any] = {}  # the user's values of the profile

    # -- what jupyter_client asks ------------------------------------------------------

    @property
    def has_process(self) -> bool:
        return self._running

    async def poll(self) -> int | None:
        if not self._running:
            return 0
        if self._exit is not None:
            return self._exit
        if self._job_id is not None:
            return await self._poll_job()
        if self._lost_at is not None and time.monotonic() - self._lost_at > self._bound + 5:
            return 1  # the guard's channel went with the connection; the watchdog ended it
        return None

    async def wait(self) -> int | None:
        if self._running and self._job_id is not None:
            while await self._poll_job(force=True) is None:  # noqa: ASYNC110 (a file on the cluster)
                await asyncio.sleep(0.25)
        elif self._running:
            await self._ended.wait()  # the guard said EXIT, or its channel is gone
        ret = await self.poll()
        self._running = False
        return 1 if ret is None else ret

    async def send_signal(self, signum: int) -> None:
        if self._job_id is not None:
            # a process on a compute node: interrupt is a message (the kernelspec's
            # interrupt_mode); what would end the kernel ends its job
            if signum in (signal.SIGKILL, signal.SIGTERM):
                await self._cancel_job()
                self._exit = -signum
            return
        if self._pid is None or self._pool is None or self._target is None:
            return
        name = signal.Signals(signum).name.removeprefix("SIG")
        with contextlib.suppress(RPCError):
            await self._pool.run(self._target, f"kill -s {name} {self._pid}", timeout=10)

    async def kill(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGKILL)

    async def terminate(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGTERM)

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.pop("extra_arguments", None)
        drive_path = DRIVE_PATH.get()
        if drive_path is not None:  # a restart (another request) keeps the first start's
            self._drive_path = drive_path
        if self._key is None:  # a restart keeps the key (and the local sockets)
            self._key = secrets.token_hex(32)
        km = self.parent
        if km is not None:
            km.session.key = self._key.encode()
        assert self.kernel_spec is not None
        return await super().pre_launch(cmd=list(self.kernel_spec.argv), **kwargs)

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        app = find_rpc_app(self.parent)
        try:
            cluster = app.services.clusters.get(self.cluster)
        except RPCError as exc:
            raise KernelStartError(
                f"This kernel's cluster {self.cluster!r} is not configured: {exc.message}", 404
            ) from None
        if cluster.pool is None or cluster.target is None:
            raise KernelStartError(
                f"Cluster {self.cluster!r} is not an SSH cluster: kernels there are local ones."
            )
        self._pool, self._target = cluster.pool, cluster.target
        self._label = cluster.config.get("display_name") or self.cluster
        profile: dict[str, Any] | None = None
        if self.profile:
            profile = (cluster.config.get("kernel_profiles") or {}).get(self.profile)
            if profile is None:
                raise KernelStartError(
                    f"Cluster {self._label} has no kernel profile {self.profile!r} (any "
                    "more): pick another kernel.",
                    404,
                )
            self._label += ", " + (profile.get("display_name") or self.profile)
        # the cluster's environment with the user's own over it (services/kernel_values.py)
        envs = getattr(app.services, "kernel_env", None)
        config = envs.config(cluster) if envs is not None else cluster.config
        self._env = dataclasses.replace(
            KernelEnv.of(config, profile), cwd=await self._notebook_folder(cluster)
        )
        self._python = self._env.python
        # the values the user last confirmed for this profile (the start dialog's)
        values = getattr(app.services, "kernel_values", None)
        self._chosen = (
            values.store.get(cluster.name, self.profile)
            if profile is not None and values is not None
            else {}
        )
        starts = getattr(app.services, "kernels", None)
        owner = starts.owner if isinstance(starts, KernelStarts) else KernelOwner()
        try:  # the site's policy, as the server's owner's grant says (services/kernels.py)
            self._grant = owner.check_start(
                cluster.name,
                user_defined=cluster.source == "user",
                resources=kernel_values.resources(profile or {}, self._chosen),
            )
        except RPCError as exc:
            raise KernelStartError(
                f"Cannot start a kernel on {self._label}: {exc.message}", exc.status
            ) from None
        self._bound = float(getattr(app, "kernel_watchdog", 120.0))
        self._exit = self._lost_at = self._pid = None
        self._output.clear()
        self._pid_seen = asyncio.Event()
        self._ended = asyncio.Event()
        try:
            if profile is not None:
                host, ports = await self._start_job(app, cluster, profile)
            else:
                host, ports = "127.0.0.1", await self._start_remote()
            self._remotes = [(host, ports[c]) for c in CHANNELS]
            if self._forwards is None:
                self._forwards = await open_socket_forwards(self._pool, self._target, self._remotes)
            else:
                await self._forwards.reopen(self._pool, self._target, self._remotes, hold=SHELL)
        except (RPCError, _Failed) as exc:
            await self._end_remote()
            raise KernelStartError(
                f"Cannot start a kernel on {self._label}: {exc.message}", exc.status
            ) from None
        except BaseException:
            await self._end_remote()
            raise
        if self._job_id is not None:
            self._running = True
        info: dict[str, Any] = {
            "transport": "ipc",
            "ip": self._forwards.prefix,
            "key": self._key.encode() if self._key else b"",
            "signature_scheme": "hmac-sha256",
            "kernel_name": getattr(self.parent, "kernel_name", "") or "",
        }
        for i, channel in enumerate(CHANNELS, 1):
            info[f"{channel}_port"] = i
        self.connection_info = cast(KernelConnectionInfo, info)
        return self.connection_info

    async def _notebook_folder(self, cluster: Any) -> str:
        """The folder on the cluster of the notebook this kernel is for, when it was
        opened from this cluster's Remote files (its drive path; a notebook's own path:
        its folder); '' (the home folder) otherwise or when it cannot be resolved."""
        parts = split_drive_path(self._drive_path or "")
        if parts is None or parts[0] != cluster.name or not parts[1]:
            return ""
        path = parts[1]
        files: Any = getattr(cluster, "files", None)
        if files is None:
            return ""
        try:
            entry = await files.stat(path)
            if entry.type != "directory":
                path = path.rpartition("/")[0]
            if not path:
                return ""
            return str(await files.real_path(path, must_exist=True))
        except Exception as exc:  # noqa: BLE001 (any files error: the home folder)
            log.info("kernel %s: starts in the home folder: %s", self.kernel_id, exc)
            return ""

    async def cleanup(self, restart: bool = False) -> None:
        await self._end_remote(keep_job=restart)
        if not restart and self._forwards is not None:
            forwards, self._forwards = self._forwards, None
            await forwards.close()

    def get_shutdown_wait_time(self, recommended: float = 5.0) -> float:
        return max(recommended, 5.0)

    def get_stable_start_time(self, recommended: float = 10.0) -> float:
        return max(recommended, 10.0)

    # -- the remote side ---------------------------------------------------------------

    async def _start_remote(self) -> dict[str, int]:
        """The private folder, the connection file, the guarded kernel; its ports."""
        assert self._pool is not None and self._target is not None
        sftp = await self._pool.sftp(self._target)
        folder = await self._make_folder(sftp)
        command = guard_script(folder, self._env, self._bound)
        self._proc = await self._pool.create_process(self._target, command)
        self._running = True
        self._tasks = [
            asyncio.ensure_future(self._read_guard(self._proc)),
            asyncio.ensure_future(self._keep_lease(folder)),
        ]
        return await self._wait_ports(sftp, folder)

    async def _make_folder(self, sftp: asyncssh.SFTPClient) -> str:
        """The kernel's private folder with its connection file (all ports 0) and lease."""
        try:
            home = await sftp.realpath(".")
            base = f"{home}/{REMOTE_BASE}"
            await sftp.makedirs(base, attrs=asyncssh.SFTPAttrs(permissions=0o700), exist_ok=True)
            folder = f"{base}/{secrets.token_hex(6)}"
            await sftp.mkdir(folder, asyncssh.SFTPAttrs(permissions=0o700))
            await sftp.chmod(folder, 0o700)  # the umask may have narrowed mkdir's mode
            self._dir = folder
            await self._write_connection_file(sftp, folder)
            await self._write(sftp, f"{folder}/lease", "0")
        except (asyncssh.Error, OSError) as exc:
            raise _Failed(
                f"could not write the kernel's connection file there: {_reason(exc)}", 502
            ) from None
        return folder

    async def _write_connection_file(self, sftp: asyncssh.SFTPClient, folder: str) -> None:
        info = {
            "ip": "127.0.0.1",
            "transport": "tcp",
            "key": self._key,
            "signature_scheme": "hmac-sha256",
            **{f"{c}_port": 0 for c in CHANNELS},
        }
        await self._write(sftp, f"{folder}/kernel.json", json.dumps(info))

    async def _write(self, sftp: asyncssh.SFTPClient, path: str, text: str) -> None:
        async with sftp.open(path, "w", asyncssh.SFTPAttrs(permissions=0o600)) as f:
            await f.write(text)

    async def _read_guard(self, proc: PooledProcess) -> None:
        """The guard's lines: the kernel's PID, then its exit status."""
        try:
            while True:
                line: Any = await proc.stdout.readline()
                if not line:
                    break
                text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
                text = text.strip()
                if text.startswith("PID=") and text[4:].isdigit():
                    self._pid = int(text[4:])
                    self._pid_seen.set()
                elif text.startswith("EXIT=") and text[5:].lstrip("-").isdigit():
                    self._exit = int(text[5:])
                elif text:
                    self._output.append(text)
        except (asyncssh.Error, OSError, asyncio.IncompleteReadError):
            pass
        if self._exit is None:
            code = proc.returncode
            if code is not None and self._pid is None:
                self._exit = code  # the guard itself failed (its shell said why)
            else:
                self._lost_at = time.monotonic()
        self._pid_seen.set()
        self._ended.set()

    async def _keep_lease(self, folder: str) -> None:
        """Rewrite the lease while the kernel lives (the watchdog's heartbeat), and listen
        again on the local sockets when the connection came back."""
        interval = max(0.5, min(self._bound / 4, 10.0))
        n = 0
        while True:
            await asyncio.sleep(interval)
            n += 1
            assert self._pool is not None and self._target is not None
            try:
                sftp = await self._pool.sftp(self._target)
                await self._write(sftp, f"{folder}/lease", str(n))
                if self._forwards is not None and not self._forwards.alive and self._remotes:
                    await self._forwards.reopen(self._pool, self._target, self._remotes, hold=SHELL)
                if self._lost_at is not None and self._pid is not None and self._exit is None:
                    await self._check_detached()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # an outage: try again; the watchdog has its bound
                log.debug("kernel lease on %s not renewed: %s", self._label, exc)

    async def _check_detached(self) -> None:
        """The guard's channel went with a connection: ask the cluster whether the kernel
        still runs (then :meth:`poll` keeps saying so) or not (it ended)."""
        assert self._pool is not None and self._target is not None
        done = await self._pool.run(
            self._target, f"kill -0 {self._pid} 2>/dev/null && echo alive; true", timeout=10
        )
        if "alive" in done.stdout:
            self._lost_at = time.monotonic()
        else:
            self._exit = 1
            self._ended.set()

    async def _wait_ports(self, sftp: asyncssh.SFTPClient, folder: str) -> dict[str, int]:
        """The five ports ipykernel wrote back into the connection file."""
        end = time.monotonic() + START_TIMEOUT
        missing_since: float | None = None
        while time.monotonic() < end:
            if self._exit is not None:
                raise _Failed(await self._failure(sftp, folder), 500)
            try:
                async with sftp.open(f"{folder}/kernel.json") as f:
                    info = json.loads(await f.read())
                missing_since = None
                ports = {c: int(info.get(f"{c}_port") or 0) for c in CHANNELS}
                if all(ports.values()):
                    return ports
            except (ValueError, TypeError):
                pass  # being rewritten
            except asyncssh.SFTPNoSuchFile as exc:
                # ipykernel writes the file back by removing it and creating it anew
                # (jupyter_core's secure_write): missing for a moment, not for seconds
                now = time.monotonic()
                missing_since = missing_since or now
                if now - missing_since > MISSING_GRACE:
                    raise _Failed(
                        f"could not read the kernel's connection file: {_reason(exc)}", 502
                    ) from None
            except (asyncssh.Error, OSError) as exc:
                raise _Failed(
                    f"could not read the kernel's connection file: {_reason(exc)}", 502
                ) from None
            await asyncio.sleep(0.1)
        raise _Failed(
            f"the kernel ({self._python} -m ipykernel_launcher) did not start within "
            f"{START_TIMEOUT:g} s. Its output: {await self._log_tail(sftp, folder) or '(none)'}",
            504,
        )

    async def _log_tail(self, sftp: asyncssh.SFTPClient, folder: str) -> str:
        lines = list(self._output)
        with contextlib.suppress(asyncssh.Error, OSError):
            async with sftp.open(f"{folder}/kernel.log", "rb") as f:
                data: Any = await f.read()
            lines += data.decode("utf-8", "replace").splitlines()
        return "\n".join(line for line in lines[-8:] if line.strip())[-1500:]

    async def _failure(self, sftp: asyncssh.SFTPClient, folder: str) -> str:
        """Why the kernel ended before it was ready, and what to do."""
        tail = await self._log_tail(sftp, folder)
        python = self._python
        if ENV_FAILED in tail:
            return self._env_failure(tail)
        if "No module named ipykernel" in tail:
            return (
                f"ipykernel is not installed in the Python {python} there. Install it with "
                f"'{python} -m pip install ipykernel' (in a terminal on {self._label}), or "
                "ask for another Python for this cluster's kernels (kernel_python)."
            )
        if self._exit == 127 or "not found" in tail or "No such file" in tail:
            return (
                f"the Python {python} was not found there ({tail or 'exit status 127'}). "
                "Ask for the path of a Python with ipykernel for this cluster's kernels "
                "(kernel_python)."
            )
        return (
            f"the kernel ({python} -m ipykernel_launcher) ended at once with exit status "
            f"{self._exit}. Its output: {tail or '(none)'}"
        )

    def _env_failure(self, tail: str) -> str:
        """The kernel's environment (modules, conda) could not be made: the cluster's
        words and which keys say it."""
        return (
            f"its environment could not be set up there (the kernel_modules and "
            f"kernel_conda_env of this cluster or kernel profile). The cluster said: {tail}"
        )

    async def _end_remote(self, keep_job: bool = False) -> None:
        """Stop the lease and the guard's channel, kill what is left, remove the folder
        (``keep_job``: a compute-node kernel's restart keeps its job and folder)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks = []
        if self._forwards is not None:
            await self._forwards._stop_listening()
        if self._job_id is not None:
            if not keep_job:
                await self._end_job()
            self._running = False
            self._ended.set()
            return
        pool, target, folder, pid = self._pool, self._target, self._dir, self._pid
        if pool is not None and target is not None and (folder or pid):
            parts = []
            if pid is not None and self._exit is None:
                parts.append(f"kill -KILL {pid} 2>/dev/null")
            if folder:
                parts.append(f"rm -rf {shlex.quote(folder)}")
            with contextlib.suppress(RPCError):
                await pool.run(target, "; ".join(parts) + "; true", timeout=10)
        if self._proc is not None:
            self._proc.close()
            self._proc = None
        self._dir = None
        self._running = False
        self._ended.set()

    # -- a kernel in a batch job ----------------------------------------------------------

    async def _start_job(
        self, app: Any, cluster: Any, profile: dict[str, Any]
    ) -> tuple[str, dict[str, int]]:
        """A kernel in a batch job of the cluster's scheduler: a new kernel in the job it
        already has (a restart), else a new job; the node's address and the ports."""
        assert self._pool is not None and self._target is not None
        self._scheduler = scheduler = cluster.need_scheduler()
        self._on_jobs_changed = getattr(cluster, "jobs_changed", None)
        sftp = await self._pool.sftp(self._target)
        starts = getattr(getattr(app, "services", None), "kernels", None) or KernelStarts()
        start = starts.add(
            KernelStart(
                id=self.kernel_id or secrets.token_hex(8),
                kernel_name=getattr(self.parent, "kernel_name", "") or "",
                display_name=f"Python 3 on {self._label}",
                cluster=cluster.name,
                profile=self.profile,
                partition=str(
                    kernel_values.resources(profile, self._chosen).get("partition") or ""
                ),
            )
        )
        queue_timeout = float(
            profile.get("queue_timeout") or cluster.config.get("queue_timeout") or QUEUE_TIMEOUT
        )
        try:
            if self._job_id is not None and self._dir is not None:
                if await self._restart_in_job(sftp, start):
                    return await self._wait_job_ports(sftp, start, queue_timeout)
                await self._end_job()  # its job is gone: a new one
            folder = await self._make_folder(sftp)
            spec = self._job_spec(cluster, profile, folder)
            try:
                job_id = await scheduler.submit(spec)
            except RPCError as exc:
                raise _Failed(
                    f"the scheduler refused the kernel's job: {exc.message} (check the "
                    f"kernel profile {self.profile!r} of this cluster with your site's "
                    "administrator, or pick another kernel)",
                    400 if exc.status < 500 else 502,
                ) from None
            self._job_id, self._gen = job_id, 1
            start.job_id, start.state = job_id, "pending"
            if self._on_jobs_changed is not None:
                self._on_jobs_changed()
            self._tasks = [asyncio.ensure_future(self._keep_lease(folder))]
            log.info("kernel %s: job %s on %s", self.kernel_id, job_id, self._label)
            return await self._wait_job_ports(sftp, start, queue_timeout)
        except BaseException:
            await self._end_remote()  # its job ended and folder gone before the start is
            raise
        finally:
            starts.remove(start)

    def _job_spec(self, cluster: Any, profile: dict[str, Any], folder: str) -> JobSpec:
        """The kernel job's spec: the profile's resources with the user's values over
        them (services/kernel_values.py) and the cluster's ``submit`` overrides (as the
        submit form's), the script, its folder and log."""
        body = kernel_values.resources(profile, self._chosen)
        # the cluster's overrides narrowed by the policy's, as for any job (services/jobs.py)
        overrides = self._grant.merged_submit(cluster.config.get("submit"))
        try:
            if overrides:
                body = apply_overrides(body, overrides)
            self._grant.check_submit(body)
        except RPCError as exc:
            yours = (
                " (with your values for it: change them when you start it from JupyterLab)"
                if self._chosen
                else ""
            )
            raise _Failed(
                f"the kernel profile {self.profile!r}{yours}: {exc.message}", exc.status
            ) from None
        spec = JobSpec(**{k: v for k, v in body.items() if k in _SPEC_FIELDS})
        spec.script = job_script(folder, self._env, self._bound, self._label)
        spec.name = f"rpc-kernel-{self.profile}"[:64]
        spec.workdir = folder
        spec.stdout = spec.stderr = f"{folder}/job.log"
        return spec

    async def _restart_in_job(self, sftp: asyncssh.SFTPClient, start: KernelStart) -> bool:
        """Ask the job's script for the next kernel (a new connection file, then
        ``restart``); False when the job no longer runs."""
        assert self._scheduler is not None and self._job_id is not None and self._dir
        try:
            job = await self._scheduler.get_job(self._job_id)
        except RPCError:
            return False
        if job.state != "running":
            return False
        try:
            await self._write_connection_file(sftp, self._dir)
            await self._write(sftp, f"{self._dir}/restart", str(self._gen + 1))
        except (asyncssh.Error, OSError):
            return False
        self._gen += 1
        start.job_id, start.state = self._job_id, "starting"
        self._tasks = [asyncio.ensure_future(self._keep_lease(self._dir))]
        return True

    async def _wait_job_ports(
        self, sftp: asyncssh.SFTPClient, start: KernelStart, queue_timeout: float
    ) -> tuple[str, dict[str, int]]:
        """Wait while the job is queued (the start shows its state and reason; Cancel
        and ``queue_timeout`` end it), then for the ports its kernel writes back."""
        assert self._scheduler is not None and self._job_id is not None and self._dir
        folder, job_id = self._dir, self._job_id
        began = time.monotonic()
        running_since: float | None = None
        next_check = 0.0
        while True:
            if start.cancelled.is_set():
                await self._cancel_job()
                raise _Failed(
                    f"cancelled: its job {job_id} was cancelled before the kernel was up.", 409
                )
            found = await self._read_ports(sftp, folder)
            if found is not None:
                return found
            now = time.monotonic()
            if await self._exit_status(sftp) is not None:
                raise _Failed(await self._job_failure(sftp, None), 500)
            if now >= next_check:
                try:
                    job: JobInfo | None = await self._scheduler.get_job(job_id)
                except NotFound:
                    job = None
                except RPCError as exc:  # an outage: try again (the bound still holds)
                    log.debug("kernel job %s: %s", job_id, exc.message)
                    job = JobInfo(id=job_id, name="", state="unknown")
                state = job.state if job is not None else "completed"
                if state in ("pending", "held"):
                    assert job is not None
                    start.state = "pending"
                    start.reason = job.reason or state
                    start.partition = job.partition or start.partition
                    if now - began > queue_timeout:
                        await self._cancel_job()
                        raise _Failed(
                            f"its job {job_id} waited in the queue for more than "
                            f"{queue_timeout:g} s ({start.reason}) and was cancelled. Try "
                            "again later, or pick a kernel profile with fewer resources.",
                            504,
                        )
                elif state in ACTIVE_STATES or state == "unknown":
                    start.state, start.reason = "starting", ""
                    running_since = running_since or now
                    if now - running_since > START_TIMEOUT:
                        tail = await self._job_log_tail(sftp)
                        await self._cancel_job()
                        raise _Failed(
                            f"the kernel ({self._python} -m ipykernel_launcher) did not "
                            f"start within {START_TIMEOUT:g} s of its job {job_id} running; "
                            f"the job was cancelled. Its output: {tail or '(none)'}",
                            504,
                        )
                else:
                    raise _Failed(await self._job_failure(sftp, job), 500)
                next_check = now + (1.0 if start.state == "pending" else 0.5)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(start.cancelled.wait(), 0.2)

    async def _read_ports(
        self, sftp: asyncssh.SFTPClient, folder: str
    ) -> tuple[str, dict[str, int]] | None:
        try:
            async with sftp.open(f"{folder}/kernel.json") as f:
                info = json.loads(await f.read())
            ports = {c: int(info.get(f"{c}_port") or 0) for c in CHANNELS}
            if all(ports.values()) and isinstance(info.get("ip"), str):
                return info["ip"], ports
        except (ValueError, TypeError, asyncssh.Error, OSError):
            pass  # being rewritten, or not there yet
        return None

    async def _exit_status(self, sftp: asyncssh.SFTPClient) -> int | None:
        """The exit status the job's script wrote for the current kernel, if it ended."""
        try:
            async with sftp.open(f"{self._dir}/exit.{self._gen}") as f:
                text: Any = await f.read()
        except (asyncssh.Error, OSError):
            return None
        with contextlib.suppress(ValueError):
            return int(str(text).strip())
        return None

    async def _poll_job(self, force: bool = False) -> int | None:
        """Whether the compute-node kernel ended (its exit file; its folder gone: the
        watchdog or the job's end removed it). At most every 0.25 s unless ``force``
        (jupyter_client polls every 0.1 s while it waits for a shutdown)."""
        if self._exit is not None:
            return self._exit
        now = time.monotonic()
        if not force and now - self._polled < 0.25:
            return None
        self._polled = now
        if self._pool is None or self._target is None or self._dir is None:
            return 1
        try:
            sftp = await self._pool.sftp(self._target)
            status = await self._exit_status(sftp)
            if status is None:
                try:
                    await sftp.stat(self._dir)
                except asyncssh.SFTPNoSuchFile:
                    status = 1
        except (RPCError, asyncssh.Error, OSError):
            return None  # an outage: the lease's bound decides
        self._exit = status
        return status

    async def _job_log_tail(self, sftp: asyncssh.SFTPClient) -> str:
        lines: list[str] = []
        for name in ("job.log", "kernel.log"):
            with contextlib.suppress(asyncssh.Error, OSError):
                async with sftp.open(f"{self._dir}/{name}", "rb") as f:
                    data: Any = await f.read()
                lines += data.decode("utf-8", "replace").splitlines()
        return "\n".join(line for line in lines[-10:] if line.strip())[-1500:]

    async def _job_failure(self, sftp: asyncssh.SFTPClient, job: JobInfo | None) -> str:
        """Why the job or its kernel ended before the kernel was up, and what to do."""
        tail = await self._job_log_tail(sftp)
        python = self._python
        if ENV_FAILED in tail:
            return self._env_failure(tail)
        if "No module named ipykernel" in tail:
            return (
                f"ipykernel is not installed in the Python {python} on the compute nodes. "
                f"Install it with '{python} -m pip install ipykernel' (in a terminal on "
                f"{self._label}), or ask for another Python for this kernel profile "
                "(kernel_python)."
            )
        if job is None:
            why = f"its job {self._job_id} ended before the kernel was up"
        else:
            why = f"its job {self._job_id} ended ({job.state}" + (
                f": {job.reason})" if job.reason and job.reason != "None" else ")"
            )
            why += " before the kernel was up"
        if job is not None and job.state == "cancelled":
            why += " (cancelled on the cluster: by you, an administrator or a time limit)"
        return f"{why}. The end of its log: {tail or '(empty)'}"

    async def _cancel_job(self) -> None:
        if self._scheduler is None or self._job_id is None:
            return
        with contextlib.suppress(RPCError):
            await self._scheduler.cancel(self._job_id)
        if self._on_jobs_changed is not None:
            self._on_jobs_changed()

    async def _end_job(self) -> None:
        """Cancel the kernel's job, wait (a few seconds) until the scheduler has ended
        it, and remove its folder."""
        await self._cancel_job()
        scheduler, job_id = self._scheduler, self._job_id
        end = time.monotonic() + 10
        while scheduler is not None and job_id is not None and time.monotonic() < end:
            try:
                job = await scheduler.get_job(job_id)
            except RPCError:
                break
            if job.state not in ACTIVE_STATES:
                break
            await asyncio.sleep(0.25)
        pool, target, folder = self._pool, self._target, self._dir
        if pool is not None and target is not None and folder:
            with contextlib.suppress(RPCError):
                await pool.run(target, f"rm -rf {shlex.quote(folder)}; true", timeout=10)
        self._job_id = None
        self._dir = None
        self._gen = 0


_SPEC_FIELDS = frozenset(f.name for f in dataclasses.fields(JobSpec))


def _shell_path(path: str) -> str:
    """``path`` as one shell word; a leading ``~/`` is the user's home."""
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", "") or str(exc)
    return reason or type(exc).__name__
