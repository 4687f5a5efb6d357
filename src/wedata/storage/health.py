"""Is the database reachable, and is the disk full? One place that tells these faults from ordinary
errors, and keeps the log to one line per change of state.

Why: during a database outage every background loop of a process (the engine loop with its
heartbeat, alarm delivery, ops jobs) fails on every poll; logging each failure with its traceback
buried the one line that mattered under thousands. Each loop now reports to the one
:class:`DatabaseHealth` of its :class:`~wedata.storage.db.Database` (``db.health``):

- ``failed(exc, where)`` after a failed round trip: True when ``exc`` means "the database cannot
  be reached" (the caller then logs nothing itself). The first such failure logs one ERROR line
  with the reason, then one WARNING "still unreachable after N s" every ``still_down_every``
  seconds (10) while it lasts, whichever loop reports;
- ``ok()`` after a successful round trip: one INFO line "reachable again after N s" when it was
  down.

What counts as unreachable (:func:`outage_reason`): SQLAlchemy's ``DisconnectionError`` and
``InterfaceError``, any DBAPI error that invalidated its connection, and an ``OperationalError``
of a client/server driver without SQLSTATE (connection refused, reset, timed out) or with a
connection-class SQLSTATE (``08xxx``, ``57P01``-``57P03`` shutdown / starting up, ``53300`` too
many connections). Lock timeouts and deadlocks (also ``OperationalError`` on PostgreSQL) are not
outages. On SQLite only "unable to open database file" and "disk I/O error" are.

A full disk is its own fault (:func:`is_disk_full`): ``ENOSPC``/``EDQUOT`` from a file write,
SQLite's "database or disk is full", PostgreSQL's ``53100``. The engine pauses dispatch on it
(scheduler/diskguard.py) instead of failing attempts.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import exc as sa_exc

log = logging.getLogger("wedata.storage.health")

_DOWN_SQLSTATES = ("57P01", "57P02", "57P03", "53300")
_SQLITE_DOWN = ("unable to open database file", "disk i/o error")
_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def _first_line(value: object) -> str:
    text = str(value).strip()
    return (text.splitlines() or [""])[0][:300]


def _sqlstate(orig: Any) -> str | None:
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return state if isinstance(state, str) else None


def outage_reason(exc: BaseException) -> str | None:
    """A short reason when ``exc`` means the database cannot be reached, else None."""
    if isinstance(exc, sa_exc.DisconnectionError):
        return _first_line(exc)
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    orig = exc.orig
    if exc.connection_invalidated or isinstance(exc, sa_exc.InterfaceError):
        return _first_line(orig)
    if not isinstance(exc, sa_exc.OperationalError):
        return None
    if type(orig).__module__.startswith("sqlite3"):
        text = str(orig).lower()
        return _first_line(orig) if any(t in text for t in _SQLITE_DOWN) else None
    state = _sqlstate(orig)
    if state is None or state.startswith("08") or state in _DOWN_SQLSTATES:
        return _first_line(orig)
    return None


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` is "no space left" (a file write, or the database's own storage)."""
    if isinstance(exc, OSError):
        return exc.errno in _FULL_ERRNOS
    if isinstance(exc, sa_exc.DBAPIError):
        orig = exc.orig
        if getattr(orig, "sqlite_errorcode", None) == 13 or "database or disk is full" in str(orig).lower():
            return True  # SQLITE_FULL
        return _sqlstate(orig) == "53100"  # PostgreSQL disk_full
    return False


# deadlock_detected and serialization_failure: PostgreSQL aborted the transaction because of
# another one running at the same time; the same work, done again, normally succeeds.
_CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})


def is_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is a transaction aborted by a concurrent one (a deadlock, a serialization
    failure): nothing of it was written, and trying it again is safe and will likely succeed."""
    return isinstance(exc, sa_exc.DBAPIError) and _sqlstate(exc.orig) in _CONFLICT_SQLSTATES


class DatabaseHealth:
    """The reachability of one database, as this process's loops see it (thread-safe)."""

    def __init__(self, *, still_down_every: float = 10.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.still_down_every = still_down_every
        self._now = monotonic
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._reported_at = 0.0
        self._reason = ""

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, exc: BaseException, where: str) -> bool:
        """Record a failed round trip. True if it was an outage (already logged, rate-limited)."""
        reason = outage_reason(exc)
        if reason is None:
            return False
        now = self._now()
        with self._lock:
            self._reason = reason
            if self._down_since is None:
                self._down_since = self._reported_at = now
                log.error("database unreachable (first noticed by %s): %s", where, reason)
            elif now - self._reported_at >= self.still_down_every:
                self._reported_at = now
                log.warning("database still unreachable after %d s: %s", now - self._down_since, reason)
        return True

    def ok(self) -> None:
        """Record a successful round trip."""
        if self._down_since is None:  # the common case, without the lock
            return
        with self._lock:
            if self._down_since is None:
                return
            log.info("database reachable again after %d s", self._now() - self._down_since)
            self._down_since = None

    def describe(self) -> str:
        """For /healthz: "ok", or "unreachable for N s: <reason>"."""
        with self._lock:
            if self._down_since is None:
                return "ok"
            return f"unreachable for {int(self._now() - self._down_since)} s: {self._reason}"
