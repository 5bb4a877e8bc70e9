#!/usr/bin/env bash
# Shared set-up for scripts/demo.sh and scripts/test.sh (sourced, not run).
# Creates .venv with the toolchain, installs the JavaScript dependencies from the
# committed lock file, and installs jupyter_rpc in editable mode with its prebuilt
# JupyterLab extension linked in.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-$ROOT/.venv}"

say() { printf '\n==> %s\n' "$*"; }
die() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }

need_node() {
  command -v node >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "Installing Node.js (needed to build the JupyterLab extension from source)"
    apt-get update -q && apt-get install -y -q nodejs npm
  fi
  command -v node >/dev/null 2>&1 || die "Node.js 18+ is needed to build from a clone (pip install of the wheel needs none). Install it and run again."
}

setup_venv() {
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "Python 3.10 or newer is needed ($PYTHON is $("$PYTHON" --version 2>&1))."
  if [ ! -x "$VENV/bin/python" ]; then
    say "Creating $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  # shellcheck disable=SC1091
  . "$VENV/bin/activate"
  say "Installing the Python toolchain"
  python -m pip install -q --upgrade pip
  python -m pip install -q "jupyterlab>=4.6,<4.7" "jupyter_builder>=1.3,<2" hatchling \
    hatch-jupyter-builder hatch-nodejs-version editables build
}

setup_js() {
  need_node
  say "Installing JavaScript dependencies (yarn.lock)"
  if [ "${CI:-}" = true ]; then jlpm install --immutable; else jlpm install; fi
}

install_editable() {
  say "Installing jupyter_rpc (editable) and building its JupyterLab extension"
  python -m pip install -q --no-build-isolation -e ".[${1:-test}]"
  jlpm build
  jupyter labextension develop . --overwrite >/dev/null
  jupyter labextension list 2>&1 | grep -i "jupyter-rpc.*OK" >/dev/null \
    || { jupyter labextension list; die "the JupyterLab extension is not installed"; }
  jupyter server extension list 2>&1 | grep -i "jupyter_rpc.*OK" >/dev/null \
    || { jupyter server extension list; die "the server extension is not enabled"; }
}
