#!/usr/bin/env bash
# Refresh the Python locks from their inputs (the way `jlpm install` refreshes yarn.lock):
#
#   scripts/lock.sh                      keep every pin that still fits, add what is new
#   scripts/lock.sh --upgrade            newest versions that the inputs allow
#   scripts/lock.sh --upgrade-package asyncssh   one package (and what it needs)
#
# Inputs -> locks (universal: every platform, Python 3.10 and newer, with hashes):
#   packages/jupyter-rpc-backend/pyproject.toml        -> requirements/backend.txt
#   pyproject.toml [dependencies]                      -> requirements/runtime.txt
#   pyproject.toml [test,ui] + requirements/tools.in   -> requirements/dev.txt
#   tests/dasf/requirements.in                         -> tests/dasf/requirements.txt
# backend.txt is what a login node needs beside the jupyter-rpc-backend wheel (the HPC test
# bed installs it). jupyter-rpc-backend itself is on no index: the resolver takes it from
# packages/jupyter-rpc-backend (pyproject.toml's [tool.uv.sources]) and the locks leave it
# out; the scripts install it from the tree. The wheels' own dependencies stay ranges
# (users install with pip); only the project's tools and test environments are pinned. uv
# comes from the dev lock itself.
. "$(dirname "$0")/setup.sh"
setup_venv
UV="$VENV/bin/uv"
[ -x "$UV" ] || die "uv is missing from $VENV (it is in requirements/tools.in)"

compile() {
  local out="$1"; shift
  say "Locking $out"
  "$UV" pip compile --quiet --universal --python-version 3.10 --generate-hashes \
    --custom-compile-command "scripts/lock.sh" --output-file "$out" "$@" \
    || die "uv could not resolve $out"
}
OURS=(--no-emit-package jupyter-rpc-backend)
compile requirements/backend.txt packages/jupyter-rpc-backend/pyproject.toml "$@"
compile requirements/runtime.txt pyproject.toml "${OURS[@]}" "$@"
compile requirements/dev.txt pyproject.toml --extra test --extra ui requirements/tools.in "${OURS[@]}" "$@"
compile tests/dasf/requirements.txt tests/dasf/requirements.in "$@"
compile requirements/hub.txt pyproject.toml requirements/hub.in "${OURS[@]}" "$@"   # tests/hub/bed
say "Locks written; commit them with the change that needed them"
