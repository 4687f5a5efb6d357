"""Local administration: ``server``, ``scheduler``, ``credentials``, ``db upgrade``, ``datasources test``,
``setup-sandbox``.

These commands work on this machine's WEDATA_HOME and database, resolved exactly as the server
resolves them (``--home``/``--database-url``, then ``WEDATA_HOME``/``WEDATA_DATABASE_URL``, then
``~/.wedata``), and each says on stderr which home and database it uses. A command that only
reads (``credentials list``) or removes (``credentials delete``) never creates a home, a key
file or a database: on a home that does not exist it says so and exits 1. Heavy imports
(uvicorn, SQLAlchemy, the app) happen inside the commands.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

import click

from wedata.cli.errors import CliError

_HOME_HELP = "Data directory (default $WEDATA_HOME or ~/.wedata)."
_DB_HELP = "SQLAlchemy URL; default SQLite under --home (or $WEDATA_DATABASE_URL)."


def _settings(home: str | None, database_url: str | None = None):  # type: ignore[no-untyped-def]
    from wedata.config import Settings

    return Settings.from_env().with_overrides(
        home=Path(home).expanduser() if home else None, database_url=database_url
    )


def _safe_url(url: str) -> str:
    """The database URL without its password."""
    return re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", url)


def announce(settings: Any) -> None:
    """The one line saying which home and database this command uses."""
    state = "" if settings.home.exists() else ", not created yet"
    click.echo(f"wedata home: {settings.home}{state} (database {_safe_url(settings.db_url)})", err=True)


def _configure_logging(level: str, tag: str = "") -> None:
    """``tag``: shown after each line's logger name (the server's engine process: "[engine PID]")."""
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format=f"%(asctime)s %(levelname)s %(name)s{tag} %(message)s",
        stream=sys.stderr,
        force=True,
    )


# The mark of the server's engine process on its log lines (they share the server's stderr).
_ENGINE_TAG = " [engine %(process)d]"


def _engine_child_logging(level: str) -> Any:
    return lambda: _configure_logging(level, _ENGINE_TAG)


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


@click.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default 8080).")
@click.option("--home", default=None, help=_HOME_HELP)
@click.option("--database-url", default=None, help="SQLAlchemy URL; default SQLite under --home.")
@click.option("--rate-limit", default=None, type=float, help="Requests/s per credential and action; 0 = off.")
@click.option("--no-scheduler", is_flag=True, default=False,
              help="Serve the API only (as WEDATA_SCHEDULER=0): `wedata scheduler` processes run the engine.")
@click.option("--workers", default=1, type=click.IntRange(1, 64), show_default=True, envvar="WEDATA_API_PROCESSES",
              help="API processes sharing the port ($WEDATA_API_PROCESSES); with more than one, this process "
                   "runs only the engine (docs/deploy.md). Meant for PostgreSQL.")
def server(host: str | None, port: int | None, home: str | None, database_url: str | None,
           rate_limit: float | None, no_scheduler: bool, workers: int) -> None:
    """Run the API server (with the scheduler and local executor)."""
    import uvicorn

    from wedata.app import build_runtime, create_app

    settings = _settings(home, database_url).with_overrides(host=host, port=port, rate_limit=rate_limit)
    if no_scheduler:
        settings = settings.with_overrides(scheduler_enabled=False)
    # Take the port before anything else (home, key file, migrations, engine): a second server
    # on a used port must fail without touching the database. The bound socket is handed to
    # uvicorn, so nothing can take the port in between.
    sock = _bind(settings.host, settings.port)
    announce(settings)
    _configure_logging(settings.log_level)
    if not settings.access_log:
        logging.getLogger("wedata.api").setLevel(logging.WARNING)
    runtime = build_runtime(settings)
    ensure_first_credential(runtime)
    sys.setswitchinterval(settings.switch_interval_ms / 1000)
    if workers > 1:
        from wedata.cli.serve import serve_processes

        serve_processes(runtime, sock, workers)
        return
    engine_process = None
    if settings.scheduler_enabled and settings.engine_mode == "process":
        engine_process = _start_engine_process(runtime, sock)
    app = create_app(settings, runtime)
    where = f"engine in pid {engine_process.pid}" if engine_process else \
        ("engine in this process" if settings.scheduler_enabled else "engine off")
    click.echo(f"wedata-server listening on http://{settings.host}:{settings.port} (home {settings.home}; {where})",
               err=True)
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
    try:
        server.run(sockets=[sock])
    finally:
        if engine_process is not None:
            engine_process.stop()
    if not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE, as uvicorn.run exits


def _start_engine_process(runtime: Any, sock: Any) -> Any:
    """The engine in a child process (cli/engine_process.py), running before the API answers."""
    from wedata.cli.engine_process import EngineProcess, EngineStartError

    settings = runtime.settings
    child_env = {"WEDATA_HOME": str(settings.home)}
    if settings.database_url:
        child_env["WEDATA_DATABASE_URL"] = settings.database_url
    engine_process = EngineProcess(runtime, child_env)
    try:
        engine_process.start(inherited=[sock], child_setup=_engine_child_logging(settings.log_level))
    except EngineStartError as exc:
        raise click.ClickException(f"the scheduler engine could not start: {exc}") from None
    runtime.services.scheduler.attach(engine_process)
    runtime.engine_process = engine_process
    return engine_process


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


@click.command()
@click.option("--home", default=None, help=_HOME_HELP)
@click.option("--database-url", default=None, help="SQLAlchemy URL; default SQLite under --home.")
@click.option("--slots", default=None, type=int, help="Default slots per resource group (default 4).")
@click.option("--attached", default=None, type=int, hidden=True,
              help="The engine process of a `wedata server`, started again: its socket's descriptor.")
def scheduler(home: str | None, database_url: str | None, slots: int | None, attached: int | None) -> None:
    """Run the scheduler engine alone (no API) against the same database."""
    import signal
    import threading

    from wedata.app import build_runtime, start_engine, stop_engine

    settings = _settings(home, database_url).with_overrides(default_slots=slots)
    if attached is not None:
        from wedata.cli.engine_process import attach_child, run_attached

        sock = attach_child(attached)
        _configure_logging(settings.log_level, _ENGINE_TAG)
        sys.setswitchinterval(settings.switch_interval_ms / 1000)
        sys.exit(run_attached(build_runtime(settings, migrate=False), sock))
    announce(settings)
    _configure_logging(settings.log_level)
    runtime = build_runtime(settings)
    sys.setswitchinterval(settings.switch_interval_ms / 1000)  # as `wedata server` does
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    start_engine(runtime, kind="scheduler", own_process=True)
    click.echo(f"wedata scheduler running (home {settings.home}); Ctrl-C to stop", err=True)
    stop.wait()
    stop_engine(runtime)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _existing_database(settings: Any) -> Any:
    """The database of an existing home, opened without creating or migrating anything."""
    if settings.database_url is None:
        if not settings.home.is_dir():
            raise CliError(f"no wedata home at {settings.home} (start the server once or pass --home)")
        db_file = settings.home / "wedata.db"
        if not db_file.is_file():
            raise CliError(f"no database at {db_file} (start the server once or pass --home)")
    from wedata.storage.db import Database

    return Database(settings.db_url, prepare_threshold=settings.pg_prepare_threshold, pool_size=settings.pg_pool_size)


def _no_box() -> Any:
    """Listing and deleting credentials never decrypt a secret: they need no key file."""
    return None


def _credential_store(home: str | None) -> Any:
    from wedata.storage.credentials import CredentialStore

    settings = _settings(home)
    announce(settings)
    return CredentialStore(_existing_database(settings), _no_box())


def _database_errors(action: str, settings_url: str) -> Any:
    """Turn a database failure into one line naming the database."""
    from contextlib import contextmanager

    from sqlalchemy.exc import SQLAlchemyError

    @contextmanager
    def guard() -> Any:
        try:
            yield
        except SQLAlchemyError as exc:
            first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise CliError(f"cannot {action} in {_safe_url(settings_url)}: {first}") from None

    return guard()


@click.group()
def credentials() -> None:
    """Manage API credentials (SecretId/SecretKey -> Uin) in this machine's database."""


@credentials.command("create")
@click.option("--uin", required=True, help="The user (Uin) the credential acts as.")
@click.option("--admin", is_flag=True, help="Tenant administrator: sees every project.")
@click.option("--secret-id", default=None, help="Choose the SecretId (default: a new random AKID...).")
@click.option("--secret-key", default=None, help="Choose the SecretKey (default: a new random key).")
@click.option("--token", default=None, help="Require this X-TC-Token (temporary credential).")
@click.option("--description", default="", help="A note shown by `credentials list`.")
@click.option("--home", default=None, help=_HOME_HELP)
def credentials_create(uin: str, admin: bool, secret_id: str | None, secret_key: str | None,
                       token: str | None, description: str, home: str | None) -> None:
    """Create a credential and print its SecretId and SecretKey (the key is shown only here)."""
    from wedata.storage.credentials import CredentialStore
    from wedata.storage.home import open_database

    settings = _settings(home)
    announce(settings)
    store = CredentialStore(*open_database(settings))
    try:
        cred = store.create(
            uin, secret_id=secret_id, secret_key=secret_key, token=token, is_admin=admin, description=description
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"SecretId:  {cred.secret_id}\nSecretKey: {cred.secret_key}\nUin:       {cred.uin}")


@credentials.command("list")
@click.option("--home", default=None, help=_HOME_HELP)
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: one tab-separated line per credential (SecretId, Uin, flags, description); json: a list.")
def credentials_list(home: str | None, output: str) -> None:
    """List the credentials (never their keys). Creates nothing: the home must exist."""
    store = _credential_store(home)
    with _database_errors("list the credentials", store.db.url):
        rows = store.list()
    if output == "json":
        click.echo(json.dumps([{"SecretId": r.secret_id, "Uin": r.uin, "Admin": r.is_admin, "Token": r.has_token,
                                "Description": r.description} for r in rows], indent=2))
        return
    for row in rows:
        flags = ",".join(f for f, on in (("admin", row.is_admin), ("token", row.has_token)) if on) or "-"
        click.echo(f"{row.secret_id}\t{row.uin}\t{flags}\t{row.description}")


@credentials.command("delete")
@click.argument("secret_id")
@click.option("--home", default=None, help=_HOME_HELP)
def credentials_delete(secret_id: str, home: str | None) -> None:
    """Delete a credential; servers stop accepting it within 5 seconds."""
    store = _credential_store(home)
    with _database_errors("delete the credential", store.db.url):
        deleted = store.delete(secret_id)
    if not deleted:
        raise click.ClickException(f"no credential {secret_id}")
    click.echo(f"deleted {secret_id}")


@click.group()
def datasources() -> None:
    """Data source commands."""


@datasources.command("test")
@click.argument("source_id", type=int)
@click.option("--home", default=None, help=_HOME_HELP)
@click.option("--database-url", default=None, help="SQLAlchemy URL; default SQLite under --home.")
def datasources_test(source_id: int, home: str | None, database_url: str | None) -> None:
    """Test a data source's connections now (connect + SELECT 1, as CreateDataSource does)."""
    from wedata.app import build_runtime
    from wedata.services.errors import ServiceError

    settings = _settings(home, database_url)
    runtime = build_runtime(settings)
    try:
        results = runtime.services.datasources.test_source(source_id)
    except ServiceError as exc:
        # This command's failure is one line on stderr (tests/actions/datasources): the home is
        # named inside it rather than on a line of its own.
        raise click.ClickException(f"{exc.message} (wedata home {settings.home})") from None
    finally:
        runtime.db.dispose()
    announce(settings)
    for result in results:
        click.echo(f"data source {source_id} {result.side}: ok ({result.seconds * 1000:.0f} ms)")


@click.command("setup-sandbox")
@click.option("--user", default=None, help="Run-as user to create (default $WEDATA_RUN_AS_USER or wedata-run).")
@click.option("--home", default=None, help=_HOME_HELP)
def setup_sandbox(user: str | None, home: str | None) -> None:
    """Prepare task isolation: create the run-as user (as root) and report what auto mode gets."""
    from wedata.executors.sandbox import SandboxError, setup

    settings = _settings(home)
    announce(settings)
    try:
        for line in setup(settings, user):
            click.echo(line)
    except SandboxError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
@click.option("--home", default=None, help=_HOME_HELP)
@click.option("--database-url", default=None, help=_DB_HELP)
def db_upgrade(home: str | None, database_url: str | None) -> None:
    """Apply the migrations (the server also does this on start); creates the home if needed."""
    from wedata.storage.home import open_database

    settings = _settings(home, database_url)
    announce(settings)
    open_database(settings)
    click.echo("database is up to date")
