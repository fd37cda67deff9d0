# Sourced by scripts/build-frontend.sh and scripts/test-frontend.sh: `ensure_frontend_deps` runs
# `npm ci` in frontend/ when node_modules is missing, or older than package-lock.json or
# package.json (npm ci's own .package-lock.json in node_modules records the install).
# (scripts/ensure-node-deps.sh is specific to tests/js, so this is its frontend counterpart.)
FRONTEND="${ROOT:?}/frontend"

ensure_frontend_deps() {
    command -v node >/dev/null 2>&1 || { echo "frontend: node is not installed (Node.js ^20.19 or >= 22.12 is needed)" >&2; return 1; }
    command -v npm >/dev/null 2>&1 || { echo "frontend: npm is not installed" >&2; return 1; }
    node -e '
      const [maj, min] = process.versions.node.split(".").map(Number);
      if (maj < 20 || (maj === 20 && min < 19) || (maj === 22 && min < 12) || maj === 21) {
        console.error(`frontend: node ${process.versions.node} is too old (^20.19 or >= 22.12 needed by Vite 7)`);
        process.exit(1);
      }
    '
    local marker="$FRONTEND/node_modules/.package-lock.json"
    if [[ ! -f "$marker" || "$FRONTEND/package-lock.json" -nt "$marker" || "$FRONTEND/package.json" -nt "$marker" ]]; then
        echo "frontend: npm ci" >&2
        (cd "$FRONTEND" && npm ci --no-audit --no-fund) >&2
        touch "$marker"
    else
        echo "frontend: node_modules is up to date" >&2
    fi
}
