#!/usr/bin/env bash
# Runs the browser tests (tests/browser, node's built-in test runner), headless Chromium driven
# by playwright-core:
# - gateway.test.mjs: pages of the certified_page test canister through the localnet server
#   (`http://<canister-id>.localhost:<port>/...`): a certified page is shown, a tampered
#   response is refused, the raw domain skips verification;
# - webapp.test.mjs: the learner web app on the platform `platform up` runs (sign in, register,
#   profile, unit, quiz, unstake, public page), a screenshot per step in $SCREENSHOT_DIR.
#
#   bash scripts/test-browser.sh [node --test options]
#
# Installs Debian's chromium with apt-get when /usr/bin/chromium (or $CHROMIUM_BIN) is missing,
# runs `npm ci` in tests/browser (playwright-core only: it downloads no browser), builds the
# canister Wasm (scripts/build-canisters.sh; set SKIP_CANISTER_BUILD=1 when it already ran, as
# in scripts/test.sh), the web app (scripts/build-frontend.sh; SKIP_FRONTEND_BUILD=1 when it
# already ran), the server, the `platform` CLI and the install_canister example, then the tests.
# Environment: CHROMIUM_BIN, LOCALNET_BIN, INSTALL_CANISTER_BIN, CANISTER_WASM_DIR,
# SCREENSHOT_DIR (default: a directory under the temp directory), KEEP_LOCALNET_TMP=1, and the timeouts
# LOCALNET_START_TIMEOUT_MS, INSTALL_TIMEOUT_MS, PAGE_TIMEOUT_MS.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/host-cargo.sh
log() { echo "test-browser: $*" >&2; }

CHROMIUM_BIN="${CHROMIUM_BIN:-/usr/bin/chromium}"
if [[ ! -x "$CHROMIUM_BIN" ]]; then
    command -v apt-get >/dev/null 2>&1 || { log "$CHROMIUM_BIN is missing and apt-get is not available"; exit 1; }
    log "installing Debian's chromium"
    sudo=()
    [[ "$(id -u)" == 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium >/dev/null
    [[ -x "$CHROMIUM_BIN" ]] || { log "chromium was installed but $CHROMIUM_BIN is not there"; exit 1; }
fi
export CHROMIUM_BIN

command -v npm >/dev/null 2>&1 || { log "npm is not installed (Node.js >= 20.10 is needed)"; exit 1; }
BROWSER_DIR="$ROOT/tests/browser"
stamp="$BROWSER_DIR/node_modules/.test-browser.sha256"
want="$(sha256sum "$BROWSER_DIR/package-lock.json" "$BROWSER_DIR/package.json" | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -d "$BROWSER_DIR/node_modules/playwright-core" ]]; then
    log "tests/browser/node_modules is up to date"
else
    log "npm ci in tests/browser"
    (cd "$BROWSER_DIR" && npm ci --no-audit --no-fund)
    echo "$want" >"$stamp"
fi

if [[ "${SKIP_CANISTER_BUILD:-0}" != 1 ]]; then
    bash scripts/build-canisters.sh
fi
if [[ "${SKIP_FRONTEND_BUILD:-0}" != 1 ]]; then
    bash scripts/build-frontend.sh >/dev/null
fi
cargo build --locked -j "$(nproc)" --workspace --bins --examples

cd "$BROWSER_DIR"
node --test --test-concurrency=1 "$@"
