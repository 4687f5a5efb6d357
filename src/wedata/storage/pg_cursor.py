"""psycopg cursors whose ``description`` is built only when something reads it.

SQLAlchemy asks every cursor for its ``description`` after each statement, and psycopg answers
with a new list of ``Column`` objects, one per result column, each looked up in libpq and the
type registry. For a statement SQLAlchemy has compiled before (every statement of ours once it
warmed up), the result's metadata is cached on the compiled statement and the list is only
tested for None: the columns are built and thrown away. That was 0.05 ms of CPU a statement,
about an eighth of a GetTask's handler on PostgreSQL (``tools/bench/request_path.py --profile``:
117,000 ``Column`` objects for 3,000 requests).

:class:`LazyDescriptionCursor` answers with :class:`LazyDescription` instead: a sequence that
knows its length from the result and builds psycopg's own columns the first time an item is
read. It holds the result it describes, so it stays right after the cursor has moved on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

import psycopg
from psycopg.pq import ExecStatus

# psycopg's own rule (BaseCursor.description): columns when the result has fields, or when the
# statement said it returned rows even with none ("SELECT;").
_ROWS = (ExecStatus.TUPLES_OK, ExecStatus.SINGLE_TUPLE, ExecStatus.TUPLES_CHUNK)


class _Described:
    """What ``psycopg.Column`` reads of a cursor, pinned to one result."""

    __slots__ = ("pgresult", "adapters", "_encoding")

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self.pgresult = cursor.pgresult
        self.adapters = cursor.adapters
        self._encoding = cursor._encoding


class LazyDescription(Sequence[psycopg.Column]):
    __slots__ = ("_source", "_n", "_columns")

    def __init__(self, cursor: psycopg.Cursor[Any], nfields: int) -> None:
        self._source = _Described(cursor)
        self._n = nfields
        self._columns: list[psycopg.Column] | None = None

    def _built(self) -> list[psycopg.Column]:
        if self._columns is None:
            self._columns = [psycopg.Column(self._source, i) for i in range(self._n)]  # type: ignore[arg-type]
        return self._columns

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, index: int) -> psycopg.Column: ...

    @overload
    def __getitem__(self, index: slice) -> list[psycopg.Column]: ...

    def __getitem__(self, index: int | slice) -> psycopg.Column | list[psycopg.Column]:
        return self._built()[index]

    def __iter__(self) -> Iterator[psycopg.Column]:
        return iter(self._built())

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._built())


class LazyDescriptionCursor(psycopg.Cursor[Any]):
    """A psycopg cursor whose ``description`` costs nothing until it is read."""

    @property
    def description(self) -> LazyDescription | None:  # type: ignore[override]  # a Sequence, not a list
        res = self.pgresult
        if res and (res.nfields or res.status in _ROWS):
            return LazyDescription(self, res.nfields)
        return None
