"""``(a, b) IN ((..), (..))`` that SQLite answers from an index.

SQLite (3.40, the one Python ships here) plans a row-value IN list as a scan of the whole table,
whatever index starts with those columns: ``UPDATE task_instances ... WHERE (id, row_version) IN
(VALUES (?, ?), ...)`` read every instance of the database, on every batch of the engine's
transitions. With an IN list on the leading column(s) beside it, the same statement is a search
of the primary key or the index. PostgreSQL plans both forms from its indexes; the extra lists
cost it nothing of note.

``indexed`` is how many leading columns get a list of their own: the columns an index starts
with. A column that no index serves (``row_version``) gains nothing from one, and each list
multiplies the statement texts the batch sizes make (the prepared-statement cache of psycopg).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, tuple_
from sqlalchemy.sql.elements import ColumnElement


def _distinct(keys: Sequence[Sequence[Any]], i: int) -> list[Any]:
    return list(dict.fromkeys(k[i] for k in keys))


def rows_in(columns: Sequence[ColumnElement[Any]], keys: Sequence[Sequence[Any]], *,
            indexed: int = 1) -> ColumnElement[bool]:
    """``tuple_(*columns).in_(keys)``, with the literal keys, searchable on SQLite."""
    keys = list(keys)
    leading = [columns[i].in_(_distinct(keys, i)) for i in range(indexed)]
    return and_(*leading, tuple_(*columns).in_(keys))


def rows_in_param(columns: Sequence[ColumnElement[Any]], name: str, *, indexed: int = 1) -> ColumnElement[bool]:
    """The same for a statement built once: the keys are bound at execution as
    :func:`row_params` (``name``, and ``name_0`` ... for the leading columns)."""
    leading = [columns[i].in_(bindparam(f"{name}_{i}", expanding=True)) for i in range(indexed)]
    return and_(*leading, tuple_(*columns).in_(bindparam(name, expanding=True)))


def row_params(name: str, keys: Sequence[Sequence[Any]], *, indexed: int = 1) -> dict[str, list[Any]]:
    keys = list(keys)
    return {name: keys, **{f"{name}_{i}": _distinct(keys, i) for i in range(indexed)}}
