"""``wedata server --workers N``: N API processes on one port, the engine in the parent.

The parent binds the port (``admin._bind``), runs the migrations and the first credential once,
and runs the engine (unless ``--no-scheduler``); uvicorn's supervisor then spawns N processes
that each build their own runtime from the environment (``wedata.app:app_from_env``) and accept
connections on the shared socket (the kernel spreads them). A child that dies is replaced by the
supervisor. Everything the API processes share lives in the database, so any of them answers any
request; the per-credential rate and in-flight limits are per process (N processes allow N times
the rate). See docs/deploy.md.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import click


def _child_env(settings: Any) -> dict[str, str]:
    """The settings the children must share with this process, as their environment: every
    override the command line made (the rest they read from the same environment)."""
    env = {
        "WEDATA_HOME": str(settings.home),
        "WEDATA_HOST": settings.host,
        "WEDATA_PORT": str(settings.port),
        "WEDATA_RATE_LIMIT": repr(float(settings.rate_limit)),
        "WEDATA_SCHEDULER": "0",  # the engine runs here, in the parent, or elsewhere
    }
    if settings.database_url:
        env["WEDATA_DATABASE_URL"] = settings.database_url
    return env


def serve_processes(runtime: Any, sock: socket.socket, workers: int) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from wedata.app import start_engine, stop_engine

    settings = runtime.settings
    if settings.db_url.startswith("sqlite"):
        click.echo("note: several API processes on SQLite take turns for every write (one writer at a time "
                   "across processes); use PostgreSQL for --workers (docs/deploy.md)", err=True)
    os.environ.update(_child_env(settings))
    if settings.scheduler_enabled:
        start_engine(runtime)
    click.echo(f"wedata-server listening on http://{settings.host}:{settings.port} with {workers} API processes "
               f"(home {settings.home}; engine {'in pid ' + str(os.getpid()) if settings.scheduler_enabled else 'off'})",
               err=True)
    config = uvicorn.Config(
        "wedata.app:app_from_env", factory=True, workers=workers, host=settings.host, port=settings.port,
        log_level="warning", access_log=False, http="httptools",
    )
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        stop_engine(runtime)
        runtime.db.dispose()
