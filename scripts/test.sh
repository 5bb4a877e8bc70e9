#!/usr/bin/env bash
# Run every test from a fresh machine:
#
#   scripts/test.sh            from the locks (requirements/*.txt, yarn.lock): what CI runs
#   scripts/test.sh --latest   the newest Python versions that pyproject.toml's ranges allow
#                              (what `pip install jupyter_rpc` gives a user today), in
#                              .venv-latest; the same tests
#
# Installs what it needs (Chromium from apt as root, the Python toolchain in a venv,
# JavaScript packages from yarn.lock), runs the linters and type checkers first, builds
# both wheels (jupyter-rpc-backend and jupyter_rpc) and checks that they install and load
# without node, then runs the front-end
# unit tests, the server/API/notebook tests (with the HPC, DASF and JupyterHub test beds) and the
# browser tests in real Chromium. Package managers' output goes to .logs/setup.log.
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
for arg in "$@"; do
  case "$arg" in
    --latest) export JRPC_LATEST=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done
. "$(dirname "$0")/setup.sh"

setup_venv
setup_js
export JRPC_SETUP_DONE=1 VENV JRPC_LATEST
LINT_STATUS=0
if [ "$JRPC_LATEST" != 1 ]; then
  bash scripts/lint.sh || exit 1   # first, and a failure stops the run
fi

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
UI=1
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ]; then
    say "Installing Chromium (browser tests)"
    apt_install chromium || true
  fi
  if [ ! -x "$CHROMIUM" ]; then
    [ "${CI:-}" = true ] && die "Chromium could not be installed: the browser tests cannot run (log: $JRPC_LOG)."
    echo "SKIPPING browser tests: no Chromium at $CHROMIUM and no root to install it (set CHROMIUM_PATH)."
    UI=0
  fi
fi

export TMPDIR="${TMPDIR_FOR_TESTS:-$ROOT/.ci-tmp}"
rm -rf "$TMPDIR" && mkdir -p "$TMPDIR"

say "Building the wheels (jupyter-rpc-backend; jupyter_rpc with the production labextension) and checking them in a fresh venv without node"
quiet "jlpm clean failed" jlpm clean:all
rm -rf dist
WHEEL_VENV="$TMPDIR/wheel-venv"
quiet "could not create $WHEEL_VENV" "$PYTHON" -m venv "$WHEEL_VENV"
if [ "$JRPC_LATEST" = 1 ]; then
  # as a user's pip does it: isolated builds, dependencies resolved afresh (the backend
  # wheel, on no index, given beside the wheel that needs it)
  quiet "the backend wheel did not build" python -m build --wheel --outdir dist "$BACKEND_DIST"
  quiet "the wheel did not build" python -m build --wheel --outdir dist
  WHEELS=(dist/jupyter_rpc_backend-*.whl dist/jupyter_rpc-*.whl)
  quiet "the wheels did not install" "$WHEEL_VENV/bin/python" -m pip install "${WHEELS[@]}"
else
  # build tools and the wheels' dependencies from the locks
  quiet "the backend wheel did not build" \
    python -m build --wheel --no-isolation --outdir dist "$BACKEND_DIST"
  quiet "the wheel did not build" python -m build --wheel --no-isolation --outdir dist
  WHEELS=(dist/jupyter_rpc_backend-*.whl dist/jupyter_rpc-*.whl)
  quiet "the locked runtime dependencies did not install" \
    "$WHEEL_VENV/bin/python" -m pip install --require-hashes -r requirements/runtime.txt
  quiet "the wheels did not install" "$WHEEL_VENV/bin/python" -m pip install --no-deps "${WHEELS[@]}"
fi
quiet "the wheels' dependencies are not satisfied" "$WHEEL_VENV/bin/python" -m pip check
# Prove that no node is needed: hide every node binary (a private mount namespace, as
# root) or keep node's folders off PATH, and check both halves load, and the runner's CLI
# (from the backend wheel).
check_wheel() {
  PATH="$WHEEL_VENV/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  if [ "${1:-}" != node-visible ] && node --version >/dev/null 2>&1; then
    echo "node still runs: $(command -v node)"; return 1
  fi
  jupyter labextension list 2>&1 | grep -iE "jupyter-rpc.*OK.*python" || return 1
  jupyter server extension list 2>&1 | grep -iE "jupyter_rpc.*OK" || return 1
  jupyter-rpc schema jupyter_rpc.examples.demo >/dev/null || return 1
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
  # node in /usr/bin and no root to hide it: the wheel still has to load, but this run
  # cannot prove that it needs no node (CI, as root, does)
  (check_wheel node-visible) || die "the wheel does not load"
  NODE_NOTE="(node could not be hidden here: not root, node in $(dirname "${NODE_BIN:-/usr/bin/node}"))"
fi
echo "wheel OK $NODE_NOTE"

install_editable "test,ui"
if [ "$JRPC_LATEST" = 1 ]; then
  # Only now are the package's own dependencies (whose types mypy reads) installed. The
  # newest linters may find what the locked ones do not: reported, and the run goes on.
  bash scripts/lint.sh || LINT_STATUS=$?
  say "Newest versions under test (what differs from requirements/dev.txt)"
  python scripts/lock_diff.py requirements/dev.txt || true
fi

say "DASF test bed: a venv with demessaging + dasf-broker-django (tests/dasf/requirements.txt)"
python tests/dasf/testbed.py || die "the DASF test bed venv could not be built"

say "HPC test bed: OpenSSH + Slurm 22.05 with accounting + Grid Engine 8.1.9 on 127.0.0.1 (tests/hpc/testbed/up.sh, sge_up.sh)"
if [ "$(id -u)" = 0 ]; then
  TESTBED_JRPC_SRC="$ROOT" bash tests/hpc/testbed/up.sh || die "the HPC test bed did not start (see /var/lib/hpc-testbed/log)"
  bash tests/hpc/testbed/sge_up.sh || die "Grid Engine on the HPC test bed did not start (see /var/lib/hpc-testbed/log)"
elif [ "${CI:-}" = true ]; then
  die "the HPC test bed needs root (sshd, Slurm, apt)"
else
  echo "SKIPPING the HPC test bed: not root. The SSH/Slurm/SFTP tests will skip."
fi

say "JupyterHub test bed: JupyterHub and configurable-http-proxy from their locks, the wheels site-wide, users alice and bob (tests/hub/bed/up.sh)"
if [ "$(id -u)" = 0 ]; then
  bash tests/hub/bed/up.sh || die "the JupyterHub test bed could not be set up (see /opt/jupyter-rpc-hub/log)"
elif [ "${CI:-}" = true ]; then
  die "the JupyterHub test bed needs root (it creates Unix users; the hub spawns their servers)"
else
  echo "SKIPPING the JupyterHub test bed: not root. The tests in tests/hub will skip."
fi

say "Front-end unit tests (Jest: src/*/__tests__)"
set +e
jlpm test --ci --silent
JS_STATUS=$?

# Two groups side by side (CI has 2 cores, and most of a test's time is waiting on a
# server, a scheduler or a browser): the tests that use the HPC test bed (Slurm's 2 CPUs
# and Grid Engine's slots are the bed's, so they stay one group; a browser file that does
# not use it joins to even the two out: ui-tests/conftest.py) and the rest. Each runs its
# pytest tests, then its browser tests; each writes its own log, shown when it ends.
GROUP_DIR="$TMPDIR/groups"
mkdir -p "$GROUP_DIR"
run_group() {  # name (the ui-tests --group), pytest marker expression
  local name=$1 marker=$2 log="$GROUP_DIR/$1.log"
  {
    say "$name: server, backend and API tests (pytest -m \"$marker\")"
    python -m pytest tests -q -p no:cacheprovider --durations=15 -m "$marker" \
      --basetemp="$TMPDIR/pytest-$name"
    echo $? > "$GROUP_DIR/$name.pytest"
    if [ "$UI" = 1 ]; then
      say "$name: browser tests in Chromium (pytest-playwright)"
      CHROMIUM_PATH="$CHROMIUM" python -m pytest ui-tests -q --confcutdir=ui-tests \
        -p no:cacheprovider --durations=15 --group="$name" --basetemp="$TMPDIR/ui-$name"
      echo $? > "$GROUP_DIR/$name.ui"
    fi
    say "$name: ended"
  } > "$log" 2>&1
}
say "Server, API and browser tests in two groups side by side: the HPC test bed's, and the rest (each group's output follows when it ends)"
run_group testbed hpc &
BED_PID=$!
run_group others "not hpc" &
OTHERS_PID=$!
PY_STATUS=0
UI_STATUS=0
wait $BED_PID $OTHERS_PID
for name in testbed others; do
  cat "$GROUP_DIR/$name.log"
  [ "$(cat "$GROUP_DIR/$name.pytest" 2>/dev/null || echo 1)" = 0 ] || PY_STATUS=1
  if [ "$UI" = 1 ]; then
    [ "$(cat "$GROUP_DIR/$name.ui" 2>/dev/null || echo 1)" = 0 ] || UI_STATUS=1
  fi
done
set -e
[ $LINT_STATUS = 0 ] || die "the newest linters or type checkers found problems (see above)"
[ $JS_STATUS = 0 ] || die "Jest tests failed (exit $JS_STATUS)"
[ $PY_STATUS = 0 ] || die "pytest tests failed (exit $PY_STATUS)"
[ $UI_STATUS = 0 ] || die "browser tests failed (exit $UI_STATUS)"
say "All tests passed"
