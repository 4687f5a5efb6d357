"""WEDATA_HOME and the database in it, opened the one way the server and the CLI share.

``WEDATA_HOME`` is made (or put back to) 0700 here, and the SQLite files under it 0600, so
nothing the server keeps is readable by other local users; the CLI also sets the umask to 0o077
so every file created later (logs, run directories) is private. The key file that encrypts the
stored secrets is loaded before the migrations (0007 needs it). Kept apart from the composition
root (app.py) so that the CLI's credential and database commands open the database without
importing every service and action (a second instead of a third of one).
"""

from __future__ import annotations

import logging
import stat
from pathlib import Path

from wedata.config import Settings
from wedata.storage.credentials import CredentialStore
from wedata.storage.db import Database
from wedata.storage.secrets import SecretBox

log = logging.getLogger("wedata.app")

__all__ = ["open_database", "prepare_home"]


def _make_private(path: Path, mode: int, what: str) -> None:
    current = stat.S_IMODE(path.stat().st_mode)
    if current & 0o077:
        path.chmod(mode)
        log.warning("%s %s had mode %04o (open to other users); set it to %04o", what, path, current, mode)


def prepare_home(settings: Settings) -> None:
    """Create WEDATA_HOME 0700, or tighten an existing one (and its SQLite files) with a log line."""
    home = settings.home
    if not home.exists():
        home.mkdir(parents=True, mode=0o700)
        home.chmod(0o700)  # mkdir's mode is filtered by the umask
    else:
        _make_private(home, 0o700, "WEDATA_HOME")
    if settings.database_url is not None:
        return
    for name in ("wedata.db", "wedata.db-wal", "wedata.db-shm"):
        if (home / name).exists():
            _make_private(home / name, 0o600, "The database file")


def open_database(settings: Settings, *, threads: int = 0, migrate: bool = True) -> tuple[Database, SecretBox]:
    """The home prepared, the key file loaded (refused before the database is touched when it
    is unusable), the database opened and migrated, and the key checked against it."""
    prepare_home(settings)
    box = SecretBox.from_key_file(settings.key_path)
    if settings.database_url is None and not (settings.home / "wedata.db").exists():
        # Created 0600 (once the key file passed) before SQLite creates it with the umask's mode
        # (the CLI sets 077, a library user may not); its WAL and shared-memory files take the
        # database file's mode.
        (settings.home / "wedata.db").touch(mode=0o600)
        (settings.home / "wedata.db").chmod(0o600)
    db = Database(settings.db_url, threads=threads, prepare_threshold=settings.pg_prepare_threshold,
                  pool_size=settings.pg_pool_size)
    if migrate:
        from wedata.storage.migrate import upgrade  # alembic: only when migrating

        upgrade(db, box=box)
    CredentialStore(db, box).check_key()
    return db, box
