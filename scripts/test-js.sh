#!/usr/bin/env bash
# Runs the JavaScript end-to-end tests (tests/js, node's built-in test runner): the platform on
# the localnet server, driven by DFINITY's JavaScript agent (@icp-sdk/core, certificate and
# query-signature verification on), @icp-sdk/canisters' ICRC ledger client, and icp-cli.
#
#   bash scripts/test-js.sh [node --test options, e.g. --test-name-pattern=fetchRootKey]
#
# Builds the canister Wasm (scripts/build-canisters.sh, which platform-deploy installs; set
# SKIP_CANISTER_BUILD=1 when it already ran, as in scripts/test.sh), the server and
# platform-deploy, installs the npm packages (scripts/ensure-node-deps.sh), then runs the tests.
# Each test file starts its own server on a free loopback port with a temporary state directory
# and stops it at the end. Environment: LOCALNET_BIN, PLATFORM_DEPLOY (binaries),
# LOCALNET_START_TIMEOUT_MS, PLATFORM_DEPLOY_TIMEOUT_MS, ICP_CLI_TIMEOUT_MS, KEEP_LOCALNET_TMP=1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/host-cargo.sh

if [[ "${SKIP_CANISTER_BUILD:-0}" != 1 ]]; then
    bash scripts/build-canisters.sh
fi
cargo build --locked -j "$(nproc)" --workspace --bins --examples
bash scripts/ensure-node-deps.sh

cd tests/js
# Telemetry of icp-cli stays off whatever the tests do (they set it too).
export DO_NOT_TRACK=1 ICP_TELEMETRY_DISABLED=1
node --test --test-concurrency=1 "$@"
