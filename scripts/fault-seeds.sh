#!/usr/bin/env bash
# Runs the fault scenarios (tests/tests/fault_scenarios.rs) for many seeds: the long run of
# issue 15 §3, not part of .ci/run (CI runs three fixed seeds). Each seed is ~12 s here.
#
#   scripts/fault-seeds.sh            # seeds 1-100
#   scripts/fault-seeds.sh 1 1000     # seeds 1-1000
#
# A failing seed prints its replay and the command that runs it alone. Needs the canisters
# built (scripts/build-canisters.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
FIRST="${1:-1}"
LAST="${2:-100}"
started=$(date +%s)
log="$(mktemp)"
status=0
FAULT_SEEDS="$FIRST-$LAST" cargo test --locked -q -p integration-tests --test fault_scenarios seed_range -- --nocapture >"$log" 2>&1 || status=$?
grep -E "fault scenarios|panicked|failed|round +[0-9]+:|FAULT_SEED" "$log" || tail -20 "$log"
rm -f "$log"
echo "fault-seeds: seeds $FIRST-$LAST in $(( $(date +%s) - started )) s, exit $status"
exit "$status"
