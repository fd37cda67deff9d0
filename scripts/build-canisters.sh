#!/usr/bin/env bash
# Builds every canister to a shrunk, gzipped Wasm with candid:service metadata.
#
#   scripts/build-canisters.sh                   # everything
#   scripts/build-canisters.sh --only staking_hub # one canister and what it embeds (dfx.json, icp.yaml)
#
# Output: $CANISTER_WASM_DIR (default target/canisters)/<name>.wasm.gz and <name>.wasm.gz.sha256
# for the platform canisters (staking_hub, user_profile, learning_content, frontend_assets), the ICRC-1/2/3 ledger
# used for local runs and tests (icrc_ledger), the local SNS governance and root used by tests and
# the demo (sns_governance, sns_root), the local ICP ledger and CMC (icp_ledger, cmc) and the localnet test canisters (counter, async_caller,
# timer_user, stable_user, cycles_user, echo, mock_ledger, gnsf_target, vc_issuer).
#
# Wasm is compiled with `--profile canister --target wasm32-unknown-unknown` into target/wasm, a
# target directory of its own, so host builds and tests are not invalidated; the toolchain comes
# from scripts/ensure-wasm-toolchain.sh. The packager (tools/canister-packager) is built with the
# normal host cargo. Order matters: staking_hub embeds the packaged user_profile.wasm.gz, so
# user_profile, icrc_ledger (and the SNS and test canisters) are built and packaged first, then
# staking_hub with USER_PROFILE_WASM set (and staking_hub_rollout, embedding user_profile_rollout,
# for the rollout tests), then learning_content, then frontend_assets (the web app's asset
# canister: a workspace of its own, canisters/frontend_assets/Cargo.toml, because
# ic-certified-assets needs ic-cdk 0.18 and the root workspace is on 0.20).
#
# Environment: CANISTER_WASM_DIR (output directory), CARGO_BUILD_JOBS (default 2),
# WASM_TOOLCHAIN (rustup|debian, see ensure-wasm-toolchain.sh), CARGO_TARGET_DIR (host builds).
# Do not run it from a build.rs of this workspace with the same host target directory: the nested
# `cargo build -p canister-packager` would wait forever for the build-directory lock.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# shellcheck source=scripts/ensure-wasm-toolchain.sh
source "$ROOT/scripts/ensure-wasm-toolchain.sh"

JOBS="${CARGO_BUILD_JOBS:-2}"
OUT="${CANISTER_WASM_DIR:-$ROOT/target/canisters}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
WASM_TARGET_DIR="$ROOT/target/wasm"
WASM_DIR="$WASM_TARGET_DIR/wasm32-unknown-unknown/canister"
HOST_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

PLATFORM_CANISTERS=(user_profile icrc_ledger staking_hub learning_content frontend_assets)
TEST_CANISTERS=(counter async_caller timer_user stable_user cycles_user echo mock_ledger gnsf_target certified_page vc_issuer)
# Local stand-ins for SNS governance and root (test infrastructure, see docs/sns-local.md); their
# .did files are in candid/ like the platform canisters'.
SNS_CANISTERS=(sns_governance sns_root)
# Local stand-ins for the ICP ledger and the cycles minting canister, for the hub's refill from ICP
# (test infrastructure, see docs/cmc-local.md); their .did files are in candid/ too.
NNS_STANDINS=(icp_ledger cmc)

log() { echo "build-canisters: $*" >&2; }

# --only NAME: one canister of PLATFORM_CANISTERS or SNS_CANISTERS (staking_hub brings the
# user_profile it embeds), without the test canisters and the rollout-test releases. dfx and
# icp-cli run the build command once per canister: each builds only its own.
ONLY=""
while [[ $# -gt 0 ]]; do
    case "$1" in
    --only)
        [[ $# -ge 2 ]] || { log "--only needs a canister name"; exit 2; }
        ONLY="$2"
        shift 2
        ;;
    *) log "unknown argument $1 (usage: build-canisters.sh [--only NAME])"; exit 2 ;;
    esac
done
if [[ -n "$ONLY" ]]; then
    case " ${PLATFORM_CANISTERS[*]} ${SNS_CANISTERS[*]} ${NNS_STANDINS[*]} " in
    *" $ONLY "*) ;;
    *) log "--only $ONLY: not one of ${PLATFORM_CANISTERS[*]} ${SNS_CANISTERS[*]} ${NNS_STANDINS[*]}"; exit 2 ;;
    esac
fi

did_of() {
    case " ${PLATFORM_CANISTERS[*]} ${SNS_CANISTERS[*]} ${NNS_STANDINS[*]} " in
    *" $1 "*) echo "$ROOT/candid/$1.did" ;;
    *)
        if [[ -d "$ROOT/tests/canisters/$1" ]]; then
            echo "$ROOT/tests/canisters/$1/$1.did"
        else
            echo "$ROOT/localnet/test-canisters/$1/$1.did"
        fi
        ;;
    esac
}

build_wasm() {
    local args=() name
    for name in "$@"; do args+=(-p "$name"); done
    log "compiling $* for wasm32 ($WASM_TOOLCHAIN toolchain)"
    wasm_cargo build --lib --profile canister --target wasm32-unknown-unknown \
        --target-dir "$WASM_TARGET_DIR" -j "$JOBS" "${args[@]}"
}

package() {
    local name
    for name in "$@"; do
        "$PACKAGER" --wasm "$WASM_DIR/$name.wasm" --did "$(did_of "$name")" --name "$name" --out "$OUT"
    done
}

# Its own workspace and Cargo.lock (see canisters/frontend_assets/Cargo.toml); same toolchain,
# profile and target directory.
build_frontend_assets() {
    log "compiling frontend_assets for wasm32 ($WASM_TOOLCHAIN toolchain)"
    wasm_cargo build --manifest-path "$ROOT/canisters/frontend_assets/Cargo.toml" --locked --lib \
        --profile canister --target wasm32-unknown-unknown --target-dir "$WASM_TARGET_DIR" -j "$JOBS"
    package frontend_assets
}

log "building the packager (host cargo)"
cargo build -j "$JOBS" -p canister-packager --bin canister-packager
PACKAGER="$HOST_TARGET_DIR/debug/canister-packager"
[[ -x "$PACKAGER" ]] || { log "packager not found at $PACKAGER"; exit 1; }

if [[ -n "$ONLY" ]]; then
    case "$ONLY" in
    staking_hub)
        build_wasm user_profile
        package user_profile
        export USER_PROFILE_WASM="$OUT/user_profile.wasm.gz"
        build_wasm staking_hub
        package staking_hub
        ;;
    frontend_assets) build_frontend_assets ;;
    *)
        build_wasm "$ONLY"
        package "$ONLY"
        ;;
    esac
    printf '%-18s %10s  %s\n' "$ONLY" "$(stat -c %s "$OUT/$ONLY.wasm.gz")" "$(cut -d' ' -f1 "$OUT/$ONLY.wasm.gz.sha256")"
    exit 0
fi

# Each platform canister is compiled by a cargo invocation of its own, as `--only` does: cargo
# unifies dependency features across the packages of one invocation, so compiling user_profile
# beside the stand-ins gave another Wasm than a voter's `--only staking_hub` rebuild.
build_wasm user_profile
package user_profile
build_wasm icrc_ledger "${SNS_CANISTERS[@]}" "${NNS_STANDINS[@]}" "${TEST_CANISTERS[@]}"
package icrc_ledger "${SNS_CANISTERS[@]}" "${NNS_STANDINS[@]}" "${TEST_CANISTERS[@]}"

export USER_PROFILE_WASM="$OUT/user_profile.wasm.gz"
build_wasm staking_hub
package staking_hub

# For the shard rollout tests: a second shard release (the same code, tagged with public
# metadata build_tag, so its hash differs) and a hub that embeds it. The hub is compiled twice
# per run (the embedded file changes); the packaged outputs are what count.
"$PACKAGER" --wasm "$WASM_DIR/user_profile.wasm" --did "$(did_of user_profile)" --name user_profile_rollout \
    --out "$OUT" --build-tag rollout-test
export USER_PROFILE_WASM="$OUT/user_profile_rollout.wasm.gz"
build_wasm staking_hub
"$PACKAGER" --wasm "$WASM_DIR/staking_hub.wasm" --did "$(did_of staking_hub)" --name staking_hub_rollout --out "$OUT"
export USER_PROFILE_WASM="$OUT/user_profile.wasm.gz"

build_wasm learning_content
package learning_content

build_frontend_assets

echo
printf '%-18s %10s  %s\n' canister 'gz bytes' sha256
for name in "${PLATFORM_CANISTERS[@]}" "${SNS_CANISTERS[@]}" "${NNS_STANDINS[@]}" "${TEST_CANISTERS[@]}"; do
    gz="$OUT/$name.wasm.gz"
    printf '%-18s %10s  %s\n' "$name" "$(stat -c %s "$gz")" "$(cut -d' ' -f1 "$gz.sha256")"
done
echo "output: $OUT"
