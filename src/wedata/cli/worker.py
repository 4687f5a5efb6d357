"""``wedata worker``: run a Celery worker for remote resource groups (docs/workers.md).

The worker needs the database the server uses (``--database-url`` / ``WEDATA_DATABASE_URL``:
PostgreSQL when it runs on another machine) and the broker (``--broker-url`` /
``WEDATA_BROKER_URL``, Redis by default, ``amqp://`` for RabbitMQ); ``--home`` is its own
directory for run directories. It never opens the server's key file and never migrates: the
schema must already be there (the server upgrades it).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from wedata.cli.errors import CliError

_HOME_HELP = "This worker's own directory for run directories (default $WEDATA_HOME or ~/.wedata)."


@click.command()
@click.option("--groups", required=True, metavar="G1,G2",
              help="Resource group ids whose attempts this worker runs (queues wedata.rg.<id>).")
@click.option("--slots", default=4, show_default=True, type=click.IntRange(1, 512),
              help="Attempts run at once.")
@click.option("--broker-url", default=None, envvar="WEDATA_BROKER_URL",
              help="Celery broker: redis://host:6379/0 (default) or amqp://user:pass@host:5672//.")
@click.option("--database-url", default=None, help="The server's database (default $WEDATA_DATABASE_URL).")
@click.option("--home", default=None, help=_HOME_HELP)
def worker(groups: str, slots: int, broker_url: str | None, database_url: str | None, home: str | None) -> None:
    """Run a Celery worker for remote resource groups (WEDATA_REMOTE_GROUPS on the server)."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from wedata.cli.admin import _safe_url
    from wedata.config import Settings
    from wedata.executors.sandbox import SandboxError, SandboxSettings
    from wedata.executors.worker import Worker, WorkerConfig
    from wedata.storage.db import Database
    from wedata.storage.remote_runs import RemoteRunStore

    settings = Settings.from_env().with_overrides(
        home=Path(home).expanduser() if home else None, database_url=database_url, broker_url=broker_url)
    names = tuple(g.strip() for g in groups.split(",") if g.strip())
    if not names:
        raise CliError("--groups names no resource group")
    logging.basicConfig(level=getattr(logging, settings.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    settings.home.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url, prepare_threshold=settings.pg_prepare_threshold, pool_size=settings.pg_pool_size)
    try:
        with db.read() as conn:
            present = inspect(conn).has_table("remote_runs")
    except SQLAlchemyError as exc:
        raise CliError(f"cannot open the database {_safe_url(settings.db_url)}: {exc}") from None
    if not present:
        raise CliError(f"the database {_safe_url(settings.db_url)} has no worker tables: start the server "
                       "(or run `wedata db upgrade`) against it first")
    click.echo(f"wedata worker: groups {','.join(names)}, {slots} slot(s), database {_safe_url(settings.db_url)}, "
               f"broker {_safe_url(settings.broker_url)}, home {settings.home}", err=True)
    config = WorkerConfig(
        groups=names, slots=slots, home=settings.home, broker_url=settings.broker_url,
        lease=settings.worker_lease, heartbeat_interval=min(settings.heartbeat_interval, settings.worker_lease / 4),
        kill_grace=settings.kill_grace, visibility_timeout=settings.broker_visibility_timeout,
        sandbox=SandboxSettings.from_settings(settings), loglevel=settings.log_level,
    )
    try:
        Worker(RemoteRunStore(db), config).run()
    except SandboxError as exc:
        raise CliError(str(exc)) from None
