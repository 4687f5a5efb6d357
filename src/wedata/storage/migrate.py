"""Run the Alembic migrations programmatically (``wedata db upgrade`` and server start-up)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from wedata.storage.db import Database
from wedata.storage.secrets import SecretBox

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
    command.upgrade(alembic_config(db, box), revision)


def downgrade(db: Database, revision: str, box: SecretBox | None = None) -> None:
    command.downgrade(alembic_config(db, box), revision)
