#!/usr/bin/env bash
# sge_up.sh - Son of Grid Engine 8.1.9 (Debian's gridengine-*) beside the test bed of up.sh,
# on the same machine: one master (sge_qmaster 127.0.0.1:6444), one execution host
# (sge_execd 127.0.0.1:6445), two queues and a parallel environment:
#
#   short.q   h_rt at most 1 hour,  h_vmem at most 2G per slot, 2 slots, PE smp
#   long.q    h_rt at most 7 days,  h_vmem unlimited,           2 slots, PE smp
#   smp       4 slots, $pe_slots (all of a job's slots on one host)
#
# A job asking for more than an hour fits long.q only. The scheduler runs every second and
# on every submit, the execution host reports every 5 s, and accounting is flushed at once, so `qacct -j` knows a job as soon as
# it ended. The test user (up.sh's hpcuser) runs qsub/qstat/qdel/qhold/qrls/qacct over SSH,
# from /usr/lib/gridengine with SGE_ROOT and SGE_CELL set by its ~/.bashrc, as a site's
# settings.sh sets them (Debian's /usr/bin/q* wrappers, slower, set them themselves).
#
# Run it after up.sh, as root (scripts/test.sh does). It adds and never restarts what up.sh
# started (sshd, Slurm): a second run starts only what is not running and is a no-op when
# all runs. Failing to start is an error (exit 1) naming the log to read.
# Stop with sge_down.sh (only what this script started, by pid).
#
# Knobs: TESTBED_DIR [/var/lib/hpc-testbed]  TESTBED_USER [hpcuser]  TESTBED_SKIP_APT [0]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TB=${TESTBED_DIR:-/var/lib/hpc-testbed}
TUSER=${TESTBED_USER:-hpcuser}
SKIP_APT=${TESTBED_SKIP_APT:-0}
HOST=$(hostname -s)
T0=$(date +%s)
export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
# The daemons outlive this script: not a caller's private temp folder (see up.sh).
export TMPDIR=/tmp
COMMON=$SGE_ROOT/$SGE_CELL/common
QMASTER_PID=/var/spool/gridengine/qmaster/qmaster.pid
PKGS=(gridengine-master gridengine-exec gridengine-client)

log() { printf '[sge_up %3ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
die() {
  log "ERROR: $*" >&2
  if [ -n "${LAST_LOG:-}" ] && [ -s "$LAST_LOG" ]; then
    echo "--- last lines of $LAST_LOG:" >&2; tail -n 25 "$LAST_LOG" >&2
  fi
  exit 1
}
trap 'die "failed at line $LINENO: $BASH_COMMAND"' ERR
[ "$(id -u)" = 0 ] || die "must run as root"
id "$TUSER" >/dev/null 2>&1 && [ -s "$TB/keys/ssh_config" ] || die "run up.sh first (no user $TUSER or no $TB/keys/ssh_config)"
mkdir -p "$TB/etc" "$TB/run" "$TB/log" "$TB/lib"
# The daemons listen on 127.0.0.1 only (the shim below) and every client finds the master
# by this host's name: it must resolve to 127.0.0.1 (up.sh adds that line when the name
# does not resolve at all; 127.0.1.1 or a network address would leave qsub unanswered).
addr=$(getent ahostsv4 "$HOST" | awk 'NR == 1 { print $1 }')
[ "$addr" = 127.0.0.1 ] || die "host name $HOST resolves to '${addr:-nothing}', not 127.0.0.1: Grid Engine's clients would not reach its master (map it in /etc/hosts)"

wait_for() {  # SECONDS WHAT CMD...
  local end=$(( $(date +%s) + $1 )) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || die "timed out waiting for: $what"; sleep 0.5
  done
}
is_running() {  # PIDFILE EXE: the pid in it is alive and is that program
  local pid; [ -s "$1" ] || return 1
  pid=$(tr -dc '0-9' < "$1"); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}

# ---------------------------------------------------------------- packages
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$SKIP_APT" = 1 ] && die "missing packages: ${missing[*]}"
  log "apt-get install ${missing[*]} (pulls exim4 and tcsh too)"
  # A noninteractive install leaves act_qmaster empty unless the master's name is preseeded.
  for p in gridengine-common gridengine-client gridengine-master; do
    echo "$p shared/gridenginemaster string $HOST"
  done | debconf-set-selections
  own_policy=0  # package scripts must not start daemons (exim4, the SGE daemons on 0.0.0.0)
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; own_policy=1
  fi
  apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
  LAST_LOG="$TB/log/apt-sge.log"; ok=0
  for try in 1 2 3; do
    if "${apt[@]}" update -qq > "$LAST_LOG" 2>&1 && \
       "${apt[@]}" install -y -qq --no-install-recommends "${PKGS[@]}" >> "$LAST_LOG" 2>&1; then ok=1; break; fi
    log "apt-get failed (try $try)"; sleep 10
  done
  [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ "$ok" = 1 ] || die "apt-get install failed, see $LAST_LOG"
  LAST_LOG=""
fi

# ---------------------------------------------------------------- cell
[ -s "$COMMON/act_qmaster" ] || echo "$HOST" > "$COMMON/act_qmaster"
# 127.0.0.1 reverse-resolves to "localhost" while the host calls itself $HOST: without the
# alias commlib refuses every client ("client IP resolved to host name localhost").
echo "$HOST localhost" > "$COMMON/host_aliases.new"
if cmp -s "$COMMON/host_aliases.new" "$COMMON/host_aliases"; then rm -f "$COMMON/host_aliases.new"
else mv -f "$COMMON/host_aliases.new" "$COMMON/host_aliases"; fi
# The daemons bind 0.0.0.0 and have no option against it: up.sh's shim makes it 127.0.0.1.
SHIM="$TB/lib/bind_loopback.so"
if [ ! -s "$SHIM" ]; then
  command -v gcc >/dev/null || die "gcc is needed to build the bind-to-loopback shim"
  gcc -shared -fPIC -O2 -o "$SHIM" "$HERE/bind_loopback.c" -ldl
fi

# ---------------------------------------------------------------- qmaster
if is_running "$QMASTER_PID" sge_qmaster; then
  log "sge_qmaster already running (pid $(tr -dc 0-9 < "$QMASTER_PID"))"
else
  log "starting sge_qmaster"; LAST_LOG=/var/spool/gridengine/qmaster/messages
  rm -f "$QMASTER_PID"
  env LD_PRELOAD="$SHIM" /usr/sbin/sge_qmaster
  wait_for 30 "sge_qmaster pid file $QMASTER_PID" is_running "$QMASTER_PID" sge_qmaster
  echo "$QMASTER_PID" > "$TB/run/sge_qmaster.started"
fi
LAST_LOG=/var/spool/gridengine/qmaster/messages
wait_for 60 "sge_qmaster answering (qconf -sh)" qconf -sh

# ---------------------------------------------------------------- configuration (idempotent)
QCONF_LOG="$TB/log/sge-qconf.log"
qc() { qconf "$@" >> "$QCONF_LOG" 2>&1 || { LAST_LOG=$QCONF_LOG; die "qconf $* failed"; }; }
qconf -sh 2>/dev/null | grep -qx "$HOST" || qc -ah "$HOST"
qconf -ss 2>/dev/null | grep -qx "$HOST" || qc -as "$HOST"
# A scheduler run every second and on each submit or end; accounting written at once; the
# execution host reports every 5 s (a job whose error state was cleared waits for that
# report before it runs again: 40 s by default).
conf_set() {  # SHOW-CMD MODIFY-CMD FILE KEY VALUE...: set keys, modify only if one differs
  local show=$1 modify=$2 file=$3; shift 3
  # one line per setting (qconf continues long values with a backslash)
  $show | sed -e ':a' -e '/\\$/N; s/\\\n[[:space:]]*/ /; ta' | awk '{ $1 = $1; print }' > "$file.old"; cp "$file.old" "$file"
  while [ $# -gt 0 ]; do
    if grep -q "^$1 " "$file"; then sed -i "s|^$1 .*|$1 $2|" "$file"; else echo "$1 $2" >> "$file"; fi
    shift 2
  done
  cmp -s "$file.old" "$file" || { qc "$modify" "$file"; log "configured $(basename "$file")"; }
  rm -f "$file.old"
}
conf_set "qconf -ssconf" -Msconf "$TB/etc/sge_sched_conf" \
  schedule_interval 0:0:1 flush_submit_sec 1 flush_finish_sec 1
mkdir -p "$TB/etc/sge_conf"  # qconf -Mconf takes the configuration's name from the file's
conf_set "qconf -sconf global" -Mconf "$TB/etc/sge_conf/global" \
  reporting_params "accounting=true reporting=false flush_time=00:00:15 joblog=false sharelog=00:00:00 accounting_flush_time=00:00:00" \
  max_aj_tasks 2000 load_report_time 00:00:05
render() { sed -e "s|@HOST@|$HOST|g; s|@QNAME@|$1|g; s|@SEQ@|$2|g; s|@H_RT@|$3|g; s|@H_VMEM@|$4|g" "$HERE/$5"; }
render smp 0 0 0 sge_pe.conf.in > "$TB/etc/sge_pe_smp.conf"
if qconf -spl 2>/dev/null | grep -qx smp; then
  qconf -sp smp | diff -q - "$TB/etc/sge_pe_smp.conf" >/dev/null || qc -Mp "$TB/etc/sge_pe_smp.conf"
else
  qc -Ap "$TB/etc/sge_pe_smp.conf"; log "added parallel environment smp"
fi
for q in "short.q 10 01:00:00 2G" "long.q 20 168:00:00 INFINITY"; do
  set -- $q
  render "$1" "$2" "$3" "$4" sge_queue.conf.in > "$TB/etc/sge_queue_$1.conf"
  if qconf -sql 2>/dev/null | grep -qx "$1"; then
    # modify only when a setting differs (qconf -Mq of the same values is harmless, but quiet)
    if [ "$(qconf -sq "$1" | awk '{print $1, $2}')" != "$(awk '{print $1, $2}' "$TB/etc/sge_queue_$1.conf")" ]; then
      qc -Mq "$TB/etc/sge_queue_$1.conf"; log "updated queue $1"
    fi
  else
    qc -Aq "$TB/etc/sge_queue_$1.conf"; log "added queue $1"
  fi
done

# ---------------------------------------------------------------- execd
install -d -o sgeadmin -g sgeadmin /var/spool/gridengine/execd
# its spool folder is named as the host resolves (localhost here, through 127.0.0.1)
execd_pid() { ls /var/spool/gridengine/execd/*/execd.pid 2>/dev/null | head -1; }
EXECD_PID=$(execd_pid || true)
if [ -n "$EXECD_PID" ] && is_running "$EXECD_PID" sge_execd; then
  log "sge_execd already running (pid $(tr -dc 0-9 < "$EXECD_PID"))"
else
  log "starting sge_execd"; LAST_LOG=/var/spool/gridengine/qmaster/messages
  [ -z "$EXECD_PID" ] || rm -f "$EXECD_PID"
  env LD_PRELOAD="$SHIM" /usr/sbin/sge_execd
  execd_up() { EXECD_PID=$(execd_pid) && is_running "$EXECD_PID" sge_execd; }
  wait_for 30 "sge_execd pid file /var/spool/gridengine/execd/*/execd.pid" execd_up
  execd_up
  echo "$EXECD_PID" > "$TB/run/sge_execd.started"
fi

# ---------------------------------------------------------------- the test user's shell
# As at a site: the login files put Grid Engine's own commands on PATH with SGE_ROOT and
# SGE_CELL (upstream's settings.sh does; Debian's only exports the variables), ahead of
# bashrc's "not interactive: return", so that `ssh host qstat` reads them too. Debian's
# /usr/bin/q* wrappers work without, but work out the architecture at each command: qstat
# of a user with no jobs took 120 ms through them and 11 ms without on a busy machine, and
# a listing of 2,000 jobs was 44 ms faster without them at rest.
# The wrappers are still tested: tests/schedulers/test_sge_gate.py names /usr/bin as a
# cluster's scheduler_bin.
BASHRC="$(getent passwd "$TUSER" | cut -d: -f6)/.bashrc"
BEGIN_MARK="# >>> Grid Engine (tests/hpc/testbed/sge_up.sh) >>>"
END_MARK="# <<< Grid Engine (tests/hpc/testbed/sge_up.sh) <<<"
BLOCK="$BEGIN_MARK
[ -r $COMMON/settings.sh ] && . $COMMON/settings.sh
case \":\$PATH:\" in *:/usr/lib/gridengine:*) ;; *) PATH=/usr/lib/gridengine:\$PATH; export PATH ;; esac
$END_MARK"
if [ ! -f "$BASHRC" ]; then
  install -m 0644 -o "$TUSER" -g "$(id -gn "$TUSER")" /dev/null "$BASHRC"
fi
CURRENT=$(awk -v b="$BEGIN_MARK" -v e="$END_MARK" '$0 == b { on = 1 } on { print } $0 == e { on = 0 }' "$BASHRC")
if [ "$CURRENT" != "$BLOCK" ]; then
  NEW=$(mktemp "$BASHRC.XXXXXX")
  {
    printf '%s\n' "$BLOCK"
    if grep -qxF "$BEGIN_MARK" "$BASHRC" && grep -qxF "$END_MARK" "$BASHRC"; then
      awk -v b="$BEGIN_MARK" -v e="$END_MARK" '$0 == b { skip = 1 } !skip { print } $0 == e { skip = 0 }' "$BASHRC"
    else
      cat "$BASHRC"
    fi
  } > "$NEW"
  chown --reference="$BASHRC" "$NEW" && chmod --reference="$BASHRC" "$NEW" && mv -f "$NEW" "$BASHRC"
  log "$TUSER's ~/.bashrc: Grid Engine's commands and settings, as a site's settings.sh sets them"
fi
[ "$(ssh -F "$TB/keys/ssh_config" testbed 'command -v qstat')" = /usr/lib/gridengine/qstat ] \
  || die "$TUSER's SSH commands do not find /usr/lib/gridengine/qstat first (see $BASHRC)"

# ---------------------------------------------------------------- usable?
queues_up() {  # both queue instances listed, reporting load, and not alarmed/unknown/disabled
  local q; for q in short.q long.q; do
    qstat -f -q "$q@$HOST" 2>/dev/null | awk -v q="$q@$HOST" '$1 == q && $6 == "" { ok = 1 } END { exit !ok }' || return 1
  done
}
wait_for 60 "queues short.q and long.q on $HOST usable (qstat -f)" queues_up
wait_for 30 "qstat over ssh as $TUSER" ssh -F "$TB/keys/ssh_config" testbed qstat -xml
log "ready in $(( $(date +%s) - T0 ))s: ssh -F $TB/keys/ssh_config testbed qstat -f"
