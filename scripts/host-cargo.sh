# Sourced by the scripts: makes sure a host `cargo` is on PATH. Machines normally carry
# rustup's stable toolchain; where none is installed, Debian's cargo-web/rustc-web (the
# same packages the Wasm build uses, see ensure-wasm-toolchain.sh) serve as the host
# toolchain too.
if ! command -v cargo >/dev/null 2>&1; then
    # shellcheck source=scripts/ensure-wasm-toolchain.sh
    source "$(dirname "${BASH_SOURCE[0]}")/ensure-wasm-toolchain.sh"
    if [[ -x /usr/bin/cargo ]]; then
        export PATH="/usr/bin:$PATH"
    else
        echo "no cargo found and Debian's cargo-web could not be installed" >&2
        exit 1
    fi
fi
