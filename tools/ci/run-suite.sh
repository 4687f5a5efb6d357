#!/usr/bin/env bash
# The whole suite, as `make test` runs it: two lanes at once.
#
# - The waiting lane: tests marked `slow` (pyproject.toml, [tool.pytest.ini_options] markers).
#   They spend most of their time waiting on real time (a database, broker or worker taken away
#   for 20 s, a lease to run out, a scaled clock to reach a fire time) and use a small share of a
#   core meanwhile. One process runs them one after another.
# - The working lane: everything else, on both cores (`-n 2 --dist loadgroup`).
#
# Run together, the waits of the first lane overlap the work of the second instead of holding one
# of its two workers. Each lane has its own base temporary directory. The working lane prints as
# it goes; the waiting lane's output follows it. The exit status is non-zero when either lane fails.
#
# Usage: tools/ci/run-suite.sh [python]   (default .venv/bin/python)
set -uo pipefail
cd "$(dirname "$0")/../.."
py=${1:-.venv/bin/python}

scratch=$(mktemp -d -t wedata-suite.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

"$py" -m pytest -m slow -n 0 --basetemp "$scratch/slow" >"$scratch/slow.log" 2>&1 &
slow_pid=$!

"$py" -m pytest -m "not slow" -n 2 --dist loadgroup --basetemp "$scratch/rest"
rest_rc=$?

echo
echo "---------------------------- the waiting lane (-m slow) ----------------------------"
wait "$slow_pid"
slow_rc=$?
cat "$scratch/slow.log"

echo
echo "working lane: exit $rest_rc; waiting lane: exit $slow_rc"
if [ "$rest_rc" -ne 0 ] || [ "$slow_rc" -ne 0 ]; then
  exit 1
fi
