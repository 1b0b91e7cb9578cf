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

out=bench/RESULTS.md
{
  echo "# Benchmark results"
  echo
  echo "Produced by \`npm run bench\` (scripts/bench.sh) on $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores,"
  echo "$(node --version), load average at start: $(cut -d' ' -f1-3 /proc/loadavg). Each section names the exact command."
  echo "Ratios are measured side by side in one run; absolute figures move with the machine's load."
} > "$out.tmp"
status=0
for name in "${names[@]}"; do
  if [ -f "bench/$name.bench.mjs" ]; then cmd=(node "bench/$name.bench.mjs");
  elif [ -f "bench/$name.bench.ts" ]; then cmd=(node "bench/dist/bench/$name.bench.js");
  else echo "no benchmark named $name (bench/$name.bench.ts or .mjs)" >&2; exit 2; fi
  echo "[bench] ${cmd[*]}" >&2
  log=$(mktemp)
  set +e; "${cmd[@]}" 2>&1 | tee "$log" >&2; rc=${PIPESTATUS[0]}; set -e
  [ "$rc" -eq 0 ] || status=$rc
  {
    echo
    echo "## $name"
    echo
    echo "Command: \`${cmd[*]}\` (exit $rc)"
    echo
    echo '```'
    cat "$log"
    echo '```'
  } >> "$out.tmp"
  rm -f "$log"
done
mv "$out.tmp" "$out"
echo "[bench] wrote $out" >&2
exit $status
