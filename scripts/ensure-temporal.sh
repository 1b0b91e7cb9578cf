#!/usr/bin/env bash
# Ensures the Temporal CLI (which embeds the dev server) at the pinned version and prints its path on stdout.
# Messages go to stderr, so callers can do `temporal=$(bash scripts/ensure-temporal.sh)`.
# Order: `temporal` on PATH if it reports the pinned version; the per-machine cache; a `go install` build
# into the cache (once per machine); the Temporal SDK's own download (needs internet); else a clear error.
# Safe to run concurrently: everything after the PATH check holds an exclusive lock on the cache dir.
set -euo pipefail

version=v1.5.1
server_version=1.29.1 # the Temporal server v1.5.1 embeds; a `go install` build reports "0.0.0-DEV (Server 1.29.1 ...)"
cache_root=${ATOM_GOV_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/atom-gov}
dir=$cache_root/temporal-$version
bin=$dir/temporal
repo=$(cd "$(dirname "$0")/.." && pwd)

log() { printf '[ensure-temporal] %s\n' "$*" >&2; }

# 1. On PATH, when it says it is the pinned release.
if path_bin=$(command -v temporal 2>/dev/null); then
  if "$path_bin" --version 2>/dev/null | grep -qE "temporal version ${version#v}( |$)"; then
    printf '%s\n' "$path_bin"
    exit 0
  fi
fi

# The cache dir's name carries the version (a source build cannot report it); check the embedded server too.
cache_ok() {
  [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "Server $server_version"
}

mkdir -p "$dir"
exec 9>"$dir/.lock"
if ! flock -n 9; then
  log "another process is preparing the Temporal CLI in $dir; waiting for it"
  flock 9
fi

# 2. The per-machine cache.
if cache_ok; then
  printf '%s\n' "$bin"
  exit 0
fi

# 3. Build it with Go (v1.5.1's go.mod has no replace directive, so `go install` works).
if command -v go >/dev/null 2>&1; then
  log "building Temporal CLI $version with Go into $dir (once per machine; takes several minutes)"
  tmp=$(mktemp -d "$dir/.build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  # Build into a temp dir and rename, so an interrupted build never leaves a half-written binary in the cache.
  if GOBIN="$tmp" GOFLAGS=-mod=mod go install "github.com/temporalio/cli/cmd/temporal@$version" >&2; then
    mv -f "$tmp/temporal" "$bin"
    if cache_ok; then
      log "built $bin"
      printf '%s\n' "$bin"
      exit 0
    fi
    log "the built binary does not report Server $server_version: $("$bin" --version 2>&1 || true)"
  else
    log "go install failed (see above)"
  fi
fi

# 4. The Temporal SDK's own cached download (needs access to temporal.download).
sdk_dir=$dir/sdk-download
sdk_bin=$sdk_dir/temporal-$version
if [ -x "$sdk_bin" ]; then
  printf '%s\n' "$sdk_bin"
  exit 0
fi
if command -v node >/dev/null 2>&1 && [ -d "$repo/node_modules/@temporalio/testing" ]; then
  log "trying the Temporal SDK download of CLI $version into $sdk_dir"
  mkdir -p "$sdk_dir"
  # Starting a local test environment makes the SDK download and cache the CLI; we only keep the binary.
  if (cd "$repo" && timeout 300 node --input-type=module -e '
    import { TestWorkflowEnvironment } from "@temporalio/testing";
    const [version, downloadDir] = process.argv.slice(1);
    const env = await TestWorkflowEnvironment.createLocal({
      server: { executable: { type: "cached-download", version, downloadDir, ttl: "3650d" } },
    });
    await env.teardown();
  ' "$version" "$sdk_dir" >&2) && [ -x "$sdk_bin" ]; then
    log "downloaded $sdk_bin"
    printf '%s\n' "$sdk_bin"
    exit 0
  fi
  log "the SDK download failed (offline?)"
fi

log "ERROR: no Temporal CLI $version available."
log "Install Go (https://go.dev/dl/, then re-run this script: it builds the CLI once into $dir),"
log "or put temporal ${version#v} on PATH (https://github.com/temporalio/cli/releases/tag/$version)."
exit 1
