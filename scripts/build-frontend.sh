#!/usr/bin/env bash
# Builds the learner web app (frontend/, Svelte + Vite) into frontend/dist and prints that path.
# Installs its npm packages first (`npm ci`, exact versions from frontend/package-lock.json) when
# frontend/node_modules is missing or older than package-lock.json / package.json. The build
# generates the Candid bindings from candid/*.did (frontend/src/bindings/, not committed).
# Needs Node.js ^20.19 or >= 22.12 and npm. Output: the absolute path of frontend/dist on stdout
# (everything else goes to stderr).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/frontend-deps.sh"
ensure_frontend_deps
(cd "$FRONTEND" && npm run --silent build) >&2
[[ -f "$FRONTEND/dist/index.html" ]] || { echo "build-frontend: $FRONTEND/dist/index.html is missing" >&2; exit 1; }
echo "$FRONTEND/dist"
