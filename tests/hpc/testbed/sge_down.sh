#!/usr/bin/env bash
# sge_down.sh - stop the Grid Engine daemons sge_up.sh started, and nothing else: each with a
# $TB/run/NAME.started marker, by the pid in its pid file, after checking that pid is still
# that program. The test user's Grid Engine jobs are deleted first (only theirs).
set -uo pipefail
TB=${TESTBED_DIR:-/var/lib/hpc-testbed}
TUSER=${TESTBED_USER:-hpcuser}
log() { printf '[sge_down] %s\n' "$*"; }
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 1; }
if [ -f "$TB/run/sge_qmaster.started" ] && qstat -u "$TUSER" >/dev/null 2>&1; then
  [ -z "$(qstat -u "$TUSER" 2>/dev/null)" ] || { log "deleting the jobs of $TUSER"; qdel -u "$TUSER" >/dev/null 2>&1; }
fi
failed=0
for name in sge_execd sge_qmaster; do
  marker="$TB/run/$name.started"; [ -f "$marker" ] || continue
  pf=$(cat "$marker"); pid=$( [ -s "$pf" ] && tr -dc '0-9' < "$pf" )
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then log "$name: not running"; rm -f "$marker"; continue; fi
  comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
  if [ "$comm" != "$name" ]; then log "$name: pid $pid is '$comm' - leaving it alone"; rm -f "$marker"; continue; fi
  log "stopping $name (pid $pid)"; kill -TERM "$pid"
  for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then log "$name: alive after 30 s, SIGKILL"; kill -KILL "$pid" || failed=1; fi
  rm -f "$marker"
done
# the lines sge_up.sh put at the top of the test user's ~/.bashrc (only with both marks)
BASHRC="$(getent passwd "$TUSER" | cut -d: -f6)/.bashrc"
BEGIN_MARK="# >>> Grid Engine (tests/hpc/testbed/sge_up.sh) >>>"
END_MARK="# <<< Grid Engine (tests/hpc/testbed/sge_up.sh) <<<"
if [ -f "$BASHRC" ] && grep -qxF "$BEGIN_MARK" "$BASHRC" && grep -qxF "$END_MARK" "$BASHRC"; then
  NEW=$(mktemp "$BASHRC.XXXXXX")
  awk -v b="$BEGIN_MARK" -v e="$END_MARK" '$0 == b { skip = 1 } !skip { print } $0 == e { skip = 0 }' "$BASHRC" > "$NEW" \
    && chown --reference="$BASHRC" "$NEW" && chmod --reference="$BASHRC" "$NEW" && mv -f "$NEW" "$BASHRC" \
    && log "$TUSER's ~/.bashrc: Grid Engine's lines removed"
fi
[ "$failed" = 0 ] || { log "some daemons could not be stopped"; exit 1; }
log "done"
