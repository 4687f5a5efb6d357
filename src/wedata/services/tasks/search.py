"""Substring search in names and ids, case-insensitive (ListTasks' TaskName, ListTaskInstances'
Keyword: the console's search boxes).

PostgreSQL serves ``lower(column) LIKE '%word%'`` from a trigram index of the lowered column
(migration 0027_name_search). The index is on the lowered value, not the column, because pg_trgm
also answers ``=`` and PostgreSQL without statistics preferred it to the primary key for joins.
A task's name is kept lowered by the database in ``tasks.name_folded`` (0036_name_folded: a
common word's search lowered every name it checked, half its time); an id is lowered in the
statement. The word is lowered by the database too, so that both sides fold case the same way
(SQLite's lower() folds ASCII only, Python's str.lower() all of Unicode: lowering the word in
Python missed 'É' in a name on SQLite).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, literal

from wedata.storage import tables as T

ESCAPE = "/"


def _pattern(word: str) -> str:
    escaped = word.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    return f"%{escaped}%"


def name_contains(word: str) -> Any:
    """The task's name contains ``word``, whatever the case of either."""
    return _contains(T.tasks.c.name_folded, word)


def contains_folded(column: Any, word: str) -> Any:
    """``column`` contains ``word``, whatever the case of either."""
    return _contains(func.lower(column), word)


def _contains(folded: Any, word: str) -> Any:
    """``folded`` (a lowered text) contains ``word`` lowered.

    The pattern goes into the statement as a literal (quoted by SQLAlchemy), not as a parameter:
    a server-side prepared statement soon gets a generic plan, made without the pattern, and
    PostgreSQL's guess for an unknown ``LIKE`` (few rows) took the trigram index for a word in
    every name, then sorted all 100,000 (125-204 ms against 30-57 ms planned with the word)."""
    return folded.like(func.lower(literal(_pattern(word), literal_execute=True)), escape=ESCAPE)
