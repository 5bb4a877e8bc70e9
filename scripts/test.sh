#!/usr/bin/env bash
# Run every test from a fresh machine: installs what it needs (Chromium from apt, the
# Python toolchain in .venv, JavaScript packages from the lock files), builds the wheel
# and checks it installs and loads without node, then runs the server/API tests, the
# notebook tests and the browser tests in real Chromium.
. "$(dirname "$0")/setup.sh"

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
UI=1
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "Installing Chromium (browser tests)"
    for i in 1 2 3 4 5; do
      (apt-get update -q && apt-get install -y -q chromium) && break
      echo "apt is busy, retry $i"; sleep 15
    done
  fi
  if [ ! -x "$CHROMIUM" ]; then
    [ "${CI:-}" = true ] && die "Chromium could not be installed: the browser tests cannot run."
    echo "SKIPPING browser tests: no Chromium at $CHROMIUM and no root to install it (set CHROMIUM_PATH)."
    UI=0
  fi
fi

setup_venv
setup_js

export TMPDIR="${TMPDIR_FOR_TESTS:-$ROOT/.ci-tmp}"
rm -rf "$TMPDIR" && mkdir -p "$TMPDIR"

say "Building the wheel (production labextension) and checking it in a fresh venv without node"
jlpm clean:all >/dev/null
rm -rf dist
python -m build --wheel --outdir dist >"$TMPDIR/build.log" 2>&1 || { tail -50 "$TMPDIR/build.log"; die "the wheel did not build"; }
WHEEL_VENV="$TMPDIR/wheel-venv"
"$PYTHON" -m venv "$WHEEL_VENV"
"$WHEEL_VENV/bin/python" -m pip install -q dist/jupyter_rpc-*.whl
NODELESS_PATH="$WHEEL_VENV/bin:/usr/sbin:/usr/bin:/sbin:/bin"
if PATH="$NODELESS_PATH" command -v node >/dev/null 2>&1; then NODE_NOTE="(node present in system PATH)"; else NODE_NOTE="(no node on PATH)"; fi
PATH="$NODELESS_PATH" jupyter labextension list 2>&1 | grep -iE "jupyter-rpc.*OK.*python" \
  || die "the wheel's JupyterLab extension is not found or not OK $NODE_NOTE"
PATH="$NODELESS_PATH" jupyter server extension list 2>&1 | grep -iE "jupyter_rpc.*OK" \
  || die "the wheel's server extension is not enabled or not OK"
echo "wheel OK $NODE_NOTE"

install_editable "test,ui"

say "Server, backend and API tests (pytest)"
set +e
python -m pytest tests -q -p no:cacheprovider
PY_STATUS=$?
UI_STATUS=0
if [ "$UI" = 1 ]; then
  say "Browser tests in Chromium (pytest-playwright)"
  CHROMIUM_PATH="$CHROMIUM" python -m pytest ui-tests -q --confcutdir=ui-tests -p no:cacheprovider
  UI_STATUS=$?
fi
set -e
[ $PY_STATUS = 0 ] || die "pytest tests failed (exit $PY_STATUS)"
[ $UI_STATUS = 0 ] || die "browser tests failed (exit $UI_STATUS)"
say "All tests passed"
