"""Run the Alembic migrations programmatically (``wedata db upgrade`` and server start-up)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

from wedata.storage.db import Database
from wedata.storage.secrets import SecretBox

log = logging.getLogger("wedata.migrate")

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(db: Database, box: SecretBox | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    cfg.attributes["engine"] = db.engine
    # Migrations that encrypt or decrypt stored secrets (0007) take the key from here; without
    # it they run only on a database with nothing to convert.
    cfg.attributes["secret_box"] = box
    return cfg


def upgrade(db: Database, revision: str = "head", box: SecretBox | None = None) -> None:
    cfg = alembic_config(db, box)
    command.upgrade(cfg, revision)
    tables = cfg.attributes.get("scrub_tables")
    if tables:
        scrub(db, tables)


def scrub(db: Database, tables: list[str]) -> None:
    """Rewrite the storage after a migration replaced secrets, so that the old plain values do
    not linger: SQLite keeps them in free pages and WAL frames, PostgreSQL in dead row versions.

    SQLite's VACUUM may not run inside a transaction, hence here and not in the migration. What the
    database engine cannot reach is out of scope (PostgreSQL WAL segments, backups, replicas):
    docs/security.md tells operators to rotate credentials that were ever stored in plain text.
    """
    if db.is_sqlite:
        with db.engine.connect() as conn:  # autocommit on SQLite (storage/db.py)
            conn.exec_driver_sql("VACUUM")
            busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
        if busy and busy[0]:
            log.warning("the database's write-ahead log could not be truncated now (another process reads it)")
        return
    # PostgreSQL: VACUUM FULL keeps row versions that any open snapshot of the database may
    # still see (another process's transaction is enough), so it cannot promise the plain values
    # are gone. TRUNCATE gives the table a new file and empties the old one at commit, whatever
    # the snapshots; the rows (already encrypted) are copied back in the same transaction.
    with db.engine.begin() as conn:
        for table in tables:
            copy = f'"_scrub_{table}"'
            conn.exec_driver_sql(f'CREATE TEMPORARY TABLE {copy} ON COMMIT DROP AS SELECT * FROM "{table}"')
            conn.exec_driver_sql(f'TRUNCATE "{table}"')
            conn.exec_driver_sql(f'INSERT INTO "{table}" SELECT * FROM {copy}')


def downgrade(db: Database, revision: str, box: SecretBox | None = None) -> None:
    command.downgrade(alembic_config(db, box), revision)
