#!/usr/bin/env bash
# The main job: builds the canisters and runs the localnet smoke scenario (install the
# counter, call it, roll back a trap, call it from another canister, upgrade it, and print
# every message's instruction count).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/host-cargo.sh
bash scripts/build-canisters.sh
cargo run --locked -j "$(nproc)" -q -p localnet --example smoke
