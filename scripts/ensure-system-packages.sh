#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only those missing.
set -euo pipefail
need=()
have_pg() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }
have_pg || need+=(postgresql)
command -v redis-server >/dev/null || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  echo "[setup] installing Debian packages: ${need[*]}" >&2
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
