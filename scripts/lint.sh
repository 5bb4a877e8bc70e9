#!/usr/bin/env bash
# Every linter, formatter check and type checker, fast and first: what scripts/test.sh
# runs before the long tests. `scripts/lint.sh --fix` rewrites what the tools can fix.
#   Python:     ruff check, ruff format --check, mypy --strict (jupyter_rpc/)
#   TypeScript: tsc --noEmit (sources and Jest specs), eslint (the JupyterLab extension
#               template's rules), prettier --check
. "$(dirname "$0")/setup.sh"
if [ "${JRPC_SETUP_DONE:-0}" != 1 ]; then
  setup_venv
  setup_js
fi

FIX=0
[ "${1:-}" = --fix ] && FIX=1
failed=()
check() {
  local name="$1"; shift
  printf '  %-28s' "$name"
  local out
  if out="$("$@" 2>&1)"; then
    echo ok
  else
    echo FAILED
    printf '%s\n' "$out" | tail -n 60 | sed 's/^/    /'
    failed+=("$name")
  fi
}

say "Linters and type checkers"
PRETTIER_FILES=("src/**/*{.ts,.tsx}" "style/**/*.css" "schema/*.json" "eslint.config.mjs")
BIN="$ROOT/node_modules/.bin"
if [ "$FIX" = 1 ]; then
  check "ruff check --fix" ruff check --fix .
  check "ruff format" ruff format .
  check "prettier --write" "$BIN/prettier" --write "${PRETTIER_FILES[@]}"
  check "eslint --fix" "$BIN/eslint" --fix src
fi
check "ruff check" ruff check .
check "ruff format --check" ruff format --check .
check "mypy (strict)" mypy
check "tsc --noEmit" "$BIN/tsc" -p tsconfig.check.json
check "eslint" "$BIN/eslint" --max-warnings 0 src
check "prettier --check" "$BIN/prettier" --check "${PRETTIER_FILES[@]}"
[ ${#failed[@]} = 0 ] || die "linters failed: ${failed[*]} (scripts/lint.sh --fix fixes formatting)"
