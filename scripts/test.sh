#!/usr/bin/env bash
# Runs every test of the project: builds all canister Wasm (installing the wasm32 toolchain
# if needed) and the localnet server, runs the whole workspace's tests natively, on localnet
# and through the server (ic-agent, pocket-ic), then the JavaScript clients (agent-js,
# icp-cli) and the browser test of the HTTP gateway.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/host-cargo.sh
bash scripts/build-canisters.sh
# The server binary is what the pocket-ic and ic-agent tests of other packages start. The
# scripts build the whole workspace's binaries alike (test-js.sh, test-browser.sh): with the
# same package selection cargo unifies the same features, so none of them rebuilds another's.
cargo build --locked -j "$(nproc)" --workspace --bins --examples
cargo test --workspace --locked -j "$(nproc)" "$@"
SKIP_CANISTER_BUILD=1 bash scripts/test-js.sh
SKIP_CANISTER_BUILD=1 bash scripts/test-browser.sh
