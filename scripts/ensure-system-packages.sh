#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only those missing.
set -euo pipefail
# PostgreSQL has its own script (it also keeps Debian from creating a default cluster on 5432).
bash "$(dirname "$0")/ensure-postgres.sh" >/dev/null
need=()
command -v redis-server >/dev/null || need+=(redis-server)
# Headless Chromium for the email-approval page test (driven by playwright-core, never downloaded by it).
[ -x /usr/bin/chromium ] || need+=(chromium)
# promtool (`promtool check metrics`) for the metrics exposition test; the package also ships a server we never run.
command -v promtool >/dev/null || need+=(prometheus)
# GnuPG decrypts OpenPGP audit exports; poppler-utils renders the PDF compliance report in its test.
command -v gpg >/dev/null || need+=(gnupg)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
if [ ${#need[@]} -gt 0 ]; then
  echo "[setup] installing Debian packages: ${need[*]}" >&2
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
  if [[ " ${need[*]} " == *" prometheus "* ]]; then
    $SUDO service prometheus stop >/dev/null 2>&1 || true
    $SUDO update-rc.d prometheus disable >/dev/null 2>&1 || true
  fi
fi
