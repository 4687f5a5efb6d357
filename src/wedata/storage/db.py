"""The Database handle: one engine per process, built by the composition root.

SQLite has one writer at a time. A write transaction opens with BEGIN IMMEDIATE (the lock taken up
front), and inside one process the writers (API handler threads, the engine, the job threads)
also queue on a process-wide lock per database file before they open it: SQLite's busy handler
would make them poll with sleeps of up to 100 ms (the latency spikes of issue 15), while the
Python lock hands over as soon as the writer commits. Other processes (a second scheduler, the
CLI) still meet the file lock and wait on busy_timeout. Readers take no lock: in WAL mode they
run beside the writer and see the last committed state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import NullPool

from wedata.storage.health import DatabaseHealth


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'wedata.db'}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; foreign keys are off by default in SQLite;
    # busy_timeout makes a second process wait instead of failing with "database is locked".
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
    # Let SQLAlchemy's "begin" event emit BEGIN itself (the pysqlite recipe): pysqlite would
    # otherwise defer it to the first write, so a read-then-write transaction would not see a
    # consistent state and two of them could deadlock on the lock upgrade.
    dbapi_conn.isolation_level = None


def _sqlite_begin(conn: Connection) -> None:
    # A write transaction takes the write lock up front (BEGIN IMMEDIATE): concurrent writers
    # then queue on busy_timeout instead of failing with "database is locked" on upgrade.
    # Reads (``Database.read``) stay in autocommit, as pysqlite always ran SELECTs: each
    # statement sees the latest committed state, and the hot read path saves a round trip.
    if conn.get_execution_options().get(_WRITE):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


_json_encoder = msgspec.json.Encoder()


def _json_dumps(value: Any) -> str:
    """JSON columns are written with msgspec (several times faster than the json module: every
    task save writes its definition and a version snapshot of ~2 kB); compact UTF-8 text."""
    return _json_encoder.encode(value).decode("utf-8")


def json_text(value: Any) -> str:
    """A JSON column's text, as the engine writes it: for statements that carry JSON values as
    text (``::json`` casts of arrays, storage/bulk.py's kind of statement)."""
    return _json_dumps(value)


def _json_loads(text: str | bytes) -> Any:
    return msgspec.json.decode(text)


# A pooled PostgreSQL connection idle longer than this is pinged before it is handed out.
PING_IDLE_AFTER = 2.0


def _ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling for connections that sat in the pool, not for busy ones.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: one more round trip (and a third of
    the server's database time under load) for each read and each transaction. A connection
    returned a moment ago is as good as one just pinged; one idle for seconds may have been cut
    (a restart, an idle timeout in a proxy), so only those are pinged, and a dead one is replaced
    transparently (``DisconnectionError`` makes the pool connect again). A connection that dies
    while in use fails its statement: SQLAlchemy then invalidates the whole pool, so every other
    stale connection is replaced at its next checkout (storage/health.py logs the outage)."""

    @event.listens_for(engine.pool, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info["wedata_idle_since"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _handed_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("wedata_idle_since")
        if since is None or time.monotonic() - since < PING_IDLE_AFTER:
            return  # new (just connected) or recently used
        try:
            ok = engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError(f"a pooled connection is gone: {exc}") from exc
        if not ok:
            raise DisconnectionError("a pooled connection did not answer")


_WRITE = "wedata_write"
# SQLite database file -> the lock its writers in this process queue on (see the docstring).
_WRITE_LOCKS: dict[str, Any] = {}
_WRITE_LOCKS_GUARD = threading.Lock()
# As long as SQLite's own busy_timeout: a writer waits this long before giving up.
_WRITE_WAIT = 30.0


def _write_lock(url: str) -> Any:
    with _WRITE_LOCKS_GUARD:
        lock = _WRITE_LOCKS.get(url)
        if lock is None:
            lock = _WRITE_LOCKS[url] = threading.RLock()
        return lock


class WriteLockTimeout(RuntimeError):
    """The SQLite write lock of this process was not free within ``_WRITE_WAIT`` seconds."""


class Database:
    def __init__(self, url: str, *, echo: bool = False, threads: int = 0, prepare_threshold: int | None = 1,
                 pool_size: int | None = None) -> None:
        """``threads``: how many API handler threads will share the engine; the connection
        pool keeps at least that many connections (plus room for the engine's own threads).
        ``pool_size`` (PostgreSQL, ``WEDATA_PG_POOL_SIZE``): how many it keeps instead. Beyond
        them a burst still opens up to 20 more, closed when they go back: the kept ones are what
        every idle process holds of the server's ``max_connections``.
        ``prepare_threshold`` (PostgreSQL): psycopg prepares a statement on the server after that
        many executions on a connection (its default is 5). The engine's and the handlers' hot
        statements are built once and repeat on every connection of the pool, so preparing them
        at their second use saves the server's planning sooner (mixed.py on PostgreSQL, three
        alternating runs each: means 345 against 332 req/s, p99 257 against 282 ms); None never prepares."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._prepare_threshold = prepare_threshold
        # True once every connection of this process carries the engine's plan settings
        # (:meth:`engine_sessions`).
        self.engine_sessions_set = False
        self._write_lock = _write_lock(url) if self.is_sqlite and ":memory:" not in url else None
        kwargs: dict[str, Any] = {"echo": echo, "future": True, "json_serializer": _json_dumps,
                                  "json_deserializer": _json_loads}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False}
            if ":memory:" in url:
                kwargs["poolclass"] = NullPool
            else:
                kwargs.update(pool_size=max(5, threads + 2), max_overflow=10)
        else:
            from wedata.storage.pg_cursor import LazyDescriptionCursor  # psycopg: the postgres extra

            kwargs.update(pool_size=pool_size or max(10, threads + 2), max_overflow=20,
                          # Cursors that build their result's columns only when read (pg_cursor.py).
                          connect_args={"prepare_threshold": prepare_threshold,
                                        "cursor_factory": LazyDescriptionCursor})
        self.engine: Engine = create_engine(url, **kwargs)
        if not self.is_sqlite:
            _ping_when_idle(self.engine)
        self._read_options: dict[str, Any] = {} if self.is_sqlite else {"isolation_level": "AUTOCOMMIT"}
        # Reachability as this process's loops see it (storage/health.py): shared, so an outage
        # is logged once per change of state whichever loop notices it.
        self.health = DatabaseHealth()
        self._shared = threading.local()  # shared_reads: this thread's depth and connection
        self._committed = threading.local()  # commits: this thread's count of write transactions
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads. On PostgreSQL it runs in autocommit: under READ COMMITTED every
        statement takes its own snapshot anyway, so a read transaction buys no consistency and
        costs two round trips (BEGIN, and the ROLLBACK when the connection returns to the pool).
        Inside :meth:`shared_reads` on the same thread, every read uses the same connection."""
        shared = self._shared
        if getattr(shared, "depth", 0):
            conn = getattr(shared, "conn", None)
            if conn is None or conn.closed or conn.invalidated:
                conn = shared.conn = self._read_connection()
            yield conn
            return
        with self._read_connection() as conn:
            yield conn

    def _read_connection(self) -> Connection:
        conn = self.engine.connect()
        return conn.execution_options(**self._read_options) if self._read_options else conn

    @contextmanager
    def shared_reads(self) -> Iterator[None]:
        """One read connection for every :meth:`read` of this thread until the block ends (an API
        request: its access check and its handler's reads). Each checkout from the pool costs
        ~0.1 ms of CPU, as much as a statement. PostgreSQL only: its reads are autocommit, so a
        connection held across them sees each commit, the request's own writes included; a SQLite
        read holds its snapshot until the connection returns, so there each read keeps its own."""
        if self.is_sqlite:
            yield
            return
        shared = self._shared
        shared.depth = getattr(shared, "depth", 0) + 1
        try:
            yield
        finally:
            shared.depth -= 1
            if not shared.depth:
                conn, shared.conn = getattr(shared, "conn", None), None
                if conn is not None:
                    conn.close()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that commits on success and rolls back on any exception."""
        lock = self._write_lock
        if lock is None:
            with self.engine.connect() as conn:
                conn = conn.execution_options(**{_WRITE: True})
                with conn.begin():
                    yield conn
            self._count_commit()
            return
        # Taken before a pooled connection is checked out: a queued writer holds none.
        if not lock.acquire(timeout=_WRITE_WAIT):
            raise WriteLockTimeout(f"no SQLite write turn within {_WRITE_WAIT:g} s")
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(**{_WRITE: True})
                with conn.begin():
                    yield conn
        finally:
            lock.release()
        self._count_commit()

    def _count_commit(self) -> None:
        self._committed.n = getattr(self._committed, "n", 0) + 1

    def commits(self) -> int:
        """How many :meth:`write` transactions this thread has committed (it only grows): an API
        request that met a conflict may be tried again only if it committed none of its own
        (actions/registry.py)."""
        return int(getattr(self._committed, "n", 0))

    def dispose(self) -> None:
        self.engine.dispose()

    def engine_sessions(self, settings: Mapping[str, str]) -> bool:
        """This process's connections serve the scheduler's engine alone (``wedata scheduler``, the
        server's engine process): PostgreSQL ``settings`` are set once per connection, when it
        is made, instead of by ``SET LOCAL`` in every transaction of the engine's cycle (a round
        trip each). The pool's current connections are closed, so every later one has them.
        Returns whether it did: not on SQLite, and not with ``prepare_threshold`` None, the mode
        for PgBouncer's transaction pooling, where a session setting would reach other clients'
        transactions. Names and values are the caller's constants."""
        if self.is_sqlite or self._prepare_threshold is None:
            return False
        statement = "; ".join(f"SET {name} = {value}" for name, value in settings.items())

        def _set(dbapi_conn: Any, _record: Any) -> None:
            autocommit = dbapi_conn.autocommit
            dbapi_conn.autocommit = True
            try:
                dbapi_conn.execute(statement)  # no parameters: one simple query, one round trip
            finally:
                dbapi_conn.autocommit = autocommit

        event.listen(self.engine, "connect", _set)
        self.engine.dispose()
        self.engine_sessions_set = True
        return True


def insert_ignore(conn: Connection, table: Any) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` for this connection's dialect: rows another
    transaction inserted meanwhile are skipped, not an IntegrityError."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


@contextmanager
def planned_each_time(conn: Connection) -> Iterator[None]:
    """Inside the block, PostgreSQL plans each statement of ``conn`` for its values: psycopg runs
    them unprepared instead of as prepared statements. For the list pages: after five runs of a
    prepared statement PostgreSQL may keep a generic plan, made without the values, and for
    ``project_id = $1 AND workflow_id = $2`` it chose to AND the workflow's index with a walk of
    every index entry of the project, estimated from the average project: the count of a
    workflow's 10,000 instances in a project of a million went from 3 to 90 ms. A list's page
    costs milliseconds; planning it again costs ~0.2 ms. SQLite: nothing changes."""
    driver = conn.connection.driver_connection if conn.dialect.name == "postgresql" else None
    if driver is None:
        yield
        return
    threshold = driver.prepare_threshold
    driver.prepare_threshold = None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold
