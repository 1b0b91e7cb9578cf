#!/usr/bin/env bash
# Makes a checkout ready to run: npm packages, system packages the tests need, the pinned Temporal CLI,
# and a build. Idempotent and quick when everything is already there.
#   scripts/setup.sh            everything (used by `npm test`)
#   scripts/setup.sh --runtime  only what `npm start` needs (no test databases or browsers)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

# npm packages: install when node_modules is missing or older than the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi

# Debian packages the test suite drives for real (PostgreSQL for the audit store; more as features need them).
if [ "$mode" != "--runtime" ]; then
  bash scripts/ensure-system-packages.sh
fi

# The pinned Temporal CLI (built once per machine into ~/.cache/atom-gov).
temporal=$(bash scripts/ensure-temporal.sh)
log "Temporal CLI: $temporal"

log "building"
npm run --silent build
