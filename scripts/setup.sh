#!/usr/bin/env bash
# Shared set-up for scripts/demo.sh, scripts/test.sh and scripts/lint.sh (sourced, not run).
# Creates the Python venv from the lock (requirements/dev.txt), installs the JavaScript
# dependencies from yarn.lock, and installs jupyter-rpc-backend and jupyter_rpc in editable
# mode, with the prebuilt JupyterLab extension linked in.
#
# Two modes:
#   locked (default)       .venv, exactly the versions in requirements/dev.txt (hashes checked)
#   newest (JRPC_LATEST=1) .venv-latest, the newest versions that pyproject.toml's ranges
#                          allow: what `pip install jupyter_rpc` gives a user today
#
# The package managers' output goes to $JRPC_LOG (default .logs/setup.log); a failing
# step prints its tail. Run as root, missing system packages are installed with apt.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
JRPC_LATEST="${JRPC_LATEST:-0}"
if [ "$JRPC_LATEST" = 1 ]; then
  VENV="${VENV:-$ROOT/.venv-latest}"
else
  VENV="${VENV:-$ROOT/.venv}"
fi
LOCK="$ROOT/requirements/dev.txt"
mkdir -p "$ROOT/.logs"
export JRPC_LOG="${JRPC_LOG:-$ROOT/.logs/setup.log}"
# a new log per run; a script sourced by another (JRPC_SETUP_DONE=1) appends to it
[ "${JRPC_SETUP_DONE:-0}" = 1 ] || : >"$JRPC_LOG"

# when the run began (a script it starts inherits it), for the time in each heading
export JRPC_T0="${JRPC_T0:-$(date +%s)}"
elapsed() { local s=$(($(date +%s) - JRPC_T0)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }
say() { printf '\n==> %s  [%s]\n' "$*" "$(elapsed)"; }
die() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }

# quiet "what failed" cmd...: run a command with its output in the log; on failure show
# the log's last lines and stop.
quiet() {
  local what="$1"; shift
  printf '\n$ %s\n' "$*" >>"$JRPC_LOG"
  if ! "$@" >>"$JRPC_LOG" 2>&1; then
    printf '\n--- last lines of %s ---\n' "$JRPC_LOG" >&2
    tail -n 40 "$JRPC_LOG" >&2
    die "$what (full output: $JRPC_LOG)"
  fi
}

# apt_install PKG...: as root, install Debian packages (retried while apt is locked).
apt_install() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
  local i
  for i in 1 2 3 4 5; do
    if { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"; } >>"$JRPC_LOG" 2>&1; then
      return 0
    fi
    echo "apt is busy or failed, retry $i (log: $JRPC_LOG)"
    sleep 15
  done
  return 1
}

need_node() {
  command -v node >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ]; then
    say "Installing Node.js (needed to build the JupyterLab extension from source)"
    apt_install nodejs npm || true
  fi
  command -v node >/dev/null 2>&1 || die "Node.js 18+ is needed to build from a clone (pip install of the wheel needs none). Install it and run again."
}

lock_digest() { "$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$1"; }

setup_venv() {
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "Python 3.10 or newer is needed ($PYTHON is $("$PYTHON" --version 2>&1))."
  if [ ! -x "$VENV/bin/python" ]; then
    say "Creating $VENV"
    quiet "could not create the venv $VENV" "$PYTHON" -m venv "$VENV"
  fi
  # shellcheck disable=SC1091
  . "$VENV/bin/activate"
  if [ "$JRPC_LATEST" = 1 ]; then
    say "Installing the newest Python tools and test dependencies that the ranges allow"
    quiet "pip could not be upgraded" python -m pip install --upgrade pip
    # tools.in holds jupyterlab to the minor the npm pins build with; a user's pip does not
    grep -v '^jupyterlab' requirements/tools.in >"$VENV/tools-latest.in"
    quiet "the newest dependencies could not be installed" \
      python -m pip install --upgrade --upgrade-strategy eager -r "$VENV/tools-latest.in"
    return 0
  fi
  local marker="$VENV/.jupyter-rpc-lock" want
  want="$(lock_digest "$LOCK")"
  if [ "$(cat "$marker" 2>/dev/null)" != "$want" ]; then
    say "Installing the Python tools and test dependencies (requirements/dev.txt)"
    quiet "the locked Python dependencies could not be installed" \
      python -m pip install --require-hashes -r "$LOCK"
    echo "$want" >"$marker"
  else
    say "Python tools and test dependencies are up to date (requirements/dev.txt)"
  fi
}

setup_js() {
  need_node
  say "Installing JavaScript dependencies (yarn.lock)"
  if [ "${CI:-}" = true ]; then
    quiet "jlpm install failed" jlpm install --immutable
  else
    quiet "jlpm install failed" jlpm install
  fi
}

# The two distributions built from this tree: jupyter-rpc-backend (jupyter_rpc/backend and
# jupyter_rpc/protocol, packages/jupyter-rpc-backend) and jupyter_rpc, which depends on it.
# The backend is on no index, so pip gets it from the tree in the same command.
BACKEND_DIST="packages/jupyter-rpc-backend"

install_editable() {
  say "Installing jupyter-rpc-backend and jupyter_rpc (editable) and building the JupyterLab extension"
  if [ "$JRPC_LATEST" = 1 ]; then
    # resolve the packages' ranges and extras afresh, newest first
    quiet "pip could not install jupyter_rpc" \
      python -m pip install --upgrade --upgrade-strategy eager --no-build-isolation \
      -e "$BACKEND_DIST" -e ".[${1:-test}]"
  else
    # everything they need is in the lock already
    quiet "pip could not install jupyter_rpc" \
      python -m pip install --no-deps --no-build-isolation -e "$BACKEND_DIST" -e .
  fi
  if [ ! -x "$VENV/bin/jupyter-rpc" ]; then
    # The jupyter-rpc script moved from jupyter_rpc to jupyter-rpc-backend: replacing an
    # older jupyter_rpc removed it after the backend had installed it.
    quiet "pip could not install jupyter-rpc-backend" \
      python -m pip install --no-deps --no-build-isolation --force-reinstall -e "$BACKEND_DIST"
  fi
  quiet "the lab extension did not build" jlpm build
  quiet "the lab extension could not be linked" jupyter labextension develop . --overwrite
  jupyter labextension list 2>&1 | grep -i "jupyter-rpc.*OK" >/dev/null \
    || { jupyter labextension list; die "the JupyterLab extension is not installed"; }
  jupyter server extension list 2>&1 | grep -i "jupyter_rpc.*OK" >/dev/null \
    || { jupyter server extension list; die "the server extension is not enabled"; }
  quiet "installed Python packages conflict" python -m pip check
}
