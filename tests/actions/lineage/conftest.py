"""Lineage through the official SDK, on the fast-clock server of the SQL task tests (SQLite and
PostgreSQL servers), against the real PostgreSQL of this machine and the server's lake."""

from __future__ import annotations

from tests.actions.datasources.conftest import mariadb, postgres  # noqa: F401 (fixtures)
from tests.actions.sql_tasks.conftest import api, fast, my_source, pg_source, space  # noqa: F401 (fixtures)
