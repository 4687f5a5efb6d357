"""Folder paths, one rule for every tree: workflow folders (a project's tree) and task folders
(a tree per workflow and node category).

A name is one path segment: not empty, no surrounding blanks, no ``/``, not ``.`` or ``..``, no
control characters, at most ``MAX_NAME_LENGTH`` characters. A path is absolute: ``/`` (the
root) or ``/a/b`` with valid names, at most ``MAX_PATH_LENGTH`` characters (the width of the
path columns). The error messages name the request field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, and_, literal, or_

from wedata.services.common import like_escaped
from wedata.services.errors import InvalidValue

ROOT = "/"
MAX_NAME_LENGTH = 128
MAX_PATH_LENGTH = 1024  # the width of the *_folders.path and *.folder_path columns


def check_name(name: str | None, field: str, *, max_length: int = MAX_NAME_LENGTH) -> str:
    """One path segment (a folder name, or a workflow name with its own ``max_length``)."""
    if name is None or not name.strip():
        raise InvalidValue(f"{field} must not be empty")
    if name != name.strip():
        raise InvalidValue(f"{field} must not start or end with blanks: {name!r}")
    if "/" in name:
        raise InvalidValue(f"{field} must not contain '/': {name!r}")
    if name in (".", ".."):
        raise InvalidValue(f"{field} must not be {name!r}")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidValue(f"{field} must not contain control characters")
    if len(name) > max_length:
        raise InvalidValue(f"{field} must be at most {max_length} characters")
    return name


def check_path(path: str | None, field: str, *, lenient: bool = False) -> str:
    """An absolute folder path, returned as stored (``/`` or ``/a/b``).

    ``lenient`` (task folders): ``""`` also means the root — GetTaskFolder shows a root child's
    parent as ``""``, so a client may send it back — and one trailing ``/`` is dropped.
    """
    text = path
    if lenient:
        text = (path or "").strip()
        if text == "":
            return ROOT
        if text != ROOT and text.endswith("/"):
            text = text[:-1]
    if text is None or text == "":
        raise InvalidValue(f"{field} must not be empty (use / for the root)")
    if text == ROOT:
        return ROOT
    if not text.startswith("/"):
        raise InvalidValue(f"{field} must be an absolute path starting with /, got {path!r}")
    if text.endswith("/"):
        raise InvalidValue(f"{field} must not end with /, got {path!r}")
    for segment in text[1:].split("/"):
        if segment == "":
            raise InvalidValue(f"{field} has an empty segment: {path!r}")
        check_name(segment, f"{field} segment")
    check_path_length(text, field)
    return text


def check_path_length(path: str, field: str) -> None:
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidValue(f"{field} must be at most {MAX_PATH_LENGTH} characters")


def path_too_long(what: str = "The folder path") -> InvalidValue:
    """The error for a path that a create or rename would make too long."""
    return InvalidValue(f"{what} would be longer than {MAX_PATH_LENGTH} characters")


def child_path(parent: str, name: str) -> str:
    """The path of a new folder or file ``name`` under ``parent``, refused when too long."""
    path = join_path(parent, name)
    if len(path) > MAX_PATH_LENGTH:
        raise path_too_long()
    return path


def join_path(parent: str, name: str) -> str:
    return f"/{name}" if parent == ROOT else f"{parent}/{name}"


class TreeNode(Protocol):
    kind: str  # "folder" | "script"
    name: str
    owner_uin: str
    children: Any


N = TypeVar("N", bound=TreeNode)


def prune_tree(items: list[N], keyword: str, mine: bool, uin: str, order: Callable[[N], Any]) -> list[N]:
    """The filters of a folder-contents listing (SQL scripts, code studio): keep a script that
    passes them (``mine``: the caller's own; ``keyword``, lower-cased, in its name), and a folder
    whose name matches the keyword (with its whole content) or that holds something kept; without
    a keyword every folder is kept. Siblings come in ``order``."""
    kept: list[N] = []
    for item in sorted(items, key=order):
        if item.kind != "folder":
            if mine and item.owner_uin != uin:
                continue
            if keyword and keyword not in item.name.lower():
                continue
            kept.append(item)
            continue
        if keyword and keyword in item.name.lower():
            item.children = prune_tree(item.children or [], "", mine, uin, order)
            kept.append(item)
            continue
        item.children = prune_tree(item.children or [], keyword, mine, uin, order)
        if not keyword or item.children:
            kept.append(item)
    return kept



def _starts_with(column: Any, prefix: str) -> ColumnElement[bool]:
    """``column LIKE 'prefix%'`` with the prefix's wildcards escaped, as a literal in the statement
    (not a parameter): PostgreSQL turns only a constant prefix into an index range, and a
    prepared statement's generic plan has no constant."""
    return column.like(literal(like_escaped(prefix) + "%", literal_execute=True), escape="\\")


def under(column: Any, path: str) -> ColumnElement[bool]:
    """SQL: the folder path in ``column`` is ``path`` or lies below it.

    Written as one prefix (``path%``, which the PostgreSQL index of task folder paths reads as a
    single range, migration 0029_folder_prefix) narrowed by the exact rule (the path itself or
    ``path/...``, not a sibling such as ``path-2``), so that a count reads the index alone."""
    return and_(_starts_with(column, path), or_(column == path, _starts_with(column, path + "/")))
