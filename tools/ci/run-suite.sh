#!/usr/bin/env bash
# The whole suite, as `make test` runs it: two lanes at once.
#
# - The waiting lane: tests marked `slow` (pyproject.toml, [tool.pytest.ini_options] markers).
#   They spend most of their time waiting on real time (a database, broker or worker taken away
#   for 20 s, a lease to run out, a scaled clock to reach a fire time) and use a small share of a
#   core meanwhile. Two processes run them (`-n 2 --dist loadgroup`: a module that shares a
#   private broker or cluster stays on one), so two waits overlap each other as well.
# - The working lane: everything else, in three processes (`-n 3 --dist loadgroup`).
#
# Run together, the waits of the first lane overlap the work of the second instead of holding one
# of its workers. Three working processes on two cores, not two: a test of that lane also waits
# (a server starting, a run to end, a page to load), and with two the cores stood idle a quarter
# of the time. Measured on a 2-core machine (2026-12-07, the same checkout; `/proc/stat` for the
# busy share):
#
#   working lane    waiting lane    working lane ends   waiting lane ends   cores busy
#   -n 2            -n 0            13:50 (last stop)   11:12  (the machine of the stop before)
#   -n 2            -n 2            10:25               6:16
#   -n 3            -n 2            10:12               7:12                92 %
#   -n 2, alone                     9:37-9:55                               75 %
#   -n 3, alone                     8:21                                    87 %
#
# Each lane has its own base temporary directory. The working lane prints as it goes; the waiting
# lane's output follows it. The exit status is non-zero when either lane fails.
#
# Usage: tools/ci/run-suite.sh [python]   (default .venv/bin/python)
set -uo pipefail
cd "$(dirname "$0")/../.."
py=${1:-.venv/bin/python}

scratch=$(mktemp -d -t wedata-suite.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

"$py" -m pytest -m slow -n 2 --dist loadgroup --basetemp "$scratch/slow" >"$scratch/slow.log" 2>&1 &
slow_pid=$!

"$py" -m pytest -m "not slow" -n 3 --dist loadgroup --basetemp "$scratch/rest"
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
