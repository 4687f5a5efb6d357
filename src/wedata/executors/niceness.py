"""Attempts at a lower CPU priority (``WEDATA_TASK_NICE``) without an exec of ``nice`` each.

An attempt's whole process tree runs ``nice`` levels below the server (docs/protocol.md, "Mixed
load": under a burst of runs the API and the engine keep their share of the CPU). ``nice -n N``
in front of the wrapper does that at the cost of one more exec, ~0.5 ms an attempt on a 2-core
machine (tools/bench/sandbox.py, docs/engine.md). On Linux a nice level belongs to a thread, and a
child starts with the level of the thread that spawned it. So a server that may raise its
priority back (root with ``CAP_SYS_NICE``) lowers the spawning thread's level just for the spawn:
the child starts at the lower level and so does all it starts. The thread is back at its own level
before it runs Python again. Renicing the child after the spawn would leave it at the server's
level for its first milliseconds while the spawning thread waits for the GIL.

Whether the thread may raise its level back is probed once, on a thread of its own that ends
after the probe, so a refusal never leaves a server thread at the lower level. Elsewhere
``nice`` is exec'd as before (:func:`nice_prefix`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator

NICE = shutil.which("nice") or "/usr/bin/nice"  # coreutils: execs the wrapper, the same pid

_probed: bool | None = None
_probe_lock = threading.Lock()


def thread_nice_works() -> bool:
    """Whether this process may lower a thread's priority and raise it back (probed once)."""
    global _probed
    if _probed is not None:
        return _probed
    with _probe_lock:
        if _probed is None:
            result: list[bool] = []
            probe = threading.Thread(target=lambda: result.append(_lower_and_back()), name="wedata-nice-probe")
            probe.start()
            probe.join()
            _probed = bool(result and result[0])
        return _probed


def _lower_and_back() -> bool:
    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return False
    tid = threading.get_native_id()
    try:
        base = os.getpriority(os.PRIO_PROCESS, tid)
        if base >= 19:
            return False
        os.setpriority(os.PRIO_PROCESS, tid, base + 1)
        os.setpriority(os.PRIO_PROCESS, tid, base)
        return os.getpriority(os.PRIO_PROCESS, tid) == base
    except OSError:
        return False


def nice_prefix(nice: int) -> list[str]:
    """The argv to put in front of an attempt's command: ``nice -n N`` where the spawning thread
    cannot lower and raise its own level (:func:`spawning_at`), else nothing."""
    if nice <= 0 or thread_nice_works() or not os.access(NICE, os.X_OK):
        return []
    return [NICE, "-n", str(nice)]


@contextlib.contextmanager
def spawning_at(nice: int) -> Iterator[None]:
    """Around a spawn: the calling thread ``nice`` levels lower (at most 19), then back, where
    :func:`thread_nice_works`; a no-op elsewhere (``nice_prefix`` did it)."""
    if nice <= 0 or not thread_nice_works():
        yield
        return
    tid = threading.get_native_id()
    base = os.getpriority(os.PRIO_PROCESS, tid)
    os.setpriority(os.PRIO_PROCESS, tid, min(19, base + nice))
    try:
        yield
    finally:
        os.setpriority(os.PRIO_PROCESS, tid, base)
