#!/usr/bin/env bash
# Runs the learner web app's unit tests (Vitest: errors, tokens, routing, platform.json,
# withdrawals, proposals, quiz helpers) after `npm ci` when frontend/node_modules is missing or
# stale, and the type check (svelte-check) unless SKIP_FRONTEND_CHECK=1.
#
#   bash scripts/test-frontend.sh [vitest options]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/frontend-deps.sh"
ensure_frontend_deps
cd "$FRONTEND"
npm run --silent generate
npx vitest run "$@"
if [[ "${SKIP_FRONTEND_CHECK:-0}" != 1 ]]; then
    npx svelte-check --tsconfig ./tsconfig.json --fail-on-warnings
fi
