"""The composition root: builds the database, services, API endpoint (and later the scheduler)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wedata.actions.registry import build_routes
from wedata.config import Settings
from wedata.protocol.endpoint import ApiEndpoint, EndpointConfig
from wedata.protocol.ratelimit import RateLimiter
from wedata.services.common import Clock, SystemClock
from wedata.services.container import Services
from wedata.storage.credentials import CredentialStore
from wedata.storage.db import Database
from wedata.storage.migrate import upgrade

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


def build_runtime(settings: Settings, clock: Clock | None = None, migrate: bool = True) -> Runtime:
    settings.home.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url, threads=settings.api_thread_count)
    if migrate:
        upgrade(db)
    if clock is None:
        from wedata.scheduler.clock import make_clock

        clock = make_clock(settings.clock_start, settings.clock_factor)
    services = Services(db, settings, clock or SystemClock())
    credentials = CredentialStore(db)
    endpoint = ApiEndpoint(
        build_routes(services),
        credentials,
        EndpointConfig(
            max_body_bytes=settings.max_body_bytes,
            max_clock_skew=settings.max_clock_skew,
            rate_limiter=RateLimiter(settings.rate_limit, max_inflight=settings.max_inflight),
            api_threads=settings.api_thread_count,
        ),
    )
    return Runtime(settings, db, services, credentials, endpoint)


async def _healthz(_request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


def start_engine(runtime: Runtime, kind: str = "server") -> Any:
    """Start the scheduler engine (planning, dispatch, local executor) in this process."""
    from wedata.scheduler.engine import Engine

    engine = Engine(runtime.db, runtime.settings, runtime.services.clock, kind=kind)
    runtime.services.instances.attach_engine(engine)
    engine.start()
    runtime.engine = engine
    return engine


def stop_engine(runtime: Runtime) -> None:
    if runtime.engine is not None:
        runtime.services.instances.attach_engine(None)
        runtime.engine.stop()
        runtime.engine = None


def create_app(settings: Settings, runtime: Runtime | None = None) -> Starlette:
    runtime = runtime or build_runtime(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # `wedata server` runs API + scheduler + local executor in one process by default.
        if settings.scheduler_enabled and runtime.engine is None:
            start_engine(runtime)
        # Alarm deliveries (webhooks) and the overtime sweep run on their own thread, reading
        # the durable outbox; every server process runs one (services/alarm_delivery.py).
        runtime.services.alarms.start_worker()
        # Async ops jobs (KillTaskInstancesAsync ...) run on their own threads, resuming the
        # unfinished jobs found in the database (services/ops_jobs.py).
        runtime.services.ops_jobs.start_worker()
        try:
            yield
        finally:
            runtime.services.ops_jobs.stop_worker()
            runtime.services.alarms.stop_worker()
            stop_engine(runtime)
            runtime.endpoint.close()

    app = Starlette(
        routes=[
            Route("/healthz", _healthz, methods=["GET"]),
            Route("/", runtime.endpoint, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        ],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app
