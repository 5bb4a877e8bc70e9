#!/usr/bin/env bash
# up.sh - the jupyter_rpc HPC test bed on one Debian 12 machine (root, no systemd, no docker).
#
#   sshd "login node"   127.0.0.1:2222  user hpcuser, key auth       ssh_config host: testbed
#   sshd "jump host"    127.0.0.1:2223  user jumpuser, forwarding    ssh_config host: testbed-jump
#   sshd "password"     127.0.0.1:2224  user hpcuser, password only  ssh_config host: testbed-password
#   munge + Slurm 22.05 (one node, partitions debug/long) + MariaDB/slurmdbd accounting
#   Grid Engine 8.1.9 (sge_qmaster/sge_execd, queues short.q/long.q): sge_up.sh, run after this
#   optional: $TB/venv, a Python with jupyter-rpc-backend for hpcuser (TESTBED_JRPC_SRC=<checkout>)
#
# Idempotent: a second run starts only what is not running and restarts a daemon only when
# the meaningful lines of its config changed. Everything listens on 127.0.0.1.
# State in $TB: keys/ (client keys, known_hosts, ssh_config, password), etc/, run/ (pid
# files + NAME.started markers for down.sh), log/.
#
# Knobs: TESTBED_DIR [/var/lib/hpc-testbed]  TESTBED_SSH_PORT [2222]  TESTBED_JUMP_PORT [2223]
#   TESTBED_PASSWORD_PORT [2224]  TESTBED_USER [hpcuser]  TESTBED_JUMP_USER [jumpuser]
#   TESTBED_ACCOUNTING [1]  TESTBED_SKIP_APT [0]  TESTBED_JRPC_SRC [unset]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TB=${TESTBED_DIR:-/var/lib/hpc-testbed}
SSH_PORT=${TESTBED_SSH_PORT:-2222}
JUMP_PORT=${TESTBED_JUMP_PORT:-2223}
PASSWORD_PORT=${TESTBED_PASSWORD_PORT:-2224}
TUSER=${TESTBED_USER:-hpcuser}
JUSER=${TESTBED_JUMP_USER:-jumpuser}
ACCOUNTING=${TESTBED_ACCOUNTING:-1}
SKIP_APT=${TESTBED_SKIP_APT:-0}
JRPC_SRC=${TESTBED_JRPC_SRC:-}
HOST=$(hostname -s)
T0=$(date +%s)
# The daemons outlive this script and run as other users (mysql, slurm): they must not inherit
# a caller's private temp folder (scripts/test.sh sets TMPDIR to a root-owned .ci-tmp, where
# mariadbd cannot create InnoDB's temp files and exits at once).
export TMPDIR=/tmp

log() { printf '[up %3ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
die() {
  log "ERROR: $*" >&2
  if [ -n "${LAST_LOG:-}" ] && [ -s "$LAST_LOG" ]; then
    echo "--- last lines of $LAST_LOG:" >&2; tail -n 25 "$LAST_LOG" >&2
  fi
  exit 1
}
trap 'die "failed at line $LINENO: $BASH_COMMAND"' ERR
[ "$(id -u)" = 0 ] || die "must run as root"

is_running() {  # PIDFILE [EXE]: is the pid in it alive (and that program)?
  local pid comm; [ -s "$1" ] || return 1
  pid=$(tr -dc '0-9' < "$1"); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # A pid file left by a machine that stopped (a CI runner's earlier boot) may name a pid
  # that now belongs to another program: that daemon is not running.
  [ -z "${2:-}" ] && return 0
  comm=$(cat "/proc/$pid/comm" 2>/dev/null || true); [ "${comm#"$2"}" != "$comm" ]
}
daemon_exe() {  # NAME -> the program name its pid has (as down.sh checks it)
  case "$1" in mariadb) echo mariadbd ;; sshd-*) echo sshd ;; *) echo "$1" ;; esac
}
wait_for() {  # SECONDS WHAT CMD...
  local end=$(( $(date +%s) + $1 )) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || die "timed out waiting for: $what"; sleep 0.5
  done
}
start_daemon() {  # NAME PIDFILE CMD...: start unless running; leave a marker for down.sh
  local name=$1 pf=$2; shift 2
  LAST_LOG="$TB/log/$name.log"  # shown by die() if the start fails
  [ "$name" = munged ] && LAST_LOG=/var/log/munge/munged.log
  local exe; exe=$(daemon_exe "$name")
  if is_running "$pf" "$exe"; then log "$name already running (pid $(tr -dc 0-9 < "$pf"))"; return 0; fi
  rm -f "$pf"; log "starting $name"; "$@"
  wait_for 30 "$name pid file $pf" is_running "$pf" "$exe"
  echo "$pf" > "$TB/run/$name.started"
}
stop_daemon() {  # NAME PIDFILE: only to apply a changed config
  local pid; is_running "$2" "$(daemon_exe "$1")" || return 0
  pid=$(tr -dc '0-9' < "$2"); log "restarting $1 (pid $pid): its config changed"
  kill "$pid"; for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"; rm -f "$2"
}
render() {  # TEMPLATE > stdout
  sed -e "s|@HOST@|$HOST|g; s|@TB@|$TB|g; s|@SSH_PORT@|$SSH_PORT|g; s|@JUMP_PORT@|$JUMP_PORT|g" \
      -e "s|@PASSWORD_PORT@|$PASSWORD_PORT|g; s|@USER@|$TUSER|g; s|@JUMP_USER@|$JUSER|g" \
      -e "s|@ACCT_STORAGE@|$ACCT_STORAGE|g; s|@DBPASS@|${DBPASS:-}|g" "$HERE/$1"
}
settings() { grep -v -E '^[[:space:]]*(#|$)' "$1" 2>/dev/null | sed 's/[[:space:]]*$//'; }
install_conf() {  # NEW DEST MODE OWNER: install; true (0) only if a setting changed
  local changed=1
  if [ "$(settings "$1")" != "$(settings "$2")" ]; then changed=0; fi
  if ! cmp -s "$1" "$2"; then install -m "$3" -o "${4%:*}" -g "${4#*:}" "$1" "$2"; fi
  rm -f "$1"; return "$changed"
}

# ---------------------------------------------------------------- host name, dirs, packages
getent hosts "$HOST" >/dev/null || echo "127.0.0.1 $HOST  # hpc-testbed" >> /etc/hosts
mkdir -p "$TB/etc" "$TB/keys" "$TB/run" "$TB/log" "$TB/lib"
chmod 755 "$TB" "$TB/etc" "$TB/lib"; chmod 700 "$TB/keys"; chmod 1777 "$TB/run" "$TB/log"

PKGS=(openssh-server openssh-client munge slurmctld slurmd slurm-client)
[ "$ACCOUNTING" = 1 ] && PKGS+=(slurmdbd mariadb-server)
# interactive apps' Remote desktop (issue 14): Xvnc + vncpasswd, websockify, a WM, an xterm
PKGS+=(tigervnc-standalone-server tigervnc-tools websockify openbox xterm)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$SKIP_APT" = 1 ] && die "missing packages: ${missing[*]}"
  log "apt-get install ${missing[*]}"
  own_policy=0  # package scripts must not start daemons (sshd would listen on 0.0.0.0:22)
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; own_policy=1
  fi
  apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
  ok=0
  for try in 1 2 3; do
    if "${apt[@]}" update -qq && "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" \
         > "$TB/log/apt.log" 2>&1; then ok=1; break; fi
    log "apt-get failed (try $try)"; sleep 10
  done
  [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ "$ok" = 1 ] || die "apt-get install failed, see $TB/log/apt.log"
fi

# Xvnc as a user wants /tmp/.X11-unix made by root (a node makes it at boot)
mkdir -p /tmp/.X11-unix && chmod 1777 /tmp/.X11-unix

# ---------------------------------------------------------------- users, keys, password
for u in "$TUSER" "$JUSER"; do id "$u" >/dev/null 2>&1 || { useradd -m -s /bin/bash "$u"; log "created user $u"; }; done
# jumpuser: no password but not locked ('!' makes sshd with UsePAM=no refuse it).
usermod -p '*' "$JUSER"
[ -s "$TB/keys/password" ] || { head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20 > "$TB/keys/password"; }
chmod 600 "$TB/keys/password"
printf '%s:%s\n' "$TUSER" "$(cat "$TB/keys/password")" | chpasswd

keygen() { [ -f "$1" ] || ssh-keygen -q -N '' "${@:2}" -f "$1"; }
keygen "$TB/keys/id_ed25519" -t ed25519 -C testbed-client
keygen "$TB/keys/id_rsa" -t rsa -b 3072 -m PEM -C testbed-client-rsa
keygen "$TB/etc/ssh_host_ed25519_key" -t ed25519 -C testbed-host
keygen "$TB/etc/ssh_host_rsa_key" -t rsa -b 3072 -C testbed-host
keygen "$TB/etc/ssh_host_ed25519_key_jump" -t ed25519 -C testbed-jump
for u in "$TUSER" "$JUSER"; do
  h=$(getent passwd "$u" | cut -d: -f6)
  install -d -m 700 -o "$u" -g "$u" "$h/.ssh"
  cat "$TB/keys/id_ed25519.pub" "$TB/keys/id_rsa.pub" > "$h/.ssh/authorized_keys"
  chown "$u:$u" "$h/.ssh/authorized_keys"; chmod 600 "$h/.ssh/authorized_keys"
done
hostkey() { cut -d' ' -f1,2 "$TB/etc/$1.pub"; }
{
  for p in "$SSH_PORT" "$PASSWORD_PORT"; do for h in 127.0.0.1 localhost; do
    echo "[$h]:$p $(hostkey ssh_host_ed25519_key)"; echo "[$h]:$p $(hostkey ssh_host_rsa_key)"
  done; done
  for h in 127.0.0.1 localhost; do echo "[$h]:$JUMP_PORT $(hostkey ssh_host_ed25519_key_jump)"; done
} > "$TB/keys/known_hosts"
cat > "$TB/keys/ssh_config" <<EOF
# ssh -F $TB/keys/ssh_config testbed hostname   (also: testbed-via-jump, testbed-jump, testbed-password)
Host testbed-jump
  HostName 127.0.0.1
  Port $JUMP_PORT
  User $JUSER
Host testbed
  HostName 127.0.0.1
  Port $SSH_PORT
  User $TUSER
Host testbed-via-jump
  HostName 127.0.0.1
  Port $SSH_PORT
  User $TUSER
  ProxyJump testbed-jump
Host testbed-password
  HostName 127.0.0.1
  Port $PASSWORD_PORT
  User $TUSER
  PubkeyAuthentication no
  BatchMode no
Host *
  IdentityFile $TB/keys/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $TB/keys/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
EOF

# ---------------------------------------------------------------- munge
if [ ! -s /etc/munge/munge.key ]; then
  install -d -m 700 -o munge -g munge /etc/munge
  runuser -u munge -- mungekey -c -f -k /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
fi
install -d -m 755 -o munge -g munge /run/munge /var/log/munge /var/lib/munge
start_daemon munged /run/munge/munged.pid runuser -u munge -- /usr/sbin/munged
wait_for 20 "munge round trip" bash -c 'munge -n | unmunge'

# ---------------------------------------------------------------- Slurm config, accounting
ACCT_STORAGE=accounting_storage/none; [ "$ACCOUNTING" = 1 ] && ACCT_STORAGE=accounting_storage/slurmdbd
render slurm.conf.in > "$TB/etc/slurm.conf.new"
restart_slurm=0
install_conf "$TB/etc/slurm.conf.new" /etc/slurm/slurm.conf 644 root:root && restart_slurm=1
install -d -m 755 -o slurm -g slurm /var/lib/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd

if [ "$ACCOUNTING" = 1 ]; then
  [ -s "$TB/etc/dbpass" ] || { head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$TB/etc/dbpass"; chmod 600 "$TB/etc/dbpass"; }
  DBPASS=$(cat "$TB/etc/dbpass")
  render mariadb.cnf.in > "$TB/etc/mariadb.cnf.new"
  install_conf "$TB/etc/mariadb.cnf.new" "$TB/etc/mariadb.cnf" 644 root:root && stop_daemon mariadb "$TB/run/mariadb.pid"
  install -d -m 755 -o mysql -g mysql /run/mysqld
  [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db > "$TB/log/mariadb-install.log" 2>&1
  start_daemon mariadb "$TB/run/mariadb.pid" \
    setsid -f sh -c 'exec /usr/sbin/mariadbd --defaults-file="$1" </dev/null >/dev/null 2>&1' _ "$TB/etc/mariadb.cnf"
  wait_for 60 "MariaDB socket" mariadb -uroot -e 'select 1'
  mariadb -uroot <<SQL
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DBPASS';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$DBPASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
SQL
  render slurmdbd.conf.in > "$TB/etc/slurmdbd.conf.new"
  install_conf "$TB/etc/slurmdbd.conf.new" /etc/slurm/slurmdbd.conf 600 slurm:slurm && stop_daemon slurmdbd "$TB/run/slurmdbd.pid"
  # slurmdbd 22.05 cannot choose its listen address: the shim turns 0.0.0.0 into 127.0.0.1.
  command -v gcc >/dev/null || die "gcc is needed to build the bind-to-loopback shim for slurmdbd"
  gcc -shared -fPIC -O2 -o "$TB/lib/bind_loopback.so.new" "$HERE/bind_loopback.c" -ldl
  if cmp -s "$TB/lib/bind_loopback.so.new" "$TB/lib/bind_loopback.so"; then rm -f "$TB/lib/bind_loopback.so.new"
  else mv -f "$TB/lib/bind_loopback.so.new" "$TB/lib/bind_loopback.so"; fi
  start_daemon slurmdbd "$TB/run/slurmdbd.pid" env LD_PRELOAD="$TB/lib/bind_loopback.so" /usr/sbin/slurmdbd
  wait_for 90 "slurmdbd answering" sacctmgr -n list cluster
  sacctmgr -n -P list cluster format=cluster | grep -qx testbed || sacctmgr -i add cluster testbed >/dev/null
  for a in research teamb; do
    sacctmgr -n -P list account format=account | grep -qx "$a" || \
      sacctmgr -i add account "$a" Description="testbed $a" Organization=testbed >/dev/null
  done
  sacctmgr -n -P list user format=user | grep -qx "$TUSER" || \
    sacctmgr -i add user "$TUSER" DefaultAccount=research Account=research,teamb >/dev/null
fi

if [ "$restart_slurm" = 1 ]; then stop_daemon slurmd "$TB/run/slurmd.pid"; stop_daemon slurmctld "$TB/run/slurmctld.pid"; fi
start_daemon slurmctld "$TB/run/slurmctld.pid" /usr/sbin/slurmctld
wait_for 60 "slurmctld answering" bash -c 'scontrol ping | grep -q "is UP"'
start_daemon slurmd "$TB/run/slurmd.pid" /usr/sbin/slurmd -N "$HOST"

# ---------------------------------------------------------------- sshd x3
install -d -m 755 /run/sshd
for s in target jump password; do
  render "sshd_$s.conf.in" > "$TB/etc/sshd_$s.conf.new"
  /usr/sbin/sshd -t -f "$TB/etc/sshd_$s.conf.new" || die "sshd_$s.conf is invalid"
  install_conf "$TB/etc/sshd_$s.conf.new" "$TB/etc/sshd_$s.conf" 644 root:root && stop_daemon "sshd-$s" "$TB/run/sshd-$s.pid"
  start_daemon "sshd-$s" "$TB/run/sshd-$s.pid" /usr/sbin/sshd -f "$TB/etc/sshd_$s.conf" -E "$TB/log/sshd-$s.log"
done

# ---------------------------------------------------------------- Python with jupyter_rpc for hpcuser
# What a cluster installs: the jupyter-rpc-backend wheel (jupyter_rpc.backend and
# jupyter_rpc.protocol: the runner, no JupyterLab, no Jupyter server), built from the
# checkout, with its locked dependencies (requirements/backend.txt of the same checkout).
if [ -n "$JRPC_SRC" ]; then
  JRPC_SRC=$(cd "$JRPC_SRC" && pwd)
  BACKEND_DIST="$JRPC_SRC/packages/jupyter-rpc-backend"
  [ -f "$BACKEND_DIST/pyproject.toml" ] && [ -f "$JRPC_SRC/jupyter_rpc/backend/__main__.py" ] \
    || die "TESTBED_JRPC_SRC=$JRPC_SRC is not a jupyter_rpc checkout"
  [ -x "$TB/venv/bin/python" ] || { log "creating $TB/venv"; /usr/bin/python3 -m venv "$TB/venv"; }
  LAST_LOG="$TB/log/venv-pip.log"
  # the backend's dependencies, from its lock (reinstalled when it changes)
  want=$(sha256sum "$JRPC_SRC/requirements/backend.txt" | cut -d' ' -f1)
  if [ "$(cat "$TB/venv/.requirements-sha256" 2>/dev/null)" != "$want" ]; then
    "$TB/venv/bin/pip" install -q --require-hashes -r "$JRPC_SRC/requirements/backend.txt" > "$LAST_LOG" 2>&1 || \
      die "pip install into $TB/venv failed, see $LAST_LOG"
    echo "$want" > "$TB/venv/.requirements-sha256"
  fi
  # the wheel, built as pip builds it for a user (isolated, with the build tools its
  # pyproject.toml names) and installed afresh on every run
  rm -rf "$TB/wheels" && mkdir -p "$TB/wheels"
  "$TB/venv/bin/pip" wheel -q --no-deps -w "$TB/wheels" "$BACKEND_DIST" > "$LAST_LOG" 2>&1 || \
    die "the jupyter-rpc-backend wheel did not build from $BACKEND_DIST, see $LAST_LOG"
  site=$("$TB/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  # earlier test beds copied the whole package in (the wheel has no jupyter_rpc/__init__.py)
  [ ! -e "$site/jupyter_rpc/__init__.py" ] || rm -rf "$site/jupyter_rpc"
  rm -f "$site/jupyter_rpc_testbed.pth"
  "$TB/venv/bin/pip" install -q --no-deps --force-reinstall "$TB/wheels"/jupyter_rpc_backend-*.whl > "$LAST_LOG" 2>&1 || \
    die "the jupyter-rpc-backend wheel did not install into $TB/venv, see $LAST_LOG"
  LAST_LOG=""
  chmod -R a+rX "$TB/venv"
  # from / (python -c puts the current folder first on sys.path: it may be the checkout)
  (cd / && runuser -u "$TUSER" -- "$TB/venv/bin/python" -c 'import sys, jupyter_rpc.backend as b, jupyter_rpc.protocol; sys.exit(not b.__file__.startswith(sys.prefix))') \
    || die "$TUSER cannot import jupyter_rpc.backend from $TB/venv"
  log "$TB/venv/bin/python runs jupyter_rpc.backend ($(basename "$TB/wheels"/jupyter_rpc_backend-*.whl), built from $JRPC_SRC)"
fi

# ---------------------------------------------------------------- wait until usable
node_ready() {
  case "$(sinfo -h -N -n "$HOST" -o '%T' 2>/dev/null | head -1)" in
    idle|mixed|allocated|completing) return 0 ;;
    down*|drain*|fail*) scontrol update nodename="$HOST" state=resume >/dev/null 2>&1; return 1 ;;
    *) return 1 ;;
  esac
}
wait_for 90 "node $HOST idle" node_ready
wait_for 30 "ssh login as $TUSER" ssh -F "$TB/keys/ssh_config" testbed true
wait_for 30 "ssh via the jump host" ssh -F "$TB/keys/ssh_config" testbed-via-jump true
wait_for 30 "password sshd on $PASSWORD_PORT" bash -c "exec 3<>/dev/tcp/127.0.0.1/$PASSWORD_PORT"
log "ready in $(( $(date +%s) - T0 ))s: ssh -F $TB/keys/ssh_config testbed"
