"""Planning: instances for the data times of each scheduling (Status Y) task, up to a horizon.

The planner notices work by comparing ``tasks`` with its own ``task_plans`` rows (one cheap
join: a new ``prod_version_id`` or a new ``status``) and by ``task_plans.next_plan_at`` (the
horizon moves once a day per task). Everything it does is idempotent: instances are inserted
with ON CONFLICT DO NOTHING on (task_id, data_time), so a crash half-way, or two schedulers
planning the same task, never duplicate an instance.

Rules (docs/engine.md):

- The window of a first plan starts at 00:00 of the current day in the task's zone (T+0: "the
  task of today is scheduled today"; fires already past run at once) or, with
  ``plan_catch_up = "now"``, at the current time. It ends with the last fire of the day
  ``horizon_days`` after today. The horizon is extended when the next day starts.
- A one-off task gets its single instance once, whatever the window; resubmitting it adds none.
- A new submitted version replaces the instances that have not started yet (from today on) with
  ones planned from the new definition.
- Paused tasks (O) keep their instances, which the dispatcher holds back; no new ones are made.
- The tasks of trigger workflows (workflow-scheduling projects) are never planned: their
  instances are created by workflow runs (services/triggers/runs.py, docs/triggers.md).
- Offline tasks (F, T, INVALID) and deleted tasks lose their not-yet-started instances; a
  pending retry ends EXPIRED; a running attempt finishes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, or_, select, update

from wedata.scheduler import states
from wedata.scheduler.definitions import DefinitionCache, TaskDef, parse_definition
from wedata.scheduler.deps import (
    NewInstance,
    clear_edges,
    compute_edges,
    flush_edges,
    insert_edges,
    pending_instances,
    pending_instances_of,
)
from wedata.scheduler.readiness import evaluate, target_state
from wedata.scheduler.transitions import Tx, record_created, transition
from wedata.scheduler.workflowdeps import dependent_workflows, link_next_cycle, previous_cycle_edges
from wedata.scheduling.cycles import CycleType
from wedata.scheduling.datatimes import event_dimension, planned_instances
from wedata.scheduling.timezones import parse_zone, utc_to_wall, wall_to_utc
from wedata.storage.bulk import in_values, pg_insert_many, pg_update_many
from wedata.storage.db import insert_ignore
from wedata.storage.engine_tables import instance_event_waits, task_instances, task_plans
from wedata.storage.tables import task_versions, tasks, workflows

log = logging.getLogger("wedata.scheduler.planner")

TI = task_instances
P = task_plans
_EPS = timedelta(microseconds=1)
_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1)
OFFLINE = ("F", "T", "INVALID")
# Safety valve: a schedule that fires every second must not plan millions of rows at once.
MAX_PER_TASK = 20_000
# A task of a batch plan: its definition, its row of ``changed``/``due``, its (fire, data time)s.
_Planned = tuple[TaskDef, Mapping[Any, Any], list[tuple[datetime, datetime]]]


def to_utc(wall: datetime, zone: str) -> datetime:
    return wall_to_utc(wall, parse_zone(zone)).replace(tzinfo=None)


def to_wall(utc: datetime, zone: str) -> datetime:
    from datetime import UTC

    return utc_to_wall(utc.replace(tzinfo=UTC), parse_zone(zone)).replace(tzinfo=None)


def _changed_query(among: bool) -> Any:
    q = (
        select(tasks.c.id, tasks.c.status, tasks.c.prod_version_id, P.c.version_id, P.c.task_status,
               P.c.planned_through)
        .select_from(tasks.outerjoin(P, P.c.task_id == tasks.c.id))
        .where(
            # The tasks of trigger workflows have no schedule of their own: they run only
            # inside workflow runs (services/triggers/runs.py), never planned here.
            tasks.c.workflow_id.not_in(select(workflows.c.id).where(workflows.c.workflow_type == "trigger")),
            or_(
                and_(P.c.task_id.is_(None), tasks.c.prod_version_id.is_not(None)),
                and_(
                    P.c.task_id.is_not(None),
                    or_(
                        P.c.version_id.is_distinct_from(tasks.c.prod_version_id),
                        P.c.task_status != tasks.c.status,
                    ),
                ),
            )
        )
        .limit(bindparam("lim"))
    )
    return q.where(tasks.c.id.in_(bindparam("only", expanding=True))) if among else q


# Built once: the engine looks for changed tasks after every submission (building the statement
# cost more CPU than running it on SQLite).
_CHANGED = _changed_query(among=False)
_CHANGED_AMONG = _changed_query(among=True)


@dataclass
class PlanOutcome:
    created: int = 0
    removed: int = 0
    tasks: int = 0
    wake: set[int] = field(default_factory=set)


class Planner:
    def __init__(
        self,
        load_def: Callable[[str], TaskDef],
        *,
        horizon_days: int = 1,
        catch_up: str = "day",
        batch: int = 200,
        defs: DefinitionCache | None = None,
    ) -> None:
        self.load_def = load_def
        # The cache ``load_def`` reads through, when there is one: batch reads use it too.
        self.defs = defs
        self.horizon_days = max(0, horizon_days)
        self.catch_up = catch_up
        self.batch = batch

    # -- what needs planning --------------------------------------------------------------------

    def changed(self, conn: Connection, only: Collection[str] | None = None) -> list[Mapping[Any, Any]]:
        """Tasks whose submitted version or status differs from what was planned (among
        ``only``, when given: a look at those rows, not a merge of every task)."""
        if only is None:
            return list(conn.execute(_CHANGED, {"lim": self.batch}).mappings().all())
        return list(conn.execute(_CHANGED_AMONG, {"lim": self.batch, "only": sorted(only)}).mappings().all())

    def due(self, conn: Connection, now: datetime) -> list[Mapping[Any, Any]]:
        """Plans whose horizon must move (the day rolled over in the task's zone)."""
        q = (
            select(tasks.c.id, tasks.c.status, tasks.c.prod_version_id, P.c.version_id, P.c.task_status,
                   P.c.planned_through)
            .select_from(P.join(tasks, tasks.c.id == P.c.task_id))
            .where(P.c.next_plan_at <= now)
            # When the day rolls over every daily task is due at once: bigger batches, each
            # planned in a few statements (plan_many), so fewer rounds of ``changed``.
            .limit(self.batch * 5)
        )
        return list(conn.execute(q).mappings().all())  # fetchall: not a fetchone per row

    def vanished(self, conn: Connection) -> list[str]:
        """Plans of tasks that no longer exist (deleted)."""
        q = select(P.c.task_id).select_from(P.outerjoin(tasks, tasks.c.id == P.c.task_id)).where(tasks.c.id.is_(None))
        return [r[0] for r in conn.execute(q.limit(self.batch))]

    # -- planning one task ----------------------------------------------------------------------

    def plan(self, tx: Tx, row: Mapping[Any, Any], out: PlanOutcome) -> None:
        task_id, status, version = row["id"], row["status"], row["prod_version_id"]
        out.tasks += 1
        log.debug("planning task %s (status %s, version %s; planned %s/%s)", task_id, status, version,
                  row["task_status"], row["version_id"])
        if status == "Y" and version:
            try:
                tdef = self.load_def(version)
            except ValueError as exc:
                log.warning("task %s: %s", task_id, exc)
                self._save(tx, task_id, version, status, None, None, str(exc))
                return
            if row["version_id"] != version or row["task_status"] in OFFLINE or row["planned_through"] is None:
                self._replan(tx, tdef, row, out)
            else:
                self._extend(tx, tdef, row["planned_through"], out)
        elif status == "O":
            # Paused: keep what exists (held back by the dispatcher), plan nothing new.
            self._save(tx, task_id, row["version_id"], status, row["planned_through"], None, None)
        else:
            if row["task_status"] is not None and row["task_status"] not in OFFLINE and row["version_id"]:
                out.removed += self.take_down(tx, task_id, f"task status {status}: taken offline")
            self._save(tx, task_id, version if status in OFFLINE else None, status, None, None, None)

    def plan_many(self, tx: Tx, rows: Sequence[Mapping[Any, Any]], out: PlanOutcome) -> None:
        """Plan a batch of rows (``changed`` or ``due``). The two common cases at scale are done
        for the whole batch in a handful of statements (:meth:`_plan_batch`): the horizon of an
        already planned task moving with the day, and the first plan of a submitted task (a
        flood of submissions; 12 statements a task one by one). Every other row goes through
        :meth:`plan`."""
        moving: list[Mapping[Any, Any]] = []
        first: list[Mapping[Any, Any]] = []
        for r in rows:
            if r["status"] != "Y" or not r["prod_version_id"]:
                self.plan(tx, r, out)
            elif (r["version_id"] == r["prod_version_id"] and r["task_status"] not in OFFLINE
                  and r["planned_through"] is not None):
                moving.append(r)
            elif not r["version_id"]:  # never planned with a version: nothing to take down
                first.append(r)
            else:
                self.plan(tx, r, out)
        if moving:
            self._plan_batch(tx, moving, out, first=False)
        if first:
            self._plan_batch(tx, first, out, first=True)

    def _plan_batch(self, tx: Tx, rows: Sequence[Mapping[Any, Any]], out: PlanOutcome, *, first: bool) -> None:
        """:meth:`_extend` (``first`` False) or :meth:`_replan` of a never planned task
        (``first`` True) for many tasks at once: their definitions, the instances, the edges and
        the plans each in one statement (or a few chunks), not one round of each per task. A task
        whose definition does not parse, that listens for events or whose workflow depends on
        its previous cycle goes through :meth:`plan` (their rules need it alone)."""
        conn = tx.conn
        defs = self._load_defs(conn, [r["prod_version_id"] for r in rows])
        metas = {tid: (p, w, o) for tid, p, w, o in conn.execute(
            select(tasks.c.id, tasks.c.project_id, tasks.c.workflow_id, tasks.c.owner_uin)
            .where(in_values(conn, tasks.c.id, [r["id"] for r in rows]))).all()}
        dependent = dependent_workflows(conn, {w for _, w, _ in metas.values()})
        # A one-off task makes its one instance once, ever (as in _replan).
        once = [r["id"] for r in rows if first and (d := defs.get(r["prod_version_id"])) is not None
                and d.schedule.cycle_type is CycleType.ONEOFF_CYCLE]
        made = set(conn.execute(select(TI.c.task_id).where(in_values(conn, TI.c.task_id, once)).distinct()).scalars()) \
            if once else set()
        plain: list[_Planned] = []
        windows = _Windows(self, tx.now)
        for row in rows:
            tdef, meta = defs.get(row["prod_version_id"]), metas.get(row["id"])
            if tdef is None or meta is None or tdef.events or meta[1] in dependent:
                self.plan(tx, row, out)
                continue
            out.tasks += 1
            until = windows.get(tdef.zone)[0]
            after = windows.start(tdef.zone) if first else to_wall(row["planned_through"], tdef.zone)
            if tdef.schedule.cycle_type is CycleType.ONEOFF_CYCLE:
                fires = list(planned_instances(tdef.schedule, _EPOCH))[:1] if first and tdef.task_id not in made else []
            else:
                fires = self._fires(tdef, after, until) if until > after else []
            plain.append((tdef, row, fires))
        items = [NewInstance(tdef, d) for tdef, _, fires in plain for _, d in fires]
        if items:
            # An instance that exists already (made by another scheduler meanwhile, or by a
            # backfill before the first plan) is skipped by ON CONFLICT DO NOTHING and gets no
            # edges and no history, as _create leaves it out (an edge on it is met or not by its
            # state either way: compute_edges reads the states of every upstream key).
            batch = {tdef.task_id: {d for _, d in fires} for tdef, _, fires in plain if fires}
            edges = iter(compute_edges(conn, items, lambda v: defs.get(v) or self.load_def(v), batch))
            new_rows: list[dict[str, Any]] = []
            by_key: dict[tuple[str, datetime], list[dict[str, Any]]] = {}
            for tdef, _, fires in plain:
                project_id, workflow_id, owner = metas[tdef.task_id]
                for fire, dt in fires:
                    by_key[(tdef.task_id, dt)] = e = next(edges)
                    new_rows.append(instance_row(tx.now, tdef, project_id, workflow_id, fire, dt, e, owner_uin=owner))
            self._insert_instances(tx, new_rows, by_key, out)
        self._save_many(tx, [(tdef, row) for tdef, row, _ in plain], windows, first=first)
        if first and plain:
            # Downstream instances mapped while these tasks had no schedule (placeholders).
            ids = pending_instances_of(conn, [tdef.task_id for tdef, _, _ in plain])
            if ids:
                self._refresh_instances(tx, ids, out)

    def _load_defs(self, conn: Connection, versions: Sequence[str]) -> dict[str, TaskDef]:
        """The definitions of ``versions`` from one query (those that do not parse are left out).

        With a cache, those it holds are not read, and those read are kept in it: the engine
        dispatches what it planned, and its first start of each task would otherwise read and
        parse the same definition again, one query per task, on the hop's path."""
        out: dict[str, TaskDef] = self.defs.known(set(versions)) if self.defs is not None else {}
        wanted = sorted(set(versions) - out.keys())
        for i in range(0, len(wanted), 500):
            for vid, snapshot in conn.execute(select(task_versions.c.version_id, task_versions.c.snapshot)
                                              .where(in_values(conn, task_versions.c.version_id, wanted[i : i + 500]))).all():
                try:
                    out[vid] = parse_definition(vid, snapshot)
                except (ValueError, TypeError, KeyError):
                    continue  # plan() records the reason
                if self.defs is not None:
                    self.defs.put(vid, out[vid])
        return out

    def _insert_instances(self, tx: Tx, rows: list[dict[str, Any]], edges: Mapping[tuple[str, datetime], Any],
                          out: PlanOutcome) -> None:
        created: list[dict[str, Any]] = []
        edge_buf: list[dict[str, Any]] = []
        # PostgreSQL: one short statement for the whole batch (storage/bulk.py); else 500 rows
        # per multi-row INSERT. Either way in id order, which is the order of the rows.
        done = pg_insert_many(tx.conn, TI, rows, ignore_conflicts=True, returning=("id", "task_id", "data_time", "state"))
        if done is None:
            stmt = insert_ignore(tx.conn, TI).returning(TI.c.id, TI.c.task_id, TI.c.data_time, TI.c.state)
            done = [r for i in range(0, len(rows), 500) for r in tx.conn.execute(stmt, rows[i : i + 500])]
        else:
            done.sort(key=lambda r: r[0])
        for iid, task_id, dt, state in done:
            created.append({"id": iid, "state": state})
            insert_edges(tx.conn, iid, edges[(task_id, dt)], edge_buf)
        flush_edges(tx.conn, edge_buf)
        record_created(tx, created, "planned")
        out.created += len(created)
        out.wake.update(c["id"] for c in created if c["state"] == states.WAIT_RUN)

    def _save_many(self, tx: Tx, plans: Sequence[tuple[TaskDef, Mapping[Any, Any]]], windows: _Windows, *,
                   first: bool = False) -> None:
        """The new horizon of each plan: one UPDATE from arrays on PostgreSQL (storage/bulk.py),
        one executemany elsewhere; a first plan's row is inserted first where there is none."""
        if not plans:
            return
        params = []
        for tdef, row in plans:
            _, until_utc, next_at = windows.get(tdef.zone)
            through = until_utc if row["planned_through"] is None else max(row["planned_through"], until_utc)
            params.append({"task_id": tdef.task_id, "version_id": tdef.version_id, "task_status": "Y",
                           "planned_through": through, "next_plan_at": next_at,
                           "error": None, "updated_at": tx.now})
        if first:
            tx.conn.execute(insert_ignore(tx.conn, P), params)
        if pg_update_many(tx.conn, P, "task_id", params):
            return
        tx.conn.execute(
            update(P).where(P.c.task_id == bindparam("b_task_id")).values(
                version_id=bindparam("b_version"), task_status="Y", planned_through=bindparam("b_through"),
                next_plan_at=bindparam("b_next"), error=None, updated_at=tx.now),
            [{"b_task_id": p["task_id"], "b_version": p["version_id"], "b_through": p["planned_through"],
              "b_next": p["next_plan_at"]} for p in params],
        )

    def postpone(self, tx: Tx, row: Mapping[Any, Any], retry_at: datetime, reason: str) -> None:
        """Planning this task failed: keep what it had and try again at ``retry_at``."""
        self._save(tx, row["id"], row["prod_version_id"], row["status"], row["planned_through"], retry_at, reason)

    def forget(self, tx: Tx, task_id: str, out: PlanOutcome) -> None:
        """The task was deleted."""
        out.removed += self.take_down(tx, task_id, "task deleted")
        tx.conn.execute(delete(P).where(P.c.task_id == task_id))

    def take_down(self, tx: Tx, task_id: str, reason: str, since: datetime | None = None) -> int:
        """Remove instances that never started; end pending retries. Returns the number removed."""
        log.debug("task %s: removing not-started instances (%s)", task_id, reason)
        q = select(TI.c.id).where(
            TI.c.task_id == task_id, TI.c.state.in_(states.WAITING), TI.c.total_run_num == 0, TI.c.life_round_num == 0
        )
        if since is not None:
            q = q.where(TI.c.scheduled_at >= since)
        ids = [r[0] for r in tx.conn.execute(q)]
        for i in range(0, len(ids), 500):
            tx.conn.execute(delete(TI).where(TI.c.id.in_(ids[i : i + 500])))
        if since is None:
            rows = tx.conn.execute(
                select(TI).where(TI.c.task_id == task_id, TI.c.state.in_(states.PENDING))
            ).mappings().all()
            for r in rows:
                transition(tx, r, states.EXPIRED, reason, {"retry_at": None, "deadline_at": None, "error_msg": reason})
        return len(ids)

    def _window(self, tdef: TaskDef, now: datetime) -> tuple[datetime, datetime, datetime]:
        """(plan after this wall time, until this wall time, next extension at UTC)."""
        return self._window_in(tdef.zone, now)

    def _window_in(self, zone: str, now: datetime) -> tuple[datetime, datetime, datetime]:
        wall_now = to_wall(now, zone)
        day = wall_now.replace(hour=0, minute=0, second=0, microsecond=0)
        start = (day if self.catch_up == "day" else wall_now) - _EPS
        until = day + (1 + self.horizon_days) * _DAY - _EPS
        return start, until, to_utc(day + _DAY, zone)

    def _replan(self, tx: Tx, tdef: TaskDef, row: Mapping[Any, Any], out: PlanOutcome) -> None:
        start, until, next_at = self._window(tdef, tx.now)
        if row["version_id"] and row["version_id"] != tdef.version_id:
            # A new definition: what has not started from today on is planned again.
            out.removed += self.take_down(tx, tdef.task_id, "replaced by a new version", since=to_utc(start + _EPS, tdef.zone))
        if tdef.schedule.cycle_type is CycleType.ONEOFF_CYCLE:
            exists = tx.conn.execute(select(TI.c.id).where(TI.c.task_id == tdef.task_id).limit(1)).first()
            fires = [] if exists else list(planned_instances(tdef.schedule, _EPOCH))[:1]
        else:
            fires = self._fires(tdef, start, until)
        self._create(tx, tdef, fires, out)
        self._save(tx, tdef.task_id, tdef.version_id, "Y", to_utc(until, tdef.zone), next_at, None)
        # Downstream edges mapped with an older schedule of this task (or with none) are stale.
        self._refresh_downstream(tx, tdef.task_id, out, placeholders_only=not row["version_id"])

    def _extend(self, tx: Tx, tdef: TaskDef, planned_through: datetime, out: PlanOutcome) -> None:
        _, until, next_at = self._window(tdef, tx.now)
        after = to_wall(planned_through, tdef.zone)
        if tdef.schedule.cycle_type is not CycleType.ONEOFF_CYCLE and until > after:
            self._create(tx, tdef, self._fires(tdef, after, until), out)
        self._save(tx, tdef.task_id, tdef.version_id, "Y", max(planned_through, to_utc(until, tdef.zone)), next_at, None)

    def _fires(self, tdef: TaskDef, after: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
        fires: list[tuple[datetime, datetime]] = []
        for pair in planned_instances(tdef.schedule, after, until):
            fires.append(pair)
            if len(fires) >= MAX_PER_TASK:
                log.warning("task %s: planning stopped at %d instances", tdef.task_id, MAX_PER_TASK)
                break
        return fires

    def _save(self, tx: Tx, task_id: str, version: str | None, status: str, through: datetime | None,
              next_at: datetime | None, error: str | None) -> None:
        values = {"version_id": version, "task_status": status, "planned_through": through,
                  "next_plan_at": next_at, "error": error, "updated_at": tx.now}
        done = tx.conn.execute(update(P).where(P.c.task_id == task_id).values(**values)).rowcount
        if not done:
            tx.conn.execute(insert_ignore(tx.conn, P).values(task_id=task_id, **values))

    # -- creating instances ---------------------------------------------------------------------

    def _create(self, tx: Tx, tdef: TaskDef, fires: Sequence[tuple[datetime, datetime]], out: PlanOutcome) -> None:
        if not fires:
            return
        meta = tx.conn.execute(
            select(tasks.c.project_id, tasks.c.workflow_id, tasks.c.owner_uin).where(tasks.c.id == tdef.task_id)
        ).first()
        if meta is None:
            return
        existing = {
            r[0]
            for r in tx.conn.execute(
                select(TI.c.data_time).where(
                    TI.c.task_id == tdef.task_id, TI.c.data_time >= fires[0][1], TI.c.data_time <= fires[-1][1]
                )
            )
        }
        fresh = [(f, d) for f, d in fires if d not in existing]
        if not fresh:
            return
        items = [NewInstance(tdef, d) for _, d in fresh]
        edges = compute_edges(tx.conn, items, self.load_def, {tdef.task_id: {d for _, d in fresh}})
        workflow_dep = meta.workflow_id in dependent_workflows(tx.conn, [meta.workflow_id])
        if workflow_dep:  # DependencyWorkflow: also wait for the workflow's previous cycle
            extra = previous_cycle_edges(tx.conn, meta.workflow_id, tdef, [d for _, d in fresh])
            for e, more in zip(edges, extra, strict=True):
                e.extend(more)
        rows = [
            instance_row(tx.now, tdef, meta.project_id, meta.workflow_id, fire, dt, e, owner_uin=meta.owner_uin)
            for (fire, dt), e in zip(fresh, edges, strict=True)
        ]
        stmt = insert_ignore(tx.conn, TI).returning(TI.c.id, TI.c.data_time, TI.c.state)
        created: list[dict[str, Any]] = []
        created_times: list[tuple[int, datetime]] = []
        edge_by_time = {dt: e for (_, dt), e in zip(fresh, edges, strict=True)}
        edge_buf: list[dict[str, Any]] = []
        event_buf: list[dict[str, Any]] = []
        for i in range(0, len(rows), 500):
            for iid, dt, state in tx.conn.execute(stmt, rows[i : i + 500]):
                created.append({"id": iid, "state": state})
                created_times.append((iid, dt))
                insert_edges(tx.conn, iid, edge_by_time[dt], edge_buf)
                for ev in tdef.events:
                    event_buf.append({"instance_id": iid, "event_name": ev.name,
                                      "dimension": event_dimension(ev.sub_type, dt),
                                      "broadcast_type": ev.broadcast, "met": False})
        flush_edges(tx.conn, edge_buf)
        if event_buf:
            tx.conn.execute(insert(instance_event_waits), event_buf)
        record_created(tx, created, "planned")
        out.created += len(created)
        if workflow_dep:  # ... and make the next cycle (planned already, or in this batch) wait for these
            linked = link_next_cycle(tx.conn, meta.workflow_id, tdef, created_times)
            if linked:
                evaluate(tx, linked)
        if tdef.events:  # an event fired before the instance existed may already be waiting
            evaluate(tx, [c["id"] for c in created if c["state"] == states.WAIT_EVENT])
        out.wake.update(c["id"] for c in created if c["state"] == states.WAIT_RUN)

    def _refresh_downstream(self, tx: Tx, task_id: str, out: PlanOutcome, *, placeholders_only: bool) -> None:
        """Re-resolve the edges of not-yet-started downstream instances on this (re)planned task."""
        ids = pending_instances(tx.conn, task_id, placeholders_only=placeholders_only)
        if ids:
            self._refresh_instances(tx, ids, out)

    def _refresh_instances(self, tx: Tx, ids: Sequence[int], out: PlanOutcome) -> None:
        rows: list[Any] = []
        for i in range(0, len(ids), 500):
            rows.extend(
                tx.conn.execute(
                    select(TI.c.id, TI.c.data_time, TI.c.task_id, tasks.c.prod_version_id)
                    .join(tasks, tasks.c.id == TI.c.task_id)
                    .where(TI.c.id.in_(ids[i : i + 500]))
                ).all()
            )
        items, keep = [], []
        for iid, dt, _tid, version in rows:
            if not version:
                continue
            try:
                items.append(NewInstance(self.load_def(version), dt))
                keep.append(iid)
            except ValueError:
                continue
        edges = compute_edges(tx.conn, items, self.load_def)
        clear_edges(tx.conn, keep)
        buf: list[dict[str, Any]] = []
        for iid, e in zip(keep, edges, strict=True):
            insert_edges(tx.conn, iid, e, buf)
        flush_edges(tx.conn, buf)
        evaluate(tx, keep)
        out.wake.update(keep)


class _Windows:
    """:meth:`Planner._window` of a batch, once per zone: (until as wall time, until as UTC,
    next extension at UTC)."""

    def __init__(self, planner: Planner, now: datetime) -> None:
        self._planner, self._now = planner, now
        # zone -> (until as wall time, until as UTC, next extension at UTC, start as wall time)
        self._by_zone: dict[str, tuple[datetime, datetime, datetime, datetime]] = {}

    def _of(self, zone: str) -> tuple[datetime, datetime, datetime, datetime]:
        hit = self._by_zone.get(zone)
        if hit is None:
            start, until, next_at = self._planner._window_in(zone, self._now)
            hit = self._by_zone[zone] = (until, to_utc(until, zone), next_at, start)
        return hit

    def get(self, zone: str) -> tuple[datetime, datetime, datetime]:
        until, until_utc, next_at, _ = self._of(zone)
        return until, until_utc, next_at

    def start(self, zone: str) -> datetime:
        """Where a first plan starts, as wall time (:meth:`Planner._window`)."""
        return self._of(zone)[3]


def instance_row(now: datetime, tdef: TaskDef, project_id: str, workflow_id: str, fire: datetime,
                 data_time: datetime, edges: Sequence[Mapping[Any, Any]], *, owner_uin: str,
                 instance_type: int | None = None, run_type: str | None = None) -> dict[str, Any]:
    """A new instance's row. ``owner_uin`` is the task's owner now (``tasks.owner_uin``), not the
    definition's: an owner changed since the task was submitted is the owner
    (storage/instance_owner.py)."""
    scheduled_at = to_utc(fire, tdef.zone)
    unmet = sum(1 for e in edges if not e["met"])
    oneoff = tdef.schedule.cycle_type is CycleType.ONEOFF_CYCLE
    return {
        "task_id": tdef.task_id,
        "data_time": data_time,
        "project_id": project_id,
        "workflow_id": workflow_id,
        "version_id": tdef.version_id,
        "instance_type": instance_type if instance_type is not None else (2 if oneoff else 1),
        "state": target_state(len(tdef.events), unmet, False),
        "scheduled_at": scheduled_at,
        "priority": tdef.priority,
        "resource_group_id": tdef.resource_group,
        "self_depend": tdef.self_depend.value,
        "dry_run": tdef.dry_run,
        "cycle_type": tdef.cycle_type,
        "task_type_id": tdef.task_type_id,
        "owner_uin": owner_uin,
        "life_round_num": 0,
        "tries": 0,
        "try_limit": tdef.try_limit,
        "total_run_num": 0,
        "run_type": run_type or ("APERIODIC" if oneoff else "PERIODIC"),
        "wait_since": max(scheduled_at, now),
        "deadline_at": (max(scheduled_at, now) + timedelta(minutes=tdef.wait_ttl_minutes))
        if tdef.wait_ttl_minutes >= 0 and tdef.wait_ttl_strategy == "fail" else None,
        "skip_events": False,
        "row_version": 0,
        "created_at": now,
        "updated_at": now,
    }


def load_snapshot(conn: Connection, version_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(task_versions.c.snapshot).where(task_versions.c.version_id == version_id)).first()
    return None if row is None else row[0]


def workflow_params(conn: Connection, workflow_id: str) -> dict[str, str]:
    row = conn.execute(select(workflows.c.params).where(workflows.c.id == workflow_id)).first()
    out: dict[str, str] = {}
    for p in (row[0] if row else None) or []:
        if isinstance(p, Mapping) and p.get("ParamKey"):
            out[str(p["ParamKey"])] = str(p.get("ParamValue") or "")
    return out
