"""The action registry: ``@action("GetTask")`` handlers, per API version.

A handler is ``handler(services, ctx, request) -> <Action>Response`` Struct. The wrapper built
here adds what every action shares: the one authorization check (services/permissions/
authorize.py: a caller who is not a member of the project named by ``ProjectId`` gets
``UnauthorizedOperation.UserNotInProject``; one whose roles or workflow grants lack what the
action needs gets ``UnauthorizedOperation`` naming it) and the mapping of domain errors onto
Tencent Cloud codes.

What an action needs (``ActionDef.need``) comes from its name (services/projects/needs.py) unless
the decorator says otherwise (``need=Need.READ``; ``operate=True`` is ``need=Need.OPERATE``). An
action whose request has no ``ProjectId`` needs ``service``: its service checks the resource the
request names. docs/permissions.md lists every action's need (tools/gen_permissions.py).

``standing_in_read=True`` (read-only actions that need only ``read``; GetTask): the handler's
own statement also reads the caller's standing (services/projects/access.py
``standing_columns``) and hands it to ``Authorizer.remember``; the registry decides AFTER the
handler, on that standing, before the answer leaves. One statement less on the hottest read.
The check itself never moves out of the registry: a handler that read no standing is checked
with the usual query, and when the handler fails, the check runs first, so a caller who may not
read the project learns nothing from the handler's error (``UserNotInProject``, never
``ResourceNotFound``). Writes are never checked late: their effects would precede the check.
"""

from __future__ import annotations

import importlib
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wedata.protocol.context import RequestContext
from wedata.protocol.endpoint import Handler, Route, VersionRoutes
from wedata.protocol.errors import ApiError
from wedata.services import errors as service_errors
from wedata.services.projects.needs import Need, need_of, reads_only
from wedata.spec import OPERATIONS
from wedata.spec import VERSION as SPEC_VERSION
from wedata.storage.health import is_conflict

if TYPE_CHECKING:
    from wedata.services.container import Services
    from wedata.storage.db import Database

ActionHandler = Callable[["Services", RequestContext, Any], Any]
log = logging.getLogger("wedata.api")

# Action modules, imported by ``load_actions`` so that their decorators run.
ACTION_MODULES = (
    "wedata.actions.projects.projects",
    "wedata.actions.projects.resource_groups",
    "wedata.actions.workflows.workflows",
    "wedata.actions.tasks.tasks",
    "wedata.actions.tasks.folders",
    "wedata.actions.tasks.lineage",
    "wedata.actions.instances.instances",
    "wedata.actions.instances.lineage",
    "wedata.actions.ops.reads",
    "wedata.actions.events.events",
    "wedata.actions.alarms.alarms",
    "wedata.actions.ops.control",
    "wedata.actions.backfill.backfill",
    "wedata.actions.datasources.datasources",
    "wedata.actions.catalog.catalog",
    "wedata.actions.sql.scripts",
    "wedata.actions.sql.folders",
    "wedata.actions.sql.runs",
    "wedata.actions.resources.files",
    "wedata.actions.resources.folders",
    "wedata.actions.code.files",
    "wedata.actions.code.folders",
    "wedata.actions.code.permissions",
    "wedata.actions.triggers.definitions",
    "wedata.actions.triggers.runs",
    "wedata.actions.triggers.ops",
    "wedata.actions.lineage.lineage",
    "wedata.actions.quality.quality",
    "wedata.actions.permissions.workflows",
    "wedata.actions.permissions.catalog",
)


@dataclass(frozen=True)
class ActionDef:
    name: str
    version: str
    handler: ActionHandler
    request_type: type
    project_scoped: bool
    need: Need = Need.SERVICE
    standing_in_read: bool = False  # the check follows the handler (module docstring)


_REGISTRY: dict[str, dict[str, ActionDef]] = {}
# Further API versions served on the same endpoint: version -> (known action names, request types).
_EXTRA_VERSIONS: dict[str, dict[str, type]] = {}
# Every action such a version defines (those without a handler answer UnsupportedOperation).
_EXTRA_KNOWN: dict[str, frozenset[str]] = {}


def register_version(version: str, request_types: dict[str, type], known: Iterable[str] = ()) -> None:
    """Serve another API version; call it before ``build_routes`` (e.g. when the module that
    holds the version's handlers is imported, before their decorators run)."""
    _EXTRA_VERSIONS[version] = request_types
    _EXTRA_KNOWN[version] = frozenset(known) | frozenset(request_types)


def action(
    name: str, *, version: str = SPEC_VERSION, project_scoped: bool = True, request: type | None = None,
    operate: bool = False, need: Need | None = None, standing_in_read: bool = False,
) -> Callable[[ActionHandler], ActionHandler]:
    """Register a handler. ``project_scoped=False`` skips the project check (the service checks
    what the request names); ``need`` overrides what the name implies (``operate=True``: operate
    production). ``request``
    replaces the generated request Struct by a more lenient subclass of it (e.g. a field the
    spec types inconsistently, §6.3, that must accept both shapes). ``standing_in_read``: the
    handler reads the caller's standing itself and is checked after it (module docstring)."""

    def decorate(fn: ActionHandler) -> ActionHandler:
        if version == SPEC_VERSION:
            op = OPERATIONS.get(name)
            if op is None:
                raise ValueError(f"{name} is not an action of WeData {version}")
            if request is not None and not issubclass(request, op.request):
                raise ValueError(f"{name}: {request.__name__} must subclass {op.request.__name__}")
            request_type: type = request or op.request
        else:
            types = _EXTRA_VERSIONS.get(version, {})
            if name not in types:
                raise ValueError(f"{name} has no request type registered for API version {version}")
            request_type = types[name]
        defs = _REGISTRY.setdefault(version, {})
        if name in defs:
            raise ValueError(f"{name} registered twice")
        scoped = project_scoped and "project_id" in getattr(request_type, "__struct_fields__", ())
        needed = (need or (Need.OPERATE if operate else need_of(name))) if scoped else Need.SERVICE
        if standing_in_read and (needed is not Need.READ or not reads_only(name)):
            raise ValueError(f"{name}: only a read-only action that needs read may be checked after its handler")
        defs[name] = ActionDef(name, version, fn, request_type, scoped, needed, standing_in_read)
        return fn

    return decorate


def load_actions() -> dict[str, dict[str, ActionDef]]:
    for module in ACTION_MODULES:
        importlib.import_module(module)
    return _REGISTRY


def implemented(version: str = SPEC_VERSION) -> set[str]:
    return set(load_actions().get(version, {}))


# Domain error -> (default code). A ServiceError may carry a more specific ``code`` attribute.
ERROR_CODES: dict[type[service_errors.ServiceError], str] = {
    service_errors.NotFound: "ResourceNotFound",
    service_errors.InvalidValue: "InvalidParameterValue",
    service_errors.Duplicate: "InvalidParameter.DuplicateName",
    service_errors.InUse: "ResourceInUse",
    service_errors.NotMember: "UnauthorizedOperation.UserNotInProject",
    service_errors.Forbidden: "UnauthorizedOperation",
    service_errors.OperationFailed: "FailedOperation",
    service_errors.Unsupported: "UnsupportedOperation",
}


def to_api_error(err: service_errors.ServiceError) -> ApiError:
    code = getattr(err, "code", None)
    if not code:
        for cls in type(err).__mro__:
            if cls in ERROR_CODES:
                code = ERROR_CODES[cls]  # type: ignore[index]
                break
    return ApiError(code or "FailedOperation", err.message)


def _bind(defn: ActionDef, services: Services) -> Route:
    handler = defn.handler
    name, need = defn.name, defn.need
    check = services.authorizer.check
    shared_reads = services.db.shared_reads
    forget = services.authorizer.forget if need is Need.MANAGE else None

    if defn.project_scoped and defn.standing_in_read:

        def call(ctx: RequestContext, request: Any) -> Any:
            try:
                with shared_reads():
                    project_id = getattr(request, "project_id", None)
                    try:
                        answer = handler(services, ctx, request)
                    except Exception:
                        if project_id is not None:  # a refusal outranks what the handler met
                            check(name, need, project_id, ctx.caller, request, ctx.extras)
                        raise
                    if project_id is not None:  # on the standing the handler read, or with a query
                        check(name, need, project_id, ctx.caller, request, ctx.extras)
                return answer
            except service_errors.ServiceError as err:
                raise to_api_error(err) from None

    elif defn.project_scoped:

        def call(ctx: RequestContext, request: Any) -> Any:
            try:
                with shared_reads():  # the check and the handler's reads: one pooled connection
                    project_id = getattr(request, "project_id", None)
                    if project_id is not None:
                        check(name, need, project_id, ctx.caller, request, ctx.extras)
                    answer = handler(services, ctx, request)
                if forget is not None:  # grants or roles may have changed: no stale standing
                    forget(ctx.extras)
                return answer
            except service_errors.ServiceError as err:
                raise to_api_error(err) from None

    else:

        def call(ctx: RequestContext, request: Any) -> Any:
            try:
                with shared_reads():  # the service's own checks and its reads: one connection
                    return handler(services, ctx, request)
            except service_errors.ServiceError as err:
                raise to_api_error(err) from None

    return Route(defn.request_type, retrying_conflicts(call, services.db, name), writes=not reads_only(name))


# A request the database aborted for a concurrent one (a deadlock, a serialization failure) is
# run again, at most this many more times, when none of its transactions had committed.
CONFLICT_RETRIES = 2
CONFLICT_CODE = "FailedOperation"


def retrying_conflicts(call: Handler, db: Database, name: str) -> Handler:
    """Run the handler again when PostgreSQL aborted its transaction because of another one
    (SQLSTATE 40P01 deadlock detected, 40001 serialization failure). Two requests that lock the
    same rows in a different order are a normal event under concurrency: the database picks one
    to abort, and the client should not see an InternalError for it.

    Only a request that committed nothing is run again (``Database.commits`` counts this
    thread's commits): its work was rolled back whole, so running it again cannot do anything
    twice. One that had committed a transaction before the conflict answers InternalError, as
    any unexpected failure. After ``CONFLICT_RETRIES`` more tries the client gets
    ``FailedOperation`` saying that nothing was saved and that it may try again."""

    def call_retrying(ctx: RequestContext, request: Any) -> Any:
        for attempt in range(CONFLICT_RETRIES + 1):
            before = db.commits()
            try:
                return call(ctx, request)
            except Exception as exc:
                if not is_conflict(exc) or db.commits() != before:
                    raise
                reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200]
                if attempt == CONFLICT_RETRIES:
                    log.warning("action=%s request_id=%s: aborted by a concurrent request %d times (%s); "
                                "answered %s", name, ctx.request_id, attempt + 1, reason, CONFLICT_CODE)
                    raise ApiError(CONFLICT_CODE, (
                        f"The request conflicted with other requests changing the same data at the same time "
                        f"and was aborted by the database {attempt + 1} times ({reason}); nothing of it was "
                        "saved. Please retry.")) from None
                log.info("action=%s request_id=%s: aborted by a concurrent request (%s); running it again",
                         name, ctx.request_id, reason)
                time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))  # let the other one finish
        raise AssertionError("unreachable")

    return call_retrying


def build_routes(services: Services) -> dict[str, VersionRoutes]:
    registry = load_actions()
    versions: dict[str, VersionRoutes] = {}
    known_by_version: dict[str, frozenset[str]] = {SPEC_VERSION: frozenset(OPERATIONS)}
    for version in _EXTRA_VERSIONS:
        known_by_version[version] = _EXTRA_KNOWN[version]
    for version, known in known_by_version.items():
        defs = registry.get(version, {})
        versions[version] = VersionRoutes(
            known=known, routes={name: _bind(d, services) for name, d in defs.items()}
        )
    return versions
