#!/usr/bin/env bash
# Makes sure a Rust toolchain that can build wasm32-unknown-unknown canisters is available and
# says how to use it.
#
# Two toolchains are supported:
#   rustup  - when `rustup target list --installed` has wasm32-unknown-unknown: rustup's cargo,
#             prebuilt std, no extra flags.
#   debian  - otherwise (this project's machines: rustup has no wasm32 target and cannot
#             download one): Debian's rustc-web/cargo-web 1.96 with the standard library source
#             (rust-web-src), building std itself with -Zbuild-std (hence RUSTC_BOOTSTRAP=1), and
#             rust-lld (rust-web-llvm -> lld-22) as the linker. Missing packages are installed
#             with apt-get (through sudo when not root); nothing is done when all are present.
# WASM_TOOLCHAIN=rustup|debian forces one of them.
#
# Sourced (as scripts/build-canisters.sh does), it sets these shell variables and NOT the
# process environment, so that host cargo builds in the same shell keep using rustup's rustc
# (exporting RUSTC would make them rebuild everything with another compiler):
#   WASM_TOOLCHAIN   rustup | debian
#   WASM_CARGO       the cargo binary to run
#   WASM_ENV         array of VAR=value to pass with `env` (RUSTC, RUSTC_BOOTSTRAP=1, linker)
#   WASM_CARGO_FLAGS array of extra cargo flags (-Zbuild-std=std,panic_abort)
# and defines `wasm_cargo ARGS...`, which runs `env "${WASM_ENV[@]}" $WASM_CARGO ARGS...
# "${WASM_CARGO_FLAGS[@]}"`. The Debian packages installed are rustc-web cargo-web rust-web-src
# rust-web-llvm lld-22 (rust-web-llvm provides /usr/bin/rust-lld, a link to lld-22; rustc-web
# only recommends it, so it is named explicitly).
# Executed, it prints the same as shell assignments, e.g. for `eval "$(scripts/ensure-wasm-toolchain.sh)"`.
# Sourcing it does not change the caller's shell options; it returns non-zero on failure.

_ewt_log() { echo "ensure-wasm-toolchain: $*" >&2; }

_ewt_have_rustup_target() {
    command -v rustup >/dev/null 2>&1 &&
        rustup target list --installed 2>/dev/null | grep -qx 'wasm32-unknown-unknown'
}

_ewt_find_linker() {
    # rustc's default linker for wasm32 is rust-lld; fall back to LLVM's wasm-ld.
    local candidate
    for candidate in rust-lld wasm-ld-22 wasm-ld; do
        if command -v "$candidate" >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

DEBIAN_PACKAGES=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22)

_ewt_debian_missing() {
    local missing=() pkg
    if command -v dpkg-query >/dev/null 2>&1; then
        # By package: Debian's older `rustc`/`cargo` packages also provide /usr/bin/rustc and
        # /usr/bin/cargo, but are too old for ic-cdk and have no standard library source.
        for pkg in "${DEBIAN_PACKAGES[@]}"; do
            dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
        done
    fi
    [[ -x /usr/bin/rustc ]] || missing+=(rustc-web)
    [[ -x /usr/bin/cargo ]] || missing+=(cargo-web)
    [[ -d /usr/lib/rustlib/src/rust/library ]] || missing+=(rust-web-src)
    _ewt_find_linker >/dev/null || missing+=(rust-web-llvm lld-22)
    printf '%s\n' "${missing[@]}" | sort -u | paste -sd' '
}

_ewt_install_debian() {
    local sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null 2>&1 || { _ewt_log "not root and no sudo: cannot install $*"; return 1; }
        sudo=(sudo)
    fi
    _ewt_log "installing Debian packages ${DEBIAN_PACKAGES[*]} (missing: $*)"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${DEBIAN_PACKAGES[@]}" >&2
}

# Reproducible builds: panic messages hold the source paths of dependencies (absolute, under
# CARGO_HOME); they are written as /cargo/..., so the Wasm does not depend on where cargo keeps
# its registry. Workspace crates are compiled with relative paths already. (One flag, so the
# encoded form needs no separator; it applies to the wasm32 target only, since --target is given.)
_ewt_remap_flags() {
    printf 'CARGO_ENCODED_RUSTFLAGS=--remap-path-prefix=%s=/cargo' "${CARGO_HOME:-$HOME/.cargo}"
}

_ewt_setup() {
    local choice="${WASM_TOOLCHAIN:-}"
    if [[ -z "$choice" ]]; then
        if _ewt_have_rustup_target; then choice=rustup; else choice=debian; fi
    fi
    case "$choice" in
    rustup)
        _ewt_have_rustup_target || { _ewt_log "rustup has no wasm32-unknown-unknown target"; return 1; }
        WASM_TOOLCHAIN=rustup
        WASM_CARGO="$(command -v cargo)"
        WASM_ENV=("$(_ewt_remap_flags)")
        WASM_CARGO_FLAGS=()
        ;;
    debian)
        local missing
        missing="$(_ewt_debian_missing)"
        if [[ -n "$missing" ]]; then
            _ewt_install_debian "$missing"
            missing="$(_ewt_debian_missing)"
            [[ -z "$missing" ]] || { _ewt_log "still missing after apt-get install: $missing"; return 1; }
        fi
        WASM_TOOLCHAIN=debian
        WASM_CARGO=/usr/bin/cargo
        WASM_ENV=(RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 "$(_ewt_remap_flags)")
        local linker
        linker="$(_ewt_find_linker)"
        if [[ "$(basename "$linker")" != rust-lld ]]; then
            WASM_ENV+=("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=$linker")
        fi
        WASM_CARGO_FLAGS=(-Zbuild-std=std,panic_abort)
        ;;
    *)
        _ewt_log "WASM_TOOLCHAIN must be rustup or debian, not '$choice'"
        return 1
        ;;
    esac
}

wasm_cargo() {
    env "${WASM_ENV[@]}" "$WASM_CARGO" "$@" "${WASM_CARGO_FLAGS[@]}"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    _ewt_setup
    printf 'WASM_TOOLCHAIN=%q\n' "$WASM_TOOLCHAIN"
    printf 'WASM_CARGO=%q\n' "$WASM_CARGO"
    _ewt_print_array() {
        local name="$1" item
        shift
        printf '%s=(' "$name"
        for item in "$@"; do printf ' %q' "$item"; done
        printf ' )\n'
    }
    _ewt_print_array WASM_ENV "${WASM_ENV[@]}"
    _ewt_print_array WASM_CARGO_FLAGS "${WASM_CARGO_FLAGS[@]}"
    printf '# build with: env %s %s build --target wasm32-unknown-unknown %s\n' \
        "${WASM_ENV[*]}" "$WASM_CARGO" "${WASM_CARGO_FLAGS[*]}"
else
    _ewt_setup || return 1
fi
