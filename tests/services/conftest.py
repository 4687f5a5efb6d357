"""Fixtures of the service tests: a fresh, migrated database per test, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scheduler.helpers import new_db
from wedata.storage.db import Database


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database, cleanup = new_db(tmp_path, request.param)
    yield database
    cleanup()
