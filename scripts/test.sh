#!/usr/bin/env bash
# Runs every test of the project: builds all canister Wasm (installing the wasm32 toolchain
# if needed), then runs the whole workspace's tests natively and on localnet.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/host-cargo.sh
bash scripts/build-canisters.sh
cargo test --workspace --locked -j "$(nproc)" "$@"
