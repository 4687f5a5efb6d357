"""Starting and killing attempts on a thread of their own, after the cycle that claimed them.

Why: starting an attempt is file-system and process work (its log header, its run directory, its
code file, the sandbox's directories, the log opened for its output, ``posix_spawn``, the pidfd;
a download for resource files). On the engine's thread it was about a sixth of its busy time in the daily
backfill on PostgreSQL (py-spy: ~23 %, the header alone ~8 %), on a disk where creating a
directory costs 0.1-1.5 ms (issue 14): time the next cycle waited for. Here it overlaps with the engine's next cycle, which spends most of
its time waiting on the database with the GIL released.

Order is kept by one FIFO queue for both kinds of work: a kill (an ExecutionTTL, a KillTaskInstances,
a stop) reaches the executor after the start of the attempt it kills, as it did when both ran
on the engine's thread one after the other. The engine marks each attempt *watched* when it
queues it (:meth:`EngineNode.watch`), before the commit's next cycle can look at it: the
safety sweep (``recovery.check_lost``) never takes an attempt in the queue for a lost one.

A failure to start fails the attempt before it ran (``EngineNode.fail_before_run``: its retry
policy applies), as before; "no space left" also pauses dispatch at once (diskguard.py). A crash
with attempts still queued leaves them claimed with no process: the next start finds them
lost and retries them, as a crash between the commit and the spawn always did. ``close`` (the
engine's stop) starts what is queued first.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

log = logging.getLogger("wedata.scheduler")

Work = Callable[[], None]


class Launcher:
    """One thread that runs queued work in order. ``record(seconds)`` is told how long each
    batch took (the engine's ``spawn`` figure)."""

    def __init__(self, record: Callable[[float], None] | None = None, name: str = "wedata-launcher") -> None:
        self._queue: queue.SimpleQueue[Sequence[Work] | None] = queue.SimpleQueue()
        self._record = record
        self._name = name
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, batch: Sequence[Work]) -> None:
        """Queue this batch of work, to run in order after everything queued before it."""
        if not batch:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        self._queue.put(batch)

    def close(self, timeout: float = 10.0) -> None:
        """Run what is queued, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            t0 = time.perf_counter()
            for work in batch:
                try:
                    work()
                except Exception:  # one attempt's trouble never stops the others' starts
                    log.exception("starting or killing an attempt failed")
            if self._record is not None:
                self._record(time.perf_counter() - t0)

