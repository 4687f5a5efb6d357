"""A worker's guardian: no attempt outlives its worker, nor runs on while its worker is frozen.

An attempt runs in a session and process group of its own (executors/local.py), so when the
``wedata worker`` process dies (``kill -9``, out of memory) its attempts would go on running,
unwatched, while an engine, after the worker's lease, retries them elsewhere: the same instance
twice at the same time. This tiny process, started by the worker in a session of its own, holds
the read end of a pipe the worker ticks on every half second:

- end of file (the worker is gone, however it died: the kernel closes the pipe): every attempt
  under the worker's run root is killed (SIGKILL to its process group, found by the wrapper's
  pid file and checked against its command line, as local.py does), the run root is removed,
  and the guardian exits;
- no tick for ``fence_after`` seconds (half the worker lease: the worker is frozen, e.g.
  stopped, or its threads are starved): the same kill, repeated while the silence lasts; so
  before any engine declares its attempts lost and retries them, they have stopped.

Usage (by executors/worker.py): ``python -m wedata.executors.guardian <run root> <fence after>``.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import sys
import time

from wedata.executors.local import find_wrapper


def kill_all(run_root: str) -> int:
    killed = 0
    try:
        entries = list(os.scandir(run_root))
    except OSError:
        return 0
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        pid = find_wrapper(entry.path)
        if pid is None:
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
            killed += 1
    return killed


def main(argv: list[str]) -> int:
    run_root, fence_after = argv[1], float(argv[2])
    last = time.monotonic()
    while True:
        ready, _, _ = select.select([0], [], [], 0.5)
        if ready:
            try:
                data = os.read(0, 4096)
            except OSError:
                data = b""
            if not data:
                kill_all(run_root)
                shutil.rmtree(run_root, ignore_errors=True)
                return 0
            last = time.monotonic()
        elif time.monotonic() - last > fence_after:
            kill_all(run_root)


if __name__ == "__main__":  # pragma: no cover - run as a process by the worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for the worker is not for us
    sys.exit(main(sys.argv))
