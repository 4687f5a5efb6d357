"""Refreshing the cache: when a source is due, how it is introspected, and the refresh worker.

A source is **due** when it was never read, when it was marked stale after its snapshot began
(``mark_stale``: a SQL run executed DDL on it), or when its snapshot is older than the allowed
age (``WEDATA_CATALOG_MAX_AGE`` for a read, ``WEDATA_CATALOG_REFRESH_INTERVAL`` for the worker).
After a failed attempt a source is not tried again for :data:`FAILURE_RETRY` seconds
(:data:`BUSY_RETRY` when the lake was busy), so an unreachable database does not slow every
read; the cached snapshot, if any, is served meanwhile.

Refreshes run on a small pool of threads, one at a time per source (a second request for a source
being refreshed waits for that refresh instead of starting another). A database source is read
on a connection of its own, closed afterwards (``NullPool``): a crawl every few minutes should
not keep idle connections open on every source the way the SQL executor's pools do.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.pool import NullPool

from wedata.clock import Clock
from wedata.config import Settings
from wedata.executors.sql.connections import MYSQL, driver_message
from wedata.services.catalog import access, store
from wedata.services.catalog.introspect import read_mysql, read_postgres
from wedata.services.catalog.lakefile import LakeBusy, read_lake
from wedata.services.catalog.model import LAKE, Snapshot, Source
from wedata.services.catalog.store import State
from wedata.services.datasources.datasources import DataSourceService
from wedata.services.errors import ServiceError
from wedata.services.workers import BackgroundWorker
from wedata.storage.catalog_tables import catalog_sources
from wedata.storage.datasource_tables import data_sources
from wedata.storage.db import Database

log = logging.getLogger("wedata.catalog")

FAILURE_RETRY = timedelta(seconds=30)
BUSY_RETRY = timedelta(seconds=2)
BUSY_PREFIX = "busy: "
POOL_THREADS = 3


def is_due(state: State | None, now: datetime, max_age: float) -> bool:
    if state is not None and state.error is not None and state.attempted_at is not None:
        retry = BUSY_RETRY if state.error.startswith(BUSY_PREFIX) else FAILURE_RETRY
        if now - state.attempted_at < retry:
            return False
    if state is None or state.snapshot_at is None:
        return True
    if state.stale_at is not None and state.stale_at >= state.snapshot_at:
        return True
    return now - state.snapshot_at >= timedelta(seconds=max_age)


class Refresher:
    def __init__(self, db: Database, clock: Clock, settings: Settings, datasources: DataSourceService,
                 lake_file: Path) -> None:  # fmt: skip
        self.db = db
        self.clock = clock
        self.settings = settings
        self.datasources = datasources
        self.lake_file = lake_file
        self._lock = threading.Lock()
        self._inflight: dict[str, Future[str | None]] = {}
        self._pool: ThreadPoolExecutor | None = None

    # -- running refreshes ---------------------------------------------------------------------

    def submit(self, source: Source) -> Future[str | None]:
        """Start refreshing a source (or join the refresh already running). The future's result
        is None on success, else why it failed."""
        with self._lock:
            running = self._inflight.get(source.key)
            if running is not None and not running.done():
                return running
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="catalog-refresh")
            future = self._pool.submit(self.refresh, source)
            self._inflight[source.key] = future
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future[str | None]) -> None:
        with self._lock:
            for key, running in list(self._inflight.items()):
                if running is future:
                    del self._inflight[key]

    def run(self, sources: list[Source], timeout: float | None) -> dict[str, str | None]:
        """Refresh sources at once, waiting up to ``timeout`` seconds (None: until done). What
        is not done by then goes on in the background; its key is absent from the answer."""
        futures = {s.key: self.submit(s) for s in sources}
        wait(list(futures.values()), timeout=timeout)
        return {k: f.result() for k, f in futures.items() if f.done()}

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    # -- one refresh -----------------------------------------------------------------------------

    def _introspect(self, source: Source) -> Snapshot:
        if source.data_source_id is None:
            return read_lake(self.lake_file)
        spec = self.datasources.connection(source.data_source_id)
        engine = create_engine(spec.url(), poolclass=NullPool,
                               connect_args=spec.connect_args(self.settings.datasource_test_timeout, bound_reads=False))
        try:
            if spec.wire == MYSQL:
                return read_mysql(engine, spec.database)
            return read_postgres(engine)
        except Exception as exc:
            raise _Failed(driver_message(exc, spec.secrets())) from None
        finally:
            engine.dispose()

    def refresh(self, source: Source) -> str | None:
        """Introspect a source and store the snapshot; None, or why it failed (also stored)."""
        started = self.clock.now()
        try:
            snap = self._introspect(source)
        except LakeBusy as exc:
            log.info("catalog: %s", exc)
            return self._failed(source, started, BUSY_PREFIX + str(exc), quiet=True)
        except (_Failed, ServiceError) as exc:
            return self._failed(source, started, str(exc))
        except Exception as exc:  # a bug or an unexpected driver error: logged, never raised at a reader
            log.exception("catalog: reading %s failed", source.label)
            return self._failed(source, started, f"{type(exc).__name__}: {exc}")
        try:
            with self.db.write() as conn:
                outcome = store.write_snapshot(conn, source.key, source.data_source_id, snap, started,
                                               self.clock.now())
        except Exception as exc:  # e.g. the data source was deleted while it was being read
            log.warning("catalog: storing the snapshot of %s failed: %s", source.label, exc)
            return f"storing the snapshot failed: {type(exc).__name__}"
        log.log(logging.INFO if outcome == store.STORED else logging.DEBUG,
                "catalog: %s read (%s): %d database(s), %d schema(s), %d table(s) in %.0f ms", source.label, outcome,
                len(snap.databases), len(snap.schemas), len(snap.tables),
                (self.clock.now() - started).total_seconds() * 1000)
        return None

    def _failed(self, source: Source, started: datetime, message: str, *, quiet: bool = False) -> str:
        if not quiet:
            log.warning("catalog: reading %s failed: %s", source.label, message)
        with self.db.write() as conn:
            store.record_failure(conn, source.key, source.data_source_id, started, message)
        return message


class _Failed(Exception):
    pass


class RefreshWorker(BackgroundWorker):
    """Every few seconds, refresh each catalogued source (the lake, and every data source
    someone has read the catalog of) whose snapshot is older than the refresh interval or that
    was marked stale. ``mark_stale`` in this process wakes it at once."""

    def __init__(self, refresher: Refresher, interval: float) -> None:
        super().__init__("catalog-refresh", min(interval, 30.0))
        self.refresher = refresher
        self.health = refresher.db.health  # an outage is one line per change of state
        self.max_age = interval

    def poll(self) -> bool:
        r = self.refresher
        CS, DS = catalog_sources, data_sources
        with r.db.read() as conn:
            rows = conn.execute(
                select(DS.c.id, DS.c.name, DS.c.source_type).join_from(CS, DS, DS.c.id == CS.c.data_source_id)
            ).all()
            sources = [LAKE, *(access.as_source(x) for x in rows if access.catalogued(x.source_type))]
            states = store.states(conn, [s.key for s in sources])
        now = r.clock.now()
        due = [s for s in sources if is_due(states.get(s.key), now, self.max_age)]
        if due:
            r.run(due, timeout=None)
        return False
