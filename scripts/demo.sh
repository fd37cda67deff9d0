#!/usr/bin/env bash
# The main job: builds the canisters and runs the platform on the local network
# (tests/examples/platform_demo.rs): content and the admin-less hub are installed, learners
# register (the hub creates shards as they fill up), study, answer quizzes and earn from shard
# allowances, and every canister is upgraded with all state intact.
# `cargo run -p localnet --example smoke` runs the lower-level localnet smoke scenario.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/host-cargo.sh
bash scripts/build-canisters.sh
cargo run --locked -j "$(nproc)" -q -p integration-tests --example platform_demo
