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
# Prove that no node is needed: hide every node binary (a private mount namespace, as
# root) or keep node's folders off PATH, and check both halves load.
check_wheel() {
  PATH="$WHEEL_VENV/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  if node --version >/dev/null 2>&1; then echo "node still runs: $(command -v node)"; return 1; fi
  jupyter labextension list 2>&1 | grep -iE "jupyter-rpc.*OK.*python" || return 1
  jupyter server extension list 2>&1 | grep -iE "jupyter_rpc.*OK" || return 1
}
NODE_BIN="$(command -v node || true)"
if [ -n "$NODE_BIN" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1; then
  export WHEEL_VENV NODE_BIN
  export -f check_wheel
  unshare -m bash -c 'mount --bind /dev/null "$NODE_BIN" && check_wheel' \
    || die "the wheel does not load without node"
  NODE_NOTE="(node hidden in a private mount namespace)"
elif [ -n "$NODE_BIN" ] && [ "$(dirname "$NODE_BIN")" != /usr/bin ] && [ "$(dirname "$NODE_BIN")" != /bin ]; then
  (check_wheel) || die "the wheel does not load without node on PATH"
  NODE_NOTE="(node's folder not on PATH)"
else
  (check_wheel) || die "the wheel does not load"
  NODE_NOTE="(node could not be hidden here)"
fi
echo "wheel OK $NODE_NOTE"

install_editable "test,ui"

say "DASF test bed: a venv with demessaging + dasf-broker-django (tests/dasf/requirements.txt)"
python tests/dasf/testbed.py || die "the DASF test bed venv could not be built"

say "HPC test bed: OpenSSH + Slurm 22.05 with accounting on 127.0.0.1 (tests/hpc/testbed/up.sh)"
if [ "$(id -u)" = 0 ]; then
  TESTBED_JRPC_SRC="$ROOT" bash tests/hpc/testbed/up.sh || die "the HPC test bed did not start (see /var/lib/hpc-testbed/log)"
elif [ "${CI:-}" = true ]; then
  die "the HPC test bed needs root (sshd, Slurm, apt)"
else
  echo "SKIPPING the HPC test bed: not root. The SSH/Slurm/SFTP tests will skip."
fi

say "Front-end unit tests (Jest: src/__tests__)"
set +e
jlpm test --ci --silent
JS_STATUS=$?

say "Server, backend and API tests (pytest)"
python -m pytest tests -q -p no:cacheprovider
PY_STATUS=$?
UI_STATUS=0
if [ "$UI" = 1 ]; then
  say "Browser tests in Chromium (pytest-playwright)"
  CHROMIUM_PATH="$CHROMIUM" python -m pytest ui-tests -q --confcutdir=ui-tests -p no:cacheprovider
  UI_STATUS=$?
fi
set -e
[ $JS_STATUS = 0 ] || die "Jest tests failed (exit $JS_STATUS)"
[ $PY_STATUS = 0 ] || die "pytest tests failed (exit $PY_STATUS)"
[ $UI_STATUS = 0 ] || die "browser tests failed (exit $UI_STATUS)"
say "All tests passed"
