"""Splitting a script into statements, by dialect, with sqlglot's tokenizer.

A script is cut at every ``;`` token at the top level. Because the cut is made on *tokens*, a
``;`` inside a string (``'a;b'``, MySQL's ``'it\\'s; x'``), a quoted identifier, a comment
(``-- a;b``, ``/* ; */``, MySQL's ``# ;``) or a PostgreSQL dollar-quoted body (``$$ ... ; ... $$``,
``$fn$ ... $fn$``) never splits. Each statement keeps its **original text** (from its first token
to its last), not sqlglot's regenerated SQL: that is what runs on the database (except on the
lake, where Spark SQL is transpiled), what the log shows and what an error names. Comments
between statements are dropped; a segment holding only comments or blanks is no statement.

Decisions:

- A script the tokenizer cannot read (an unterminated string or comment) is refused as a whole
  with the tokenizer's message (``SplitError``): running the part before the problem would
  surprise more than refusing.
- MySQL's client-side ``DELIMITER`` command is not supported (it is a feature of the ``mysql``
  command-line client, not of the server): write procedure bodies in one statement without it.
- Whether a statement returns rows is decided on its parsed form (:func:`returns_rows`), only to
  choose a server-side cursor on PostgreSQL (``DECLARE ... CURSOR`` accepts only a query).
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

__all__ = ["SplitError", "returns_rows", "split_statements"]


class SplitError(Exception):
    """The script cannot be split into statements; the message says why (no secret in it)."""


def split_statements(text: str, dialect: str) -> list[str]:
    """The statements of ``text`` in order, each as written (trimmed to its own tokens)."""
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(text)
    except SqlglotError as exc:
        raise SplitError(f"the script cannot be split into statements: {_one_line(str(exc))}") from None
    except ValueError as exc:  # an unknown dialect name
        raise SplitError(str(exc)) from None
    statements: list[str] = []
    start: int | None = None
    end = 0
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if start is not None:
                statements.append(text[start : end + 1])
            start = None
            continue
        if start is None:
            start = token.start
        end = token.end
    if start is not None:
        statements.append(text[start : end + 1])
    return statements


_ROW_QUERIES = (exp.Select, exp.SetOperation, exp.Values, exp.Subquery)


def returns_rows(statement: str, dialect: str) -> bool:
    """Whether the statement is a query (SELECT, a set operation, VALUES, WITH ... SELECT): what
    a PostgreSQL server-side cursor can be declared for. False when sqlglot cannot parse it."""
    head = statement.lstrip("( \t\r\n").split(None, 1)[0].upper() if statement.strip("( \t\r\n") else ""
    if head not in ("SELECT", "WITH", "VALUES", "TABLE"):
        return False  # cheap and exact for everything else (INSERT ... RETURNING uses a plain cursor)
    if head == "TABLE":
        return True
    try:
        parsed = Dialect.get_or_raise(dialect).parse(statement)
    except SqlglotError:
        return head in ("SELECT", "VALUES")
    if len(parsed) != 1 or parsed[0] is None:
        return False
    node = parsed[0]
    if isinstance(node, exp.Select) and node.args.get("into") is not None:
        return False  # SELECT ... INTO new_table creates a table (PostgreSQL)
    if node.find(exp.Insert, exp.Update, exp.Delete, exp.Merge) is not None:
        return False  # a data-modifying WITH: no cursor may be declared for it
    return isinstance(node, _ROW_QUERIES)


def _one_line(text: str) -> str:
    return " ".join(text.split())


_SCHEMA_CHANGE = re.compile(r"(?:^|;)\s*(?:create|drop|alter|truncate|rename|comment\s+on)\b", re.IGNORECASE)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


def may_change_schema(text: str) -> bool:
    """Whether a script may have run DDL (CREATE, DROP, ALTER, TRUNCATE, RENAME, COMMENT ON at
    the start of a statement), so that the catalog of its source is due for a refresh. A
    heuristic over the text, comments removed: a false positive costs one extra refresh of the
    catalog, a miss only delays the refresh to the catalog's periodic one."""
    return bool(_SCHEMA_CHANGE.search(_COMMENTS.sub(" ", text)))
