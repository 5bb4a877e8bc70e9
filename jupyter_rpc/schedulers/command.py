"""What the schedulers driven by command-line tools share (Slurm, PBS, LSF, Grid Engine).

:class:`CommandScheduler` holds the constructor's settings, runs a command (the
``scheduler_bin`` folder, the timeout), turns a failed command into the one error shape
(``cluster.command_failed`` with the scheduler's own words) and a refused submission into
a 400 with its stderr; a scheduler module keeps only what is its own: its argv, its
parser, its states. The argv helpers below check a submit form's values the same way for
all (``job.invalid`` naming the field).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import tzinfo
from re import Pattern
from typing import TYPE_CHECKING, ClassVar, NoReturn, TypeVar

from ..errors import Conflict, InvalidRequest, RemoteFailed, RPCError
from ..ssh.runner import CommandRunner, Completed
from .base import JobInfo, JobSpec, Scheduler

if TYPE_CHECKING:
    from .registry import SchedulerContext

_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: An account, project or QOS name.
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}$")
#: A queue name (Grid Engine's; PBS's may add ``@server``).
QUEUE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_S = TypeVar("_S", bound="CommandScheduler")
#: Commands of the login node, not of the scheduler (never taken from ``scheduler_bin``).
LOGIN_COMMANDS = frozenset({"id", "printenv"})


# --- argv helpers ---------------------------------------------------------------------


def invalid(field: str, message: str) -> InvalidRequest:
    """A submit form's value refused: ``job.invalid`` naming the field."""
    return InvalidRequest(message, code="job.invalid", details={"field": field})


def check_text(field: str, value: str, *, allow_tab: bool = False) -> str:
    """One line of text (no newline or control character)."""
    if _CONTROL_RE.search(value) or (not allow_tab and "\t" in value):
        raise invalid(field, f"The {field} must not contain newlines or control characters.")
    return value


def check_path(field: str, value: str) -> str:
    """A path that is one argument and never an option."""
    check_text(field, value)
    if not value.strip():
        raise invalid(field, f"The {field} is empty.")
    if value.startswith("-"):
        raise invalid(field, f"The {field} must not start with '-' (use ./{value}).")
    return value


def positive(field: str, value: int | None, upper: int = 10**7) -> int | None:
    """A whole number from 1 to ``upper``, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= upper:
        raise invalid(field, f"The {field} must be a whole number from 1 to {upper}.")
    return value


def hms(minutes: int) -> str:
    """``H:MM:00`` for a time limit in minutes."""
    return f"{minutes // 60}:{minutes % 60:02d}:00"


def queue_args(
    spec: JobSpec,
    *,
    label: str,
    queue_re: Pattern[str] = QUEUE_RE,
    account_flag: str = "-A",
    account: str = "account",
) -> list[str]:
    """``-q <queue>`` and ``<account_flag> <account>``, each checked; a QOS is refused
    (``label``, the scheduler, has none: its queues are what a QOS is elsewhere)."""
    argv = []
    if spec.partition:
        if not queue_re.match(spec.partition):
            raise invalid("partition", f"{spec.partition!r} is not a queue name.")
        argv += ["-q", spec.partition]
    if spec.account:
        if not NAME_RE.match(spec.account):
            raise invalid("account", f"{spec.account!r} is not a valid {account} name.")
        argv += [account_flag, spec.account]
    if spec.qos:
        raise invalid("qos", f"{label} has no QOS; choose a queue instead.")
    return argv


def check_one_script(spec: JobSpec) -> None:
    """A script text or a script path, exactly one."""
    if bool(spec.script) == bool(spec.script_path):
        raise invalid("script", "Give either a script text or a script path (exactly one).")


def check_env(spec: JobSpec, reserved: Pattern[str], why: str) -> None:
    """The job's variables (set in the submitting process's environment by the runner):
    names only, none of ``reserved`` (``why``: who sets it), no NUL in a value."""
    for key, value in (spec.env or {}).items():
        if not _ENV_NAME_RE.match(key):
            raise invalid("env", f"{key!r} is not an environment variable name.")
        if reserved.match(key):
            raise invalid(
                "env", f"{key} cannot be set for a job here ({why}); set it in the script."
            )
        if not isinstance(value, str) or "\0" in value:
            raise invalid("env", f"The value of {key} must be text without NUL characters.")


def extra_args(
    spec: JobSpec,
    *,
    allowed: bool,
    command: str,
    prefix: str = "-",
    shape: str = "an option",
) -> list[str]:
    """The admin-allowed extra arguments, each an option starting with ``prefix``."""
    if not spec.extra_args:
        return []
    if not allowed:
        raise invalid("extra_args", f"Extra {command} arguments are not allowed on this cluster.")
    for arg in spec.extra_args:
        check_text("extra_args", arg)
        if not arg.startswith(prefix):
            raise invalid("extra_args", f"Extra argument {arg!r} must be {shape}.")
    return list(spec.extra_args)


def script_args(spec: JobSpec) -> list[str]:
    """The script path as the last argument, or nothing (a script text goes on stdin)."""
    if spec.script_path:
        return [check_path("script_path", spec.script_path)]
    if spec.script is not None and "\0" in spec.script:
        raise invalid("script", "The script contains a NUL character.")
    return []


def hold_checked(jobs: list[JobInfo], job_id: str) -> None:
    """Only a pending (or held) job can be held."""
    if not any(job.state in {"pending", "held"} for job in jobs):
        raise Conflict(
            f"Job {job_id} is already running; only pending jobs can be held.",
            code="job.not_pending",
        )


def release_checked(jobs: list[JobInfo], job_id: str) -> None:
    """Only a held job can be released."""
    if not any(job.state == "held" for job in jobs):
        raise Conflict(f"Job {job_id} is not held.", code="job.not_held")


# --- the scheduler ----------------------------------------------------------------------


class CommandScheduler(Scheduler):
    """A scheduler driven by its command-line tools, run by ``runner`` (SSH or local).

    ``user`` selects whose jobs are the user's own (default: the login user);
    ``command_timeout`` bounds every command; ``tz`` is the login node's time zone, for
    times printed as text; ``allow_extra_args``: the site allows extra submit arguments;
    ``commands_dir``: where the scheduler's commands are (``scheduler_bin``), None: the
    login shell's PATH.
    """

    #: The scheduler's name in messages ("PBS refused the job: ...").
    label: ClassVar[str] = "the scheduler"
    #: What a user name (``user``) may be.
    user_re: ClassVar[Pattern[str]] = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")

    def __init__(
        self,
        runner: CommandRunner,
        *,
        user: str | None = None,
        command_timeout: float = 60,
        tz: tzinfo | None = None,
        allow_extra_args: bool = False,
        commands_dir: str | None = None,
    ) -> None:
        self.runner = runner
        self.commands_dir = commands_dir.rstrip("/") if commands_dir else None
        self.user = user
        self.command_timeout = command_timeout
        self.tz = tz
        self.allow_extra_args = allow_extra_args
        self._login_user: str | None = None
        self._home_dir: str | None = None

    @classmethod
    def from_context(cls: type[_S], ctx: SchedulerContext) -> _S:
        """The registry's factory (:mod:`jupyter_rpc.schedulers.registry`): a module's
        ``from_context = TheScheduler.from_context``."""
        return cls(
            ctx.runner,
            user=ctx.user,
            command_timeout=60 if ctx.command_timeout is None else ctx.command_timeout,
            commands_dir=ctx.commands_dir,
        )

    # --- the scheduler's own words (override) -----------------------------------------

    def _words(self, text: str) -> str:
        """The scheduler's message in ``text`` (its stderr) on one line."""
        return " ".join(line.strip() for line in text.splitlines() if line.strip())[:1000]

    def _said(self, done: Completed) -> str:
        """What a failed command said (by default its stderr)."""
        return self._words(done.stderr)

    # --- running commands --------------------------------------------------------------

    async def _run(
        self,
        argv: list[str],
        *,
        input: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Completed:
        if self.commands_dir and argv[0] not in LOGIN_COMMANDS:
            argv = [f"{self.commands_dir}/{argv[0]}", *argv[1:]]
        return await self.runner.run(
            argv, input=input, env=env, timeout=timeout or self.command_timeout
        )

    def _failed(self, done: Completed, what: str) -> RPCError:
        """``cluster.command_failed``: ``what`` failed, in the scheduler's words."""
        message = self._said(done) or f"exit status {done.exit_status}"
        return RemoteFailed(
            f"{what} failed on {self.runner.where}: {message}",
            code="cluster.command_failed",
            details={
                "stderr": done.stderr[-4000:],
                "exit_status": done.exit_status,
                "command": done.argv[0],
            },
        )

    def _unreadable(self, exc: Exception) -> RPCError:
        """An answer the parser could not read (its message says what)."""
        return RemoteFailed(f"{exc} on {self.runner.where}.", code="cluster.command_failed")

    def _refusal(self, message: str, done: Completed) -> InvalidRequest:
        """A job the scheduler refused (or would refuse), with its stderr."""
        return InvalidRequest(
            message,
            code="cluster.command_failed",
            details={"stderr": done.stderr[-4000:], "exit_status": done.exit_status},
        )

    def _control_failed(self, done: Completed, verb: str, job_id: str, words: str) -> Conflict:
        """``job.<verb>_failed``: hold or release did not happen, in the scheduler's words."""
        return Conflict(
            f"{self.label} could not {verb} job {job_id}: {words}",
            code=f"job.{verb}_failed",
            details={"stderr": done.stderr[-4000:]},
        )

    async def _submitted(
        self, argv: list[str], spec: JobSpec, parse_id: Callable[[str], str | None]
    ) -> str:
        """Run the submit command ``argv`` (a script text on stdin, the job's variables in
        its environment): its job id; refused: 400 with its stderr; no id: 502."""
        done = await self._run(
            argv, input=spec.script if spec.script else None, env=dict(spec.env) or None
        )
        if not done.ok:
            words = self._words(done.stderr) or done.stdout.strip()
            raise self._refusal(f"{self.label} refused the job: {words}", done)
        job_id = parse_id(done.stdout)
        if job_id is None:
            raise RemoteFailed(
                f"{argv[0]} on {self.runner.where} printed no job id: {done.stdout.strip()[:200]!r}",
                code="cluster.command_failed",
            )
        return job_id

    # --- a workflow's steps, chained by the scheduler (services/workflows.py) ------------

    #: A ``sed -n`` script that prints the new job's id (as ``dependency_args`` takes it)
    #: from what the submit command printed: a workflow's steps are submitted by one
    #: remote shell script, which reads each id there to make the next step wait for it.
    submitted_id_sed: ClassVar[str] = ""

    def dependency_args(self, ids: Sequence[str]) -> list[str]:
        """The submit command's arguments that make a job wait until every job of ``ids``
        completed successfully (afterok). A scheduler that can chain jobs overrides this
        and ``submit_argv`` and sets ``submitted_id_sed`` and ``Capabilities.dependencies``."""
        raise InvalidRequest(
            f"{self.label} cannot make a job wait for others here.",
            code="scheduler.unsupported",
            details={"capability": "dependencies"},
        )

    async def submit_argv(self, spec: JobSpec) -> list[str]:
        """The submit command for ``spec`` (a script path, no stdin), every value checked."""
        raise NotImplementedError

    async def submit_command(self, spec: JobSpec, after: Sequence[str] = ()) -> list[str]:
        """``submit_argv`` from ``scheduler_bin``, waiting for ``after`` (ids, or what the
        remote script expands to them)."""
        argv = await self.submit_argv(spec)
        if after:
            argv[1:1] = self.dependency_args(after)
        if self.commands_dir:
            argv[0] = f"{self.commands_dir}/{argv[0]}"
        return argv

    def _test_unsupported(self) -> NoReturn:
        """``scheduler.unsupported``: the scheduler cannot tell when a job would start."""
        raise InvalidRequest(
            f"{self.label} cannot tell when a job would start without submitting it.",
            code="scheduler.unsupported",
            details={"capability": "test_only"},
        )

    # --- whose jobs -------------------------------------------------------------------

    def _checked_user(self) -> str | None:
        """The configured user (checked), or None for the login user."""
        if self.user and not self.user_re.match(self.user):
            raise InvalidRequest(f"{self.user!r} is not a user name.", code="cluster.invalid_user")
        return self.user or None

    async def _owner(self) -> str:
        """Whose jobs are the user's own: the configured user, else the login user (once)."""
        user = self._checked_user()
        if user:
            return user
        if self._login_user is None:
            done = await self._run(["id", "-un"])
            if not done.ok or not done.stdout.strip():
                raise self._failed(done, "id -un")
            self._login_user = done.stdout.strip()
        return self._login_user

    async def _home(self) -> str:
        """The login user's home folder (once)."""
        if self._home_dir is None:
            done = await self._run(["printenv", "HOME"])
            if not done.ok or not done.stdout.strip().startswith("/"):
                raise self._failed(done, "printenv HOME")
            self._home_dir = done.stdout.strip()
        return self._home_dir
