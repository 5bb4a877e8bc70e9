#!/usr/bin/env bash
# Start JupyterLab with jupyter_rpc on its embedded default: the example backend as a
# local process. Builds whatever is missing first. Usage: scripts/demo.sh [jupyter lab args]
. "$(dirname "$0")/setup.sh"
setup_venv
setup_js
install_editable test
say "Starting JupyterLab: open the 'Remote functions' panel in the left side bar"
# The demo notebook ships without outputs: trust it for this user (the server warns
# "not trusted" for a notebook whose signature it does not know).
jupyter trust "$ROOT/demo/remote-functions.ipynb" >/dev/null
args=(--config "$ROOT/demo/jupyter_server_config.py")
[ "$(id -u)" = 0 ] && args+=(--allow-root)
exec jupyter lab "${args[@]}" "$@"
