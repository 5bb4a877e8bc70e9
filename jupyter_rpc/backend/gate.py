"""``jupyter-rpc-gate``: a forced command for a restricted SSH key.

A site whose gateway may only run certain commands on the cluster (DASF's digital-twin
pattern) puts this in the key's ``authorized_keys`` line::

    command="jupyter-rpc-gate --allow jobs,files,runner",restrict ssh-ed25519 AAAA... gateway

sshd then runs the gate instead of what the client asked for, with the request in
``SSH_ORIGINAL_COMMAND``. The gate splits it with :mod:`shlex` (never a shell), and runs it
with :func:`os.execvp` only when it matches exactly one form of :data:`COMMANDS`, the one
table of the commands jupyter_rpc sends, in a group the key allows. Anything else is
refused: exit status :data:`REFUSED` (126) and one line on stderr::

    jupyter-rpc-gate: refused 'rm -rf /home/u': rm is not a command this key allows (allowed: jobs, files, runner)

jupyter_rpc recognises that line (:data:`REFUSAL_PREFIX`) and shows it where the user
acted (``cluster.command_refused``). ``python -m jupyter_rpc.backend.gate --docs FILE``
writes the table into the admin page (docs/restricted-keys.md).

Standard library only: this ships in jupyter-rpc-backend, on the cluster.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

#: The exit status of a refusal (sshd's own for "cannot execute"; never a command's).
REFUSED = 126
#: The exit status when the gate itself is misconfigured (the authorized_keys line).
USAGE = 2
#: What every refusal line starts with (jupyter_rpc.ssh.runner matches it).
REFUSAL_PREFIX = "jupyter-rpc-gate: refused "

GROUPS: dict[str, str] = {
    "jobs": "the scheduler's commands: submit, list, detail, history, cancel, hold, release",
    "files": "the SFTP subsystem (remote files, job output tails)",
    "runner": "starting a backend module: `PYTHON -m jupyter_rpc.backend serve MODULE`",
    "terminal": (
        "a login shell on a PTY, or one inside a running Slurm job (`srun --pty`); "
        "needs `pty` in the key's options as well"
    ),
}
DEFAULT_ALLOW = ("jobs", "files", "runner")


# --- values -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """What a value may be: a pattern, and whether it is a path (checked against --root)."""

    name: str
    pattern: str
    path: bool = False

    def matches(self, value: str) -> bool:
        return re.fullmatch(self.pattern, value) is not None


_PRINTABLE = r"[^\x00-\x1f\x7f]*"
JOB_ID = Kind("job id", r"[0-9]+(?:_(?:[0-9]+|\[[0-9,\-%]+\]))?(?:\+[0-9]+)?")
NAME = Kind("name", r"[A-Za-z0-9][A-Za-z0-9_.@+\-]*")
NUMBER = Kind("number", r"[0-9]{1,10}")
MEMORY = Kind("memory", r"[0-9]{1,10}M")
ARRAY = Kind("array range", r"[0-9][0-9,\-:]*(?:%[0-9]+)?")
TEXT = Kind("text", _PRINTABLE)
FORMAT = Kind("format", r"[^\x00\n\r]*")  # the field separator is \x1f
PATH = Kind("path", r"[^\-\x00-\x1f\x7f][^\x00-\x1f\x7f]*", path=True)
STATES = Kind("states", r"[A-Z]+(?:,[A-Z]+)*")
TIME = Kind("time", r"now(?:-[0-9]+(?:minutes|hours|days))?|[0-9T:\-]+")
JOB_IDS = Kind("job ids", JOB_ID.pattern + r"(?:," + JOB_ID.pattern + r")*")
PYTHON = Kind("python", r"(?:/[^\x00-\x1f\x7f]*/)?python(?:3(?:\.[0-9]+)?)?")  # --python pins it
MODULE = Kind("module", r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


@dataclass(frozen=True)
class Opt:
    """An option: ``-h`` (a flag, ``kind`` None), ``--name=VALUE`` (one word, as sent), or
    ``-name VALUE...`` (``values``: the kinds of the words after it, as Grid Engine's qsub
    takes them); ``repeat``: it may be given more than once (``-l h_rt=... -l h_vmem=...``)."""

    name: str
    kind: Kind | None = None
    values: tuple[Kind, ...] = ()
    repeat: bool = False


@dataclass(frozen=True)
class Form:
    """One command jupyter_rpc sends: its words, then options in any order (each once),
    then positional arguments."""

    group: str
    words: tuple[str, ...]  # the program and its fixed words ("scontrol", "show", "job")
    what: str  # for the docs: who sends it and why
    options: tuple[Opt, ...] = ()
    required: tuple[str, ...] = ()  # options that must be present
    args: tuple[Kind, ...] = ()  # positional arguments, in order
    optional_args: int = 0  # how many of the last ``args`` may be left out
    more_args: bool = False  # the last of ``args`` may be given again (qdel 12.3 12.5)
    program: Kind | None = None  # argv[0] is any value of this kind instead of words[0]


#: Grid Engine: a job, a task or a range of tasks (``12``, ``12.3``, ``12.4-9:1``).
SGE_JOB_ID = Kind("Grid Engine job id", r"[0-9]+(?:\.[0-9]+(?:-[0-9]+(?::[0-9]+)?)?)?")
SGE_USER = Kind("user name or all", r"\*|" + NAME.pattern)
SGE_RESOURCE = Kind(
    "Grid Engine resource (h_rt=H:MM:SS, h_vmem=NM)",
    r"h_rt=[0-9]{1,7}:[0-9]{2}:[0-9]{2}|h_vmem=[0-9]{1,10}M",
)
SGE_TASKS = Kind("task range", r"[0-9]{1,10}(?:-[0-9]{1,10}(?::[0-9]{1,10})?)?")
#: PBS: ``123.server``, an array ``123[].server``, one of its subjobs ``123[4].server``.
PBS_JOB_ID = Kind("PBS job id", r"[0-9]+(?:\[[0-9]*\])?(?:\.[A-Za-z0-9][A-Za-z0-9.\-]{0,252})?")
#: qdel, qhold and qrls are Grid Engine's and PBS's: one form each, either's ids.
QDEL_ID = Kind("Grid Engine or PBS job id", SGE_JOB_ID.pattern + "|" + PBS_JOB_ID.pattern)
PBS_RESOURCE = Kind(
    "PBS resource (walltime=H:MM:SS, select=N:ncpus=C[:mpiprocs=T][:mem=Mmb][:ngpus=G])",
    r"walltime=[0-9]{1,7}:[0-9]{2}:[0-9]{2}"
    r"|select=[0-9]{1,6}:ncpus=[0-9]{1,7}(?::mpiprocs=[0-9]{1,7})?(?::mem=[0-9]{1,10}mb)?"
    r"(?::ngpus=[0-9]{1,5})?",
)
PBS_ARRAY = Kind("PBS array range", r"[0-9]{1,10}-[0-9]{1,10}(?::[0-9]{1,10})?(?:%[0-9]{1,10})?")
#: LSF: ``123`` or an element ``123[4]``; never 0 (bkill 0 is every job of the user).
LSF_JOB_ID = Kind("LSF job id", r"[1-9][0-9]{0,18}(?:\[[0-9]{1,10}\])?")
LSF_FIELDS = Kind("LSF columns", r"[a-z_]+(?: [a-z_]+)*")
LSF_RESOURCE = Kind(
    "LSF resource (span[ptile=N], rusage[mem=M])",
    r"span\[ptile=[0-9]{1,7}\]|rusage\[mem=[0-9]{1,10}\]",
)
SHELL_PATH = Kind("shell", r"/[A-Za-z0-9_./+\-]*")


def _o(*names: str) -> tuple[Opt, ...]:
    return tuple(Opt(n) for n in names)


_SBATCH_OPTIONS = (
    *_o("--parsable", "--hold", "--export=ALL"),
    Opt("--job-name", TEXT),
    Opt("--partition", NAME),
    Opt("--account", NAME),
    Opt("--qos", NAME),
    Opt("--time", NUMBER),
    Opt("--cpus-per-task", NUMBER),
    Opt("--mem", MEMORY),
    Opt("--gpus", NUMBER),
    Opt("--nodes", NUMBER),
    Opt("--ntasks", NUMBER),
    Opt("--array", ARRAY),
    Opt("--chdir", PATH),
    Opt("--output", PATH),
    Opt("--error", PATH),
)

#: The one table: every command jupyter_rpc sends over SSH (jupyter_rpc/schedulers/slurm.py,
#: jupyter_rpc/transports/ssh.py, jupyter_rpc/ssh/channels.py), by group. The SFTP
#: subsystem is not a command line: see :func:`_sftp_server`.
COMMANDS: tuple[Form, ...] = (
    Form(
        "jobs",
        ("squeue",),
        "the job list (jobs panel, refresh)",
        options=(
            *_o("-h", "--noconvert", "-r", "--me"),
            Opt("--format", FORMAT),
            Opt("--user", NAME),
        ),
        required=("-h", "--format"),
    ),
    Form(
        "jobs",
        ("scontrol", "show", "job"),
        "a job's detail",
        options=_o("-o"),
        required=("-o",),
        args=(JOB_ID,),
    ),
    Form(
        "jobs",
        ("scontrol", "show", "partition"),
        "the partitions of the submit form",
        options=_o("-o"),
        required=("-o",),
    ),
    Form(
        "jobs",
        ("scontrol", "write", "batch_script"),
        "a job's script (resubmit, detail)",
        args=(JOB_ID, Kind("stdout", r"-")),
    ),
    Form("jobs", ("scontrol", "hold"), "hold a pending job", args=(JOB_ID,)),
    Form("jobs", ("scontrol", "release"), "release a held job", args=(JOB_ID,)),
    Form("jobs", ("scancel",), "cancel a job", args=(JOB_ID,)),
    Form(
        "jobs",
        ("sinfo",),
        "the partitions' nodes (cores, memory, GPUs)",
        options=(*_o("-h"), Opt("--format", FORMAT)),
        required=("-h", "--format"),
    ),
    Form(
        "jobs",
        ("sacct",),
        "ended jobs: detail, history, memory and CPU used",
        options=(
            *_o("-n", "-X", "-P", "--endtime=now"),
            Opt("--delimiter", FORMAT),
            Opt("--format", FORMAT),
            Opt("--jobs", JOB_IDS),
            Opt("--starttime", TIME),
            Opt("--state", STATES),
            Opt("--user", NAME),
        ),
        required=("-n", "-P", "--format"),
    ),
    Form(
        "jobs",
        ("sbatch",),
        "submit a job (its script on stdin, or a script path on the cluster)",
        options=_SBATCH_OPTIONS,
        required=("--parsable",),
        args=(PATH,),
        optional_args=1,
    ),
    Form(
        "jobs",
        ("sbatch",),
        "check a submission without submitting it (Test)",
        options=(*_SBATCH_OPTIONS, *_o("--test-only")),
        required=("--parsable", "--test-only"),
        args=(PATH,),
        optional_args=1,
    ),
    # Grid Engine (jupyter_rpc/schedulers/sge.py)
    Form(
        "jobs",
        ("qstat",),
        "Grid Engine's job list (the user's own, or everyone's: `*`; `-r`: with requests)",
        options=(*_o("-r", "-xml"), Opt("-u", values=(SGE_USER,))),
        required=("-xml", "-u"),
    ),
    Form(
        "jobs",
        ("qstat",),
        "a Grid Engine job's detail",
        options=(*_o("-xml"), Opt("-j", values=(SGE_JOB_ID,))),
        required=("-xml", "-j"),
    ),
    Form(
        "jobs",
        ("qacct",),
        "Grid Engine's ended jobs: one job's records (`-j ID`) or the user's (`-o -d -j`)",
        options=(*_o("-j"), Opt("-o", values=(NAME,)), Opt("-d", values=(NUMBER,))),
        required=("-j",),
        args=(SGE_JOB_ID,),
        optional_args=1,
    ),
    Form("jobs", ("qconf",), "Grid Engine's queues", options=_o("-sql"), required=("-sql",)),
    Form(
        "jobs",
        ("qconf",),
        "a Grid Engine queue's limits",
        options=(Opt("-sq", values=(NAME,)),),
        required=("-sq",),
    ),
    Form(
        "jobs",
        ("qconf",),
        "a Grid Engine parallel environment (whether it keeps a job on one host)",
        options=(Opt("-sp", values=(NAME,)),),
        required=("-sp",),
    ),
    Form(
        "jobs",
        ("qsub",),
        "submit a Grid Engine job (`-w e`), or check it without submitting (`-w v`)",
        options=(
            *_o("-terse", "-h", "-V"),
            Opt("-w", values=(Kind("verify mode", r"[ev]"),)),
            Opt("-N", values=(TEXT,)),
            Opt("-q", values=(NAME,)),
            Opt("-A", values=(NAME,)),
            Opt("-l", values=(SGE_RESOURCE,), repeat=True),
            Opt("-pe", values=(NAME, NUMBER)),
            Opt("-t", values=(SGE_TASKS,)),
            Opt("-tc", values=(NUMBER,)),
            Opt("-wd", values=(PATH,)),
            Opt("-o", values=(PATH,)),
            Opt("-e", values=(PATH,)),
            Opt("-j", values=(Kind("y", r"y"),)),
            Opt("-S", values=(SHELL_PATH,)),
        ),
        required=("-terse", "-w"),
        args=(PATH,),
        optional_args=1,
    ),
    # qdel, qhold and qrls: Grid Engine's and PBS's (one form each, either's ids)
    Form(
        "jobs",
        ("qdel",),
        "cancel Grid Engine jobs or tasks, or a PBS job",
        args=(QDEL_ID,),
        more_args=True,
    ),
    Form(
        "jobs",
        ("qhold",),
        "hold Grid Engine jobs or tasks, or a PBS job",
        args=(QDEL_ID,),
        more_args=True,
    ),
    Form(
        "jobs",
        ("qrls",),
        "release Grid Engine jobs or tasks, or a PBS job",
        args=(QDEL_ID,),
        more_args=True,
    ),
    Form(
        "jobs",
        ("qmod",),
        "clear a Grid Engine job's error state (Release)",
        options=_o("-cj"),
        required=("-cj",),
        args=(SGE_JOB_ID,),
        more_args=True,
    ),
    # PBS Pro / OpenPBS (jupyter_rpc/schedulers/pbs.py)
    Form(
        "jobs",
        ("qstat",),
        "PBS's jobs (`-x`: ended ones too), one job (an id), or its queues (`-Q`)",
        options=(*_o("-x", "-f", "-t", "-Q"), Opt("-F", values=(Kind("json", r"json"),))),
        required=("-f", "-F"),
        args=(PBS_JOB_ID,),
        optional_args=1,
    ),
    Form(
        "jobs",
        ("qsub",),
        "submit a PBS job",
        options=(
            *_o("-h", "-V"),
            Opt("-N", values=(TEXT,)),
            Opt("-q", values=(NAME,)),
            Opt("-A", values=(NAME,)),
            Opt("-l", values=(PBS_RESOURCE,), repeat=True),
            Opt("-J", values=(PBS_ARRAY,)),
            Opt("-o", values=(PATH,)),
            Opt("-e", values=(PATH,)),
        ),
        required=("-V",),
        args=(PATH,),
        optional_args=1,
    ),
    # IBM Spectrum LSF (jupyter_rpc/schedulers/lsf.py)
    Form(
        "jobs",
        ("bjobs",),
        "LSF's jobs (`-a` with those that ended lately, `-d` only those), or one job",
        options=(
            *_o("-a", "-d", "-json"),
            Opt("-u", values=(NAME,)),
            Opt("-o", values=(LSF_FIELDS,)),
        ),
        required=("-o", "-json"),
        args=(LSF_JOB_ID,),
        optional_args=1,
    ),
    Form(
        "jobs",
        ("bqueues",),
        "LSF's queues",
        options=(*_o("-json"), Opt("-o", values=(LSF_FIELDS,))),
        required=("-o", "-json"),
    ),
    Form(
        "jobs",
        ("bsub",),
        "submit an LSF job",
        options=(
            *_o("-H"),
            Opt("-J", values=(TEXT,)),
            Opt("-q", values=(NAME,)),
            Opt("-P", values=(NAME,)),
            Opt("-W", values=(NUMBER,)),
            Opt("-n", values=(NUMBER,)),
            Opt("-R", values=(LSF_RESOURCE,), repeat=True),
            Opt("-gpu", values=(Kind("GPU request", r"num=[0-9]{1,5}"),)),
            Opt("-cwd", values=(PATH,)),
            Opt("-o", values=(PATH,)),
            Opt("-e", values=(PATH,)),
        ),
        args=(PATH,),
        optional_args=1,
    ),
    Form(
        "jobs",
        ("bhist",),
        "an LSF job's events, once bjobs no longer remembers it",
        options=_o("-l"),
        required=("-l",),
        args=(LSF_JOB_ID,),
    ),
    Form("jobs", ("bkill",), "cancel an LSF job", args=(LSF_JOB_ID,)),
    Form("jobs", ("bstop",), "hold an LSF job (PSUSP)", args=(LSF_JOB_ID,)),
    Form("jobs", ("bresume",), "release an LSF job", args=(LSF_JOB_ID,)),
    Form(
        "runner",
        ("python3", "-m", "jupyter_rpc.backend", "serve"),
        "a backend with `transport: ssh`: the runner serving its module over the channel",
        options=(Opt("--workers", NUMBER),),
        args=(MODULE,),
        program=PYTHON,
    ),
    Form(
        "terminal",
        ("$SHELL", "-l"),
        "a terminal: the user's login shell (from the password database) on the PTY",
    ),
    Form(
        "terminal",
        ("srun",),
        "a shell on a running Slurm job's node (Jobs panel: Shell on the job's node): "
        "the login shell as an interactive step inside the job",
        options=(Opt("--jobid", JOB_ID), *_o("--overlap", "--pty")),
        required=("--jobid", "--overlap", "--pty"),
        args=(Kind("login shell", r"\$SHELL"), Kind("login option", r"-l")),
    ),
)

#: A terminal's line as jupyter_rpc sends it (jupyter_rpc/ssh/channels.py ``LOGIN_SHELL``,
#: services/terminals.py ``job_shell``; after an optional ``cd -- DIR &&``): a shell line,
#: ``TERMINAL_HEAD`` + the words of a terminal form, its ``$SHELL`` written as
#: ``TERMINAL_SHELL``. Read here as that form (a test keeps them equal).
TERMINAL_HEAD = 'LANG="${LANG:-C.UTF-8}"; export LANG; exec '
TERMINAL_SHELL = '"${SHELL:-/bin/sh}"'
LOGIN_SHELL = TERMINAL_HEAD + TERMINAL_SHELL + " -l"

#: Variables ``env NAME=VALUE`` may not set: they change which program runs, what it
#: loads before it reads its arguments, or which configuration a scheduler's command reads
#: (Grid Engine's ``sge_request`` can name a script to run, for one).
FORBIDDEN_ENV = re.compile(
    r"^(PATH|IFS|ENV|BASH_ENV|SHELLOPTS|BASHOPTS|PS4|PROMPT_COMMAND|GLOBIGNORE|HOME|SHELL"
    r"|LD_.*|DYLD_.*|BASH_FUNC_.*|PYTHON(PATH|HOME|STARTUP|INSPECT|USERBASE|SAFEPATH)"
    r"|PERL5?LIB|PERL5OPT|RUBYOPT|NODE_OPTIONS|SLURM_CONF|SBATCH_.*|SALLOC_.*|SRUN_.*"
    r"|SGE_ROOT|SGE_CELL|SGE_.*_PORT|PBS_CONF_FILE|PBS_HOME|PBS_EXEC|LSF_.*DIR)$"
)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: Where a system's sftp-server usually is (Debian/Ubuntu, RHEL/SUSE, Arch, macOS/BSD).
SFTP_SERVERS = (
    "/usr/lib/openssh/sftp-server",
    "/usr/libexec/openssh/sftp-server",
    "/usr/lib/ssh/sftp-server",
    "/usr/libexec/sftp-server",
    "/usr/lib/sftp-server",
)


class Refused(Exception):
    """The request does not match; the message says why (for the one stderr line).

    ``weak``: only a required option is missing (another form's reason says more);
    ``depth``: how many words of the command matched before this one (of the forms of one
    program, the reason of the one that matched furthest is told)."""

    def __init__(self, message: str, *, weak: bool = False, depth: int = 0) -> None:
        super().__init__(message)
        self.weak = weak
        self.depth = depth


@dataclass
class Plan:
    """What the gate runs: ``argv`` (found on PATH) with ``env`` added, in ``cwd``."""

    argv: list[str]
    group: str
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None


# --- matching -----------------------------------------------------------------------------


def _inside(path: str, roots: Sequence[str], cwd: str | None) -> bool:
    base = cwd or os.path.expanduser("~")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), base)
    real = os.path.realpath(os.path.join(base, os.path.expanduser(path)))
    for root in roots:
        top = os.path.realpath(os.path.expanduser(root))
        if real == top or real.startswith(top.rstrip("/") + "/"):
            return True
    return False


def _join(cwd: str | None, path: str) -> str:
    return os.path.join(cwd or os.path.expanduser("~"), os.path.expanduser(path))


def _check(kind: Kind, value: str, what: str, roots: Sequence[str], cwd: str | None) -> None:
    if not kind.matches(value):
        raise Refused(f"{what} {value!r} is not a {kind.name}")
    if kind.path and roots and not _inside(value, roots, cwd):
        raise Refused(f"{what} {value!r} is outside the allowed folders ({', '.join(roots)})")


def _match_form(form: Form, argv: Sequence[str], roots: Sequence[str], cwd: str | None) -> None:
    """Nothing when ``argv`` is ``form``; else :class:`Refused` saying what differs."""
    n = len(form.words)
    head = list(argv[:n])
    if form.program is not None:
        _check(form.program, argv[0], "the program", (), cwd)
        head[0] = form.words[0]
    if head != list(form.words):
        raise Refused(f"{shlex.join(argv[:n])} is not {' '.join(form.words)}")
    rest = list(argv[n:])
    try:
        _match_rest(form, argv, rest, roots, cwd)
    except Refused as exc:
        if not exc.depth:
            exc.depth = len(argv) - len(rest)
        raise


def _match_rest(
    form: Form, argv: Sequence[str], rest: list[str], roots: Sequence[str], cwd: str | None
) -> None:
    """:func:`_match_form` after the form's words: ``rest`` is consumed as it matches."""
    known = {o.name: o for o in form.options}
    values: dict[str, str | None] = {}
    at: dict[str, int] = {}  # where each option's (last) value is in argv
    separate: list[tuple[str, Kind, str, int]] = []  # (option, kind, value, index): -name VALUE
    while rest and rest[0].startswith("-") and rest[0] != "-":
        at_word = len(argv) - len(rest)
        word = rest.pop(0)
        name, eq, value = word.partition("=")
        opt = known.get(word) if word in known and known[word].kind is None else None
        if opt is None:
            opt = known.get(name) if eq else None
            if opt is None or opt.kind is None:
                raise Refused(f"{form.words[0]} option {word!r} is not allowed")
        if opt.name in values and not opt.repeat:
            raise Refused(f"{form.words[0]} option {opt.name} is given twice")
        values[opt.name] = value if opt.kind is not None else None
        at[opt.name] = at_word
        if opt.values:
            if len(rest) < len(opt.values):
                raise Refused(f"{form.words[0]} option {opt.name} needs {len(opt.values)} value(s)")
            for value_kind in opt.values:
                separate.append((opt.name, value_kind, rest.pop(0), len(argv) - len(rest) - 1))
            values[opt.name] = separate[-len(opt.values)][2]
    # sbatch resolves --output/--error in the job's --chdir (qsub: -o/-e in its -wd): check
    # them there; in the order they came, so a refusal says how far the command matched
    chdir = values.get("--chdir") or values.get("-wd") or values.get("-cwd")
    checks: list[tuple[str, Kind | None, str | None, int]] = [
        (name, known[name].kind, given, at[name]) for name, given in values.items()
    ]
    for name, kind, given, index in sorted([*checks, *separate], key=lambda c: c[3]):
        if kind is not None and given is not None:
            base = cwd if name in ("--chdir", "-wd", "-cwd") or chdir is None else _join(cwd, chdir)
            try:
                _check(kind, given, f"{form.words[0]} {name}", roots, base)
            except Refused as exc:
                exc.depth = index
                raise
    seen = set(values)
    missing = [r for r in form.required if r not in seen]
    if missing:
        raise Refused(f"{form.words[0]} needs {', '.join(missing)} here", weak=True)
    high = len(rest) if form.more_args else len(form.args)
    if not len(form.args) - form.optional_args <= len(rest) <= high:
        raise Refused(f"{' '.join(form.words)} takes {_count(form)}, not {len(rest)}")
    kinds = list(form.args)
    if form.more_args:
        kinds += [form.args[-1]] * (len(rest) - len(form.args))
    for i, (kind, value) in enumerate(zip(kinds, rest, strict=False)):
        try:
            _check(kind, value, f"the {kind.name}", roots, cwd)
        except Refused as exc:
            exc.depth = len(argv) - len(rest) + i
            raise


def _count(form: Form) -> str:
    low = len(form.args) - form.optional_args
    high = len(form.args)
    if form.more_args:
        return f"{low} or more arguments"
    n = str(high) if low == high else f"{low} to {high}"
    return f"{n} argument{'s' if high != 1 else ''}"


def _split_prefix(words: list[str]) -> tuple[list[str], dict[str, str], str | None]:
    """``[exec] [env [--chdir=DIR] NAME=VALUE...] ARGV`` → (ARGV, env, DIR)."""
    if words and words[0] == "exec":  # a login shell's exec: the gate execs anyway
        words = words[1:]
    env: dict[str, str] = {}
    cwd: str | None = None
    if words and words[0] == "env":
        words = words[1:]
        if words and words[0].startswith("--chdir="):
            cwd = words.pop(0).partition("=")[2]
            if not cwd or "\0" in cwd:
                raise Refused("env --chdir needs a folder")
        while words and "=" in words[0] and not words[0].startswith("-"):
            name, _, value = words.pop(0).partition("=")
            if not _ENV_NAME.fullmatch(name):
                raise Refused(f"{name!r} is not a variable name")
            if FORBIDDEN_ENV.match(name):
                raise Refused(f"env may not set {name} through this key")
            env[name] = value
        if words and words[0].startswith("-"):
            raise Refused(f"env option {words[0]!r} is not allowed")
    return words, env, cwd


def _terminal_line(line: str) -> bool:
    """Whether ``line`` is a terminal's shell line (``TERMINAL_HEAD ... "$SHELL" -l``)."""
    return line.startswith(TERMINAL_HEAD) and line.endswith(f" {TERMINAL_SHELL} -l")


def _terminal(command: str) -> tuple[str | None, str] | None:
    """(folder or None, shell line) of a terminal's line jupyter_rpc sends, else None."""
    if _terminal_line(command):
        return (None, command)
    head, sep, tail = command.rpartition(" && ")  # the folder may hold " && " itself
    if sep and _terminal_line(tail):
        try:
            words = shlex.split(head)
        except ValueError:
            return None
        if len(words) == 3 and words[:2] == ["cd", "--"]:
            return (words[2], tail)
    return None


def _terminal_argv(line: str, table: Sequence[Form], roots: Sequence[str]) -> list[str]:
    """The argv of a terminal's shell line, when it is a terminal form of ``table``
    (``$SHELL`` replaced by the user's login shell); else :class:`Refused`."""
    between = line[len(TERMINAL_HEAD) : -len(f"{TERMINAL_SHELL} -l")]
    try:
        words = [*shlex.split(between), "$SHELL", "-l"]
    except ValueError as exc:
        raise Refused(f"it cannot be read as words ({exc})") from None
    reasons: list[Refused] = []
    for form in table:
        if form.group != "terminal" or form.words[0] != words[0]:
            continue
        try:
            _match_form(form, words, roots, None)
        except Refused as exc:
            reasons.append(exc)
        else:
            return [_login_shell() if w == "$SHELL" else w for w in words]
    if not reasons:
        raise Refused(f"{words[0]} is not a terminal this key allows")
    why = next((r for r in reasons if not r.weak), reasons[0])
    raise Refused(f"{why} (not a terminal this key allows)")


def plan(
    command: str | None,
    allow: Sequence[str],
    roots: Sequence[str] = (),
    *,
    pythons: Sequence[str] = (),
    modules: Sequence[str] = (),
    scheduler_bins: Sequence[str] = (),
    table: Sequence[Form] = COMMANDS,
) -> Plan:
    """What to run for ``SSH_ORIGINAL_COMMAND`` = ``command``, or :class:`Refused`.

    ``scheduler_bins``: folders (checked by :func:`scheduler_bin_problem`) whose scheduler
    commands may be named by their full path, as a cluster with ``scheduler_bin`` sends
    them (``/opt/pbs/bin/qstat``): matched as the command, run from that folder."""
    allowed = f"allowed: {', '.join(allow) or 'nothing'}"
    if command is None or not command.strip():
        raise Refused(f"an interactive shell is not something this key allows ({allowed})")
    if "\0" in command or "\n" in command or "\r" in command:
        raise Refused("a command with a newline or NUL character")
    term = _terminal(command)
    if term is not None:
        if "terminal" not in allow:
            raise Refused(f"a terminal is not something this key allows ({allowed})")
        cwd, line = term
        if cwd is not None and roots and not _inside(cwd, roots, None):
            raise Refused(f"the folder {cwd!r} is outside the allowed folders ({', '.join(roots)})")
        lang = {"LANG": os.environ.get("LANG") or "C.UTF-8"}
        return Plan(_terminal_argv(line, table, roots), "terminal", lang, cwd)
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise Refused(f"it cannot be read as words ({exc})") from None
    words, env, cwd = _split_prefix(words)
    if not words:
        raise Refused("there is no command in it")
    if cwd is not None and roots and not _inside(cwd, roots, None):
        raise Refused(f"the folder {cwd!r} is outside the allowed folders ({', '.join(roots)})")
    program = command_path = words[0]
    full = _in_scheduler_bin(program, scheduler_bins, table)
    if full is not None:  # /opt/pbs/bin/qstat: matched as qstat, run by its full path
        program = words[0] = full
    candidates = [
        f
        for f in table
        if (f.words[0] == program if f.program is None else f.program.matches(program))
        and f.group != "terminal"
        and (full is None or (f.group == "jobs" and f.program is None))
    ]
    if not candidates:
        folder, _, name = command_path.rpartition("/")
        if folder and _scheduler_command(name, table):
            raise Refused(
                f"{folder} is not a folder of scheduler commands this key allows "
                f"(--scheduler-bin: {', '.join(scheduler_bins) or 'none'})"
            )
        raise Refused(f"{command_path} is not a command this key allows ({allowed})")
    usable = [f for f in candidates if f.group in allow]
    if not usable:
        groups = sorted({f.group for f in candidates})
        raise Refused(
            f"{program} needs the {'/'.join(groups)} group, which this key does not allow ({allowed})"
        )
    reasons: list[Refused] = []
    matched: list[Form] = []
    for form in usable:
        try:
            _match_form(form, words, roots, cwd)
        except Refused as exc:
            reasons.append(exc)
        else:
            matched.append(form)
    if not matched:  # the reason of the form that matched furthest, unless it only misses
        # a required option (a PBS qsub is told PBS's reason, not Grid Engine's)
        strong = [r for r in reasons if not r.weak]
        why = max(strong, key=lambda r: r.depth) if strong else reasons[0]
        raise Refused(f"{why} (not a form of {program} this key allows)")
    if len(matched) > 1:
        raise Refused(f"it matches {len(matched)} forms of {program} (the table is ambiguous)")
    if matched[0].group == "runner":
        if pythons and program not in pythons:
            raise Refused(
                f"the runner's Python {program!r} is not one this key allows ({', '.join(pythons)})"
            )
        module = words[-1]
        if modules and module not in modules:
            raise Refused(
                f"the module {module!r} is not one this key allows ({', '.join(modules)})"
            )
    if full is not None:
        words[0] = command_path
    return Plan(words, matched[0].group, env, cwd)


def scheduler_bin_problem(folder: str, *, writable: bool = False) -> str | None:
    """Why ``folder`` cannot be a ``--scheduler-bin``, or None. ``writable``: whether the
    account may write to it (a key allowed ``files`` could put any program there)."""
    if not folder.startswith("/"):
        return "it is not an absolute path"
    if not folder.strip("/"):
        return "it is the root folder (name the scheduler's own folder)"
    if any(part in (".", "..") for part in folder.split("/")) or "//" in folder.rstrip("/"):
        return "it has '.', '..' or '//' in it (name the folder itself)"
    if not re.fullmatch(_PRINTABLE, folder):
        return "it has a control character in it"
    if writable:
        return "this account can write to it, so a command there could be any program"
    return None


def _scheduler_command(name: str, table: Sequence[Form]) -> bool:
    """Whether ``name`` is one of the scheduler's commands (the ``jobs`` group's)."""
    return any(f.words[0] == name for f in table if f.group == "jobs" and f.program is None)


def _in_scheduler_bin(program: str, folders: Sequence[str], table: Sequence[Form]) -> str | None:
    """The command's name when ``program`` is ``FOLDER/NAME`` for one of ``folders`` and
    NAME a scheduler command of ``table`` (the folder compared as written: the kernel, not
    the gate, resolves symlinks and ``..``)."""
    if "/" not in program or not folders:
        return None
    folder, _, name = program.rpartition("/")
    if folder not in {f.rstrip("/") or "/" for f in folders}:
        return None
    if not _scheduler_command(name, table):
        return None
    if scheduler_bin_problem(folder or "/") is not None:
        return None
    return name


def _login_shell() -> str:
    try:
        import pwd

        shell = pwd.getpwuid(os.getuid()).pw_shell
    except (ImportError, KeyError):
        shell = ""
    return shell or os.environ.get("SHELL") or "/bin/sh"


def _sftp_server(command: str | None, configured: str | None) -> str | None:
    """The sftp-server to exec when ``command`` is sshd's subsystem request, else None.

    With a forced command, sshd puts the subsystem's configured command line
    (``Subsystem sftp /usr/lib/openssh/sftp-server``) in SSH_ORIGINAL_COMMAND, or
    ``internal-sftp``, which only sshd itself can run: then the system's sftp-server."""
    if not command:
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words:
        return None
    first = words[0]
    if first == "internal-sftp" or os.path.basename(first) == "sftp-server":
        if configured:
            return configured
        if os.path.isabs(first) and os.access(first, os.X_OK):
            return first
        for path in SFTP_SERVERS:
            if os.access(path, os.X_OK):
                return path
        return shutil.which("sftp-server") or SFTP_SERVERS[0]
    return None


# --- the program ---------------------------------------------------------------------------


def _shown(command: str | None) -> str:
    if command is None:
        return "(no command: a shell)"
    text = command if len(command) <= 200 else command[:197] + "..."
    return repr(text)


def refusal_line(command: str | None, why: str) -> str:
    """The one stderr line of a refusal (control characters escaped: one line)."""
    why = "".join(c if c.isprintable() else repr(c)[1:-1] for c in why)
    if len(why) > 400:  # a long word in it: its start and the reason's end
        why = why[:200] + "..." + why[-180:]
    return f"{REFUSAL_PREFIX}{_shown(command)}: {why}"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="jupyter-rpc-gate",
        description="A forced command for authorized_keys: runs only the commands jupyter_rpc "
        "sends (SSH_ORIGINAL_COMMAND), refuses anything else with exit status 126.",
    )
    p.add_argument(
        "--allow",
        default=",".join(DEFAULT_ALLOW),
        help=f"comma-separated groups: {', '.join(GROUPS)} (default: {','.join(DEFAULT_ALLOW)})",
    )
    p.add_argument(
        "--root",
        action="append",
        default=[],
        metavar="DIR",
        help="confine the paths in commands (job scripts, workdir, output files, the "
        "runner's folder) to DIR (repeatable; ~ is the home)",
    )
    p.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="PATH",
        help="the runner may only use this Python, exactly as the backend's `python` names it (repeatable)",
    )
    p.add_argument(
        "--module",
        action="append",
        default=[],
        metavar="NAME",
        help="the runner may only serve this module (repeatable)",
    )
    p.add_argument(
        "--scheduler-bin",
        action="append",
        default=[],
        metavar="DIR",
        help="the scheduler's commands may also be named by their full path in DIR, as a "
        "cluster with scheduler_bin sends them (/opt/pbs/bin/qstat); repeatable",
    )
    p.add_argument(
        "--sftp-server",
        metavar="PATH",
        help="the sftp-server to run for the SFTP subsystem (default: found in the usual places)",
    )
    p.add_argument(
        "--docs", metavar="FILE", help="write the allowed-commands section of FILE and exit"
    )
    return p


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    execvpe: Callable[[str, list[str], dict[str, str]], object] | None = None,
) -> int:
    """The gate: exec the request, or refuse it (exit status :data:`REFUSED`)."""
    args = _parser().parse_args(argv)
    if args.docs:
        write_docs(args.docs)
        return 0
    allow = [g.strip() for g in args.allow.split(",") if g.strip()]
    unknown = [g for g in allow if g not in GROUPS]
    if unknown:
        print(
            f"jupyter-rpc-gate: unknown group {', '.join(unknown)} in --allow "
            f"(groups: {', '.join(GROUPS)})",
            file=sys.stderr,
        )
        return USAGE
    for folder in args.scheduler_bin:
        problem = scheduler_bin_problem(folder, writable=os.access(folder, os.W_OK))
        if problem:
            print(f"jupyter-rpc-gate: --scheduler-bin {folder!r}: {problem}", file=sys.stderr)
            return USAGE
    env = dict(os.environ if environ is None else environ)
    command = env.get("SSH_ORIGINAL_COMMAND")
    run = execvpe or os.execvpe
    sftp = _sftp_server(command, args.sftp_server)
    if sftp is not None:
        if "files" not in allow:
            why = f"SFTP is not something this key allows (allowed: {', '.join(allow)})"
            print(refusal_line(command, why), file=sys.stderr)
            return REFUSED
        run(sftp, [sftp], env)
        return REFUSED  # not reached unless execvpe is a test's
    try:
        todo = plan(
            command,
            allow,
            args.root,
            pythons=args.python,
            modules=args.module,
            scheduler_bins=args.scheduler_bin,
        )
    except Refused as exc:
        print(refusal_line(command, str(exc)), file=sys.stderr)
        return REFUSED
    env.update(todo.env)
    if todo.cwd is not None:
        try:
            os.chdir(os.path.expanduser(todo.cwd))
        except OSError as exc:
            print(
                f"jupyter-rpc-gate: cannot change directory to {todo.cwd!r}: {exc.strerror}",
                file=sys.stderr,
            )
            return 1
    try:
        run(todo.argv[0], todo.argv, env)
    except FileNotFoundError:
        print(f"jupyter-rpc-gate: {todo.argv[0]}: command not found", file=sys.stderr)
        return 127
    except OSError as exc:
        print(f"jupyter-rpc-gate: cannot run {todo.argv[0]}: {exc.strerror}", file=sys.stderr)
        return REFUSED
    return 0


# --- the admin docs ------------------------------------------------------------------------

DOCS_BEGIN = "<!-- BEGIN allowed-commands (python -m jupyter_rpc.backend.gate --docs docs/restricted-keys.md) -->"
DOCS_END = "<!-- END allowed-commands -->"


def _opt_text(opt: Opt) -> str:
    if opt.values:
        text = f"`{opt.name}` " + " ".join(f"*{k.name}*" for k in opt.values)
        return text + (" (repeatable)" if opt.repeat else "")
    return f"`{opt.name}`" if opt.kind is None else f"`{opt.name}=`*{opt.kind.name}*"


def docs_section() -> str:
    """The allowed-commands section: the groups, then every form of :data:`COMMANDS`."""
    lines = [DOCS_BEGIN, "", "| group | what it allows |", "| --- | --- |"]
    lines += [f"| `{g}` | {text} |" for g, text in GROUPS.items()]
    lines += ["", "| group | command | options (each at most once) | arguments | sent for |"]
    lines += ["| --- | --- | --- | --- | --- |"]
    for form in COMMANDS:
        words = f"`{' '.join(form.words)}`"
        if form.program is not None:
            words = f"*{form.program.name}* `{' '.join(form.words[1:])}`"
        opts = ", ".join(
            ("**" + _opt_text(o) + "**") if o.name in form.required else _opt_text(o)
            for o in form.options
        )
        args = " ".join(
            f"[*{k.name}*]" if i >= len(form.args) - form.optional_args else f"*{k.name}*"
            for i, k in enumerate(form.args)
        ) + (" ..." if form.more_args else "")
        lines.append(f"| `{form.group}` | {words} | {opts or '—'} | {args or '—'} | {form.what} |")
    lines += [
        "| `files` | the `sftp` subsystem | — | — | the remote files and job output tails |",
        "",
        "Options in **bold** are required. Values (*kind*: what it must look like):",
        "",
    ]
    kinds: dict[str, Kind] = {}
    for form in COMMANDS:
        for k in [
            *(o.kind for o in form.options if o.kind),
            *(k for o in form.options for k in o.values),
            *form.args,
            form.program,
        ]:
            if k is not None:
                kinds.setdefault(k.name, k)
    for name in sorted(kinds):
        k = kinds[name]
        extra = " (a path: inside a `--root` when any is given)" if k.path else ""
        lines.append(f"- *{name}*: `{k.pattern}`{extra}")
    lines += [
        "",
        "Before any of them: `exec` (ignored: the gate execs anyway), then "
        "`env [--chdir=DIR] NAME=VALUE ...` (the gate sets them itself and changes to DIR; "
        "DIR inside a `--root` when any is given). These variables may not be set:",
        f"`{FORBIDDEN_ENV.pattern}`.",
        "",
        DOCS_END,
    ]
    return "\n".join(lines)


def write_docs(path: str) -> None:
    """Replace the section between the markers of ``path`` (or append it)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    section = docs_section()
    start, end = text.find(DOCS_BEGIN), text.find(DOCS_END)
    if start >= 0 and end > start:
        text = text[:start] + section + text[end + len(DOCS_END) :]
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def cli() -> None:
    """The ``jupyter-rpc-gate`` console script."""
    sys.exit(main())


if __name__ == "__main__":
    cli()
