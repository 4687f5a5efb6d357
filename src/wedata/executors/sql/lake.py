"""The built-in lake: DuckDB files under ``WEDATA_HOME/lake``, and the one way to open them.

Every server has a lake at ``contract.lake_path(home)`` (``lake/lake.duckdb``), the DLC engine
of the embedded default that every project may use without setup; named lake engines
(AddCalcEnginesToProject) are further files beside it (``contract.lake_engine_path``). DLC SQL
tasks (type 32) run there, their Spark SQL transpiled to DuckDB (``spark.py``).

**Sharing a file.** DuckDB lets one process at a time open a file read-write (several may open
it read-only when nobody writes). The lake's clients are DLC task attempts (run by the engine's
in-process SQL executor, ``executors/sql_tasks.py``), SQL scripts and the catalog, all threads of the
server process; a separate ``wedata scheduler`` process is another client of the same files.
The rules that make them coexist:

- :func:`open_lake` is the only way to open a lake file. Within one process every user of a
  file shares ONE DuckDB database (reference-counted; each user gets its own cursor, so
  threads run side by side under DuckDB's own MVCC: concurrent DLC tasks, a script and the
  catalog in one server never wait for each other). The file is closed as soon as the last user
  is done, so that another process can have it.
- Between processes, DuckDB's file lock decides: an open that meets it waits and retries
  (backoff from 20 ms to 250 ms) until ``timeout`` seconds have passed, then raises
  :class:`LakeBusy`. So runs of two processes on one file are **serialized** (a DLC attempt's
  log says when it waits); runs on different engines (different files) never wait.
- The catalog reads ``information_schema`` through ``open_lake(path, read_only=True,
  timeout=...)``: in a process that has the file open read-write it shares that database;
  otherwise it opens the file read-only. Keep its timeout short (a few seconds) and answer from
  a cache when it expires: the lake may be held by another process's run.

**Locked down.** The SQL that runs on the lake is users' code running inside the server process,
so every lake database is opened with ``enable_external_access = false`` (no file reads or
writes outside the database file: no ``read_csv('/etc/...')``, ``COPY ... TO``, ``ATTACH``,
``INSTALL``/``LOAD``), extension auto-loading off, ``memory_limit`` 1 GB, 2 threads, and
``lock_configuration = true`` so a statement cannot ``SET`` any of it back. A user's lake
therefore cannot reach the server's key file, database or logs.

Decisions: the lake directory is created 0700 like everything under ``WEDATA_HOME``; a
read-only open of a file that does not exist yet creates it first (an empty lake); the lake has
no users or passwords (a project's access to it is its membership: every project may use the
built-in lake, a named engine needs a binding to the project).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from wedata.executors.sql.contract import CancelToken

__all__ = ["LAKE_CONFIG", "LakeBusy", "LakeError", "open_lake"]

_RETRY_FIRST = 0.02
# What every lake database is opened with (see "Locked down" above).
LAKE_CONFIG: dict[str, Any] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "memory_limit": "1GB",
    "threads": 2,
    "lock_configuration": True,
}
_RETRY_MAX = 0.25


class LakeError(Exception):
    """The lake file cannot be opened; the message is safe to show."""


class LakeBusy(LakeError):
    """Another process held the file for longer than the caller would wait."""


class _LakeFile:
    """One file's database in this process: shared by all its users, closed after the last."""

    def __init__(self) -> None:
        self.cv = threading.Condition()
        self.con: Any = None  # duckdb.DuckDBPyConnection while open
        self.read_only = False
        self.users = 0
        self.opening = False


_FILES: dict[str, _LakeFile] = {}
_FILES_LOCK = threading.Lock()


def _file(path: Path) -> _LakeFile:
    key = os.path.realpath(path)
    with _FILES_LOCK:
        f = _FILES.get(key)
        if f is None:
            f = _FILES[key] = _LakeFile()
        return f


def _is_lock_conflict(exc: BaseException) -> bool:
    text = str(exc)
    # "different configuration": the catalog of this process (services/catalog/lakefile.py) has
    # the file open read-only for an introspection; it closes it within moments, like a lock.
    return "Could not set lock" in text or "Conflicting lock" in text or "different configuration" in text


def _connect(path: Path, read_only: bool, deadline: float, cancel: CancelToken | None,
             on_wait: Callable[[str], None] | None) -> Any:
    """``duckdb.connect`` with retries while another process holds the file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if read_only and not path.exists():
        duckdb.connect(str(path), config=dict(LAKE_CONFIG)).close()  # an empty lake, so a reader finds one
    delay, told = _RETRY_FIRST, False
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=dict(LAKE_CONFIG))
        except duckdb.Error as exc:
            if not _is_lock_conflict(exc):
                raise LakeError(f"the lake file {path.name} cannot be opened: {' '.join(str(exc).split())}") from None
        if cancel is not None and cancel.cancelled:
            raise LakeBusy(f"canceled while waiting for the lake file {path.name}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LakeBusy(f"the lake file {path.name} is in use by another process (a DLC run) and was not "
                           "released in time; try again when it has finished")
        if not told and on_wait is not None:
            on_wait(f"the lake file {path.name} is in use by another run; waiting for it")
            told = True
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, _RETRY_MAX)


def _acquire(path: Path, read_only: bool, timeout: float, cancel: CancelToken | None,
             on_wait: Callable[[str], None] | None) -> tuple[_LakeFile, Any]:
    f = _file(path)
    deadline = time.monotonic() + timeout
    with f.cv:
        while True:
            if f.con is not None and (read_only or not f.read_only):
                f.users += 1
                return f, f.con
            if f.con is None and not f.opening:
                f.opening = True
                break
            # Another thread is opening it, or it is open read-only and we need to write: wait
            # for that open to finish or for its users to leave.
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (cancel is not None and cancel.cancelled):
                raise LakeBusy(f"the lake file {path.name} is in use in this process (read-only) and was not "
                               "released in time")
            f.cv.wait(min(remaining, 0.1))
    try:
        con = _connect(path, read_only, deadline, cancel, on_wait)
    except BaseException:
        with f.cv:
            f.opening = False
            f.cv.notify_all()
        raise
    with f.cv:
        f.con, f.read_only, f.users, f.opening = con, read_only, 1, False
        f.cv.notify_all()
    return f, con


def _release(f: _LakeFile) -> None:
    with f.cv:
        f.users -= 1
        if f.users == 0 and f.con is not None:
            con, f.con = f.con, None
            try:
                con.close()  # let other processes have the file
            finally:
                f.cv.notify_all()


@contextmanager
def open_lake(path: Path, *, read_only: bool = False, timeout: float = 30.0, cancel: CancelToken | None = None,
              on_wait: Callable[[str], None] | None = None) -> Iterator[Any]:
    """A DuckDB connection (a cursor of the process's shared database) on a lake file, for the
    duration of the ``with`` block. Waits up to ``timeout`` seconds for another process to
    release the file (``on_wait`` is told once when it starts waiting; ``cancel`` stops the
    wait); raises :class:`LakeBusy` after that, :class:`LakeError` for any other failure."""
    f, con = _acquire(Path(path), read_only, timeout, cancel, on_wait)
    try:
        cursor = con.cursor()
    except BaseException:
        _release(f)
        raise
    try:
        yield cursor
    finally:
        try:
            cursor.close()
        finally:
            _release(f)
