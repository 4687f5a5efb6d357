#!/usr/bin/env bash
# Installs what the task-isolation tests (tests/executors/test_isolation.py, test_sandbox.py)
# need: bubblewrap (Debian package bubblewrap, /usr/bin/bwrap) and util-linux's setpriv.
# Idempotent: installs only what is missing. Run as root (CI does); uses sudo otherwise when
# available. It does not create the run-as user: `wedata setup-sandbox` does that (the tests
# run it themselves), and a server never creates users.
set -euo pipefail

packages=()
[ -x /usr/bin/bwrap ] || packages+=(bubblewrap)
[ -x /usr/bin/setpriv ] || packages+=(util-linux)

if [ ${#packages[@]} -gt 0 ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "install-sandbox: need root to install ${packages[*]}" >&2
            # Outside CI the isolation tests then skip with a message; in CI they must run.
            [ -n "${CI:-}" ] && exit 1
            exit 0
        fi
        SUDO="sudo"
    fi
    echo "install-sandbox: installing ${packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# Installed is not enough: the kernel must allow the namespaces bubblewrap needs.
userns=()
[ "$(id -u)" -ne 0 ] && userns=(--unshare-user)
if /usr/bin/bwrap --ro-bind / / --dev /dev --proc /proc --unshare-pid "${userns[@]}" true 2>/tmp/install-sandbox.err; then
    echo "install-sandbox: $(/usr/bin/bwrap --version) works"
else
    echo "install-sandbox: bwrap is installed but cannot create a sandbox: $(cat /tmp/install-sandbox.err)" >&2
    [ -n "${CI:-}" ] && exit 1
fi
exit 0
