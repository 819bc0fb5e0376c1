#!/usr/bin/env bash
# Installs code-server (VS Code 1.100.3 server + web workbench) from the npm registry alone, for the
# integration and UI tests. Its own postinstall downloads ripgrep from GitHub, so we skip scripts and
# redo the needed steps by hand. Idempotent: a marker file makes a second run return at once.
# System packages (chromium, ripgrep, build tools, libkrb5-dev) are installed by .ci/run.
set -euo pipefail
CS_VERSION=4.100.3   # the newest line that runs on Node 20 (4.103+ need Node 22)
DIR=${VSCODE_HOST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/image-trainer/vscode-host}
MARK="$DIR/.installed-$CS_VERSION"
if [ -f "$MARK" ]; then echo "code-server $CS_VERSION already installed in $DIR"; exit 0; fi
for bin in rg chromium; do
  command -v "$bin" >/dev/null || { echo "setup.sh: '$bin' not found; install it with apt (see .ci/run)" >&2; exit 1; }
done
export npm_config_nodedir=/usr   # build native modules against /usr/include/node; never fetch headers
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false npm_config_yes=true
mkdir -p "$DIR" && cd "$DIR"
echo '{"name":"image-trainer-vscode-host","private":true}' > package.json
npm install --no-save "code-server@$CS_VERSION" --ignore-scripts
npm rebuild argon2 --build-from-source --foreground-scripts >/dev/null   # loaded at startup even with auth: none
cd node_modules/code-server/lib/vscode
npm install --omit=dev --ignore-scripts
npm rebuild @vscode/spdlog native-watchdog @vscode/deviceid kerberos node-pty --foreground-scripts >/dev/null
mkdir -p node_modules/@vscode/ripgrep/bin && cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
(cd extensions && npm install --omit=dev)
cd "$DIR"
node -e 'require(process.argv[1]); console.log("argon2 loads")' "$DIR/node_modules/argon2"
touch "$MARK"
echo "code-server $CS_VERSION installed in $DIR"
