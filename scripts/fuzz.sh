#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ (issue 15, hostile input) for a bounded time each and
# reports, per target, the executions, the coverage reached and the findings (crashes, timeouts,
# out-of-memory inputs saved under fuzz/artifacts/<target>/). Not part of .ci/run; its figures go
# in docs/reliability.md.
#
#   scripts/fuzz.sh                      # every target, 60 s each
#   scripts/fuzz.sh --seconds 300        # longer
#   scripts/fuzz.sh --seconds 30 config profile
#   scripts/fuzz.sh --keep-corpus        # keep fuzz/corpus (default: removed afterwards)
#
# Needs a nightly toolchain (`rustup toolchain install nightly`) and cargo-fuzz
# (`cargo install cargo-fuzz`). Environment: FUZZ_JOBS (parallel fuzzing processes per target,
# default 1), FUZZ_TIMEOUT (libFuzzer -timeout: seconds one input may take before it counts as
# a finding, default 10), FUZZ_RSS_MB (libFuzzer -rss_limit_mb, default 2048).
# Exit status: 0 when no target found anything, 1 otherwise, 2 on a build error.

set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/fuzz"

SECONDS_PER_TARGET=60
KEEP_CORPUS=0
TARGETS=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) SECONDS_PER_TARGET="$2"; shift 2 ;;
        --keep-corpus) KEEP_CORPUS=1; shift ;;
        -h|--help) sed -n '2,17p' "$ROOT/scripts/fuzz.sh"; exit 0 ;;
        *) TARGETS+=("$1"); shift ;;
    esac
done
if [[ ${#TARGETS[@]} -eq 0 ]]; then
    mapfile -t TARGETS < <(cargo +nightly fuzz list 2>/dev/null)
fi
JOBS="${FUZZ_JOBS:-1}"
TIMEOUT="${FUZZ_TIMEOUT:-10}"
RSS="${FUZZ_RSS_MB:-2048}"
PARALLEL=()
if [[ "$JOBS" -gt 1 ]]; then
    PARALLEL=(-jobs="$JOBS" -workers="$JOBS")
fi

echo "fuzz: building the targets (nightly, address sanitizer)" >&2
nice -n 19 cargo +nightly fuzz build -O >&2 || { echo "fuzz: build failed" >&2; exit 2; }

LOGS="$(mktemp -d)"
found=0
printf '%-14s %8s %12s %10s %8s %8s  %s\n' target seconds executions exec/s cov ft findings
for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    before=$(find "artifacts/$t" -type f | wc -l)
    nice -n 19 cargo +nightly fuzz run -O "$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout="$TIMEOUT" -rss_limit_mb="$RSS" \
        -print_final_stats=1 -max_len=65536 ${PARALLEL[@]+"${PARALLEL[@]}"} \
        >"$LOGS/$t.log" 2>&1
    status=$?
    # With -jobs, each worker logs to fuzz-<n>.log in the current directory.
    if compgen -G "fuzz-*.log" >/dev/null; then
        cat fuzz-*.log >>"$LOGS/$t.log"
        rm -f fuzz-*.log
    fi
    after=$(find "artifacts/$t" -type f | wc -l)
    execs=$(grep -h 'stat::number_of_executed_units' "$LOGS/$t.log" | awk '{s+=$2} END {print s+0}')
    rate=$(( execs / (SECONDS_PER_TARGET > 0 ? SECONDS_PER_TARGET : 1) ))
    cov=$(grep -hoE 'cov: [0-9]+' "$LOGS/$t.log" | tail -1 | awk '{print $2}')
    ft=$(grep -hoE 'ft: [0-9]+' "$LOGS/$t.log" | tail -1 | awk '{print $2}')
    new=$((after - before))
    summary="none"
    if [[ $new -gt 0 || ( $status -ne 0 && $status -ne 70 ) ]]; then
        found=1
        summary="$new new artifact(s) in fuzz/artifacts/$t (exit $status): $(grep -hE '^==[0-9]+==|panicked at|ERROR: libFuzzer' "$LOGS/$t.log" | head -2 | tr '\n' ' ')"
    fi
    printf '%-14s %8s %12s %10s %8s %8s  %s\n' "$t" "$SECONDS_PER_TARGET" "$execs" "$rate" "${cov:-?}" "${ft:-?}" "$summary"
    if [[ $KEEP_CORPUS -eq 0 ]]; then
        rm -rf "corpus/$t"
    fi
done
rmdir corpus artifacts/* artifacts 2>/dev/null
echo "fuzz: logs in $LOGS" >&2
exit $found
