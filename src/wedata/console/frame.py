"""The console's frame: routes, the sign-in guard, CSRF, the security headers, static files.

A page is one module under ``console/pages/`` plus its templates: it declares its routes with a
``Pages`` table (``@pages.get("/p/{project_id}/workflows")``) and its views take a ``View`` and
return a response. ``PAGE_MODULES`` lists the modules, as ``actions.registry.ACTION_MODULES``
lists the action modules. The frame does for every page what none of them repeats:

- a page needs a session (``console/session.py``) unless declared ``public``; without one a GET
  is sent to the sign-in page (htmx requests get ``HX-Redirect``), a POST is refused (401);
- every POST carries the session's CSRF token (form field or ``X-CSRF-Token``): else 403;
- the view runs in a worker thread (it calls synchronous action handlers);
- every answer has ``Cache-Control: no-store`` and a strict Content-Security-Policy
  (``script-src 'self'``: no inline script runs, so even a rendering mistake stays inert),
  ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``;
- an action's error (``client.ActionFailed``) a view does not handle becomes an error page with
  its message (403 for UnauthorizedOperation, 404 for ResourceNotFound, else 400).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from wedata.console.client import ActionFailed, Actions
from wedata.console.render import build_environment
from wedata.console.session import (
    COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    MAX_AGE,
    Session,
    SessionCodec,
    SignInBrake,
    csrf_ok,
)
from wedata.principal import Caller, Credential
from wedata.protocol.endpoint import VersionRoutes

log = logging.getLogger("wedata.console")

PREFIX = "/console"
STATIC = Path(__file__).resolve().parent / "static"

PAGE_MODULES = (
    "wedata.console.pages.auth",
    "wedata.console.pages.projects",
    "wedata.console.pages.workflows",
    "wedata.console.pages.instances",
    "wedata.console.pages.grid",
    "wedata.console.pages.editor",
    "wedata.console.pages.versions",
    "wedata.console.pages.project",
    "wedata.console.pages.backfill",
    "wedata.console.pages.alarms",
    "wedata.console.pages.charts",
    "wedata.console.pages.day",
    "wedata.console.pages.sql",
    "wedata.console.pages.catalog",
    "wedata.console.pages.lineage",
    "wedata.console.pages.quality",
    "wedata.console.pages.triggers",
)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class CredentialLookup(Protocol):
    def lookup(self, secret_id: str) -> Credential | None: ...


class Access(Protocol):
    """What the console asks of ``services.projects.access`` (the API has no action for it)."""

    def may_operate(self, project_id: str, caller: Caller) -> bool: ...
    def member_project_ids(self, caller: Caller) -> set[str] | None: ...


class EdgeReads(Protocol):
    """A workflow's tasks and dependency edges in one query each (``services.tasks.lineage``):
    the API answers the edges one task at a time (ListUpstreamTasks) and the tasks with their
    whole definitions, 200 a page (ListTasks)."""

    def workflow_edges(self, project_id: str, workflow_id: str) -> list[Any]: ...
    def workflow_links(self, project_id: str, workflow_id: str) -> list[tuple[str, str]]: ...
    def workflow_tasks(self, project_id: str, workflow_id: str, limit: int) -> list[Any]: ...


class RunReads(Protocol):
    """A workflow's latest runs, its grid window, a task's recent runs, one query each
    (``services.instances.workflow_runs``): the API answers them only page by page."""

    def latest(self, project_id: str, workflow_id: str) -> dict[str, Any]: ...
    def grid(self, project_id: str, workflow_id: str, columns: int,
             task_ids: Sequence[str] | None = None) -> Any: ...
    def recent(self, project_id: str, task_id: str, limit: int = 10) -> list[Any]: ...
    def timeline(self, project_id: str, workflow_id: str) -> list[Any]: ...
    def durations(self, project_id: str, task_id: str, limit: int = 30) -> list[Any]: ...
    def day(self, project_id: str, day: date, workflow_id: str | None = None,
            limit: int = 2000) -> tuple[list[Any], int]: ...


class PlanReads(Protocol):
    """The ids of a project's backfill plans (``services.backfill.plans``): the API has no
    action that lists plans; each is then read through GetDataBackfillPlan."""

    def plan_ids(self, project_id: str, limit: int = 20, offset: int = 0) -> tuple[list[str], int]: ...
    # What CreateDataBackfillPlan would make of a request, written nowhere (the API has no dry run).
    def preview(self, req: Any) -> Any: ...


class DeliveryReads(Protocol):
    """The delivery state (outbox rows) of alarm messages (``services.alarms``): the API's
    AlarmMessage has no field for it."""

    def delivery_states(self, project_id: str, message_ids: Sequence[int]) -> dict[int, list[Any]]: ...


ViewFn = Callable[["View"], Response]


@dataclass(frozen=True)
class PageRoute:
    path: str
    methods: tuple[str, ...]
    view: ViewFn
    public: bool


class Pages:
    """The routes one page module declares."""

    def __init__(self) -> None:
        self.routes: list[PageRoute] = []

    def _add(self, path: str, methods: tuple[str, ...], public: bool) -> Callable[[ViewFn], ViewFn]:
        def decorate(fn: ViewFn) -> ViewFn:
            self.routes.append(PageRoute(path, methods, fn, public))
            return fn

        return decorate

    def get(self, path: str, *, public: bool = False) -> Callable[[ViewFn], ViewFn]:
        return self._add(path, ("GET",), public)

    def post(self, path: str, *, public: bool = False) -> Callable[[ViewFn], ViewFn]:
        return self._add(path, ("POST",), public)


@dataclass
class View:
    """What a view gets: the request, the signed-in caller and their way to the actions."""

    request: Request
    console: Console
    session: Session | None
    credential: Credential | None
    form: dict[str, str] = field(default_factory=dict)
    # Seconds the frame waits (asynchronously) before sending the answer: the sign-in brake.
    delay: float = 0.0
    _projects: list[Any] | None = None

    @property
    def caller(self) -> Caller:
        assert self.credential is not None, "a public page has no caller"
        return Caller(self.credential.secret_id, self.credential.uin, self.credential.is_admin)

    @property
    def actions(self) -> Actions:
        return Actions(self.console.routes, self.console.version, self.caller)

    @property
    def htmx(self) -> bool:
        return self.request.headers.get("hx-request") == "true"

    @property
    def csrf(self) -> str:
        return self.session.csrf if self.session else ""

    def param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def arg(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default).strip()

    def page(self) -> int:
        """The ``page`` query argument as a page number (1 when absent or not a number)."""
        try:
            return max(1, int(self.arg("page") or 1))
        except ValueError:
            return 1

    def url(self, path: str) -> str:
        return PREFIX + path

    def my_projects(self) -> list[Any]:
        """The projects of the switcher: ListProjects (tenant-wide) filtered to the caller's own."""
        if self._projects is None:
            items: list[Any] = []
            number = 1
            while True:
                data = self.actions.data("ListProjects", PageNumber=number, PageSize=200)
                items.extend(data.items or [])
                if number >= (data.total_page_number or 1) or number >= 10:
                    break
                number += 1
            mine = self.console.access.member_project_ids(self.caller)
            self._projects = [p for p in items if mine is None or p.project_id in mine]
        return self._projects

    def require_member(self, project_id: str) -> None:
        """The project check of pages whose actions take no ProjectId (the catalog, lineage):
        ListDataSources answers UnauthorizedOperation to a caller who is not a member."""
        self.actions.data("ListDataSources", ProjectId=project_id, PageNumber=1, PageSize=1)

    def may_operate(self, project_id: str) -> bool:
        return self.console.access.may_operate(project_id, self.caller)

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        body = self.console.env.get_template(template).render(v=self, prefix=PREFIX, csrf_field=CSRF_FIELD,
                                                              **context)
        return HTMLResponse(body, status_code=status)

    def redirect(self, path: str) -> Response:
        """Go to ``path`` (under /console): a redirect, or HX-Redirect for an htmx request."""
        target = PREFIX + path
        if self.htmx:
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)


class Console:
    """The console of one server process: built by app.create_app from the runtime's parts."""

    def __init__(self, *, routes: VersionRoutes, version: str, credentials: CredentialLookup, session_key: bytes,
                 access: Access, edges: EdgeReads, runs: RunReads, plans: PlanReads,
                 deliveries: DeliveryReads) -> None:
        self.routes = routes
        self.version = version
        self.credentials = credentials
        self.codec = SessionCodec(session_key)
        self.brake = SignInBrake()
        self.access = access
        # Asked only after an action has checked the caller's membership (console/reads.py).
        self.edges = edges
        self.runs = runs
        self.plans = plans
        self.deliveries = deliveries
        self.env = build_environment()

    def pages(self) -> Iterator[PageRoute]:
        for name in PAGE_MODULES:
            module = importlib.import_module(name)
            yield from module.pages.routes

    def starlette_routes(self) -> list[BaseRoute]:
        inner: list[BaseRoute] = [Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static")]
        for page in self.pages():
            inner.append(Route(page.path, self._endpoint(page), methods=list(page.methods)))
        return [Mount(PREFIX, routes=inner)]

    def _endpoint(self, page: PageRoute) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            session: Session | None = None
            credential: Credential | None = None
            if not page.public:
                session = self.codec.read(request.cookies.get(COOKIE))
                if session is not None:
                    credential = await run_in_threadpool(self.credentials.lookup, session.secret_id)
                if session is None or credential is None or not self.codec.still_valid(session, credential):
                    return secure(self._signed_out(request))
            form: dict[str, str] = {}
            if request.method == "POST":
                parsed = await read_form(request)
                if parsed is None:
                    return secure(HTMLResponse("The form could not be read (URL-encoded, at most 64 KiB).",
                                               status_code=400))
                form = parsed
                if session is not None:
                    sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
                    if not csrf_ok(session, sent):
                        return secure(HTMLResponse(
                            "The request was refused: its CSRF token is missing or wrong (reload the page "
                            "and try again).", status_code=403))
            view = View(request, self, session, credential, form)
            response = await run_in_threadpool(self._run, page, view)
            if view.delay > 0:
                await asyncio.sleep(view.delay)
            return secure(response)

        return endpoint

    def _run(self, page: PageRoute, view: View) -> Response:
        try:
            return page.view(view)
        except ActionFailed as err:
            status = 403 if err.forbidden else 404 if err.not_found else 400
            return view.render("error.html", status=status, error=err)

    def _signed_out(self, request: Request) -> Response:
        target = f"{PREFIX}/signin"
        if request.method == "GET":
            target += "?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        if request.headers.get("hx-request") == "true":
            return Response(status_code=401, headers={"HX-Redirect": target})
        if request.method != "GET":
            return HTMLResponse("Sign in first.", status_code=401)
        return RedirectResponse(target, status_code=303)

    def sign_in_cookie(self, response: Response, request: Request, value: str) -> None:
        response.set_cookie(COOKIE, value, max_age=MAX_AGE, path=PREFIX, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")

    def sign_out_cookie(self, response: Response, request: Request) -> None:
        response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict",
                               secure=request.url.scheme == "https")


MAX_FORM_BYTES = 64 * 1024


async def read_form(request: Request) -> dict[str, str] | None:
    """An ``application/x-www-form-urlencoded`` body (the console's forms and htmx send nothing
    else), parsed without python-multipart; None when it is another type or too large."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/x-www-form-urlencoded", ""):
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        return None
    return dict(pairs)


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
