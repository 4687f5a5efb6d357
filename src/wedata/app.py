"""The composition root: builds the database, services, API endpoint (and later the scheduler)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

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


def build_runtime(settings: Settings, clock: Clock | None = None, migrate: bool = True) -> Runtime:
    settings.home.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    if migrate:
        upgrade(db)
    services = Services(db, settings, clock or SystemClock())
    credentials = CredentialStore(db)
    endpoint = ApiEndpoint(
        build_routes(services),
        credentials,
        EndpointConfig(
            max_body_bytes=settings.max_body_bytes,
            max_clock_skew=settings.max_clock_skew,
            rate_limiter=RateLimiter(settings.rate_limit),
        ),
    )
    return Runtime(settings, db, services, credentials, endpoint)


async def _healthz(_request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


def create_app(settings: Settings, runtime: Runtime | None = None) -> Starlette:
    runtime = runtime or build_runtime(settings)
    app = Starlette(
        routes=[
            Route("/healthz", _healthz, methods=["GET"]),
            Route("/", runtime.endpoint, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        ]
    )
    app.state.runtime = runtime
    return app
