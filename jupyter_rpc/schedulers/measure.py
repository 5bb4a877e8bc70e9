"""Run a command and record what it used: ``python -m jupyter_rpc.schedulers.measure OUT -- CMD...``.

The local scheduler starts each job through this, so an ended local job reports its CPU
time and peak memory like a Slurm job's accounting does. ``OUT`` receives
``{"cpu_seconds": user + system, "max_rss_kb": peak resident set}`` of the command and
every descendant it waited for (``wait4``'s resource usage), and ``"exit_status"`` (the
command's, negative for a signal: what a scheduler that re-adopted the job reads). The exit status passes
through unchanged, a death by signal included, so the scheduler sees what it would see
without this wrapper.

Signals meant for the job (the scheduler signals the whole process group) reach the
command; this process ignores the polite ones so it can still write ``OUT`` after the
command ends. A SIGKILL to the group ends both, and no usage is recorded.
"""

from __future__ import annotations

import json
import os
import signal
import sys


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        sys.stderr.write("usage: python -m jupyter_rpc.schedulers.measure OUT -- CMD [ARG...]\n")
        return 2
    out, command = argv[0], argv[2:]
    pid = os.fork()
    if pid == 0:  # the command: default signal handling, as if started directly
        try:
            os.execvp(command[0], command)
        except OSError as exc:
            sys.stderr.write(f"{command[0]}: {exc.strerror}\n")
            os._exit(127)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, signal.SIG_IGN)
    while True:
        try:
            _, status, usage = os.wait4(pid, 0)
            break
        except InterruptedError:  # pragma: no cover - retried by Python itself since 3.5
            continue
    try:
        tmp = f"{out}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "cpu_seconds": usage.ru_utime + usage.ru_stime,
                    "max_rss_kb": usage.ru_maxrss,
                    # The scheduler that adopts a job after a restart is not its parent:
                    # this is how it learns the real exit status (negative: the signal).
                    "exit_status": os.waitstatus_to_exitcode(status),
                },
                f,
            )
        os.replace(tmp, out)
    except OSError as exc:
        sys.stderr.write(f"jupyter_rpc: could not record the job's resource use: {exc}\n")
    if os.WIFSIGNALED(status):
        died_of = os.WTERMSIG(status)
        signal.signal(died_of, signal.SIG_DFL)
        os.kill(os.getpid(), died_of)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
