#!/usr/bin/env bash
# Installs what the cron reference test (tests/scheduling/test_cron_reference.py) needs:
# a JDK (java + javac) and Quartz 2.3.2 (Debian package libquartz2-java, whose
# org.quartz.CronExpression is the reference implementation). Idempotent: installs only what
# is missing. Run as root (CI does); uses sudo otherwise when available.
set -euo pipefail

JAR=/usr/share/java/quartz2.jar
packages=()
[ -f "$JAR" ] || packages+=(libquartz2-java)
command -v java >/dev/null 2>&1 && command -v javac >/dev/null 2>&1 || packages+=(default-jdk-headless)

if [ ${#packages[@]} -eq 0 ]; then
    echo "install-quartz: $JAR and a JDK are present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "install-quartz: need root to install ${packages[*]}" >&2
        # Outside CI the reference test then skips with a message; in CI it must run.
        [ -n "${CI:-}" ] && exit 1
        exit 0
    fi
    SUDO="sudo"
fi

echo "install-quartz: installing ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
[ -f "$JAR" ] || { echo "install-quartz: $JAR still missing after install" >&2; exit 1; }
echo "install-quartz: done ($(readlink -f "$JAR"))"
