#!/usr/bin/env bash
# Installs what the worker-clock fault tests (tests/executors/test_worker_clock.py) need:
# libfaketime (Debian package faketime, /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1),
# preloaded into a `wedata worker` to give it a wall clock 2 minutes off.
# Idempotent: installs only what is missing. Run as root (CI does); uses sudo otherwise when
# available; outside CI the tests then skip with a message, in CI they fail.
set -euo pipefail

if [ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "install-faketime: need root to install faketime" >&2
        [ -n "${CI:-}" ] && exit 1
        exit 0
    fi
    SUDO="sudo"
fi
echo "install-faketime: installing faketime"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends faketime >/dev/null
