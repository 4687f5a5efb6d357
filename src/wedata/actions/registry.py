"""The action registry: ``@action("GetTask")`` handlers, per API version.

A handler is ``handler(services, ctx, request) -> <Action>Response`` Struct. The wrapper built
here adds what every action shares: the project membership check (a caller who is not a member
of the project named by ``ProjectId`` gets ``UnauthorizedOperation.UserNotInProject``) and the
mapping of domain errors onto Tencent Cloud codes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wedata.protocol.context import RequestContext
from wedata.protocol.endpoint import Route, VersionRoutes
from wedata.protocol.errors import ApiError
from wedata.services import errors as service_errors
from wedata.spec import OPERATIONS
from wedata.spec import VERSION as SPEC_VERSION

if TYPE_CHECKING:
    from wedata.services.container import Services

ActionHandler = Callable[["Services", RequestContext, Any], Any]

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
)


@dataclass(frozen=True)
class ActionDef:
    name: str
    version: str
    handler: ActionHandler
    request_type: type
    project_scoped: bool
    operate: bool = False


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
    operate: bool = False,
) -> Callable[[ActionHandler], ActionHandler]:
    """Register a handler. ``project_scoped=False`` skips the membership check; ``operate=True``
    also requires a role that may operate production (services/projects/access.py). ``request``
    replaces the generated request Struct by a more lenient subclass of it (e.g. a field the
    spec types inconsistently, §6.3, that must accept both shapes)."""

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
        defs[name] = ActionDef(name, version, fn, request_type, project_scoped, operate)
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
    check_member = services.projects.require_member
    check_operator = services.projects.access.require_operator if defn.operate else None

    if defn.project_scoped:

        def call(ctx: RequestContext, request: Any) -> Any:
            try:
                project_id = getattr(request, "project_id", None)
                if project_id is not None:
                    check_member(project_id, ctx.caller)
                    if check_operator is not None:
                        check_operator(project_id, ctx.caller)
                return handler(services, ctx, request)
            except service_errors.ServiceError as err:
                raise to_api_error(err) from None

    else:

        def call(ctx: RequestContext, request: Any) -> Any:
            try:
                return handler(services, ctx, request)
            except service_errors.ServiceError as err:
                raise to_api_error(err) from None

    return Route(defn.request_type, call)


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
