"""The first plan of many submitted tasks at once (``Planner.plan_many``, issue 14): planned as a
batch in a handful of statements, with the same outcome as planning each task alone
(``Planner.plan``, the reference): the same instances, edges, states, plans and history, for
chained tasks, one-off tasks (with and without an instance made before), a self-dependent task
whose earlier instance exists already (made by a backfill before the first plan) and the
placeholders of a downstream task that waited for an unsubmitted upstream."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from tests.scheduler.helpers import World, planner_for, utc
from wedata.scheduler import states
from wedata.scheduler.definitions import parse_definition
from wedata.scheduler.planner import PlanOutcome, instance_row, load_snapshot, to_utc
from wedata.scheduler.transitions import Tx
from wedata.scheduling.datatimes import planned_instances
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.engine_tables import instance_deps, instance_transitions, task_instances, task_plans

TI, D, P = task_instances, instance_deps, task_plans
NOW = utc("2025-03-01 02:00:00")  # 10:00 in UTC+8
DAILY = {"cycle": "DAY_CYCLE", "cron": "0 0 0 * * ? *", "start": "2025-01-01 00:00:00"}
HOURLY = {"cycle": "HOUR_CYCLE", "cron": "0 0 * * * ? *", "start": "2025-03-01 00:00:00"}


def _plan(db: Database, ids: list[str], batch: bool) -> PlanOutcome:
    planner, out = planner_for(db), PlanOutcome()
    with db.read() as conn:
        rows = planner.changed(conn, ids)
    assert rows
    with db.write() as conn:
        tx = Tx(conn, NOW, "tester")
        if batch:
            planner.plan_many(tx, rows, out)
        else:
            for row in rows:
                planner.plan(tx, row, out)
        tx.flush()
    return out


def _made_before(db: Database, w: World, task_id: str, nth: int, state: str) -> None:
    """An instance of ``task_id`` made before its first plan (as a backfill would), ended ``state``."""
    version = f"{task_id}_{task_id}"
    with db.write() as conn:
        tdef = parse_definition(version, load_snapshot(conn, version))
        start = datetime(2025, 3, 1) - timedelta(microseconds=1) if tdef.cycle_type != "ONEOFF_CYCLE" \
            else datetime(1970, 1, 1)
        fires = planned_instances(tdef.schedule, start)
        fire, data_time = next(x for i, x in enumerate(fires) if i == nth)
        row = instance_row(NOW, tdef, w.project_id, w.workflow_id, to_utc(fire, tdef.zone), data_time, [],
                           owner_uin="1")
        row.update(state=state, instance_type=0)
        conn.execute(insert(TI).values(**row))


def _world(db: Database, plan: Callable[[list[str]], PlanOutcome]) -> tuple[dict[str, str], list[PlanOutcome]]:
    w = World(db, NOW)
    roles: dict[str, str] = {}
    roles["hourly"] = w.task(**HOURLY)
    roles["daily"] = w.task(**DAILY, upstream=[(roles["hourly"], "DAY", "CURRENT_DAY")])
    roles["oneoff"] = w.task()
    roles["oneoff_made"] = w.task()
    roles["orderly"] = w.task(**HOURLY, SelfDepend="orderly")
    roles["unsub"] = w.task(**HOURLY, status="N")
    with db.write() as conn:  # never submitted: no production definition
        conn.execute(update(T.tasks).where(T.tasks.c.id == roles["unsub"]).values(prod_version_id=None))
    roles["late"] = w.task(**DAILY, upstream=[(roles["unsub"], "DAY", "CURRENT_DAY")])
    _made_before(db, w, roles["oneoff_made"], 0, states.COMPLETED)
    _made_before(db, w, roles["orderly"], 3, states.COMPLETED)  # 03:00 ran already
    outs = [plan(list(roles.values()))]
    with db.write() as conn:  # now submitted: the late task's placeholders become real edges
        conn.execute(update(T.tasks).where(T.tasks.c.id == roles["unsub"]).values(
            status="Y", prod_version_id=f"{roles['unsub']}_{roles['unsub']}"))
    outs.append(plan([roles["unsub"]]))
    return roles, outs


def _picture(db: Database, roles: dict[str, str]) -> dict[str, Any]:
    role_of = {v: k for k, v in roles.items()}
    out: dict[str, Any] = {}
    with db.read() as conn:
        for role, tid in roles.items():
            insts = conn.execute(select(TI).where(TI.c.task_id == tid).order_by(TI.c.data_time)).mappings().all()
            out[role] = {
                "instances": [(i["data_time"], i["scheduled_at"], i["state"], i["instance_type"], i["deadline_at"])
                              for i in insts],
                "edges": sorted((i["data_time"], d.kind, role_of.get(d.upstream_task_id, "?"), d.upstream_data_time,
                                 d.met)
                                for i in insts for d in conn.execute(select(D).where(D.c.instance_id == i["id"]))),
                "history": conn.execute(select(func.count()).select_from(instance_transitions).where(
                    instance_transitions.c.instance_id.in_([i["id"] for i in insts] or [-1]))).scalar_one(),
                "plan": conn.execute(select(P.c.task_status, P.c.planned_through, P.c.next_plan_at, P.c.error,
                                            P.c.version_id.is_not(None)).where(P.c.task_id == tid)).one(),
            }
    return out


def test_a_batch_of_first_plans_equals_planning_each_task_alone(db: Database) -> None:
    one_by_one, outs_one = _world(db, lambda ids: _plan(db, ids, batch=False))
    batched, outs_batch = _world(db, lambda ids: _plan(db, ids, batch=True))
    expected, got = _picture(db, one_by_one), _picture(db, batched)
    assert got == expected
    assert [(o.tasks, o.created, o.removed) for o in outs_batch] == [(o.tasks, o.created, o.removed) for o in outs_one]
    # What the comparison rests on: the reference planned something of each kind.
    assert len(expected["hourly"]["instances"]) >= 24 and expected["daily"]["edges"]
    assert len(expected["oneoff"]["instances"]) == 1 and len(expected["oneoff_made"]["instances"]) == 1
    # 04:00 waits for 03:00, made before and COMPLETED: its edge is met, read from that state.
    assert [i[2] for i in expected["orderly"]["instances"][:5]] == [
        "WAIT_RUN", "WAIT_UPSTREAM", "WAIT_UPSTREAM", "COMPLETED", "WAIT_RUN"]
    assert ("pending" not in {e[1] for e in expected["late"]["edges"]}) and expected["late"]["edges"]


def test_the_batch_reads_a_few_statements_not_a_round_per_task(db: Database) -> None:
    """Fifty chained hourly tasks planned for the first time: the batch's statements do not grow
    with the tasks (one by one: about a dozen a task; the upstream states of the fifty were also
    read one task at a time, deps.upstream_states, before tasks wanting the same range shared a
    query)."""
    from sqlalchemy import event

    w = World(db, NOW)
    ids: list[str] = []
    for _ in range(50):
        ids.append(w.task(**HOURLY, upstream=[(ids[-1], "HOUR", None)] if ids else None))
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(" ".join(args[2].split()[:4]))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        out = _plan(db, ids, batch=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert out.tasks == 50 and out.created >= 50 * 24
    assert len(seen) < 30, seen  # 19 on SQLite when written


def test_the_batch_keeps_the_definitions_it_read_for_the_engine(db: Database) -> None:
    """With the engine's definition cache, the batch's one read of the definitions fills it: the
    engine's first dispatch of each task finds its definition there (no read of task_versions on
    the hop's path), and a later batch reads only the versions the cache does not hold."""
    from sqlalchemy import event

    from wedata.scheduler.definitions import DefinitionCache
    from wedata.scheduler.planner import Planner

    w = World(db, NOW)
    ids = [w.task(**HOURLY) for _ in range(5)]
    cache = DefinitionCache()

    def never(version: str) -> Any:
        raise AssertionError(f"{version} read again")

    planner = Planner(lambda v: cache.get(v, never), defs=cache)
    with db.read() as conn:
        rows = planner.changed(conn, ids)
        versions = sorted(r["prod_version_id"] for r in rows)
    assert len(versions) == 5
    with db.write() as conn:
        tx = Tx(conn, NOW, "tester")
        planner.plan_many(tx, rows, PlanOutcome())
        tx.flush()
    for v in versions:
        tdef = cache.get(v, never)  # a hit: `never` is not called
        assert tdef.version_id == v and tdef.schedule.cycle_type.value == "HOUR_CYCLE"

    # Read again through the batch: only the version the cache lost is read from the database.
    cache2 = DefinitionCache()
    for v in versions[1:]:
        cache2.put(v, cache.get(v, never))
    read: list[Any] = []

    def count(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        if "task_versions" in statement:
            read.append(params)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.read() as conn:
            got = Planner(lambda v: cache2.get(v, never), defs=cache2)._load_defs(conn, versions)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert sorted(got) == versions
    assert len(read) == 1 and versions[0] in str(read[0]) and versions[1] not in str(read[0])
    assert cache2.get(versions[0], never) is got[versions[0]]
