#!/usr/bin/env bash
# up.sh - the jupyter_rpc JupyterHub test bed on one Debian machine (root, no systemd, no docker).
#
#   Unix users alice and bob (Debian's default homes, made 0755 as the issue found them:
#   only the extension's own file modes keep one user's state from the other)
#   $BED/venv     JupyterHub (requirements/hub.txt, a lock) + our two wheels from dist/,
#                 world-readable; the wheel enables the extension for everyone with its file in
#                 $BED/venv/etc/jupyter/jupyter_server_config.d/, and the site's settings are
#                 the extension's own file $BED/venv/etc/jupyter/jupyter_rpc_config.json (the
#                 example backend, the local cluster over each user's home, a group policy).
#                 Not a file in jupyter_server_config.d/: Jupyter reads only
#                 jpserver_extensions from those
#   $BED/proxy    configurable-http-proxy from its own lock (package-lock.json, npm ci)
#   $BED/etc      jupyterhub_config.py (127.0.0.1 only, LocalProcessSpawner, a password
#                 shared by the bed's users, an admin service token for the tests)
#   $BED/secrets  (0700) api_token, password      $BED/state (0700) the hub's database
#
# This script only installs; the hub is started by the tests' session fixture
# (tests/hub/conftest.py: `$BED/venv/bin/jupyterhub -f $BED/etc/jupyterhub_config.py`, free
# ports in JRPC_HUB_PORT, JRPC_HUB_API_PORT, JRPC_HUB_PROXY_API_PORT) and stopped by PID with
# its proxy and the users' servers. Idempotent: a second run changes nothing and takes a
# second or two (the venv is rebuilt only when the lock or a wheel changed).
#
#   tests/hub/bed/up.sh                    the bed
#   tests/hub/bed/up.sh --bench-users 20   also hubuser01..hubuser20 (benchmarks/bench_hub.py)
#
# Knobs: JRPC_HUB_BED [/opt/jupyter-rpc-hub] (outside the clone: CI's may sit in a 0700
# folder)  JRPC_HUB_BUILD_WHEELS [0: build them only when dist/ lacks one; 1: always, from
# the tree as it is]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
BED=${JRPC_HUB_BED:-/opt/jupyter-rpc-hub}
BUILD_WHEELS=${JRPC_HUB_BUILD_WHEELS:-0}
USERS=(alice bob)
T0=$(date +%s)
# the bed's files are read by every user: whatever the caller's umask, they are 0755/0644
umask 022
# pip and npm must not write their temp files into a caller's private TMPDIR (scripts/test.sh)
export TMPDIR=/tmp

log() { printf '[hub-bed %3ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
die() {
  log "ERROR: $*" >&2
  if [ -n "${LAST_LOG:-}" ] && [ -s "$LAST_LOG" ]; then
    echo "--- last lines of $LAST_LOG:" >&2; tail -n 25 "$LAST_LOG" >&2
  fi
  exit 1
}
trap 'die "failed at line $LINENO: $BASH_COMMAND"' ERR
while [ $# -gt 0 ]; do
  case "$1" in
    --bench-users) [[ "${2:-}" =~ ^[0-9]+$ ]] || die "--bench-users needs a number"
      for i in $(seq 1 "$2"); do USERS+=("$(printf 'hubuser%02d' "$i")"); done; shift 2 ;;
    *) die "unknown argument: $1 (see the top of $0)" ;;
  esac
done
[ "$(id -u)" = 0 ] || die "must run as root (it creates Unix users; the hub spawns their servers)"

mkdir -p "$BED/etc" "$BED/secrets" "$BED/state" "$BED/log"
chmod 755 "$BED" "$BED/etc"; chmod 700 "$BED/secrets" "$BED/state" "$BED/log"

# ---------------------------------------------------------------- the users
for u in "${USERS[@]}"; do
  if ! getent passwd "$u" >/dev/null; then
    log "creating user $u"
    useradd --create-home --shell /bin/bash "$u"
  fi
  home=$(getent passwd "$u" | cut -d: -f6)
  chmod 755 "$home"
done

# ---------------------------------------------------------------- the venv
LAST_LOG="$BED/log/venv.log"
wheel() {  # PATTERN: the newest wheel of dist/ that matches
  find "$ROOT/dist" -maxdepth 1 -name "$1" -printf '%T@ %p\n' 2>/dev/null | sort -n | tail -n 1 | cut -d' ' -f2-
}
if [ "$BUILD_WHEELS" = 1 ] || [ -z "$(wheel 'jupyter_rpc_backend-*.whl')" ] || [ -z "$(wheel 'jupyter_rpc-*.whl')" ]; then
  [ -x "$ROOT/.venv/bin/python" ] || die "no wheels in $ROOT/dist and no $ROOT/.venv to build them (run scripts/setup.sh or scripts/test.sh)"
  log "building the wheels into $ROOT/dist (as scripts/test.sh does)"
  (cd "$ROOT" && .venv/bin/python -m build --wheel --no-isolation --outdir dist packages/jupyter-rpc-backend \
     && .venv/bin/python -m build --wheel --no-isolation --outdir dist) > "$LAST_LOG" 2>&1 \
    || die "the wheels did not build"
fi
WHEELS=("$(wheel 'jupyter_rpc_backend-*.whl')" "$(wheel 'jupyter_rpc-*.whl')")
want=$(cat "$ROOT/requirements/hub.txt" "${WHEELS[@]}" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$BED/venv/.bed-sha256" 2>/dev/null)" != "$want" ]; then
  log "building $BED/venv (requirements/hub.txt, $(basename "${WHEELS[0]}"), $(basename "${WHEELS[1]}"))"
  [ -x "$BED/venv/bin/python" ] || /usr/bin/python3 -m venv "$BED/venv"
  "$BED/venv/bin/python" -m pip install -q --require-hashes -r "$ROOT/requirements/hub.txt" > "$LAST_LOG" 2>&1 \
    || die "the locked requirements did not install into $BED/venv"
  "$BED/venv/bin/python" -m pip install -q --no-deps --force-reinstall "${WHEELS[@]}" >> "$LAST_LOG" 2>&1 \
    || die "the wheels did not install into $BED/venv"
  chmod -R a+rX "$BED/venv"
  # the wheel's own file enables the extension site-wide: a user's server must load it
  (cd / && runuser -u alice -- env -i PATH="$BED/venv/bin:/usr/bin:/bin" HOME=/tmp \
     "$BED/venv/bin/jupyter" server extension list 2>&1 | grep -qE 'jupyter_rpc.*OK') \
    || die "alice's server would not load jupyter_rpc from $BED/venv"
  echo "$want" > "$BED/venv/.bed-sha256"
fi

# the site's settings, for every user's server
install -D -m 644 "$HERE/jupyter_rpc_config.json" "$BED/venv/etc/jupyter/jupyter_rpc_config.json"
# where older beds put them
rm -f "$BED/venv/etc/jupyter/jupyter_server_config.d/zz-site-rpc.json" \
  "$BED/venv/etc/jupyter/jupyter_server_config.json"

# ---------------------------------------------------------------- the proxy
LAST_LOG="$BED/log/npm.log"
if ! cmp -s "$HERE/package-lock.json" "$BED/proxy/package-lock.json" \
   || [ ! -x "$BED/proxy/node_modules/.bin/configurable-http-proxy" ]; then
  command -v npm >/dev/null || die "npm is missing (Node.js 20+: apt-get install nodejs npm)"
  log "installing configurable-http-proxy into $BED/proxy (npm ci)"
  rm -rf "$BED/proxy" && mkdir -p "$BED/proxy"
  cp "$HERE/package.json" "$HERE/package-lock.json" "$BED/proxy/"
  (cd "$BED/proxy" && npm ci --ignore-scripts --no-audit --no-fund) > "$LAST_LOG" 2>&1 \
    || die "npm ci of configurable-http-proxy failed"
fi
"$BED/proxy/node_modules/.bin/configurable-http-proxy" --version > /dev/null \
  || die "configurable-http-proxy does not run"

# ---------------------------------------------------------------- the hub's config and secrets
install -m 644 "$HERE/jupyterhub_config.py" "$BED/etc/jupyterhub_config.py"
for secret in api_token password; do
  [ -s "$BED/secrets/$secret" ] || (umask 077 && "$BED/venv/bin/python" -c \
    'import secrets; print(secrets.token_hex(32))' > "$BED/secrets/$secret")
done
chmod 600 "$BED/secrets/"*

log "ready: $BED (users: ${USERS[*]}; JupyterHub $("$BED/venv/bin/jupyterhub" --version)," \
    "configurable-http-proxy $("$BED/proxy/node_modules/.bin/configurable-http-proxy" --version))"
