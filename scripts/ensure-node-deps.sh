#!/usr/bin/env bash
# Installs what the JavaScript tests (tests/js) need, from the npm registry only:
# `npm ci` in tests/js (exact versions from package-lock.json: @icp-sdk/core, @icp-sdk/canisters,
# @dfinity/utils, @icp-sdk/bindgen and DFINITY's icp-cli binary package), then generates the
# Candid bindings (tests/js/generated/) from candid/*.did.
#
# Needs Node.js >= 20.10 and npm (present on the project's machines). Skips `npm ci` when
# tests/js/node_modules already matches package-lock.json. Source it or run it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JS="$ROOT/tests/js"
log() { echo "ensure-node-deps: $*" >&2; }

command -v node >/dev/null 2>&1 || { log "node is not installed (Node.js >= 20.10 is needed)"; exit 1; }
command -v npm >/dev/null 2>&1 || { log "npm is not installed"; exit 1; }
node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  if (maj < 20 || (maj === 20 && min < 10)) { console.error(`ensure-node-deps: node ${process.versions.node} is too old (>= 20.10 needed)`); process.exit(1); }
'

# A stamp of package.json + package-lock.json, written after a successful `npm ci`: when it
# matches, node_modules is already what `npm ci` would lay down.
stamp="$JS/node_modules/.ensure-node-deps.sha256"
want="$(sha256sum "$JS/package-lock.json" "$JS/package.json" | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -d "$JS/node_modules/@icp-sdk/core" ]]; then
    log "tests/js/node_modules is up to date"
else
    log "npm ci in tests/js"
    (cd "$JS" && npm ci --no-audit --no-fund)
    echo "$want" >"$stamp"
fi

# icp-cli is a prebuilt Linux x86-64 binary (an optional dependency): check that it runs. It
# links libdbus-1 (for the OS keyring), which Debian's libdbus-1-3 provides.
if [[ "$(uname -s)-$(uname -m)" == "Linux-x86_64" ]]; then
    icp="$JS/node_modules/@icp-sdk/icp-cli-linux-x64/bin/icp"
    [[ -x "$icp" ]] || { log "$icp is missing after npm ci"; exit 1; }
    if ! DO_NOT_TRACK=1 "$icp" --version >/dev/null 2>&1; then
        if ldd "$icp" 2>/dev/null | grep -q 'libdbus-1.so.3 => not found' && command -v apt-get >/dev/null 2>&1; then
            log "installing Debian's libdbus-1-3 for icp-cli"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libdbus-1-3 >/dev/null
        fi
        DO_NOT_TRACK=1 "$icp" --version >/dev/null || { log "icp-cli does not run: $(ldd "$icp" | grep 'not found')"; exit 1; }
    fi
fi

(cd "$JS" && npm run --silent generate)
