"""split_statements: a ';' splits only at the top level, per dialect; statements keep their text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wedata.executors.sql.runner import split_statements
from wedata.executors.sql.splitting import SplitError, returns_rows


@pytest.mark.parametrize(("dialect", "text", "expected"), [
    ("postgres", "SELECT 1; SELECT 2", ["SELECT 1", "SELECT 2"]),
    ("postgres", "SELECT 1;;\n ; SELECT 2;\n", ["SELECT 1", "SELECT 2"]),
    ("postgres", "SELECT 'a;b'; SELECT 'it''s; x'", ["SELECT 'a;b'", "SELECT 'it''s; x'"]),
    ("postgres", 'SELECT 1 AS "x;y"; SELECT 2', ['SELECT 1 AS "x;y"', "SELECT 2"]),
    ("postgres", "SELECT 1; -- a; comment\nSELECT 2 /* ; */ + 1", ["SELECT 1", "SELECT 2 /* ; */ + 1"]),
    ("postgres", "-- only a comment;\n/* and; another */", []),
    ("postgres", "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; SELECT 2; $$ LANGUAGE sql; SELECT f()",
     ["CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; SELECT 2; $$ LANGUAGE sql", "SELECT f()"]),
    ("postgres", "DO $body$ BEGIN PERFORM 1; END $body$; SELECT 2",
     ["DO $body$ BEGIN PERFORM 1; END $body$", "SELECT 2"]),
    ("postgres", "SELECT E'a\\';b'", None),  # sqlglot does not read E'' escapes: refused below, not split wrong
    ("mysql", "SELECT 'it\\'s; x'; SELECT \"a;b\"", ["SELECT 'it\\'s; x'", 'SELECT "a;b"']),
    ("mysql", "SELECT 1; # a; hash comment\nSELECT `c;d` FROM t", ["SELECT 1", "SELECT `c;d` FROM t"]),
    ("mysql", "INSERT INTO t VALUES ('x;y');\nUPDATE t SET a = 1", ["INSERT INTO t VALUES ('x;y')", "UPDATE t SET a = 1"]),
    ("spark", "SELECT 'a;b'; SELECT `x;y` FROM t", ["SELECT 'a;b'", "SELECT `x;y` FROM t"]),
    ("duckdb", "SELECT 1;\n\tSELECT 'q;'", ["SELECT 1", "SELECT 'q;'"]),
])
def test_split(dialect: str, text: str, expected: list[str] | None) -> None:
    if expected is None:
        try:
            got = split_statements(text, dialect)
        except SplitError:
            return
        assert len(got) == 1  # whatever sqlglot makes of it, the ';' in the string does not split
        return
    assert split_statements(text, dialect) == expected


def test_the_original_text_is_kept_not_regenerated() -> None:
    text = "select   a,b from T where x = 'Q'  ;insert into t values(1)"
    assert split_statements(text, "postgres") == ["select   a,b from T where x = 'Q'", "insert into t values(1)"]


@pytest.mark.parametrize("text", ["SELECT 'unterminated", "SELECT 1 /* never closed"])
def test_an_unreadable_script_is_refused_whole(text: str) -> None:
    with pytest.raises(SplitError, match="cannot be split"):
        split_statements(f"SELECT 0; {text}", "postgres")


@given(st.lists(st.text(alphabet="ab;' -\n", min_size=0, max_size=8), min_size=1, max_size=6))
def test_strings_never_split(cells: list[str]) -> None:
    quoted = ["'" + c.replace("'", "''") + "'" for c in cells]
    text = ";\n".join(f"SELECT {q}" for q in quoted)
    assert split_statements(text, "postgres") == [f"SELECT {q}" for q in quoted]


@pytest.mark.parametrize(("sql", "rows"), [
    ("SELECT 1", True), ("  (SELECT 1) UNION SELECT 2", True), ("WITH x AS (SELECT 1) SELECT * FROM x", True),
    ("VALUES (1), (2)", True), ("TABLE t", True), ("INSERT INTO t SELECT 1", False),
    ("SELECT 1 INTO t2", False), ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", False),
    ("UPDATE t SET a = 1 RETURNING a", False), ("SHOW search_path", False), ("EXPLAIN SELECT 1", False),
])
def test_returns_rows(sql: str, rows: bool) -> None:
    assert returns_rows(sql, "postgres") is rows
