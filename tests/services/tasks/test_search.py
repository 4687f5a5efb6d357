"""services/tasks/search.py on SQLite and PostgreSQL: a substring anywhere, LIKE's own characters taken
literally, case folded the same way on both sides (on PostgreSQL a non-ASCII capital too)."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from wedata.services.tasks.search import contains_folded
from wedata.storage.db import Database

NAMES = ["Daily_Load", "daily%load", "ÉTÉ report", "été report", "a/b_c", "o'brien\\x", "other"]


@pytest.mark.parametrize(("word", "folded"), [
    ("daily", {"Daily_Load", "daily%load"}),
    ("DAILY_", {"Daily_Load"}),  # "_" is not LIKE's any-character
    ("%", {"daily%load"}),
    ("/b", {"a/b_c"}),  # the escape character itself
    ("ÉTÉ", {"ÉTÉ report", "été report"}),
    ("été", {"ÉTÉ report", "été report"}),
    ("O'BRIEN", {"o'brien\\x"}),  # the word is a quoted literal in the statement
    ("\\x", {"o'brien\\x"}),
    ("'; DROP TABLE search_probe; --", set()),
    ("missing", set()),
])
def test_a_word_is_found_anywhere_literally(db: Database, word: str, folded: set[str]) -> None:
    table = Table("search_probe", MetaData(), Column("id", Integer, primary_key=True), Column("name", String(64)))
    with db.write() as conn:
        table.create(conn)
        conn.execute(insert(table), [{"name": n} for n in NAMES])
    with db.read() as conn:
        got_folded = set(conn.execute(select(table.c.name).where(contains_folded(table.c.name, word))).scalars())
    if db.is_sqlite and word in ("ÉTÉ", "été"):
        # SQLite's lower() folds ASCII only: a non-ASCII capital matches only itself, on both sides alike.
        folded = {n for n in NAMES if word in n}
    assert got_folded == folded
