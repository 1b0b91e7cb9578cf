#!/usr/bin/env bash
# Ensures the PostgreSQL server binaries the test suite drives (initdb, pg_ctl, postgres): installs Debian's
# `postgresql` package when they are missing. Prints the directory that holds them.
set -euo pipefail

pg_bin_dir() {
  local dir
  # Debian keeps server binaries out of PATH, in /usr/lib/postgresql/<version>/bin; prefer the newest.
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
    echo "$dir"
  elif command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
  else
    return 1
  fi
}

if ! pg_bin_dir >/dev/null; then
  echo "[ensure-postgres] installing Debian package postgresql" >&2
  SUDO=
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  # The tests start private servers; without this the package would also create and start a `main` cluster on 5432.
  if ! grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
    $SUDO mkdir -p /etc/postgresql-common
    echo 'create_main_cluster = false' | $SUDO tee -a /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq --no-install-recommends postgresql >&2
fi

pg_bin_dir || {
  echo "[ensure-postgres] PostgreSQL server binaries still missing after installing postgresql" >&2
  exit 1
}
