"""One error model for every answer that is not a success.

Every non-2xx body, and the ``error`` of a failed call, has the shape::

    {"message": "...", "reason": "Bad Request", "code": "request.schema", "details": {...}}

``message`` is written for people, ``code`` is a stable dotted identifier for programs,
``details`` optional structured data. Tracebacks go to the server log only.

:data:`ERROR_CODES` is the one table of codes (code, HTTP status, meaning): every code the
package raises is in it (``tests/server/test_rest_contract.py`` collects them from the source),
the OpenAPI description (``jupyter_rpc/rest/openapi.yaml``) allows exactly these, and the
table in ``docs/rest-api.md`` is checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from http.client import responses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Validator


@dataclass(frozen=True)
class ErrorCode:
    """One stable error code: the HTTP status(es) it is sent with and what it means."""

    code: str
    status: int | tuple[int, ...]
    meaning: str

    @property
    def statuses(self) -> tuple[int, ...]:
        """Every status this code is sent with (most have one)."""
        return self.status if isinstance(self.status, tuple) else (self.status,)


_E = ErrorCode

#: Every error code, grouped by subject. A code sent with more than one status says when.
#: ``call.*`` codes of a failed call arrive in the call's ``error``, not as an HTTP error
#: (except ``call.not_found``, ``call.finished`` and a ``call.timeout`` while waiting).
ERROR_CODES: tuple[ErrorCode, ...] = (
    # the request itself
    _E(
        "request.invalid",
        400,
        "The request is wrong: a body that does not fit its schema, a bad query parameter.",
    ),
    _E(
        "request.invalid_json",
        400,
        "The request body is not strict JSON: not JSON at all, NaN, Infinity or -Infinity "
        "(send null or a string instead), a number too large for a double (1e999) or of more "
        "than 1,000 characters, or arrays and objects nested more than 100 deep.",
    ),
    _E(
        "request.schema",
        400,
        "A call's arguments (or a login prompt's answers) do not fit their schema; `details.errors` lists each problem.",
    ),
    _E(
        "request.too_large",
        413,
        "The request body is larger than `RPCApp.max_request_size` (an upload's: than"
        " `RPCApp.max_upload_size`; a save's: than twice `RPCApp.max_open_size`); refused as"
        " soon as that is known, before the rest of the body is read.",
    ),
    _E("request.method_not_allowed", 405, "This HTTP method is not allowed on this route."),
    _E("route.not_found", 404, "There is no such route under `/jupyter-rpc/`."),
    _E("auth.unauthenticated", 401, "The request carries no valid credentials."),
    _E(
        "auth.forbidden",
        403,
        "The request is not authenticated or not authorized (token, cookie, XSRF).",
    ),
    _E("not_found", 404, "Something named in the request does not exist (the generic code)."),
    _E("conflict", 409, "The request conflicts with the current state (the generic code)."),
    _E("internal", 500, "A bug: the server log has the traceback; the message is generic."),
    # backends, functions and calls
    _E("backend.not_found", 404, "There is no backend of that name."),
    _E(
        "backend.unavailable",
        503,
        "The backend cannot be started, keeps crashing or is shutting down.",
    ),
    _E("backend.protocol", 502, "The backend answered something that cannot be read."),
    _E(
        "backend.crashed",
        502,
        "The backend process died while the call was running (a call's `error`).",
    ),
    _E(
        "backend.message_too_large",
        502,
        "The backend's answer was larger than `RPCApp.max_message_size`; that call alone fails"
        " (a call's `error`).",
    ),
    _E(
        "backend.wedged",
        503,
        "The backend stopped answering (its workers all held by calls that ignore"
        " cancellation, or no answer to a ping) and was restarted; the calls waiting on it"
        " failed (a call's `error`).",
    ),
    _E("function.not_found", 404, "The backend has no function of that name."),
    _E("call.not_found", 404, "There is no call with that id (or it is no longer remembered)."),
    _E("call.finished", 409, "The call had already ended: there is nothing to cancel."),
    _E(
        "call.no_download",
        404,
        "The call has nothing to download: its result is not a map (GeoJSON or a raster), "
        "has not arrived, or is no longer kept (`RPCApp.max_kept_raster_size`).",
    ),
    _E("call.timeout", 504, "The call ran longer than its timeout and was cancelled."),
    _E(
        "call.cancelled",
        409,
        "The call was cancelled by its caller or by a server shutdown (a call's `error`).",
    ),
    _E(
        "call.remote_error",
        502,
        "The remote function raised; `details.error_type` names the exception (a call's `error`).",
    ),
    _E(
        "call.invalid_arguments",
        502,
        "The backend refused the arguments; `details.errors` lists why (a call's `error`).",
    ),
    # DASF message brokers
    _E(
        "broker.config",
        503,
        "The broker backend's settings cannot be used (URL, token, CA bundle).",
    ),
    _E("broker.unavailable", 503, "The message broker cannot be reached."),
    _E("broker.forbidden", 503, "The broker refused the credentials."),
    _E("broker.topic_not_found", 503, "The broker does not know the backend's topic."),
    _E("broker.refused", 503, "The broker refused the connection."),
    _E("broker.no_backend", 503, "No backend answers on the broker topic."),
    _E("broker.stopped", 503, "The broker connection was closed (shutdown or lost while waiting)."),
    _E(
        "broker.protocol",
        502,
        "The broker or the backend behind it sent a message that cannot be read.",
    ),
    _E(
        "broker.too_large",
        502,
        "A message from the broker is larger than `RPCApp.max_message_size`.",
    ),
    # clusters and their SSH connection
    _E("cluster.not_found", 404, "There is no cluster of that name."),
    _E("cluster.no_scheduler", 404, "The cluster has no batch scheduler (scheduler `none`)."),
    _E(
        "cluster.site_defined",
        403,
        "A cluster of the site's configuration cannot be removed by a user.",
    ),
    _E("cluster.user_clusters_disabled", 403, "The site does not allow users to add clusters."),
    _E("cluster.exists", 409, "A cluster of that name exists already."),
    _E("cluster.invalid", 400, "A user cluster's settings are not valid."),
    _E("cluster.invalid_user", 400, "The cluster's user name cannot be passed to the scheduler."),
    _E(
        "cluster.config_invalid",
        400,
        "A cluster setting cannot be used (a relative root, a bad jump host).",
    ),
    _E(
        "cluster.unreachable",
        503,
        "The cluster cannot be reached (connection refused, DNS, timeout).",
    ),
    _E(
        "cluster.timeout",
        504,
        "A command did not finish in time, or every SSH channel stayed busy.",
    ),
    _E(
        "cluster.command_failed",
        (400, 502),
        "A scheduler command failed: 400 when the scheduler refused the request (e.g. an invalid partition), 502 when the command itself failed; its stderr in `details.stderr`.",
    ),
    _E("cluster.command_not_found", 503, "A scheduler command is not installed on the cluster."),
    _E("cluster.channel_refused", 502, "The SSH server refused to open another channel."),
    _E(
        "cluster.command_refused",
        403,
        "The cluster's SSH key does not allow this command: its forced command "
        "(`jupyter-rpc-gate`, docs/restricted-keys.md) refused it; the message names the "
        "command and why, `details.refused` is the gate's line.",
    ),
    _E(
        "policy.forbidden",
        403,
        "The site's policy (`RPCApp.policy`) does not let this user use this backend or "
        "cluster, add a cluster, or choose this submit value; the message names the rule.",
    ),
    _E(
        "terminal.refused",
        403,
        "Terminals are turned off for this cluster (its `allow_terminals`, or "
        "`RPCApp.allow_user_cluster_terminals` for a cluster a user added), the cluster's SSH "
        "server gives the key no PTY, or the shell could not start.",
    ),
    _E(
        "terminal.too_many",
        409,
        "The user has `RPCApp.max_terminals` terminals open, or the cluster's SSH connection has "
        "no channel left for another (`max_channels`, two kept for jobs and files).",
    ),
    _E(
        "terminal.not_found",
        404,
        "There is no open terminal of that name (it ended, or the server restarted).",
    ),
    _E("app.not_found", 404, "There is no interactive app of that name on this server."),
    _E("app.not_here", 400, "The app does not run on that cluster (its template's `clusters`)."),
    _E(
        "app.invalid",
        400,
        "An app template of the user's own is not valid (`details.problems` lists why).",
    ),
    _E("app.exists", 409, "An app of that name exists already."),
    _E("app.site_defined", 403, "The app is the site's (or built in) and cannot be removed."),
    _E("app.user_apps_disabled", 403, "The site does not allow users to add apps of their own."),
    _E(
        "session.not_found",
        404,
        "There is no app session of that id (it was never launched on this server).",
    ),
    _E(
        "session.not_running",
        409,
        "The session's app is not running yet (queued, starting) or has ended; the message "
        "says which and why, `details.state` the state.",
    ),
    _E(
        "session.unreachable",
        502,
        "The session's app did not answer through its forward (it stopped, or the node "
        "cannot be reached from the login node).",
    ),
    _E("session.failed", 502, "The session's folder could not be made on the cluster."),
    _E(
        "workflow.not_found",
        404,
        "There is no workflow template of that name for that cluster (or it was refused when "
        "loaded: the catalog's `problems` say why).",
    ),
    _E(
        "workflow.invalid",
        400,
        "A workflow template is not valid: the message names its file and field.",
    ),
    _E("workflow.exists", 409, "A workflow template of that name exists already."),
    _E(
        "workflow.site_defined",
        403,
        "The workflow template is the site's and cannot be removed by a user.",
    ),
    _E(
        "workflow.no_dependencies",
        400,
        "The cluster's scheduler cannot chain jobs (afterok), so a run of several steps is "
        "refused before anything is submitted.",
    ),
    _E(
        "run.not_found",
        404,
        "There is no workflow run of that id on that cluster (no run folder with a run.json).",
    ),
    _E("run.finished", 409, "Every step of the run has ended already: nothing to cancel."),
    _E(
        "run.submit_failed",
        502,
        "The run could not be submitted: its folder could not be made, or the scheduler refused "
        "a step (the message names it; steps submitted before it were cancelled).",
    ),
    _E(
        "kernel.start_not_found",
        404,
        "No compute-node kernel is being started with that id (it is up, or its start ended).",
    ),
    _E(
        "kernel.profile_unknown",
        404,
        "The cluster has no kernel profile of that name (any more).",
    ),
    _E(
        "ssh.host_unknown",
        428,
        "The host key is not known: `details` has `host`, `port`, `key_type` and `fingerprint` to trust.",
    ),
    _E(
        "ssh.auth_required",
        428,
        "The SSH server asks a question (password, one-time code): `details.prompt`.",
    ),
    _E(
        "ssh.host_key_changed",
        502,
        "The host presents a different key than the trusted one: refused.",
    ),
    _E("ssh.auth_failed", 502, "The SSH server refused the login."),
    _E(
        "ssh.fingerprint_mismatch",
        409,
        "The fingerprint sent to `trust` is not the key the host presents now.",
    ),
    _E("ssh.trust_expired", 409, "No unknown host key is waiting to be trusted."),
    _E(
        "ssh.trust_unavailable",
        (400, 409),
        "The host name cannot be written to known_hosts safely (400), or the key cannot be trusted now (409).",
    ),
    _E("ssh.prompt_expired", 409, "The login prompt that was answered is no longer waiting."),
    # batch jobs
    _E("job.not_found", 404, "The scheduler does not know this job."),
    _E("job.finished", 409, "The job has ended: it cannot be cancelled, held or released."),
    _E("job.not_pending", 409, "Only a pending job can be held."),
    _E("job.not_held", 409, "Only a held job can be released."),
    _E("job.not_running", 409, "Only a running job has a node to open a shell on."),
    _E(
        "job.hold_failed",
        409,
        "The scheduler could not hold the job; its stderr in `details.stderr`.",
    ),
    _E(
        "job.release_failed",
        409,
        "The scheduler could not release the job; its stderr in `details.stderr`.",
    ),
    _E(
        "job.invalid",
        400,
        "A job setting the scheduler would misread, or outside the site's limits; the field is named.",
    ),
    _E(
        "scheduler.unsupported",
        400,
        "The cluster's scheduler cannot do this (the cluster's `capabilities` say what it can); `details.capability` names it.",
    ),
    _E(
        "job.no_script",
        400,
        "The scheduler no longer knows the job's batch script: it cannot be resubmitted.",
    ),
    # remote files
    _E("files.not_found", 404, "No such file or folder."),
    _E("files.exists", 409, "A file or folder of that name exists already."),
    _E("files.conflict", 409, "The file changed since the client read it."),
    _E(
        "files.permission",
        403,
        "Not allowed: the file system refused, or the name is a root or at the top level.",
    ),
    _E("files.outside_roots", 403, "The path leads outside the cluster's allowed roots."),
    _E("files.is_directory", 400, "A file was expected, this is a folder."),
    _E("files.not_directory", 400, "A folder was expected, this is a file."),
    _E("files.invalid_name", 400, "The name cannot be used for a file."),
    _E("files.invalid_notebook", 400, "The notebook is not valid JSON."),
    _E("files.invalid_base64", 400, "The content is not valid base64."),
    _E("files.not_text", 400, "The file is not UTF-8 text; open it as a download."),
    _E(
        "files.not_regular",
        400,
        "A named pipe (FIFO), device or socket: listed, but not opened, downloaded or"
        " overwritten (opening a FIFO would wait for a writer).",
    ),
    _E(
        "files.too_large",
        413,
        "The file is larger than `RPCApp.max_open_size` (download it instead).",
    ),
    _E("files.no_space", 507, "The file system is full."),
    _E("files.unavailable", 503, "The cluster's files cannot be reached."),
    _E("files.timeout", 504, "The file server did not answer in time."),
    _E("files.upload_not_found", 404, "The chunked upload is unknown or expired."),
    _E(
        "files.upload_not_started",
        400,
        "A chunk arrived before the upload's first chunk; upload again.",
    ),
    _E("files.io_error", 500, "Any other file system failure, with the system's reason."),
    _E("files.config", 500, "A cluster root cannot be expanded (the site's configuration)."),
)

#: The table by code.
CODES: dict[str, ErrorCode] = {e.code: e for e in ERROR_CODES}

#: The code of an error tornado or jupyter_server raises with a status of no code above.
FALLBACK_CODE = "http.{status}"


class RPCError(Exception):
    """An error with an HTTP status, a stable code and a message a person understands."""

    status: int = 500
    code: str = "internal"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details or {}

    def to_json(self) -> dict[str, Any]:
        """The error body of this error."""
        return error_body(self.status, self.message, self.code, self.details)


class InvalidRequest(RPCError):
    """The request itself is wrong (400)."""

    status = 400
    code = "request.invalid"


class NotFound(RPCError):
    """The named thing does not exist (404)."""

    status = 404
    code = "not_found"


class Conflict(RPCError):
    """The request conflicts with the current state (409)."""

    status = 409
    code = "conflict"


class TooLarge(RPCError):
    """The request body is larger than allowed (413)."""

    status = 413
    code = "request.too_large"


class RemoteFailed(RPCError):
    """The remote side answered, but wrongly or with a failure (502)."""

    status = 502
    code = "backend.protocol"


class RemoteUnavailable(RPCError):
    """The remote side cannot be reached or started (503)."""

    status = 503
    code = "backend.unavailable"


class RemoteTimeout(RPCError):
    """The remote side did not answer in time (504)."""

    status = 504
    code = "call.timeout"


class CallFailed(RPCError):
    """A remote function raised: not an HTTP error of ours, the call ends ``failed``."""

    status = 502
    code = "call.remote_error"


class CallCancelled(RPCError):
    """The call was cancelled by its caller, or by a server shutdown."""

    status = 409
    code = "call.cancelled"


class BackendCrashed(RPCError):
    """The backend process died while the call was running."""

    status = 502
    code = "backend.crashed"


def error_body(
    status: int, message: str, code: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The one JSON error shape."""
    body: dict[str, Any] = {
        "message": message,
        "reason": responses.get(status, "Unknown"),
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def schema_problems(validator: Validator, data: Any) -> list[dict[str, Any]]:
    """What is wrong with ``data`` for ``validator``: ``[{"path": [...], "message": ...}]``,
    in path order."""
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    return [{"path": list(e.absolute_path), "message": e.message} for e in errors]


def problems_text(problems: list[dict[str, Any]], whole: str = "entry") -> str:
    """``schema_problems`` as one line for people (``whole`` names the top level)."""
    return "; ".join(f"{'.'.join(map(str, p['path'])) or whole}: {p['message']}" for p in problems)
