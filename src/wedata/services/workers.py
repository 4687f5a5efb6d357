"""The background-worker base: one daemon thread that polls for due work, can be woken at once,
stops cleanly, and optionally hands work to a bounded thread pool.

Alarm delivery (alarms/delivery.py) and async ops jobs (jobs.py) are such workers; any later
loop (e.g. a sweeper) should be one too rather than another hand-written start/stop/wake loop.
A subclass implements :meth:`poll` (return True when more work is due right now, so the loop
goes round again without pausing) and may override :meth:`after_wake`. A subclass that polls a
database sets ``health`` (``db.health``, storage/health.py): a poll failing because the database
is unreachable is then logged once per change of state (down, still down, back) instead of a
traceback per poll; :meth:`report_failure` does the same for failures caught inside a poll.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from wedata.storage.health import DatabaseHealth

log = logging.getLogger("wedata.workers")


class BackgroundWorker:
    health: DatabaseHealth | None = None  # set by subclasses that poll a database

    def __init__(self, name: str, interval: float, *, pool_size: int = 0, drain_pool_on_stop: bool = False) -> None:
        self.worker_name = name
        self.interval = interval
        self.pool_size = pool_size
        self.drain_pool_on_stop = drain_pool_on_stop
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    # -- what a subclass provides --------------------------------------------------------------------

    def poll(self) -> bool:
        """Do the due work once. True: more is due now (no pause before the next poll)."""
        raise NotImplementedError

    def after_wake(self) -> None:
        """Called when woken before the interval ran out (e.g. pause for a commit to land)."""

    def report_failure(self, exc: BaseException, what: str) -> None:
        """Log a failure: an unreachable database once per change of state, else with its traceback."""
        if self.health is not None and self.health.failed(exc, f"{self.worker_name} ({what})"):
            return
        log.error("%s: %s failed", self.worker_name, what, exc_info=exc)

    # -- lifecycle -------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def pool(self) -> ThreadPoolExecutor | None:
        """The worker's pool while it runs (None when polled by hand, without start())."""
        return self._pool

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        if self.pool_size > 0:
            self._pool = ThreadPoolExecutor(max_workers=self.pool_size, thread_name_prefix=f"{self.worker_name}-pool")
        self._thread = threading.Thread(target=self._run, name=self.worker_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=self.drain_pool_on_stop, cancel_futures=True)
            self._pool = None

    def wake(self) -> None:
        self._wake.set()

    def sleep(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True if the worker is stopping."""
        return self._stop.wait(seconds)

    def _run(self) -> None:
        while not self._stop.is_set():
            more = False
            try:
                more = self.poll()
            except Exception as exc:
                self.report_failure(exc, "poll")
            else:
                if self.health is not None:
                    self.health.ok()  # every poll reads the database: it is reachable
            if more:
                continue
            if self._wake.wait(self.interval):
                self._wake.clear()
                self.after_wake()
