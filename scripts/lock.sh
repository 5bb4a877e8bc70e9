#!/usr/bin/env bash
# Refresh the Python locks from their inputs (the way `jlpm install` refreshes yarn.lock):
#
#   scripts/lock.sh                      keep every pin that still fits, add what is new
#   scripts/lock.sh --upgrade            newest versions that the inputs allow
#   scripts/lock.sh --upgrade-package asyncssh   one package (and what it needs)
#
# Inputs -> locks (universal: every platform, Python 3.10 and newer, with hashes):
#   pyproject.toml [dependencies]                      -> requirements/runtime.txt
#   pyproject.toml [test,ui] + requirements/tools.in   -> requirements/dev.txt
#   tests/dasf/requirements.in                         -> tests/dasf/requirements.txt
#   tests/hpc/testbed/requirements.in                  -> tests/hpc/testbed/requirements.txt
# The wheel's own dependencies stay ranges (users install with pip); only the project's
# tools and test environments are pinned. uv comes from the dev lock itself.
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
compile requirements/runtime.txt pyproject.toml "$@"
compile requirements/dev.txt pyproject.toml --extra test --extra ui requirements/tools.in "$@"
compile tests/dasf/requirements.txt tests/dasf/requirements.in "$@"
compile tests/hpc/testbed/requirements.txt tests/hpc/testbed/requirements.in "$@"
say "Locks written; commit them with the change that needed them"
