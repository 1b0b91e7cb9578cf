#!/usr/bin/env bash
# `npm run bench`: builds, compiles the TypeScript benchmarks, runs every bench/*.bench.{ts,mjs} (or the ones
# named as arguments, e.g. `npm run bench -- policy pii`) and writes their output to bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
mapfile -t ts_files < <(ls bench/*.ts test/setup/*.ts 2>/dev/null)
npx swc "${ts_files[@]}" -d bench/dist --config-file .swcrc -q

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  mapfile -t names < <(ls bench/*.bench.ts bench/*.bench.mjs 2>/dev/null | sed -E 's#bench/(.*)\.bench\.(ts|mjs)#\1#' | sort -u)
fi

# Each benchmark's section is kept in bench/results/<name>.md, so a partial run (`npm run bench -- policy`)
# updates only its own sections; RESULTS.md is assembled from all of them.
mkdir -p bench/results
status=0
for name in "${names[@]}"; do
  if [ -f "bench/$name.bench.mjs" ]; then cmd=(node "bench/$name.bench.mjs");
  elif [ -f "bench/$name.bench.ts" ]; then cmd=(node "bench/dist/bench/$name.bench.js");
  else echo "no benchmark named $name (bench/$name.bench.ts or .mjs)" >&2; exit 2; fi
  echo "[bench] ${cmd[*]}" >&2
  log=$(mktemp)
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  set +e; "${cmd[@]}" 2>&1 | tee "$log" >&2; rc=${PIPESTATUS[0]}; set -e
  [ "$rc" -eq 0 ] || status=$rc
  {
    echo "## $name"
    echo
    echo "Command: \`npm run bench -- $name\` (runs \`${cmd[*]}\`; exit $rc) on $(date -u +%Y-%m-%dT%H:%MZ),"
    echo "$(nproc) cores, $(node --version), load average before the run: $load."
    echo
    echo '```'
    cat "$log"
    echo '```'
  } > "bench/results/$name.md"
  rm -f "$log"
done
out=bench/RESULTS.md
{
  echo "# Benchmark results"
  echo
  echo "Produced by \`npm run bench\` (scripts/bench.sh); each section names its exact command and the machine's load."
  echo "Ratios are measured side by side in one run; absolute figures move with the load (2 shared cores)."
  for f in bench/results/*.md; do echo; cat "$f"; done
} > "$out"
echo "[bench] wrote $out" >&2
exit $status
