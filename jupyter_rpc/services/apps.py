"""Interactive app templates (issue 14): what ``RPCApp.apps`` may say, the two built-ins
(*Web app*, *Remote desktop*), their launch forms and the batch script rendered from one.

A template is a batch script in Jinja2's *sandboxed* environment. Every ``{{ value }}``
it prints is quoted for the POSIX shell at one place, the environment's ``finalize``
(:func:`shell_word`): a template cannot print a value unquoted, so a value with ``;``,
``$(...)``, quotes or newlines arrives as data. Resources (partition, hours, CPUs, GPUs)
never reach the script: they become the job's fields (``JobSpec``), which the scheduler
adapters check and pass as arguments.

The job (both built-ins, and what a site's template must do the same way) gets
``RPC_SESSION_DIR`` (a 0700 folder the server made), makes its secrets itself, starts
its app in the foreground process tree with a trap that stops it, and writes
``$RPC_SESSION_DIR/connection.json`` (0600, by a rename, so it is never read half
written): ``{"host", "port"}`` (or ``"socket"``: a UNIX socket on the node) and
``"token"`` (the app's secret: the proxy adds it, the browser never sees it).
"""

from __future__ import annotations

import copy
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2 import nodes as jinja_nodes
from jinja2.sandbox import SandboxedEnvironment
from jsonschema import Draft202012Validator

from ..errors import InvalidRequest, problems_text, schema_problems
from .cluster_config import NAME_PATTERN

#: A field override (as a cluster's ``submit``): fix, bound or default a resource.
_OVERRIDE = {
    "type": "object",
    "properties": {
        "default": {},
        "enum": {"type": "array"},
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "const": {},
        "hidden": {"type": "boolean"},
        "title": {"type": "string"},
        "description": {"type": "string"},
    },
    "additionalProperties": False,
}


def template_properties(fields: str) -> dict[str, Any]:
    """The keys every template a site writes has (apps, workflows): its name and
    description, the clusters it runs on, its form (``fields``: what the form's own
    properties are) and overrides of the resources every launch form has."""
    return {
        "display_name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "clusters": {
            "oneOf": [
                {"const": "*"},
                {"type": "array", "items": {"type": "string", "pattern": NAME_PATTERN}},
            ]
        },
        "form": {
            "type": "object",
            "description": f"JSON Schema properties of {fields}",
            "additionalProperties": {"type": "object"},
        },
        "required": {"type": "array", "items": {"type": "string"}},
        "resources": {
            "type": "object",
            "propertyNames": {"enum": ["partition", "hours", "cpus", "gpus", "memory_mb"]},
            "additionalProperties": _OVERRIDE,
        },
    }


#: What a site may write for one app (``RPCApp.apps``: name → this).
APP_CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **template_properties("the app's own fields"),
        "icon": {"type": "string", "description": "an SVG document or an image URL"},
        "kind": {"enum": ["web", "desktop"]},
        "script": {"type": "string", "minLength": 1},
        "strip_prefix": {"type": "boolean"},
        "start_timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600},
    },
    "required": ["kind", "script"],
    "additionalProperties": False,
}
APPS_VALIDATOR = Draft202012Validator(
    {
        "type": "object",
        "propertyNames": {"pattern": NAME_PATTERN},
        # each entry: false (a built-in removed) or APP_CONFIG_SCHEMA, checked on its own
        # so that a problem names its key
        "additionalProperties": {"type": ["object", "boolean"], "not": {"const": True}},
    }
)
APP_VALIDATOR = Draft202012Validator(APP_CONFIG_SCHEMA)

#: The resources every launch form has, before a template's or cluster's overrides.
RESOURCES: dict[str, dict[str, Any]] = {
    "partition": {"type": "string", "title": "Partition", "default": ""},
    "hours": {
        "type": "number",
        "title": "Hours",
        "default": 1,
        "exclusiveMinimum": 0,
        "maximum": 168,
    },
    "cpus": {"type": "integer", "title": "CPUs", "default": 1, "minimum": 1, "maximum": 1024},
    "gpus": {"type": "integer", "title": "GPUs", "default": 0, "minimum": 0, "maximum": 64},
    "memory_mb": {"type": "integer", "title": "Memory (MB)", "minimum": 1},
}

#: Seconds a job may run without writing its connection file before it is ended.
DEFAULT_START_TIMEOUT = 120.0

# -- the built-ins ------------------------------------------------------------------

#: Shared by both built-ins: helpers, the trap, the atomic connection file.
_PRELUDE = r"""#!/bin/bash
# jupyter_rpc interactive app ({{ app }}); the server gave RPC_SESSION_DIR (0700).
set -u
umask 077
SESSION_DIR=$RPC_SESSION_DIR
CONN="$SESSION_DIR/connection.json"
log() { printf '[%s %s] %s\n' {{ app }} "$(date +%T)" "$*"; }
die() { log "ERROR: $*"; exit 1; }
PIDS=()
RUN_DIR=""
running() {
  local st; st=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)
  [ -n "$st" ] && [ "$st" != Z ]
}
cleanup() {  # once; a second SIGTERM (scancel signals more than once) does not cut it short
  trap - EXIT
  trap '' TERM INT HUP
  rm -f "$CONN" "$CONN.tmp"
  local p i alive
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for i in $(seq 30); do
    alive=0; for p in "${PIDS[@]}"; do running "$p" && alive=1; done
    [ "$alive" = 0 ] && break; sleep 0.1
  done
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  [ -n "$RUN_DIR" ] && rm -rf "$RUN_DIR"
  log "ended"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP
secret() { head -c 96 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "$1"; }
# The node's address as the login node reaches it.
BIND_IP=$(getent ahostsv4 "$(hostname)" 2>/dev/null | awk 'NR==1 {print $1}')
[ -n "$BIND_IP" ] || BIND_IP=127.0.0.1
port_used() { (exec 3<>"/dev/tcp/$BIND_IP/$1") 2>/dev/null; }
pick_port() {
  local p n
  for n in $(seq 100); do
    p=$(( 20000 + ( (RANDOM << 15) | RANDOM ) % 20000 ))
    port_used "$p" || { echo "$p"; return 0; }
  done
  return 1
}
wait_listen() {  # port pid seconds: 0 once something answers on port while pid runs
  local end=$(( SECONDS + $3 ))
  while [ $SECONDS -lt $end ]; do
    kill -0 "$2" 2>/dev/null || return 1
    port_used "$1" && return 0
    sleep 0.1
  done
  return 1
}
write_connection() {  # the JSON text: written 0600 under another name, then renamed
  printf '%s\n' "$1" > "$CONN.tmp" && chmod 600 "$CONN.tmp" && mv -f "$CONN.tmp" "$CONN"
}
"""

WEB_SCRIPT = (
    _PRELUDE
    + r"""
TOKEN=$(secret 40)
export RPC_BASE_PATH={{ base_path }}
APP_COMMAND={{ command }}
cd "$HOME"
for try in 1 2 3 4 5; do
  PORT=$(pick_port) || die "no free port"
  export PORT HOST="$BIND_IP" RPC_APP_TOKEN="$TOKEN"
  bash -c "$APP_COMMAND" &
  APP=$!
  PIDS+=("$APP")
  if wait_listen "$PORT" "$APP" {{ start_seconds }}; then break; fi
  running "$APP" && die "the app did not listen on port $PORT within {{ start_seconds }} s"
  log "the app ended before it listened on $PORT (try $try)"
  APP=""
done
[ -n "$APP" ] || die "the app did not start"
unset RPC_APP_TOKEN
write_connection "{\"kind\": \"web\", \"host\": \"$BIND_IP\", \"port\": $PORT, \"token\": \"$TOKEN\", \"job_id\": \"${SLURM_JOB_ID:-}\", \"node\": \"$(hostname)\"}" \
  || die "cannot write $CONN"
log "listening on $BIND_IP:$PORT"
while running "$APP"; do sleep 2 & wait $!; done
log "the app exited"
"""
)

DESKTOP_SCRIPT = (
    _PRELUDE
    + r"""
for tool in Xvnc vncpasswd websockify; do
  command -v "$tool" >/dev/null || die "$tool is not installed on $(hostname)"
done
WM=""
for w in openbox matchbox-window-manager twm; do command -v "$w" >/dev/null && { WM=$w; break; }; done
PARENT=${TMPDIR:-/tmp}
# vnc.sock's path must fit in 107 bytes (a site's per-job TMPDIR may be deep)
[ "$(printf '%s' "$PARENT" | wc -c)" -le 80 ] || PARENT=/tmp
RUN_DIR=$(mktemp -d "$PARENT/rpc-desktop.XXXXXX") || die "mktemp failed"
PASSWORD=$(secret 8)
printf '%s\n' "$PASSWORD" | vncpasswd -f > "$RUN_DIR/passwd" || die "vncpasswd failed"
TOKEN=$(secret 40)
GEOMETRY={{ geometry }}
exec 4>"$RUN_DIR/display"
Xvnc -displayfd 4 -geometry "$GEOMETRY" -depth 24 -rfbunixpath "$RUN_DIR/vnc.sock" \
  -rfbunixmode 0600 -rfbport -1 -PasswordFile "$RUN_DIR/passwd" -SecurityTypes VncAuth \
  -AlwaysShared -nolisten tcp &
PIDS+=("$!"); XVNC=$!
exec 4>&-
for i in $(seq 100); do [ -s "$RUN_DIR/display" ] && break; running "$XVNC" || die "Xvnc ended"; sleep 0.1; done
DISPLAY=":$(head -n1 "$RUN_DIR/display")"
[ "$DISPLAY" != ":" ] || die "Xvnc gave no display"
export DISPLAY
cd "$HOME"
if [ -n "$WM" ]; then
  "$WM" & PIDS+=("$!")
  # A window mapped while the window manager starts can be lost by it (openbox drops
  # the pending MapRequest: the xterm stayed unmapped about one desktop in five), so
  # the xterm waits until the manager says it runs (_NET_SUPPORTING_WM_CHECK), 5 s
  # at most; without xprop, a second.
  if command -v xprop >/dev/null; then
    for i in $(seq 50); do
      xprop -root _NET_SUPPORTING_WM_CHECK 2>/dev/null | grep -q 'window id' && break
      sleep 0.1
    done
  else
    sleep 1
  fi
fi
command -v xterm >/dev/null && { xterm -geometry 100x30+20+20 & PIDS+=("$!"); }
printf '%s: unix_socket:%s\n' "$TOKEN" "$RUN_DIR/vnc.sock" > "$RUN_DIR/tokens"
for try in 1 2 3 4 5; do
  PORT=$(pick_port) || die "no free port"
  # --host-token: the token comes as the Host header (a query token lands in its log)
  websockify --host-token --token-plugin TokenFile --token-source "$RUN_DIR/tokens" \
    "$BIND_IP:$PORT" &
  WS=$!
  PIDS+=("$WS")
  if wait_listen "$PORT" "$WS" 20; then break; fi
  WS=""
done
[ -n "$WS" ] || die "websockify did not start"
write_connection "{\"kind\": \"desktop\", \"host\": \"$BIND_IP\", \"port\": $PORT, \"token\": \"$TOKEN\", \"password\": \"$PASSWORD\", \"display\": \"$DISPLAY\", \"job_id\": \"${SLURM_JOB_ID:-}\", \"node\": \"$(hostname)\"}" \
  || die "cannot write $CONN"
log "desktop $DISPLAY, websockify on $BIND_IP:$PORT"
while running "$XVNC" && running "$WS"; do sleep 2 & wait $!; done
log "the desktop ended"
"""
)

BUILTIN_APPS: dict[str, dict[str, Any]] = {
    "webapp": {
        "display_name": "Web app",
        "description": "A command that serves HTTP on $HOST:$PORT (and, if it can, under "
        "$RPC_BASE_PATH), opened in a JupyterLab tab: TensorBoard, a Dask dashboard, "
        "python -m http.server.",
        "kind": "web",
        "clusters": "*",
        "form": {
            "command": {
                "type": "string",
                "title": "Command",
                "description": "A shell command that serves HTTP on $HOST:$PORT.",
                "default": 'python3 -m http.server --bind "$HOST" "$PORT"',
                "minLength": 1,
            },
            "strip_prefix": {
                "type": "boolean",
                "title": "The app knows no base path",
                "description": "Send the app paths from / (as python -m http.server wants); "
                "untick for an app started with $RPC_BASE_PATH as its base URL.",
                "default": True,
            },
        },
        "required": ["command"],
        "script": WEB_SCRIPT,
        "strip_prefix": True,
    },
    "desktop": {
        "display_name": "Remote desktop",
        "description": "A desktop (TigerVNC, a window manager, an xterm) on a compute node, "
        "drawn in a JupyterLab tab.",
        "kind": "desktop",
        "clusters": "*",
        "form": {
            "geometry": {
                "type": "string",
                "title": "Screen size",
                "enum": ["1024x768", "1280x800", "1600x900", "1920x1080"],
                "default": "1280x800",
            },
        },
        "script": DESKTOP_SCRIPT,
    },
}


@dataclass
class AppTemplate:
    """One app a user can launch."""

    name: str
    display_name: str
    kind: str
    script: str
    description: str = ""
    icon: str = ""
    clusters: str | list[str] = "*"
    form: dict[str, Any] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    strip_prefix: bool = False
    start_timeout: float = DEFAULT_START_TIMEOUT
    source: str = "site"

    def runs_on(self, cluster: str) -> bool:
        return self.clusters == "*" or cluster in self.clusters

    def schema(self, cluster_submit: dict[str, Any] | None = None) -> dict[str, Any]:
        """The launch form's JSON Schema: the resources (with the cluster's ``submit``
        overrides for partition, cpus, gpus, memory_mb, then the template's) and the
        app's fields."""
        properties: dict[str, Any] = {}
        for key, base in RESOURCES.items():
            prop = copy.deepcopy(base)
            # a cluster's submit overrides (time_limit is minutes there: not mapped)
            cluster_override = None if key == "hours" else (cluster_submit or {}).get(key)
            for source in (cluster_override, self.resources.get(key)):
                if source:
                    _apply_override(prop, source)
            properties[key] = prop
        for key, prop in self.form.items():
            properties[key] = copy.deepcopy(prop)
        return {
            "type": "object",
            "title": self.display_name,
            "properties": properties,
            "required": list(self.required),
            "additionalProperties": False,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "description": self.description,
            "icon": self.icon,
            "kind": self.kind,
            "clusters": self.clusters,
            "source": self.source,
        }


def _apply_override(prop: dict[str, Any], override: dict[str, Any]) -> None:
    for key, value in override.items():
        if key == "hidden":
            prop["hidden"] = value
        elif key == "minimum" and "minimum" in prop:
            prop["minimum"] = max(prop["minimum"], value)
        elif key == "maximum" and "maximum" in prop:
            prop["maximum"] = min(prop["maximum"], value)
        else:
            prop[key] = copy.deepcopy(value)
    if "const" in override:
        prop["default"] = override["const"]


def load_apps(config: dict[str, Any], *, builtins: bool = True) -> dict[str, AppTemplate]:
    """The apps of ``RPCApp.apps`` (checked: ``InvalidRequest`` naming the bad key) over
    the built-ins (``false`` removes one, a site entry of the same name replaces it)."""
    problems = schema_problems(APPS_VALIDATOR, config)
    if not problems and isinstance(config, dict):
        for name, entry in config.items():
            if entry is not False:
                problems += [
                    {**p, "path": [name, *p["path"]]} for p in schema_problems(APP_VALIDATOR, entry)
                ]
    if problems:
        for problem in problems:
            problem["path"] = ["RPCApp.apps", *problem["path"]]
        raise InvalidRequest(
            f"RPCApp.apps is not valid: {problems_text(problems, 'RPCApp.apps')}",
            code="request.schema",
            details={"problems": problems},
        )
    merged: dict[str, tuple[dict[str, Any], str]] = {}
    if builtins:
        merged.update({k: (v, "builtin") for k, v in BUILTIN_APPS.items()})
    for name, entry in config.items():
        if entry is False:
            merged.pop(name, None)
        else:
            merged[name] = (entry, "site")
    apps: dict[str, AppTemplate] = {}
    for name, (entry, source) in merged.items():
        app = build_app(name, entry, source)
        _check_app(app)
        apps[name] = app
    return apps


def build_app(name: str, entry: dict[str, Any], source: str) -> AppTemplate:
    """An :class:`AppTemplate` from a checked config entry."""
    return AppTemplate(
        name=name,
        display_name=entry.get("display_name", name),
        kind=entry["kind"],
        script=entry["script"],
        description=entry.get("description", ""),
        icon=entry.get("icon", ""),
        clusters=entry.get("clusters", "*"),
        form=copy.deepcopy(entry.get("form", {})),
        required=list(entry.get("required", [])),
        resources=copy.deepcopy(entry.get("resources", {})),
        strip_prefix=bool(entry.get("strip_prefix", False)),
        start_timeout=float(entry.get("start_timeout", DEFAULT_START_TIMEOUT)),
        source=source,
    )


def _check_app(app: AppTemplate, where: str = "") -> None:
    where = where or f"RPCApp.apps.{app.name}"
    for key in app.form:
        if key in RESOURCES or key in _RESERVED:
            raise InvalidRequest(
                f"{where}.form.{key}: the name {key!r} is taken (resources and the server's "
                f"own values: {', '.join(sorted({*RESOURCES, *_RESERVED}))}).",
                code="request.schema",
            )
    for key in app.required:
        if key not in app.form:
            raise InvalidRequest(
                f"{where}.required: {key!r} is not a field of its form.", code="request.schema"
            )
    try:
        Draft202012Validator.check_schema(app.schema())
    except Exception as exc:  # noqa: BLE001 - jsonschema's SchemaError, named for the admin
        raise InvalidRequest(
            f"{where}.form is not a JSON Schema: {getattr(exc, 'message', exc)}",
            code="request.schema",
        ) from None
    try:
        _ENV.from_string(app.script)
    except TemplateError as exc:
        raise InvalidRequest(
            f"{where}.script is not a valid template: {exc}", code="request.schema"
        ) from None


# -- a user's own templates ------------------------------------------------------------

#: Jinja2 nodes a user's template may use: print values and choose with ``{% if %}``.
#: No loops, macros, calls, filters, attribute or item access, assignments, includes:
#: a user's template is rendered by the Jupyter server, and adding one needs only the
#: ``write`` permission, so it must not be able to make the server compute (nested
#: ``{% for %}`` over ``range`` keeps the server's loop busy for hours) or reach objects.
_USER_NODES = frozenset(
    {"Template", "Output", "TemplateData", "Name", "Const", "If", "CondExpr", "Not", "And",
     "Or", "Compare", "Operand", "Test"}
)  # fmt: skip
#: ``{% if x is ... %}`` tests a user's template may use.
_USER_TESTS = frozenset({"defined", "undefined", "none", "true", "false", "number", "string"})
#: An icon of a user's template: an image URL (never an SVG document: inlined in the
#: page, its script would run with the user's Jupyter login).
_USER_ICON = re.compile(r"^(https://\S+|data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+)$")
#: Largest script of a user's template (characters).
MAX_USER_SCRIPT = 64 * 1024


def user_app_problems(name: Any, entry: Any) -> list[str]:
    """What is wrong with a user's template ``entry`` named ``name``: the checks of a
    site's (:data:`APP_CONFIG_SCHEMA`, its form, its template) and a user's own limits
    (:data:`_USER_NODES`, :data:`_USER_ICON`, :data:`MAX_USER_SCRIPT`). ``[]``: fine."""
    if not isinstance(name, str) or not re.match(NAME_PATTERN, name):
        return [f"name: {name!r} is not a name (letters, digits, '-', '_', '.')"]
    problems = [
        f"{'.'.join(map(str, p['path'])) or 'entry'}: {p['message']}"
        for p in schema_problems(APP_VALIDATOR, entry)
    ]
    if problems:
        return problems
    icon = entry.get("icon", "")
    if icon and not _USER_ICON.match(icon):
        problems.append(
            "icon: a template of your own may have an https: or data:image/(png|jpeg|gif|webp) "
            "URL as its icon, not an SVG document or another URL"
        )
    script = entry["script"]
    if len(script) > MAX_USER_SCRIPT:
        problems.append(f"script: longer than {MAX_USER_SCRIPT} characters")
        return problems
    try:
        _check_app(build_app(name, entry, "user"), where=f"app {name}")
        tree = _ENV.parse(script)
    except InvalidRequest as exc:
        return [*problems, exc.message]
    except TemplateError as exc:
        return [*problems, f"script: not a valid template: {exc}"]
    for node in tree.find_all(jinja_nodes.Node):
        kind = type(node).__name__
        if kind not in _USER_NODES or (
            isinstance(node, jinja_nodes.Test) and node.name not in _USER_TESTS
        ):
            what = f"'is {node.name}'" if isinstance(node, jinja_nodes.Test) else kind
            problems.append(
                f"script line {node.lineno}: {what} is not allowed in a template of your own "
                "(it may print values, {{ name }}, and choose with {% if %})"
            )
            break
    return problems


#: Values the server gives every template (a form field may not take these names).
_RESERVED = frozenset({"app", "base_path", "session", "start_seconds"})


def shell_word(value: Any) -> str:
    """What ``{{ value }}`` prints in a template: one shell word (the one place values
    are quoted). ``None`` is the empty word, booleans ``true``/``false``."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        text = repr(value) if isinstance(value, float) else str(value)
    else:
        text = str(value)
    if "\0" in text:
        raise InvalidRequest("A value contains a NUL character.", code="request.schema")
    return shlex.quote(text)


_ENV = SandboxedEnvironment(
    autoescape=False,
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    finalize=shell_word,
)


def launch_values(app: AppTemplate, schema: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The form's values with defaults, checked against ``schema`` (400
    ``request.schema`` naming the field); ``const`` resources win."""
    unknown = sorted(set(body) - set(schema["properties"]))
    if unknown:
        raise InvalidRequest(
            f"The launch form of '{app.display_name}' has no field "
            f"{', '.join(map(repr, unknown))} (its fields: "
            f"{', '.join(schema['properties'])}).",
            code="request.schema",
            details={
                "problems": [{"path": ["values", k], "message": "unknown field"} for k in unknown]
            },
        )
    values: dict[str, Any] = {}
    for key, prop in schema["properties"].items():
        if key in body:
            values[key] = body[key]
        elif "const" in prop:
            values[key] = prop["const"]
        elif "default" in prop:
            values[key] = copy.deepcopy(prop["default"])
    problems = schema_problems(Draft202012Validator(schema), values)
    if problems:
        raise InvalidRequest(
            f"The launch form of '{app.display_name}' is not valid: "
            f"{problems_text(problems, 'values')}",
            code="request.schema",
            details={"problems": problems},
        )
    return values


def render_script(template: AppTemplate, values: dict[str, Any], **server: Any) -> str:
    """The batch script: the template filled with the app's fields and the server's
    values (``app``, ``base_path``, ``session``, ``start_seconds``), every one quoted."""
    context = {k: v for k, v in values.items() if k not in RESOURCES}
    context.update(server)
    try:
        return _ENV.from_string(template.script).render(context)
    except TemplateError as exc:
        raise InvalidRequest(
            f"The app '{template.display_name}' could not be prepared: {exc}",
            code="request.schema",
        ) from None
