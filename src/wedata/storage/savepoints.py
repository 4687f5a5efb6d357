"""A savepoint that costs the engine's cycle one round trip on PostgreSQL instead of two.

SQLAlchemy's ``begin_nested`` sends ``SAVEPOINT`` when the block starts and ``RELEASE SAVEPOINT``
when it ends. On PostgreSQL the release frees nothing that the transaction's own end does not
free, and it is a round trip of its own: on the engine's thread, inside every cycle whose
endings an observer follows (the backfill release, issue 14), it was one statement in sixteen.
:func:`savepoint` sends only the ``SAVEPOINT``; the block's writes become the transaction's when
it commits. If the block raises, ``ROLLBACK TO SAVEPOINT`` undoes them and the error goes on,
as with ``begin_nested``.

Names: one per nesting depth on this thread (``wedata_sp_1``, ``wedata_sp_2`` ...), so the
statement's text repeats and psycopg prepares it once per connection. A later savepoint of the
same name hides the earlier one, and ``ROLLBACK TO`` goes back to the most recent of a name: the
block's own, since an inner block always has a deeper name.

Each savepoint left unreleased stays on the server's transaction stack until the end, so this
is for a few a transaction (an observer's, once per call); a savepoint per item of a loop belongs
in ``begin_nested``, whose release keeps the stack at one level. On SQLite (no round trip to
save) and outside a transaction this is ``begin_nested``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Connection

__all__ = ["savepoint"]

_DEPTH: ContextVar[int] = ContextVar("wedata_savepoint_depth", default=0)


@contextmanager
def savepoint(conn: Connection) -> Iterator[None]:
    """Run the block in a savepoint of ``conn``'s transaction; if it raises, its writes are undone
    and the error is raised again."""
    if (conn.dialect.name != "postgresql" or not conn.in_transaction()
            or conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"):
        with conn.begin_nested():
            yield
        return
    depth = _DEPTH.get() + 1
    name = f"wedata_sp_{depth}"
    conn.exec_driver_sql(f"SAVEPOINT {name}")
    token = _DEPTH.set(depth)
    try:
        yield
    except BaseException:
        # A connection SQLAlchemy invalidated (the server went away) has nothing to roll back
        # to: the block's own error is the one worth raising, as begin_nested does.
        if not conn.invalidated:
            conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {name}")
        raise
    finally:
        _DEPTH.reset(token)
