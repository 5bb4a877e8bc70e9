#!/usr/bin/env bash
# down.sh - stop what up.sh started, and nothing else: each daemon with a $TB/run/NAME.started
# marker, by the pid in its pid file, after checking that pid is still that program.
# The test user's jobs are cancelled first (only theirs). --purge also deletes $TB, the
# Slurm configs and state written by up.sh, the accounting database and the test users.
set -uo pipefail
TB=${TESTBED_DIR:-/var/lib/hpc-testbed}
TUSER=${TESTBED_USER:-hpcuser}
JUSER=${TESTBED_JUMP_USER:-jumpuser}
PURGE=0; [ "${1:-}" = "--purge" ] && PURGE=1
log() { printf '[down] %s\n' "$*"; }
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 1; }

if [ -f "$TB/run/slurmctld.started" ] && scontrol ping 2>/dev/null | grep -q 'is UP'; then
  if [ -n "$(squeue -h -u "$TUSER" -o %i 2>/dev/null | head -1)" ]; then
    log "cancelling the jobs of $TUSER"; scancel -u "$TUSER"
    for _ in $(seq 20); do [ -z "$(squeue -h -u "$TUSER" -t R,CG -o %i 2>/dev/null)" ] && break; sleep 0.5; done
  fi
fi
if [ "$PURGE" = 1 ] && [ -f "$TB/run/mariadb.started" ] && mariadb -uroot -e 'select 1' >/dev/null 2>&1; then
  log "dropping slurm_acct_db"
  mariadb -uroot -e "DROP DATABASE IF EXISTS slurm_acct_db; DROP USER IF EXISTS 'slurm'@'localhost';"
fi

failed=0
# NAME EXECUTABLE, in reverse start order
for entry in "sshd-password sshd" "sshd-jump sshd" "sshd-target sshd" "slurmd slurmd" \
             "slurmctld slurmctld" "slurmdbd slurmdbd" "mariadb mariadbd" "munged munged"; do
  set -- $entry; name=$1 exe=$2 marker="$TB/run/$1.started"
  [ -f "$marker" ] || continue
  pf=$(cat "$marker"); pid=$( [ -s "$pf" ] && tr -dc '0-9' < "$pf" )
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then log "$name: not running"; rm -f "$marker"; continue; fi
  comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
  if [ "${comm#"$exe"}" = "$comm" ]; then
    log "$name: pid $pid is '$comm', not $exe - leaving it alone"; rm -f "$marker"; continue
  fi
  log "stopping $name (pid $pid)"; kill -TERM "$pid"
  for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then log "$name: alive after 30 s, SIGKILL"; kill -KILL "$pid" || failed=1; fi
  rm -f "$marker"; case "$pf" in "$TB"/*) rm -f "$pf" ;; esac
done

if [ "$PURGE" = 1 ]; then
  log "purging the state"
  rm -rf "$TB" /var/lib/slurm/slurmctld/* /var/lib/slurm/slurmd/*
  rm -f /etc/slurm/slurm.conf /etc/slurm/slurmdbd.conf
  for u in "$TUSER" "$JUSER"; do id "$u" >/dev/null 2>&1 && userdel -r "$u" 2>/dev/null && log "removed user $u"; done
fi
[ "$failed" = 0 ] || { log "some daemons could not be stopped"; exit 1; }
log "done"
