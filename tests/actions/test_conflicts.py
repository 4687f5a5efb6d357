"""A request that PostgreSQL aborts for a concurrent one is run again (actions/registry.py).

Two requests that lock the same rows in different orders deadlock, and PostgreSQL aborts one of
them with SQLSTATE 40P01 (40001 for a serialization failure). The server runs such a request
again when none of its transactions had committed, so the client sees its answer, not an
InternalError. Here the conflicts are raised by PostgreSQL itself, from a trigger on ``tasks``
that fails the first N inserts of a task of one name: a sequence counts the tries (``nextval``
is not rolled back with the aborted transaction), so the test knows how often the request ran.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import text

from tests.actions.instances.test_instances import b64, new_space
from tests.support import Api, ServerProcess, unique
from wedata.actions.registry import CONFLICT_RETRIES, retrying_conflicts
from wedata.principal import Caller
from wedata.protocol.context import RequestContext
from wedata.protocol.errors import ApiError
from wedata.storage.db import Database


@contextmanager
def conflicts(db: Database, task_name: str, times: int, sqlstate: str = "40P01") -> Iterator[Any]:
    """The next ``times`` inserts of a task named ``task_name`` fail with ``sqlstate``; yields a
    function that says how many inserts were tried."""
    tag = unique("c").replace("-", "_").lower()
    with db.engine.begin() as conn:
        conn.execute(text(f"CREATE SEQUENCE tries_{tag}"))
        conn.execute(text(f"""
            CREATE FUNCTION fail_{tag}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.name = '{task_name}' AND nextval('tries_{tag}') <= {times} THEN
                RAISE EXCEPTION 'deadlock detected (raised by the test)' USING ERRCODE = '{sqlstate}';
              END IF;
              RETURN NEW;
            END $$"""))
        conn.execute(text(f"CREATE TRIGGER fail_{tag} BEFORE INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION fail_{tag}()"))

    def tried() -> int:
        with db.engine.connect() as conn:
            row = conn.execute(text(f"SELECT last_value, is_called FROM tries_{tag}")).one()
            return int(row[0]) if row[1] else 0

    try:
        yield tried
    finally:
        with db.engine.begin() as conn:
            conn.execute(text(f"DROP TRIGGER fail_{tag} ON tasks"))
            conn.execute(text(f"DROP FUNCTION fail_{tag}()"))
            conn.execute(text(f"DROP SEQUENCE tries_{tag}"))


def create_task(api: Api, project: str, workflow: str, name: str) -> str:
    return str(api.data("CreateTask", {
        "ProjectId": project,
        "TaskBaseAttribute": {"TaskName": name, "TaskTypeId": "35", "WorkflowId": workflow},
        "TaskConfiguration": {"CodeContent": b64("true")},
        "TaskSchedulerConfiguration": {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 0 * * ? *"},
    })["TaskId"])


def count(api: Api, project: str, name: str) -> int:
    return int(api.data("ListTasks", {"ProjectId": project, "TaskName": name})["TotalCount"])


@pytest.fixture
def pg(server: ServerProcess) -> Iterator[Database]:
    if server.database_url is None:
        pytest.skip("SQLite runs one writer at a time: no deadlock, no serialization failure")
    db = Database(server.database_url)
    try:
        yield db
    finally:
        db.dispose()


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
def test_a_request_aborted_by_a_conflict_is_run_again_and_succeeds(server: ServerProcess, api: Api, pg: Database,
                                                                   sqlstate: str) -> None:
    space = new_space(api)
    name = unique("conflict")
    with conflicts(pg, name, CONFLICT_RETRIES, sqlstate) as tried:
        task_id = create_task(api, space.project, space.workflow, name)
        assert tried() == CONFLICT_RETRIES + 1  # two aborted, the third saved
    assert count(api, space.project, name) == 1
    task = api.data("GetTask", {"ProjectId": space.project, "TaskId": task_id})
    assert task["TaskBaseAttribute"]["TaskName"] == name
    log = server.log_path.read_text()
    assert "running it again" in log and "Traceback" not in log[-20000:]


def test_a_request_that_keeps_conflicting_answers_failed_operation_and_saves_nothing(
        server: ServerProcess, api: Api, pg: Database) -> None:
    space = new_space(api)
    name = unique("conflict")
    with conflicts(pg, name, 100) as tried:
        with pytest.raises(Exception) as err:
            create_task(api, space.project, space.workflow, name)
        assert tried() == CONFLICT_RETRIES + 1
    assert getattr(err.value, "code", None) == "FailedOperation", err.value
    message = str(getattr(err.value, "message", err.value))
    assert "nothing of it was saved" in message and "Please retry" in message, message
    assert "Traceback" not in message and "tries_" not in message  # no SQL, no internals
    assert count(api, space.project, name) == 0
    # The same request, once the conflict is gone, succeeds: nothing half-saved was in the way.
    create_task(api, space.project, space.workflow, name)
    assert count(api, space.project, name) == 1


def test_a_handler_that_had_committed_is_not_run_again(pg: Database) -> None:
    """Running it again could repeat what it committed: the conflict goes up as it came."""
    calls: list[int] = []
    ctx = RequestContext("CreateTask", "2025-08-06", "r-1", Caller("AKID-test", "100"))

    def handler(_ctx: Any, _request: Any) -> None:
        calls.append(1)
        with pg.write() as conn:
            conn.execute(text("SELECT 1"))  # a committed transaction of this request
        with pg.write() as conn:
            conn.execute(text("DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$"))

    call = retrying_conflicts(handler, pg, "Test")
    with pytest.raises(Exception) as err:
        call(ctx, None)
    assert not isinstance(err.value, ApiError) and getattr(getattr(err.value, "orig", None), "sqlstate", None) == "40P01"
    assert calls == [1]

    # Without the earlier commit, the same conflict is run again, then answered FailedOperation.
    calls.clear()

    def conflicting(_ctx: Any, _request: Any) -> None:
        calls.append(1)
        with pg.write() as conn:
            conn.execute(text("DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$"))

    with pytest.raises(ApiError) as api_err:
        retrying_conflicts(conflicting, pg, "Test")(ctx, None)
    assert api_err.value.code == "FailedOperation" and len(calls) == CONFLICT_RETRIES + 1
