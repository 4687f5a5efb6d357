#!/usr/bin/env bash
# Installs what the console's browser tests (tests/console) need: Debian's Chromium at
# /usr/bin/chromium, driven by the PyPI `playwright` package (never `playwright install`: no
# browser build is downloaded). Idempotent: installs only when it is missing. Run as root (CI
# does); uses sudo otherwise when available.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "install-chromium: /usr/bin/chromium is present ($(/usr/bin/chromium --version 2>/dev/null || echo '?'))"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "install-chromium: need root to install chromium" >&2
        # Outside CI the browser tests then skip with a message; in CI they must run.
        [ -n "${CI:-}" ] && exit 1
        exit 0
    fi
    SUDO="sudo"
fi

echo "install-chromium: installing chromium"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
[ -x /usr/bin/chromium ] || { echo "install-chromium: /usr/bin/chromium still missing after install" >&2; exit 1; }
echo "install-chromium: done ($(/usr/bin/chromium --version 2>/dev/null || echo '?'))"
