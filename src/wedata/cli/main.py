"""``wedata``: server, scheduler, credentials and database commands.

Heavy imports (uvicorn, SQLAlchemy, rich) happen inside the commands so that ``wedata --help``
stays fast.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click


def _settings(home: str | None, database_url: str | None = None):  # type: ignore[no-untyped-def]
    from wedata.config import Settings

    return Settings.from_env().with_overrides(
        home=Path(home).expanduser() if home else None, database_url=database_url
    )


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )


@click.group()
@click.version_option(package_name="wedata-server")
def main() -> None:
    """wedata-server: a self-hosted WeData (API 2025-08-06) scheduler."""
    # Every command writes only under WEDATA_HOME (database, key file, logs, run directories):
    # whatever it creates is for the server's own user alone (files 0600, directories 0700).
    os.umask(0o077)


def ensure_first_credential(runtime) -> None:  # type: ignore[no-untyped-def]
    """On first start create an admin credential and print it once (or take it from the env)."""
    settings = runtime.settings
    store = runtime.credentials
    if settings.secret_id and settings.secret_key:
        existing = store.lookup(settings.secret_id)
        if existing is None:
            store.create(
                settings.admin_uin,
                secret_id=settings.secret_id,
                secret_key=settings.secret_key,
                is_admin=True,
                description="from WEDATA_SECRET_ID",
            )
        elif existing.secret_key != settings.secret_key:
            raise click.ClickException(
                f"WEDATA_SECRET_ID {settings.secret_id} exists with a different key; "
                "delete it with `wedata credentials delete` first"
            )
        return
    if store.count() == 0:
        cred = store.create(settings.admin_uin, is_admin=True, description="first admin credential")
        click.echo(
            "Created the first admin credential (shown once, keep it):\n"
            f"  SecretId:  {cred.secret_id}\n  SecretKey: {cred.secret_key}\n  Uin:       {cred.uin}",
            err=True,
        )


@main.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default 8080).")
@click.option("--home", default=None, help="Data directory (default $WEDATA_HOME or ~/.wedata).")
@click.option("--database-url", default=None, help="SQLAlchemy URL; default SQLite under --home.")
@click.option("--rate-limit", default=None, type=float, help="Requests/s per credential and action; 0 = off.")
def server(host: str | None, port: int | None, home: str | None, database_url: str | None,
           rate_limit: float | None) -> None:
    """Run the API server (with the scheduler and local executor)."""
    import uvicorn

    from wedata.app import build_runtime, create_app

    settings = _settings(home, database_url).with_overrides(host=host, port=port, rate_limit=rate_limit)
    # Take the port before anything else (home, key file, migrations, engine): a second server
    # on a used port must fail without touching the database. The bound socket is handed to
    # uvicorn, so nothing can take the port in between.
    sock = _bind(settings.host, settings.port)
    _configure_logging(settings.log_level)
    if not settings.access_log:
        logging.getLogger("wedata.api").setLevel(logging.WARNING)
    runtime = build_runtime(settings)
    ensure_first_credential(runtime)
    app = create_app(settings, runtime)
    click.echo(f"wedata-server listening on http://{settings.host}:{settings.port} (home {settings.home})", err=True)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        http="httptools",
        loop="uvloop" if _has("uvloop") else "asyncio",
    )
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE, as uvicorn.run exits


def _bind(host: str, port: int):  # type: ignore[no-untyped-def]
    """A listening-ready TCP socket on (host, port), or a clear error if the port is taken."""
    import socket

    # As uvicorn binds for its workers (Config.bind_socket): IPv6 when the host has a colon;
    # a port left in TIME_WAIT by a previous server can be reused, one in use cannot.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} (another wedata server or program "
            "uses it?); nothing was started"
        ) from None
    return sock


@main.command()
@click.option("--home", default=None, help="Data directory (default $WEDATA_HOME or ~/.wedata).")
@click.option("--database-url", default=None, help="SQLAlchemy URL; default SQLite under --home.")
@click.option("--slots", default=None, type=int, help="Default slots per resource group (default 4).")
def scheduler(home: str | None, database_url: str | None, slots: int | None) -> None:
    """Run the scheduler engine alone (no API) against the same database."""
    import signal
    import threading

    from wedata.app import build_runtime, start_engine, stop_engine

    settings = _settings(home, database_url).with_overrides(default_slots=slots)
    _configure_logging(settings.log_level)
    runtime = build_runtime(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    start_engine(runtime, kind="scheduler")
    click.echo(f"wedata scheduler running (home {settings.home}); Ctrl-C to stop", err=True)
    stop.wait()
    stop_engine(runtime)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@main.group()
def credentials() -> None:
    """Manage API credentials (SecretId/SecretKey -> Uin)."""


@credentials.command("create")
@click.option("--uin", required=True, help="The user (Uin) the credential acts as.")
@click.option("--admin", is_flag=True, help="Tenant administrator: sees every project.")
@click.option("--secret-id", default=None)
@click.option("--secret-key", default=None)
@click.option("--token", default=None, help="Require this X-TC-Token (temporary credential).")
@click.option("--description", default="")
@click.option("--home", default=None)
def credentials_create(uin: str, admin: bool, secret_id: str | None, secret_key: str | None,
                       token: str | None, description: str, home: str | None) -> None:
    from wedata.app import build_runtime

    runtime = build_runtime(_settings(home))
    try:
        cred = runtime.credentials.create(
            uin, secret_id=secret_id, secret_key=secret_key, token=token, is_admin=admin, description=description
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"SecretId:  {cred.secret_id}\nSecretKey: {cred.secret_key}\nUin:       {cred.uin}")


@credentials.command("list")
@click.option("--home", default=None)
def credentials_list(home: str | None) -> None:
    from wedata.app import build_runtime

    runtime = build_runtime(_settings(home))
    for row in runtime.credentials.list():
        flags = ",".join(f for f, on in (("admin", row.is_admin), ("token", row.has_token)) if on) or "-"
        click.echo(f"{row.secret_id}\t{row.uin}\t{flags}\t{row.description}")


@credentials.command("delete")
@click.argument("secret_id")
@click.option("--home", default=None)
def credentials_delete(secret_id: str, home: str | None) -> None:
    from wedata.app import build_runtime

    runtime = build_runtime(_settings(home))
    if not runtime.credentials.delete(secret_id):
        raise click.ClickException(f"no credential {secret_id}")
    click.echo(f"deleted {secret_id}")


@main.group()
def datasources() -> None:
    """Data source commands."""


@datasources.command("test")
@click.argument("source_id", type=int)
@click.option("--home", default=None, help="Data directory (default $WEDATA_HOME or ~/.wedata).")
@click.option("--database-url", default=None, help="SQLAlchemy URL; default SQLite under --home.")
def datasources_test(source_id: int, home: str | None, database_url: str | None) -> None:
    """Test a data source's connections now (connect + SELECT 1, as CreateDataSource does)."""
    from wedata.app import build_runtime
    from wedata.services.errors import ServiceError

    runtime = build_runtime(_settings(home, database_url))
    try:
        results = runtime.services.datasources.test_source(source_id)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        runtime.db.dispose()
    for result in results:
        click.echo(f"data source {source_id} {result.side}: ok ({result.seconds * 1000:.0f} ms)")


@main.command("setup-sandbox")
@click.option("--user", default=None, help="Run-as user to create (default $WEDATA_RUN_AS_USER or wedata-run).")
@click.option("--home", default=None)
def setup_sandbox(user: str | None, home: str | None) -> None:
    """Prepare task isolation: create the run-as user (as root) and report what auto mode gets."""
    from wedata.executors.sandbox import SandboxError, setup

    try:
        for line in setup(_settings(home), user):
            click.echo(line)
    except SandboxError as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
@click.option("--home", default=None)
@click.option("--database-url", default=None)
def db_upgrade(home: str | None, database_url: str | None) -> None:
    """Apply the migrations (the server also does this on start)."""
    from wedata.app import prepare_home
    from wedata.storage.credentials import CredentialStore
    from wedata.storage.db import Database
    from wedata.storage.migrate import upgrade
    from wedata.storage.secrets import SecretBox

    settings = _settings(home, database_url)
    prepare_home(settings)
    box = SecretBox.from_key_file(settings.key_path)
    database = Database(settings.db_url)
    upgrade(database, box=box)
    CredentialStore(database, box).check_key()
    click.echo("database is up to date")


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
