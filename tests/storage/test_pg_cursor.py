"""The PostgreSQL connections' cursors (storage/pg_cursor.py): a description that is built only
when read must say exactly what psycopg's own says, stay right after the cursor moved on, and
not be built at all for a statement SQLAlchemy has seen before."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text

from wedata.storage.db import Database
from wedata.storage.pg_cursor import LazyDescription, LazyDescriptionCursor

QUERY = "SELECT 1::int AS one, 'x'::varchar(7) AS word, now() AS at, 2.5::numeric(6, 2) AS amount"


@pytest.fixture
def db(pg_url: str) -> Iterator[Database]:
    d = Database(pg_url)
    try:
        yield d
    finally:
        d.dispose()


def facts(description: Any) -> list[tuple[Any, ...]]:
    return [(c.name, c.type_code, c.display_size, c.internal_size, c.precision, c.scale, c.null_ok,
             c.type_display) for c in description]


def test_the_description_is_psycopgs_own(pg_url: str) -> None:
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as plain, psycopg.connect(dsn, cursor_factory=LazyDescriptionCursor) as lazy:
        want = plain.execute(QUERY).description
        got = lazy.execute(QUERY).description
        assert isinstance(got, LazyDescription)
        assert len(got) == 4
        assert facts(got) == facts(want)
        assert got[-1].name == "amount" and [c.name for c in got[1:3]] == ["word", "at"]
        # No rows but a row shape: still described (psycopg's rule); a command: None.
        assert lazy.execute("SELECT 1 WHERE false").description is not None
        assert lazy.execute("SELECT").description == []
        lazy.execute("CREATE TEMP TABLE t (a int)")
        assert lazy.execute("INSERT INTO t VALUES (1)").description is None


def test_a_description_read_late_describes_its_own_result(pg_url: str) -> None:
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, cursor_factory=LazyDescriptionCursor) as conn:
        cur = conn.cursor()
        first = cur.execute(QUERY).description
        cur.execute("SELECT 'a' AS letter")
        assert first is not None and [c.name for c in first] == ["one", "word", "at", "amount"]


def test_the_pool_uses_it_and_results_read_as_before(db: Database) -> None:
    t = Table("pg_cursor_probe", MetaData(), Column("id", Integer, primary_key=True), Column("name", String(20)))
    with db.write() as conn:
        assert isinstance(conn.connection.dbapi_connection.cursor(), LazyDescriptionCursor)  # type: ignore[union-attr]
        t.create(conn)
        conn.execute(insert(t), [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
    with db.read() as conn:
        # Textual SQL: SQLAlchemy names the columns from the description.
        assert [dict(r) for r in conn.execute(text("SELECT id AS k, name FROM pg_cursor_probe ORDER BY id")).mappings()] \
            == [{"k": 1, "name": "a"}, {"k": 2, "name": "b"}]
        for _ in range(2):
            rows = conn.execute(select(t.c.name, t.c.id).order_by(t.c.id)).all()
            assert [(r.name, r[1]) for r in rows] == [("a", 1), ("b", 2)]
        assert conn.execute(insert(t).returning(t.c.id), [{"id": 3, "name": "c"}, {"id": 4, "name": "d"}]).scalars().all() \
            in ([3, 4], [4, 3])
    with db.write() as conn:
        t.drop(conn)


def test_a_statement_seen_before_builds_no_column(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    built = 0
    real = psycopg.Column.__init__

    def counting(self: Any, *args: Any) -> None:
        nonlocal built
        built += 1
        real(self, *args)

    stmt = select(text("1 AS a"), text("2 AS b"))
    with db.read() as conn:
        assert conn.execute(stmt).all() == [(1, 2)]  # the first run: SQLAlchemy reads the names
        monkeypatch.setattr(psycopg.Column, "__init__", counting)
        for _ in range(3):
            assert conn.execute(stmt).all() == [(1, 2)]
    assert built == 0
