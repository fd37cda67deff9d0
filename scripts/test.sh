#!/usr/bin/env bash
# Runs every test of the project: builds all canister Wasm (installing the wasm32 toolchain
# if needed) and the localnet server, runs the whole workspace's tests natively, on localnet
# and through the server (ic-agent, pocket-ic, the main job's `platform up --simulate`), then
# the web app's unit tests (Vitest), the JavaScript clients (agent-js, icp-cli) and the browser
# tests (the HTTP gateway, and the learner web app on the platform `platform up` runs).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/host-cargo.sh
bash scripts/build-canisters.sh
# The web app (frontend/dist): the main job's tests deploy it.
bash scripts/build-frontend.sh >/dev/null
# The server binary is what the pocket-ic and ic-agent tests of other packages start. The
# scripts build the whole workspace's binaries alike (test-js.sh, test-browser.sh): with the
# same package selection cargo unifies the same features, so none of them rebuilds another's.
cargo build --locked -j "$(nproc)" --workspace --bins --examples
cargo test --workspace --locked -j "$(nproc)" "$@"
# The demo walks the whole governed lifecycle (~5 s); run here so it cannot rot unseen.
cargo run --locked -q -p integration-tests --example platform_demo >/dev/null
# The web app's asset canister is a workspace of its own (ic-cdk 0.18, see its Cargo.toml).
cargo test --manifest-path canisters/frontend_assets/Cargo.toml --locked -j "$(nproc)" --target-dir "${CARGO_TARGET_DIR:-target}"
bash scripts/test-frontend.sh
SKIP_CANISTER_BUILD=1 bash scripts/test-js.sh
SKIP_CANISTER_BUILD=1 SKIP_FRONTEND_BUILD=1 bash scripts/test-browser.sh
