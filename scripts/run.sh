#!/usr/bin/env bash
# The main job: builds the canisters, the web app and the `platform` CLI, then runs
# `platform up` with the given arguments: the local network in-process, the platform deployed
# once per state dir (.platform by default), the URLs printed, serving until Ctrl-C.
#
#   bash scripts/run.sh                                  # serve on http://127.0.0.1:4943
#   bash scripts/run.sh --simulate 3000 --days 3         # a few thousand learners and the DAO
#   bash scripts/run.sh --simulate 3000 --exit           # CI: exit code = invariants
#   bash scripts/run.sh --port 0 --port-file /tmp/port   # any free port
#
# PLATFORM_NO_FRONTEND=1 runs without the web app when frontend/dist cannot be built.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/host-cargo.sh
source scripts/host-cargo.sh

bash scripts/build-canisters.sh
if ! bash scripts/build-frontend.sh >/dev/null; then
    if [[ "${PLATFORM_NO_FRONTEND:-}" == 1 ]]; then
        echo "run.sh: warning: the web app did not build; going on without it (PLATFORM_NO_FRONTEND=1)" >&2
    else
        echo "run.sh: building the web app failed (PLATFORM_NO_FRONTEND=1 runs the platform without it)" >&2
        exit 1
    fi
fi
cargo build --locked -j "$(nproc)" -p platform-cli
exec "${CARGO_TARGET_DIR:-target}/debug/platform" up "$@"
