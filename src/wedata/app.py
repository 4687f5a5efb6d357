"""The composition root: builds the database, services, API endpoint (and later the scheduler).

The home, its file modes, the key file and the migrations: storage/home.py (``open_database``).
"""

from __future__ import annotations

import gc
import json
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from wedata.actions.registry import build_routes
from wedata.actions.resources.upload import upload_route
from wedata.clock import Clock, SystemClock
from wedata.config import Settings
from wedata.console import Console
from wedata.protocol.endpoint import ApiEndpoint, EndpointConfig
from wedata.protocol.ratelimit import RateLimiter
from wedata.services.container import Services
from wedata.spec import VERSION as SPEC_VERSION
from wedata.storage.credentials import CredentialStore
from wedata.storage.db import Database
from wedata.storage.home import open_database
from wedata.storage.secrets import SecretBox

log = logging.getLogger("wedata")


@dataclass
class Runtime:
    """Everything one server process holds; tests and the CLI reach the parts through it."""

    settings: Settings
    db: Database
    services: Services
    credentials: CredentialStore
    endpoint: ApiEndpoint
    engine: Any = None  # scheduler.engine.Engine while the app runs with the scheduler
    # cli.engine_process.EngineProcess: the server's engine in a child process (WEDATA_ENGINE=process)
    engine_process: Any = None
    secrets: SecretBox | None = None  # encrypts what is stored (credentials, data-source passwords)


def build_runtime(settings: Settings, clock: Clock | None = None, migrate: bool = True) -> Runtime:
    threads = settings.api_thread_count + max(0, settings.api_write_thread_count)
    db, box = open_database(settings, threads=threads, migrate=migrate)
    if clock is None:
        from wedata.clock import make_clock

        clock = make_clock(settings.clock_start, settings.clock_factor)
    services = Services(db, settings, clock or SystemClock(), secrets=box)
    credentials = CredentialStore(db, box)
    endpoint = ApiEndpoint(
        build_routes(services),
        credentials,
        EndpointConfig(
            max_body_bytes=settings.max_body_bytes,
            max_clock_skew=settings.max_clock_skew,
            rate_limiter=RateLimiter(settings.rate_limit, max_inflight=settings.max_inflight),
            api_threads=settings.api_thread_count,
            write_threads=settings.api_write_thread_count,
        ),
    )
    return Runtime(settings, db, services, credentials, endpoint, secrets=box)


async def _healthz(request: Request) -> Response:
    # "isolation": how this process's engine sandboxes tasks (executors/sandbox.py); null when
    # the process runs no engine.
    # "database": "ok" or "unreachable for N s: <reason>", as this process's loops last saw it
    # (storage/health.py); "dispatch": "running", "paused: <why>" (a full disk,
    # scheduler/diskguard.py), null without an engine. Either fault makes "status" "degraded"
    # (still HTTP 200: the process is alive and restarting it would not help).
    # With the engine in a child process (cli/engine_process.py), what it last reported;
    # "dispatch" is then "starting" or "restarting" while it is not running.
    runtime = request.app.state.runtime
    engine, child = runtime.engine, runtime.engine_process
    if engine is not None:
        isolation, dispatch = getattr(engine.executor, "isolation", None), engine.dispatch_state
    elif child is not None:
        isolation, dispatch = child.isolation, child.dispatch_state
    else:
        isolation, dispatch = None, None
    database = runtime.db.health.describe()
    healthy = database == "ok" and dispatch in (None, "running")
    body = {"status": "ok" if healthy else "degraded", **(isolation or {"isolation": None}),
            "database": database, "dispatch": dispatch}
    return Response(json.dumps(body, separators=(",", ":")).encode(), media_type="application/json")


class _Root:
    """``/``: the API, except a browser's plain ``GET /`` (no query, no Authorization header),
    which is sent to the console. Every API request carries one or the other (TC3: the header;
    v1 and signed GETs: the query), so the wire behaviour is unchanged. (A class, not a function:
    Starlette calls a function route as a request -> response endpoint, this is an ASGI app.)"""

    def __init__(self, endpoint: ApiEndpoint) -> None:
        self.endpoint = endpoint
        self.console = RedirectResponse("/console/", status_code=302)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if (scope["method"] == "GET" and not scope.get("query_string")
                and not any(name == b"authorization" for name, _ in scope["headers"])):
            await self.console(scope, receive, send)
        else:
            await self.endpoint(scope, receive, send)


class _App(Starlette):
    """Starlette, with the API's own path first: a signed ``GET``/``POST /`` goes straight to
    :class:`_Root`, not through Starlette's error and exception middlewares and router (~0.1 ms
    of the event loop's CPU a request; the API endpoint catches its own errors and answers every
    one as a Tencent Cloud error envelope). Every other request takes Starlette's path."""

    root: _Root | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        root = self.root
        if root is not None and scope["type"] == "http" and scope["path"] == "/" and scope["method"] in ("GET", "POST"):
            scope["app"] = self
            await root(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def build_console(runtime: Runtime) -> Console:
    """The web console on the same action routes as the API (console/)."""
    box = runtime.secrets or SecretBox.from_key_file(runtime.settings.key_path)
    return Console(routes=runtime.endpoint.versions[SPEC_VERSION], version=SPEC_VERSION,
                   credentials=runtime.credentials, session_key=box.derive_key("console-session"),
                   access=runtime.services.projects.access, edges=runtime.services.task_dependencies,
                   runs=runtime.services.workflow_runs, plans=runtime.services.backfill,
                   deliveries=runtime.services.alarms)


def start_engine(runtime: Runtime, kind: str = "server", *, own_process: bool = False) -> Any:
    """Start the scheduler engine (planning, dispatch, local executor) in this process.
    ``own_process``: the process runs the engine and no API (``wedata scheduler``, the server's
    engine process), so its database connections carry the engine's plan settings from their
    start instead of setting them in each cycle."""
    from wedata.scheduler.engine import OLTP_PLANS, Engine

    if own_process:
        runtime.db.engine_sessions(OLTP_PLANS)
    scheduler = runtime.services.scheduler
    # SQL tasks reach their data sources through the services (grants, decrypted passwords,
    # pools): the engine gets them as a resolver and never imports the services itself.
    engine = Engine(runtime.db, runtime.settings, runtime.services.clock, kind=kind, defs=scheduler.defs,
                    sql_resolver=runtime.services.sql_targets)
    scheduler.attach(engine)
    engine.start()
    runtime.engine = engine
    return engine


def stop_engine(runtime: Runtime) -> None:
    if runtime.engine is not None:
        runtime.services.scheduler.attach(None)
        runtime.engine.stop()
        runtime.engine = None


def app_from_env() -> Starlette:
    """The app of one API process of ``wedata server --workers N`` (cli/serve.py): settings from
    the environment the parent set, no migrations (the parent ran them), no engine."""
    import logging

    settings = Settings.from_env()
    logging.basicConfig(level=getattr(logging, settings.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s [api %(process)d] %(message)s")
    if not settings.access_log:
        logging.getLogger("wedata.api").setLevel(logging.WARNING)
    sys.setswitchinterval(settings.switch_interval_ms / 1000)  # as the single-process server does
    return create_app(settings, build_runtime(settings, migrate=False))


def freeze_startup_heap() -> None:
    """Moves every object alive once the server has started (modules, the spec's tables, compiled
    statements, the runtime) into the collector's permanent generation. They live as long as the
    process, yet each full collection walked them all again: ~140,000 objects, 80+ ms a time, the
    p95 of console pages and API requests alike (tools/bench/console.py --no-gc-freeze shows it)."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings, runtime: Runtime | None = None) -> Starlette:
    runtime = runtime or build_runtime(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # The engine runs here unless `wedata server` started it in a process of its own.
        if settings.scheduler_enabled and runtime.engine is None and runtime.engine_process is None:
            start_engine(runtime)
        # Alarm deliveries (webhooks) and the overtime sweep run on their own thread, reading
        # the durable outbox; every server process runs one (services/alarms/delivery.py).
        runtime.services.alarms.start_worker()
        # Async ops jobs (KillTaskInstancesAsync ...) run on their own threads, resuming the
        # unfinished jobs found in the database (services/jobs.py).
        runtime.services.ops_jobs.start_worker()
        # The catalog's refresh worker re-reads the catalogued sources (services/catalog/); SQL
        # script runs execute on their own threads, claiming QUEUED runs from the database and
        # ending FAILED those a stopped server left RUNNING (services/sql/queue.py).
        runtime.services.catalog.start_worker()
        runtime.services.sql_runs.start_worker()
        # Automatic lineage: parses the statements of successful SQL runs (services/lineage/).
        runtime.services.lineage.start_worker()
        # Workflow runs queued behind MaxConcurrentNum: expiry after 48 h and re-admission
        # (services/triggers/concurrency.py).
        runtime.services.trigger_queue.start()
        # Time and file-arrival triggers of trigger workflows (services/triggers/firing.py); safe
        # in several processes (each fire has a unique row).
        runtime.services.trigger_firing.start_worker()
        # Data quality checks after successful attempts of attached tasks (services/quality/).
        runtime.services.quality.start_worker()
        freeze_startup_heap()
        try:
            yield
        finally:
            runtime.services.quality.stop_worker()
            runtime.services.trigger_firing.stop_worker()
            runtime.services.trigger_queue.stop()
            runtime.services.lineage.stop_worker()
            runtime.services.sql_runs.stop_worker()
            runtime.services.catalog.stop_worker()
            runtime.services.ops_jobs.stop_worker()
            runtime.services.alarms.stop_worker()
            stop_engine(runtime)
            # Here, not after the server returns: uvicorn ends the process by the signal it got
            # (SIGTERM) right after this shutdown, and the engine process must stop cleanly first.
            if runtime.engine_process is not None:
                runtime.engine_process.stop()
            runtime.endpoint.close()
            runtime.services.datasources.pools.close()

    root = _Root(runtime.endpoint)
    app = _App(
        routes=[
            Route("/healthz", _healthz, methods=["GET"]),
            # The bytes of resource files (signed like an API call; actions/resources/upload.py).
            upload_route(runtime.services, runtime.credentials, settings.max_clock_skew),
            Route("/", root, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
            *build_console(runtime).starlette_routes(),
        ],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.root = root
    return app
