"""GetTask's round trips on PostgreSQL: ONE statement, the task with its edges
(services/tasks/snapshot.py ``TASK_WITH_EDGES_BY_ID``) and the caller's standing in the project
(services/projects/access.py ``standing_columns``), answering exactly what the two-statement
read (the task, then ``load_edges``) answers, and deciding exactly as the access check's own
query does. On SQLite, where a statement is no round trip, the edges stay a second one.

In process, through the server's own runtime and action routes (``app.build_runtime``): the
statements are counted on the runtime's engine. The wire answers themselves are checked through
the SDK on both backends in test_edges.py."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from tests.conftest import require_postgres
from tests.support import PG_URL, copy_migrated_sqlite, create_pg_database, drop_pg_database
from wedata.app import Runtime, build_runtime
from wedata.config import Settings
from wedata.principal import Caller
from wedata.protocol.context import RequestContext
from wedata.protocol.params import decode_json
from wedata.services.projects.access import ProjectAccess
from wedata.services.tasks.edges import load_edges
from wedata.services.tasks.snapshot import TASK_BY_ID, render_task
from wedata.spec import VERSION

UIN = "100000000001"
DE, OPS, VISITOR = "308335260676890624", "308335260844662784", "308335260945326080"


@pytest.fixture(params=["sqlite", "postgres"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    name = None
    if request.param == "postgres":
        require_postgres()
        name = create_pg_database(migrated=True)
        settings = Settings(home=tmp_path / "home", database_url=f"{PG_URL}/{name}", scheduler_enabled=False,
                            rate_limit=0, api_threads=0)
    else:
        (tmp_path / "home").mkdir()
        copy_migrated_sqlite(tmp_path / "home" / "wedata.db")
        settings = Settings(home=tmp_path / "home", scheduler_enabled=False, rate_limit=0, api_threads=0)
    rt = build_runtime(settings)
    try:
        yield rt
    finally:
        rt.db.dispose()
        if name:
            drop_pg_database(name)


def serve(rt: Runtime, action: str, params: dict[str, Any]) -> dict[str, Any]:
    route = rt.endpoint.versions[VERSION].routes[action]
    body = json.dumps(params).encode()
    ctx = RequestContext(action=action, version=VERSION, request_id="t", caller=Caller("AKIDT", UIN, True))
    answer = json.loads(rt.endpoint._serve(route, ctx, lambda: decode_json(body, route.request_type)))["Response"]
    assert "Error" not in answer, answer
    return dict(answer["Data"])


def create(rt: Runtime, project: str, workflow: str, name: str, upstream: list[dict[str, Any]]) -> str:
    return str(serve(rt, "CreateTask", {
        "ProjectId": project,
        "TaskBaseAttribute": {"TaskName": name, "TaskTypeId": "35", "WorkflowId": workflow},
        "TaskConfiguration": {"CodeContent": base64.b64encode(b"echo hi").decode()},
        "TaskSchedulerConfiguration": {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 1 * * ? *",
                                       "UpstreamDependencyConfigList": upstream},
    })["TaskId"])


def test_get_task_reads_the_task_and_its_edges_in_one_statement(runtime: Runtime) -> None:
    rt = runtime
    project = serve(rt, "CreateProject", {"Project": {"ProjectName": "round_trips", "DisplayName": "rt"}})["ProjectId"]
    workflow = serve(rt, "CreateWorkflow", {"ProjectId": project, "WorkflowName": "wf",
                                            "ParentFolderPath": "/"})["WorkflowId"]
    a = create(rt, project, workflow, "a", [])
    b = create(rt, project, workflow, "b", [])
    strategy = {"PollingNullStrategy": "EXECUTING", "TaskDependencyExecutingStrategies": ["PARENT_TIMEOUT", "NOT_EXIST"],
                "TaskDependencyExecutingTimeoutValue": 30}
    me = create(rt, project, workflow, "me", [
        {"TaskId": b, "MainCyclicConfig": "RANGE_DAY", "Offset": "-1,0", "DependencyStrategy": strategy},
        {"TaskId": a, "MainCyclicConfig": "DAY", "SubordinateCyclicConfig": "CURRENT_DAY"},
    ])
    create(rt, project, workflow, "down", [{"TaskId": me, "MainCyclicConfig": "DAY"}])

    statements: list[str] = []

    def count(_c: object, _cur: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(rt.db.engine, "before_cursor_execute", count)
    try:
        got = serve(rt, "GetTask", {"ProjectId": project, "TaskId": me})
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", count)
    # The task with the caller's standing (and its edges on PostgreSQL, then them on SQLite).
    assert len(statements) == (2 if rt.db.is_sqlite else 1), statements

    with rt.db.read() as conn:  # the two-statement read, on the same database
        row = conn.execute(TASK_BY_ID, {"project_id": project, "task_id": me}).one()
        up, down = load_edges(conn, me)
    expected = render_task(row, up, down)
    sched, want = got["TaskSchedulerConfiguration"], expected["TaskSchedulerConfiguration"]
    for key in ("UpstreamDependencyConfigList", "DownstreamDependencyConfigList", "DownStreamDependencyConfigList"):
        assert [{k: v for k, v in item.items() if v is not None} for item in sched[key]] == [
            {k: v for k, v in item.items() if v is not None} for item in want[key]], key
    assert sorted(d["TaskId"] for d in sched["UpstreamDependencyConfigList"]) == sorted([a, b])
    assert [d["DependencyStrategy"] for d in sched["UpstreamDependencyConfigList"] if d["TaskId"] == b] == [strategy]
    assert len(sched["DownstreamDependencyConfigList"]) == 1


def test_the_standing_read_with_the_task_is_the_access_checks_own(runtime: Runtime) -> None:
    """For every kind of caller, the standing GetTask's statement reads is the ``Access`` the
    registry's query reads: the same membership, roles, permissions and grant flag."""
    rt = runtime
    project = serve(rt, "CreateProject", {"Project": {"ProjectName": "standing", "DisplayName": "st"}})["ProjectId"]
    workflow = serve(rt, "CreateWorkflow", {"ProjectId": project, "WorkflowName": "wf",
                                            "ParentFolderPath": "/"})["WorkflowId"]
    task = create(rt, project, workflow, "t", [])
    members = {"200000000001": [DE], "200000000002": [VISITOR], "200000000003": [OPS, VISITOR]}
    for uin, roles in members.items():
        serve(rt, "CreateProjectMember", {"ProjectId": project, "UserUins": [uin], "RoleIds": roles})
    callers = [Caller("AKIDT", UIN, True), Caller("AKIDN", "200000000009", False),
               *(Caller(f"AKID{u}", u, False) for u in members)]
    access = ProjectAccess(rt.db)

    def both(caller: Caller) -> tuple[object, object]:
        return rt.services.tasks.get_task(project, task, caller)[1], access.access(project, caller)

    for caller in callers:
        read, checked = both(caller)
        assert read == checked, caller
    assert not both(callers[1])[0].member  # type: ignore[attr-defined]
    assert both(callers[4])[0].roles == {OPS, VISITOR}  # type: ignore[attr-defined]

    # A workflow grant in the project: the flag that sends writes to the grants is read alike.
    serve(rt, "CreateWorkflowPermissions", {
        "ProjectId": project, "EntityType": "workflow", "EntityId": workflow,
        "PermissionList": [{"PermissionTargetType": "user", "PermissionTargetId": "200000000002",
                            "PermissionTypeList": ["CAN_EDIT"]}]})
    for caller in callers:
        read, checked = both(caller)
        assert read == checked and read.workflow_grants, caller  # type: ignore[attr-defined]

    # A deleted project has no standing to read: the registry's own query answers why.
    serve(rt, "DeleteProject", {"ProjectId": project})
    assert rt.services.tasks.get_task(project, task, callers[0])[1] is None
