"""The Jupyter server extension: site configuration, services, routes, shutdown."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Dict, Float, Int, List, TraitError, Unicode, default, validate

from . import events
from .errors import RPCError, problems_text, schema_problems
from .handlers import Services, routes
from .kernels import paths as kernel_paths
from .kernels import specs as kernel_specs
from .policy import Policy, check_policy, unknown_names
from .private import DEFAULT_DROP, private_dir
from .private import configure as configure_child_env
from .schedulers.forms import check_overrides
from .services.apps import load_apps
from .services.backends import BACKEND_CONFIG_VALIDATOR, BackendRegistry
from .services.calls import CallManager
from .services.cluster_config import CLUSTER_CONFIG_VALIDATOR, LOCAL_DEFAULT
from .services.clusters import ClusterRegistry
from .services.contents import ContentsService
from .services.jobs import JobsService
from .services.kernel_values import KernelEnvService, KernelProfileValues, KernelValuesService
from .services.kernels import KernelOwner
from .services.rasters import RasterStore
from .services.sessions import SessionService
from .services.terminals import TerminalService, TerminalSettings
from .services.workflow_runs import WorkflowService
from .services.workflows import WorkflowCatalog
from .ssh.forward import sweep_socket_folders
from .ssh.target import configure as configure_ssh_config

#: The embedded default: the example backend as a local process.
EXAMPLES = {
    "examples": {
        "module": "jupyter_rpc.examples.demo",
        "display_name": "Examples",
        "description": "Example scientific functions shipped with jupyter_rpc.",
    }
}


class RPCApp(ExtensionApp):
    """Remote functions, HPC jobs, remote files, terminals and apps for JupyterLab.

    A site configures it in its own file, ``jupyter_rpc_config.json`` (or ``.py``), in any
    Jupyter config folder (``{sys.prefix}/etc/jupyter``, ``/etc/jupyter``, ``~/.jupyter``),
    in ``jupyter_server_config.json``/``.py``, or on the command line
    (``--RPCApp.call_timeout=120``). Not in ``jupyter_server_config.d/*.json``: Jupyter
    reads only ``jpserver_extensions`` from there.
    """

    name = "jupyter_rpc"

    @default("config_file_name")
    def _config_file_name_default(self) -> str:
        # ExtensionApp's default would be 'jupyter_jupyter_rpc_config'
        return "jupyter_rpc_config"

    backends = Dict(
        default_value=EXAMPLES,
        config=True,
        help="""Backends by name. Each is a dict with either 'module' (a Python module
        name or .py path, served with `python -m jupyter_rpc.backend`) or 'command' (an
        argv list of a process speaking the protocol on stdio), and optionally
        'display_name', 'description', 'cwd', 'env' (dict of strings added to the
        server's environment, minus the server's own tokens), 'python' (interpreter for
        'module'; default: the server's), 'timeout' (seconds a call may take; default
        RPCApp.call_timeout) and 'start_timeout' (seconds). The default is the example
        backend; setting this replaces it.
        A DASF backend module on a message broker has "transport": "broker", 'url' (the
        broker's websocket base: ws(s)://host:port/ws for dasf-broker-django, or
        ws(s)://host:port/ws/v2 for Apache Pulsar), 'topic', at most one of 'token',
        'token_env' (an environment variable) or 'token_file' (sent as the Authorization
        header, never logged or shown), and optionally 'ca_bundle' (PEM file for wss://;
        default: the system's CA store), 'pulsar' ({"tenant", "namespace",
        "persistent"}), 'connect_timeout', 'timeout', 'start_timeout' (seconds to answer
        api_info), 'display_name', 'description'.
        Example: {"climate": {"module": "mylab.climate", "timeout": 600},
                  "ocean": {"transport": "broker", "url": "wss://dasf.example.org/ws",
                            "topic": "ocean", "token_file": "/etc/jupyter/dasf-token"}}""",
    )

    call_timeout = Float(
        300.0,
        config=True,
        help="Seconds a call may run before it is cancelled and fails with call.timeout, "
        "unless a backend sets its own 'timeout'. A caller may ask for less, never more.",
    )

    start_timeout = Float(
        30.0,
        config=True,
        help="Seconds a backend process has to start and describe its API.",
    )

    max_request_size = Int(
        16 * 1024 * 1024,
        config=True,
        help="Largest request body accepted, in bytes (a call's arguments); larger ones get "
        "413 as soon as the size is known (Content-Length, or while the body is read): the "
        "server never holds more of a body than this.",
    )

    max_message_size = Int(
        128 * 1024 * 1024,
        config=True,
        help=(
            "Largest single message (e.g. a result) read from a backend, in bytes. Receiving "
            "one costs the server about 2.3 times its size at the peak, answering it over "
            "REST about as much again: raise it only with the memory for it."
        ),
    )

    max_wait = Float(
        60.0,
        config=True,
        help="Longest a client may ask a request to wait for a call to change (long poll), seconds.",
    )

    call_history = Int(
        500,
        config=True,
        help="How many calls the server remembers (running calls are always kept).",
    )

    max_kept_result_size = Int(
        8 * 1024 * 1024,
        config=True,
        help="""Largest result (bytes of JSON, about) kept in the call history. A larger one
        is kept only until it is read once (the caller waiting for it) or for 5 minutes,
        then dropped: the call then says so in 'result_dropped'.""",
    )

    max_kept_raster_size = Int(
        1024 * 1024 * 1024,
        config=True,
        help="""Bytes of raster results (float32 cells) kept whole for their download
        (GeoTIFF; docs/maps.md), for all calls together: the oldest is dropped first, and a
        raster larger than this alone is shown on the map but not kept. The map gets a
        downsampled copy either way.""",
    )

    clusters = Dict(
        default_value=LOCAL_DEFAULT,
        config=True,
        help="""Clusters by name: where jobs run and files live. Without 'host' a cluster is
        this machine (scheduler 'local': jobs are processes of the server; files a local
        folder). With 'host' it is reached over SSH (the user's ~/.ssh/config is honoured):
        'port', 'user', 'identity_file', 'agent', 'jump' ("user@jumphost:22", a chain
        "a,b", or a list), 'ssh_config' (true or a path), 'known_hosts' (a file of host
        keys, besides ~/.ssh/known_hosts), 'scheduler' ("slurm", "none"), 'workdir',
        'roots' (allowed folders by name, default {"home": "~"}; e.g.
        {"home": "~", "scratch": "/scratch/$USER"}), 'files' (how the roots are reached:
        "local" without 'host', "sftp" with one; the defaults), 'submit' (per submit-form field:
        "default", "enum", "minimum", "maximum", "const", "hidden"), 'display_name',
        'description', 'max_channels', 'connect_timeout', 'command_timeout', 'allow_terminals'
        (false: no terminals on this cluster; default true).
        The default is this machine only; setting this replaces it.
        Example: {"levante": {"host": "levante.dkrz.de", "user": "k123456",
                  "scheduler": "slurm", "roots": {"home": "~", "work": "/work/bb1234"},
                  "submit": {"account": {"const": "bb1234"}}}}""",
    )

    allow_user_clusters = Bool(
        True,
        config=True,
        help="Whether users may add their own SSH clusters from the UI (kept in their Jupyter data directory).",
    )

    user_ssh_config = Bool(
        None,
        allow_none=True,
        config=True,
        help="Whether a site cluster without its own 'ssh_config' path reads the server "
        "user's ~/.ssh/config. The user can write that file (the files API, a terminal), and "
        "its ProxyCommand and 'Match exec' run on this server at each connect, so on a hub, "
        "where a user may have 'write' without 'execute', it is not read. None (default): "
        "read it, except under JupyterHub (JUPYTERHUB_SERVICE_PREFIX or JUPYTERHUB_API_TOKEN "
        "set); True or False decide. A site's own ssh_config path is always read.",
    )

    jobs_refresh_min = Float(
        5.0,
        config=True,
        help="Seconds one scheduler query of a cluster's job list serves every caller "
        "(panels, notebooks) before the scheduler is asked again.",
    )

    ssh_idle_timeout = Float(
        600.0,
        config=True,
        help="Seconds an unused SSH connection stays open.",
    )

    max_open_size = Int(
        32 * 1024 * 1024,
        config=True,
        help="Largest remote file opened in an editor or viewer, in bytes (larger ones: "
        "download), and so the largest file saved from one (larger saves get 413 "
        "files.too_large; a save's request body may be twice this, for JSON's escapes).",
    )

    max_upload_size = Int(
        100 * 1024 * 1024 * 1024,
        config=True,
        help="Largest streamed upload, in bytes; a larger Content-Length is refused (413) "
        "before the body is read.",
    )

    state_dir = Unicode(
        config=True,
        help="Where the user's clusters, trusted host keys and local jobs are kept "
        "(default: <jupyter data dir>/jupyter_rpc).",
    )

    @default("state_dir")
    def _default_state_dir(self) -> str:
        return os.path.abspath(os.path.join(jupyter_data_dir(), "jupyter_rpc"))

    @validate("state_dir")
    def _check_state_dir(self, proposal: dict[str, Any]) -> str:
        value = os.path.expanduser(str(proposal["value"]))
        if not os.path.isabs(value):  # never a folder relative to wherever the server started
            raise TraitError(
                f"RPCApp.state_dir must be an absolute path (got {proposal['value']!r})."
            )
        return value

    child_env_drop = List(
        Unicode(),
        default_value=list(DEFAULT_DROP),
        config=True,
        help="Variables of the server's environment that local jobs and local backends do not "
        "inherit: names or shell patterns, case ignored. Default: Jupyter's and JupyterHub's "
        "tokens and secrets, and *_TOKEN, *_SECRET, *_PASSWORD, *_PASSWD, *_API_KEY, "
        "*_SECRET_KEY, *_PRIVATE_KEY, *_ACCESS_KEY. A job's or backend entry's own env "
        "always passes.",
    )

    child_env_keep = List(
        Unicode(),
        default_value=[],
        config=True,
        help="Variables that local jobs and local backends inherit even if child_env_drop "
        "matches them (names or shell patterns, case ignored), e.g. ['JUPYTERHUB_API_TOKEN'].",
    )

    terminal_scrollback = Int(
        1024 * 1024,
        config=True,
        help="Bytes of a terminal's output the server keeps and replays to a browser that "
        "reattaches (a reload, a dropped network). 0 keeps none.",
    )

    terminal_idle_timeout = Float(
        None,
        allow_none=True,
        config=True,
        help="Seconds a terminal with no browser attached may go without input or output "
        "before the server ends it (its shell hung up). None (the default): never.",
    )

    max_terminals = Int(
        20,
        config=True,
        help="Open terminals per user, all clusters together; one more gets 409 "
        "terminal.too_many. (An SSH cluster also keeps two of its max_channels for jobs "
        "and files.)",
    )

    terminal_ping_interval = Float(
        30.0,
        config=True,
        help="Seconds between the server's pings of a terminal's websocket (so no proxy's "
        "idle timeout cuts a quiet terminal); a pong missing for as long closes the socket, "
        "never the shell. ServerApp.websocket_ping_interval, when set, is used instead.",
    )

    kernel_watchdog = Float(
        120.0,
        config=True,
        help="Seconds a notebook kernel on a cluster outlives a Jupyter server it no longer "
        "hears from (killed, frozen, cut off): a watchdog on the cluster then ends it "
        "(docs/kernels.md). A shorter outage of the SSH connection keeps the kernel.",
    )

    allow_user_cluster_terminals = Bool(
        True,
        config=True,
        help="Whether users may open terminals on the clusters they add themselves. A site "
        "cluster says so itself ('allow_terminals' in RPCApp.clusters, default true).",
    )

    policy = Dict(
        config=True,
        help="""Which backends, clusters and submit choices each user may use, by hub group
        or user name (docs/accountability.md, "Policy"). 'rules' are read top to bottom: the
        first whose 'groups' or 'users' include the user applies, else 'default'. Each
        names 'backends' and 'clusters' ("*" for all, a list, missing for none),
        'user_clusters' (may add and use their own; default only with "clusters": "*")
        and 'submit' (a cluster's submit overrides, narrowing every cluster's form).
        Refused requests get 403 policy.forbidden naming the rule; lists show only what
        the user may use. Empty (the default): no policy, everything allowed.
        Example: {"rules": [{"name": "students", "groups": ["students"],
                  "backends": ["examples"], "clusters": ["local"],
                  "submit": {"time_limit": {"maximum": 60}}}],
                  "default": {"backends": "*", "clusters": "*"}}""",
    )

    apps = Dict(
        config=True,
        help="""Interactive apps users launch on clusters (docs/apps.md): name -> {kind
        ('web' or 'desktop'), script (a Jinja2 batch-script template; every {{ value }} it
        prints is shell-quoted), display_name, description, icon, clusters ("*" or a list),
        form (JSON Schema properties of the app's fields), required, resources (overrides
        of partition, hours, cpus, gpus, memory_mb: default, minimum, maximum, enum, const,
        hidden), strip_prefix, start_timeout (seconds, default 120)}. The built-ins
        'webapp' (Web app) and 'desktop' (Remote desktop) are there unless replaced by an
        entry of the same name or removed with false. Checked at start-up, naming the key.""",
    )

    builtin_apps = Bool(
        True,
        config=True,
        help="Offer the built-in apps (Web app, Remote desktop) beside RPCApp.apps.",
    )

    allow_user_apps = Bool(
        True,
        config=True,
        help="""Let users add app templates of their own (POST jupyter-rpc/apps, kept in
        {state_dir}/apps.json, 0600), checked as the site's are and more: the script may
        only print values and choose with {% if %}, the icon is an image URL, and it runs
        only on clusters the user may use. False: none is added or loaded.""",
    )

    ended_session_ttl = Float(
        86400.0,
        config=True,
        help="""Seconds an ended app session stays listed before it is forgotten and its
        session folder (~/.jupyter-rpc/sessions/<id> on the cluster, or
        {state_dir}/sessions/<id> for the local cluster) is removed. Default: a day.""",
    )

    workflows = Dict(
        config=True,
        help="""Workflow templates users run on clusters (docs/workflows.md): name ->
        {display_name, description, clusters ("*" or a list), form (JSON Schema properties
        of its inputs), required, resources (overrides of partition, hours, cpus, gpus,
        memory_mb, as for apps), images (container images the form offers as 'image'),
        outputs (glob patterns relative to the run folder), steps: [{name, script (a
        Jinja2 batch-script template; every {{ value }} is shell-quoted), after (earlier
        steps it waits for), array ('1-4'), resources (fixed values of the step)}]}. A
        template with an error is refused at start-up with a message naming it and the
        field; the others load.""",
    )

    workflow_dirs = List(
        Unicode(),
        config=True,
        help="""Folders of workflow template files (one template per .yaml, .yml or .json
        file, named by the file; the shape of an RPCApp.workflows entry). Read at start-up;
        a file with an error is refused naming the file and field.""",
    )

    workflow_runs_dir = Unicode(
        "jupyter-rpc-runs",
        config=True,
        help="""Where workflow runs are made on a cluster: one folder per run,
        <this>/<template>-<YYYYmmdd-HHMMSS>-<4 hex>. A relative path is relative to the
        cluster's working folder (its 'workdir'), else the login home; '~/' is the home.""",
    )

    workflow_poll = Float(
        10.0,
        config=True,
        help="""Seconds between checks of the workflow runs this server submitted while
        they are active: a failed step's dependents are cancelled even if nobody looks
        (Slurm does it itself). 0: only when a run is read.""",
    )

    @validate("apps")
    def _check_apps(self, proposal: dict[str, Any]) -> dict[str, Any]:
        try:
            load_apps(proposal["value"])
        except RPCError as exc:
            raise TraitError(exc.message) from None
        return dict(proposal["value"])

    @validate("policy")
    def _check_policy(self, proposal: dict[str, Any]) -> dict[str, Any]:
        try:
            check_policy(proposal["value"])
        except ValueError as exc:
            raise TraitError(f"RPCApp.policy is not valid: {exc}") from None
        return dict(proposal["value"])

    #: The configuration error that stopped this extension's config from loading, if any.
    _config_error: Exception | None = None

    def _link_jupyter_server_extension(self, serverapp: Any) -> None:
        # jupyter_server logs a config error raised here ("error linking extension") and
        # loads the extension anyway, with its traits as they were before the bad value
        # (RPCApp.state_dir then '' and local jobs in ./local-jobs). Kept, so that
        # initialize_settings refuses to start instead.
        try:
            super()._link_jupyter_server_extension(serverapp)
        except Exception as exc:
            self._config_error = exc
            raise

    def _state_path(self) -> Path:
        """The state folder: absolute, the configured one or the default."""
        path = Path(self.state_dir or self._default_state_dir())
        if not path.is_absolute():  # pragma: no cover - the trait's validation refuses it
            raise TraitError(f"RPCApp.state_dir must be an absolute path (got {str(path)!r}).")
        return path

    @validate("clusters")
    def _check_clusters(self, proposal: dict[str, Any]) -> dict[str, Any]:
        return _check_entries(
            "clusters", proposal["value"], CLUSTER_CONFIG_VALIDATOR, _submit_problems
        )

    @validate("backends")
    def _check_backends(self, proposal: dict[str, Any]) -> dict[str, Any]:
        return _check_entries("backends", proposal["value"], BACKEND_CONFIG_VALIDATOR)

    def initialize_settings(self) -> None:
        if self._config_error is not None:
            raise RuntimeError(
                f"jupyter_rpc is not started: its configuration is invalid: {self._config_error}"
            )
        configure_child_env(self.child_env_drop, self.child_env_keep)
        unknown = unknown_names(
            self.policy,
            self.backends,
            self.clusters,
            load_apps(self.apps, builtins=self.builtin_apps).keys(),
        )
        if unknown:  # a typo in a name would silently refuse (or allow) the wrong thing
            raise RuntimeError(f"jupyter_rpc is not started: RPCApp.policy is not valid: {unknown}")
        configure_ssh_config(_reads_user_ssh_config(self.user_ssh_config))
        event_logger = getattr(self.serverapp, "event_logger", None)
        if event_logger is not None:  # accountability events (docs/accountability.md)
            events.register(event_logger)
        for folder in sweep_socket_folders():  # an earlier server's, killed (SIGKILL)
            self.log.info("jupyter_rpc: removed the socket folder %s left by a server", folder)
        try:  # what it holds is the user's only (0700), an older version's folder too
            private_dir(self._state_path())
        except OSError as exc:  # its users (local jobs, user clusters) say so when used
            self.log.warning("jupyter_rpc: cannot make the state folder private: %s", exc)
        clusters = ClusterRegistry(
            self.clusters,
            state_dir=self._state_path(),
            allow_user_clusters=self.allow_user_clusters,
            refresh_min=self.jobs_refresh_min,
            ssh_idle_timeout=self.ssh_idle_timeout,
        )
        backends = BackendRegistry(
            self.backends,
            timeout=self.call_timeout,
            start_timeout=self.start_timeout,
            max_message_size=self.max_message_size,
            clusters=clusters,
        )
        jobs = JobsService()
        self.services = Services(
            backends=backends,
            calls=CallManager(
                backends,
                history_size=self.call_history,
                max_kept_result_size=self.max_kept_result_size,
                rasters=RasterStore(self.max_kept_raster_size),
            ),
            max_request_size=self.max_request_size,
            max_wait=self.max_wait,
            clusters=clusters,
            contents=ContentsService(max_open_size=self.max_open_size),
            jobs=jobs,
            kernel_values=KernelValuesService(
                jobs, KernelProfileValues(self._state_path() / "kernel-profiles.json")
            ),
            kernel_env=KernelEnvService(self._state_path() / "kernel-env.json"),
            max_upload_size=self.max_upload_size,
            policy=Policy(self.policy),
            terminals=TerminalService(
                clusters,
                TerminalSettings(
                    scrollback=max(0, self.terminal_scrollback),
                    idle_timeout=self.terminal_idle_timeout or None,
                    max_per_user=self.max_terminals,
                    allow_user_clusters=self.allow_user_cluster_terminals,
                    ping_interval=self.terminal_ping_interval,
                ),
            ),
            sessions=SessionService(
                clusters,
                load_apps(self.apps, builtins=self.builtin_apps),
                self._state_path(),
                base_url=getattr(self.serverapp, "base_url", "/") or "/",
                allow_user_apps=self.allow_user_apps,
                ended_session_ttl=max(0.0, self.ended_session_ttl),
            ),
            workflows=WorkflowService(
                clusters,
                WorkflowCatalog(
                    self.workflows, self.workflow_dirs, self._state_path() / "workflows"
                ),
                runs_dir=self.workflow_runs_dir,
                poll=max(0.0, self.workflow_poll),
            ),
        )
        # kernels follow the server's owner's policy grant; their kernelspecs with it
        self.services.kernels.owner = KernelOwner(
            self.services.policy, on_change=lambda: self._install_kernelspecs(clusters)
        )
        self._install_kernelspecs(clusters)
        clusters.on_user_change = lambda: self._install_kernelspecs(clusters)
        self.log.info("jupyter_rpc: backends %s", ", ".join(self.backends) or "(none)")
        self.log.info("jupyter_rpc: clusters %s", ", ".join(c.name for c in clusters) or "(none)")

    def _install_kernelspecs(self, clusters: ClusterRegistry) -> None:
        """One kernelspec per SSH cluster, in a folder the server's kernelspec manager
        reads (jupyter_rpc/kernels/specs.py)."""
        ksm = getattr(self.serverapp, "kernel_spec_manager", None)
        if ksm is None:
            return
        folder = self._state_path() / "kernelspecs"
        try:
            owner = self.services.kernels.owner
            names = kernel_specs.write_specs(
                folder,
                (
                    (c.name, c.config)
                    for c in clusters
                    if owner.allows_cluster(c.name, user_defined=c.source == "user")
                ),
            )
        except OSError as exc:
            self.log.warning("jupyter_rpc: cluster kernelspecs not written: %s", exc)
            return
        if names and not kernel_specs.install(ksm, folder):
            self.log.warning("jupyter_rpc: this server's kernelspec manager reads no folders")
        # a kernel opened from a cluster's drive starts in the notebook's folder there
        kernel_paths.install(getattr(self.serverapp, "kernel_manager", None))

    def initialize_handlers(self) -> None:
        self.handlers.extend(routes(self.services))

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        # Runs once the server's loop runs: a real server only (the test fixtures never
        # start one, so pytest's own Ctrl-C stays as it is).
        _stop_on_sigint(serverapp, self.log)

    async def stop_extension(self) -> None:
        """Cancel running calls, then stop the backend processes; end the uploads in
        progress (their temporary files removed) before the clusters' files close (bounded
        waits)."""
        if getattr(self, "services", None) is None:  # never started (a config error)
            return
        await self.services.kernels.close()  # queued kernel jobs cancelled, not left
        if self.services.terminals is not None:  # their shells hung up first
            await self.services.terminals.close()
        if self.services.sessions is not None:  # the apps' jobs run on; forwards close
            await self.services.sessions.close()
        if self.services.workflows is not None:  # runs go on; their checks stop
            await self.services.workflows.close()
        await self.services.calls.close()
        await self.services.backends.close()
        await self.services.contents.close()
        await self.services.clusters.close()
        self.log.info("jupyter_rpc: stopped (backends ended, connections closed)")


def _reads_user_ssh_config(setting: bool | None) -> bool:
    """``RPCApp.user_ssh_config`` resolved: None means yes, except under JupyterHub."""
    if setting is not None:
        return setting
    return not any(os.environ.get(n) for n in ("JUPYTERHUB_SERVICE_PREFIX", "JUPYTERHUB_API_TOKEN"))


def _stop_on_sigint(serverapp: Any, log: Any) -> None:
    """Make SIGINT stop the server as SIGTERM does, through its cleanup.

    jupyter_server handles SIGINT only when its stdin is a terminal (a confirmation
    prompt, then ``stop``). Without one, as under a hub's spawner, whose idle culler and
    stop send SIGINT, or a service manager, Python's default handler raises
    KeyboardInterrupt out of the event loop; ``start_ioloop`` catches it and returns, so
    ``cleanup_extensions`` never runs and our backend processes (with the calls they run),
    SSH connections and job watchers were left behind. The default handler is replaced by
    the server's own ``_signal_stop`` (its SIGTERM handler); a handler someone else set
    (the terminal prompt, an embedding application) is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        return  # signal.signal works in the main thread only (an embedding application)
    stop = getattr(serverapp, "_signal_stop", None)
    if stop is None or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return
    signal.signal(signal.SIGINT, stop)
    log.debug("jupyter_rpc: SIGINT stops the server through its cleanup (no terminal)")


def _check_entries(
    trait: str,
    value: dict[str, Any],
    validator: Draft202012Validator,
    more: Callable[[dict[str, Any]], str] | None = None,
) -> dict[str, Any]:
    """A dict of named configs (``RPCApp.backends``, ``RPCApp.clusters``), each checked
    against its schema at start-up: a TraitError that names the entry and the key."""
    kind = trait[:-1]
    for name, config in value.items():
        if not isinstance(name, str) or not name or "/" in name:
            raise TraitError(f"RPCApp.{trait}: invalid {kind} name {name!r}")
        problems = problems_text(schema_problems(validator, config))
        if not problems and more is not None:
            problems = more(config)
        if problems:
            raise TraitError(f"RPCApp.{trait}['{name}'] is not valid: {problems}")
    return value


def _submit_problems(config: dict[str, Any]) -> str:
    """A site's submit-form overrides name fields and keys that exist."""
    try:
        check_overrides(config.get("submit") or {})
    except ValueError as exc:
        return f"submit: {exc}"
    return ""
