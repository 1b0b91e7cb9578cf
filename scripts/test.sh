#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, then lint, typecheck and Jest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent lint
npm run --silent typecheck
results=$(mktemp)
status=0
npm run --silent jest -- --ci --json --outputFile="$results" "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);
  // A suite that cannot run (syntax error, crashed worker) fails without failing a single test: say so.
  if (r.numRuntimeErrorTestSuites > 0 || r.numFailedTestSuites > 0)
    console.log(`jest: ${r.numFailedTestSuites} suite(s) failed, ${r.numRuntimeErrorTestSuites} could not run`);
' "$results" || true
rm -f "$results"
exit $status
