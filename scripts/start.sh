#!/usr/bin/env bash
# Quick start: prepares the checkout, then runs ATOM-GOV on its embedded default (local Temporal dev server,
# SQLite, examples/mcp-governance.yaml). Extra arguments go to `atom-gov start`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --runtime
exec node apps/cli/bin/atom-gov.js start --config examples/mcp-governance.yaml "$@"
