"""Control-flow nodes at run time: Branch, Merge, For-each and Run Workflow end (or wait) in
the engine's transactions, without an OS process (docs/triggers.md, "Control-flow nodes").

A control node's task run is an engine instance like any other (runs.py); it reaches
``WAIT_RUN`` when its trigger rule passes. This transition observer sees that change in the
transaction that made it and acts at once, so the dispatcher never finds the node waiting for a
slot (were the observer to fail, the engine would run it and the executor refuse its type: the
task run fails with a reason, it never hangs):

- **Merge**: ``COMPLETED`` (its DependencyTriggerPolicy already decided that it may go).
- **Branch**: the conditions (control.py) over the run's parameters, the node's own and its
  ``ParamTaskInList`` inputs choose direct downstream task runs; the others end
  ``SKIP_RUNNING`` (their own downstream then decides under its rule: the skip propagation of
  rules.py), and the node ``COMPLETED``. A condition that names an unknown parameter or fails
  ends the node ``EXPIRED`` with the reason.
- **For-each**: the node goes ``RUNNING`` and creates one task run of its inner task per item
  (an engine instance whose data time is the run's plus ``i + 1`` microseconds, so each has its
  own InstanceKey and log), with the parameters ``item`` and ``item_index``. Iteration ``i``
  waits for iteration ``i - parallelism`` to end (an ALL_DONE trigger edge), so at most
  ``parallelism`` run at once. When all have ended the node ends: ``COMPLETED`` if none failed.
- **Run Workflow**: the node goes ``RUNNING`` and starts a run of the target workflow through
  ``TriggerRunService.create_run_in`` (the CreateTriggerWorkflowRun code, in this transaction;
  the node's own parameters that the target declares are its AdvancedParams); the child run
  records the node (``parent_instance_id``). When the child run ends, the node ends:
  ``COMPLETED`` if it succeeded. A target that would lead back to a workflow of the chain of
  runs that started this one is refused, as at submit (control.check_target).

Every change goes through ``transition``; each node's log (read as any instance's) says what it
decided. This observer is registered after the run-state observer (progress.py), so a child
run's state is final when it is read here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, insert, or_, select, update

from wedata.config import Settings
from wedata.principal import Caller
from wedata.scheduler.api import (
    Change,
    SchedulerApi,
    Tx,
    append_log,
    instance_row,
    log_line,
    log_path,
    observe,
    record_created,
    states,
    transition,
)
from wedata.services.common import new_uuid
from wedata.services.errors import ServiceError
from wedata.services.triggers import control, progress, rules, scope
from wedata.storage.db import Database
from wedata.storage.engine_tables import instance_deps, instance_executions, task_instances
from wedata.storage.savepoints import savepoint
from wedata.storage.tables import tasks, workflows
from wedata.storage.trigger_tables import trigger_task_runs, trigger_workflow_runs

log = logging.getLogger(__name__)
TI, D, E, R, TR = task_instances, instance_deps, instance_executions, trigger_workflow_runs, trigger_task_runs
RUN_TYPE = "MANUAL_TRIGGER"
NODE = "control-flow"  # instance_executions.node_id / executor of a control node's attempt

# Built once: both run on the engine's hot path (each flush with a WAIT_RUN or a terminal change).
_READY_NODES = (
    select(TI, TR.c.workflow_execution_id).select_from(TI.join(TR, TR.c.instance_id == TI.c.id))
    .where(TI.c.id.in_(bindparam("ids", expanding=True)), TI.c.state == states.WAIT_RUN,
           TI.c.task_type_id.in_(sorted(control.CONTROL_TYPES)))
)
_ENDED_ROWS = (
    select(TR.c.parent_instance_id.label("iteration_of"), R.c.parent_instance_id.label("started_by"),
           R.c.state, R.c.execution_id, R.c.workflow_id)
    .select_from(TR.join(R, R.c.execution_id == TR.c.workflow_execution_id))
    .where(TR.c.instance_id.in_(bindparam("ids", expanding=True)),
           or_(TR.c.parent_instance_id.is_not(None), R.c.parent_instance_id.is_not(None)))
)


class RunStarter(Protocol):
    def create_run_in(self, conn: Connection, project_id: str, caller: Caller, workflow_id: str,
                      wanted: list[str] | None, overrides: dict[str, str], origin: Any = None,
                      parent_instance_id: int | None = None) -> str: ...


class NodeFailed(Exception):
    """A control node cannot do its work: it ends EXPIRED with this reason."""


class ControlNodes:
    def __init__(self, db: Database, settings: Settings, scheduler: SchedulerApi, runs: RunStarter) -> None:
        self.db = db
        self.settings = settings
        self.scheduler = scheduler
        self.runs = runs
        self._pending: dict[int, list[tuple[Sequence[int], Sequence[int], datetime]]] = {}
        observe(db.engine, "trigger-control", self.on_changes)

    # -- the observer ---------------------------------------------------------------------------------

    def on_changes(self, conn: Connection, changes: Sequence[Mapping[str, Any]]) -> None:
        moved = [c for c in changes if c["to_state"] == states.WAIT_RUN or c["to_state"] in states.TERMINAL]
        if moved:  # a periodic workflow's instances are no control node's (scope.py)
            moved = scope.of_trigger_workflows(conn, moved)
        ready = sorted({c["instance_id"] for c in moved if c["to_state"] == states.WAIT_RUN})
        ended = sorted({c["instance_id"] for c in moved if c["to_state"] in states.TERMINAL})
        if not ready and not ended:
            return
        now = max(c["at"] for c in changes)
        # A node's end lets the next node go, whose start is observed inside the first one's
        # flush: acting there would nest one level per node of a chain. Changes seen while this
        # connection is already inside this observer are queued and taken in turn by the
        # outermost call (same transaction), so the depth stays bounded however long the chain.
        key = id(conn)
        queue = self._pending.get(key)
        if queue is not None:
            queue.append((ready, ended, now))
            return
        queue = self._pending[key] = [(ready, ended, now)]
        try:
            while queue:
                self._act(conn, *queue.pop(0))
        finally:
            self._pending.pop(key, None)

    def _act(self, conn: Connection, ready: Sequence[int], ended: Sequence[int], now: datetime) -> None:
        try:
            # The reads first, outside the savepoint: most state changes concern no control
            # node, and a savepoint costs the engine's cycle a round trip (issue 14).
            starting = self._ready_nodes(conn, ready) if ready else []
            rows: Sequence[Any] | None = None
            if not starting:
                rows = self._ended_rows(conn, ended) if ended else []
                if not rows:
                    return
            with savepoint(conn):
                for inst in starting:
                    self._start(conn, now, inst)
                if ended:  # read after the starts when there were some (as they may change runs)
                    self._ended(conn, now, rows if rows is not None else self._ended_rows(conn, ended))
        except Exception:  # an observer must not roll back the engine's changes (observers.py)
            log.exception("control-flow nodes: could not follow the state changes of instances %s", ended or ready)

    @staticmethod
    def _ready_nodes(conn: Connection, ready: Sequence[int]) -> Sequence[Any]:
        return conn.execute(_READY_NODES, {"ids": list(ready)}).mappings().all()

    @staticmethod
    def _ended_rows(conn: Connection, ended: Sequence[int]) -> Sequence[Any]:
        """The ended instances that are iterations of a For-each node or run in a run started by
        another node (sub-workflow)."""
        return conn.execute(_ENDED_ROWS, {"ids": list(ended)}).all()

    def _ended(self, conn: Connection, now: datetime, rows: Sequence[Any]) -> None:
        for parent in sorted({r.iteration_of for r in rows if r.iteration_of is not None}):
            self._foreach_progress(conn, now, parent)
        for r in {(r.started_by, r.execution_id, r.state, r.workflow_id) for r in rows if r.started_by is not None}:
            if r[2] in progress.FINISHED:
                self._child_ended(conn, now, *r)

    # -- helpers ----------------------------------------------------------------------------------------

    def _log(self, inst: Mapping[Any, Any], now: datetime, level: str, text: str) -> str:
        path = log_path(self.settings.logs_dir, inst["task_id"], inst["data_time"], inst["life_round_num"])
        try:
            append_log(path, log_line(now, level, text))
        except OSError as exc:
            log.warning("control node %s: cannot write its log %s: %s", inst["id"], path, exc)
        return str(path)

    @staticmethod
    def _end(tx: Tx, inst: Mapping[Any, Any], ok: bool, reason: str) -> bool:
        started = inst["started_at"] or tx.now
        values = {"ended_at": tx.now, "cost_ms": int((tx.now - started).total_seconds() * 1000),
                  "deadline_at": None, "retry_at": None, "claimed_by": None, "error_msg": None if ok else reason}
        if inst["state"] == states.WAIT_RUN:
            values.update(tries=inst["tries"] + 1, total_run_num=inst["total_run_num"] + 1, started_at=tx.now)
        return transition(tx, inst, states.COMPLETED if ok else states.EXPIRED, reason, values)

    def _run_now(self, tx: Tx, inst: Mapping[Any, Any], reason: str) -> bool:
        return transition(tx, inst, states.RUNNING, reason, {
            "tries": inst["tries"] + 1, "total_run_num": inst["total_run_num"] + 1, "started_at": tx.now,
            "ended_at": None, "cost_ms": None, "error_msg": None, "retry_at": None, "claimed_by": None,
            "deadline_at": None,
        })

    def _values(self, conn: Connection, inst: Mapping[Any, Any], tdef: Any) -> dict[str, str]:
        """What ``${name}`` reads in a condition or an item list: the run's parameters, the
        instance's (AdvancedParams, a rerun's), the task's own, and its inputs (one query)."""
        run = conn.execute(select(R.c.params).where(R.c.execution_id == inst["workflow_execution_id"])).first()
        values = {str(p["ParamKey"]): str(p.get("ParamValue") or "") for p in (run.params if run else None) or []}
        values.update(tdef.params)
        values.update({k: str(v) for k, v in (inst["params"] or {}).items()})
        if tdef.in_params:
            outs = {r.task_id: r.outputs or {} for r in conn.execute(
                select(TI.c.task_id, TI.c.outputs).where(TI.c.task_id.in_([p.from_task_id for p in tdef.in_params]),
                                                         TI.c.data_time == inst["data_time"]))}
            for p in tdef.in_params:
                if p.from_key in outs.get(p.from_task_id, {}):
                    values[p.key] = str(outs[p.from_task_id][p.from_key])
        return values

    # -- starting a node ------------------------------------------------------------------------------

    def _start(self, conn: Connection, now: datetime, inst: Mapping[Any, Any]) -> None:
        tx = Tx(conn=conn, now=now, actor="scheduler")
        tdef = self.scheduler.load_def(inst["version_id"], conn)
        kind = inst["task_type_id"]
        try:
            # One per node in a loop: begin_nested, whose RELEASE keeps the server's transaction
            # stack at one level (storage/savepoints.py is for a few savepoints a transaction).
            with conn.begin_nested():
                if kind == control.MERGE:
                    text = "Merge node: its upstream task runs ended as its DependencyTriggerPolicy requires"
                    path = self._log(inst, now, "INFO", text)
                    if self._end(tx, inst, True, text):
                        attempt_row(conn, inst, now, path, "COMPLETE")
                elif kind == control.BRANCH:
                    self._branch(tx, inst, tdef)
                elif kind == control.FOREACH:
                    self._foreach(tx, inst, tdef)
                else:
                    self._run_workflow(tx, inst, tdef)
                tx.flush()
        except (NodeFailed, ServiceError) as exc:
            tx = Tx(conn=conn, now=now, actor="scheduler")
            reason = f"{control_name(kind)} node failed: {exc}"
            path = self._log(inst, now, "ERROR", reason)
            if self._end(tx, inst, False, reason):
                attempt_row(conn, inst, now, path, "EXPIRED")
            tx.flush()
        self.scheduler.notify(Change.INSTANCES)

    def _branch(self, tx: Tx, inst: Mapping[Any, Any], tdef: Any) -> None:
        try:
            chosen_rules = control.parse_branch(tdef.ext)
            chosen, lines = control.choose(chosen_rules, self._values(tx.conn, inst, tdef))
        except KeyError as exc:
            raise NodeFailed(f"the condition names {exc.args[0]}, which is not a parameter of the run, of the "
                             "node or one of its inputs (ParamTaskInList)") from None
        except ValueError as exc:
            raise NodeFailed(str(exc)) from None
        for line in lines:
            self._log(inst, tx.now, "INFO", f"Branch node: {line}")
        below = tx.conn.execute(
            select(TI).select_from(D.join(TI, TI.c.id == D.c.instance_id))
            .where(D.c.upstream_task_id == inst["task_id"], D.c.upstream_data_time == inst["data_time"],
                   D.c.kind == rules.KIND)
        ).mappings().all()
        followed = sorted(b["task_id"] for b in below if b["task_id"] in chosen)
        for b in below:
            if b["task_id"] not in chosen and b["state"] in (states.WAIT_EVENT, states.WAIT_UPSTREAM, states.WAIT_RUN):
                why = f"skipped: not chosen by the Branch node {inst['task_id']}"
                transition(tx, b, states.SKIP_RUNNING, why, {"error_msg": why, "ended_at": tx.now,
                                                              "deadline_at": None, "retry_at": None})
        text = f"Branch node: following {', '.join(followed) or 'no task'}"
        path = self._log(inst, tx.now, "INFO", text)
        if self._end(tx, inst, True, text):
            attempt_row(tx.conn, inst, tx.now, path, "COMPLETE")

    def _foreach(self, tx: Tx, inst: Mapping[Any, Any], tdef: Any) -> None:
        conn = tx.conn
        try:
            spec = control.parse_foreach(tdef.ext)
            items = control.foreach_items(spec, self._values(conn, inst, tdef))
        except ServiceError as exc:
            raise NodeFailed(exc.message) from None
        found = conn.execute(select(tasks.c.prod_version_id, tasks.c.owner_uin).where(tasks.c.id == spec.inner)).first()
        if found is None or found.prod_version_id is None:
            raise NodeFailed(f"the inner task {spec.inner} does not exist or was never submitted")
        version, owner = found.prod_version_id, found.owner_uin
        inner = self.scheduler.load_def(version, conn)
        times = [inst["data_time"] + timedelta(microseconds=i + 1) for i in range(len(items))]
        earlier = conn.execute(
            select(TI, TR.c.parent_instance_id, TR.c.item_index).select_from(TI.join(TR, TR.c.instance_id == TI.c.id))
            .where(TI.c.task_id == spec.inner, TI.c.data_time > inst["data_time"],
                   TI.c.data_time <= inst["data_time"] + timedelta(microseconds=control.MAX_ITEMS))
        ).mappings().all()
        if any(e["parent_instance_id"] != inst["id"] for e in earlier):
            raise NodeFailed(f"the task {spec.inner} is already the inner task of another For-each node of this run")
        text = (f"For-each node: {len(items)} item(s) of {spec.items!r}, inner task {spec.inner}, "
                f"parallelism {spec.parallelism}")
        if earlier:  # a rerun of the run: the same iterations run again (a new life round each)
            if len(earlier) != len(items):
                raise NodeFailed(f"the list now has {len(items)} item(s) but the run's first round had "
                                 f"{len(earlier)}: a rerun runs the same iterations (start a new run instead)")
            path = self._log(inst, tx.now, "INFO", f"{text} (rerun)")
            if self._run_now(tx, inst, text):
                self._rearm(tx, inst, earlier, items)
            return
        path = self._log(inst, tx.now, "INFO", text)
        if not items:
            if self._end(tx, inst, True, f"{text}: nothing to run"):
                attempt_row(conn, inst, tx.now, path, "COMPLETE")
            return
        if not self._run_now(tx, inst, text):
            return
        created, task_runs, deps = [], [], []
        for i, (item, at) in enumerate(zip(items, times, strict=True)):
            waits = i >= spec.parallelism
            row = instance_row(tx.now, inner, inst["project_id"], inst["workflow_id"], at, at,
                               [{"met": False}] if waits else [], owner_uin=owner, instance_type=2, run_type=RUN_TYPE)
            row.update(scheduled_at=tx.now, wait_since=tx.now, self_depend="parallel",
                       params={**(inst["params"] or {}), "item": item, "item_index": str(i)})
            if row["deadline_at"] is not None:
                row["deadline_at"] = tx.now + timedelta(minutes=inner.wait_ttl_minutes)
            iid = conn.execute(insert(TI).values(**row).returning(TI.c.id)).scalar_one()
            created.append({"id": iid, "state": row["state"]})
            task_runs.append({"execution_id": new_uuid(), "workflow_execution_id": inst["workflow_execution_id"],
                              "project_id": inst["project_id"], "task_id": spec.inner, "version_id": version,
                              "instance_id": iid, "created_at": tx.now, "trigger_policy": "ALL_DONE",
                              "parent_instance_id": inst["id"], "item_index": i})
            if waits:
                deps.append({"instance_id": iid, "upstream_task_id": spec.inner,
                             "upstream_data_time": times[i - spec.parallelism], "kind": rules.KIND, "met": False,
                             "on_missing": False, "on_failed": False, "timeout_minutes": None})
        conn.execute(insert(TR), task_runs)
        if deps:
            conn.execute(insert(D), deps)
        record_created(tx, created, f"iteration of the For-each node {inst['task_id']}")

    @staticmethod
    def _rearm(tx: Tx, inst: Mapping[Any, Any], earlier: Sequence[Mapping[Any, Any]], items: Sequence[str]) -> None:
        ids = [e["id"] for e in earlier]
        tx.conn.execute(update(D).where(D.c.instance_id.in_(ids), D.c.kind == rules.KIND).values(met=False))
        reason = f"rerun with the For-each node {inst['task_id']}"
        for e in earlier:
            i = e["item_index"]
            values = {"life_round_num": e["life_round_num"] + 1, "tries": 0, "run_type": "RERUN", "started_at": None,
                      "ended_at": None, "cost_ms": None, "error_msg": None, "retry_at": None, "claimed_by": None,
                      "wait_since": tx.now, "scheduled_at": tx.now, "deadline_at": None,
                      "params": {**(inst["params"] or {}), "item": items[i], "item_index": str(i)}}
            if e["state"] not in states.TERMINAL or not transition(tx, e, states.WAIT_UPSTREAM, reason, values):
                raise NodeFailed(f"its iteration {i} changed meanwhile; rerun again")
        tx.flush()
        rules.settle(tx.conn, tx.now, [], waiting=ids)

    def _foreach_progress(self, conn: Connection, now: datetime, parent_id: int) -> None:
        node = conn.execute(select(TI).where(TI.c.id == parent_id)).mappings().first()
        if node is None or node["state"] != states.RUNNING:
            return
        rows = conn.execute(select(TI.c.state).select_from(TR.join(TI, TI.c.id == TR.c.instance_id))
                            .where(TR.c.parent_instance_id == parent_id)).all()
        if any(r.state not in states.TERMINAL for r in rows):
            return
        failed = sum(1 for r in rows if r.state == states.EXPIRED)
        ok = failed == 0
        text = (f"For-each node: all {len(rows)} iteration(s) succeeded" if ok
                else f"For-each node: {failed} of {len(rows)} iteration(s) failed")
        tx = Tx(conn=conn, now=now, actor="scheduler")
        path = self._log(node, now, "INFO" if ok else "ERROR", text)
        if self._end(tx, node, ok, text):
            attempt_row(conn, node, now, path, "COMPLETE" if ok else "EXPIRED")
        tx.flush()


    def _run_workflow(self, tx: Tx, inst: Mapping[Any, Any], tdef: Any) -> None:
        conn = tx.conn
        target = control.target_of(tdef.ext)
        # The workflows of the chain of runs that led here (a run started by a Run Workflow node
        # records it): none may be started again.
        chain = [inst["workflow_id"]]
        run = inst["workflow_execution_id"]
        for _ in range(100):
            row = conn.execute(select(R.c.parent_instance_id).where(R.c.execution_id == run)).first()
            if row is None or row.parent_instance_id is None:
                break
            up = conn.execute(select(TI.c.workflow_id, TR.c.workflow_execution_id)
                              .select_from(TI.join(TR, TR.c.instance_id == TI.c.id))
                              .where(TI.c.id == row.parent_instance_id)).first()
            if up is None:
                break
            chain.append(up.workflow_id)
            run = up.workflow_execution_id
        if target in chain:
            raise NodeFailed(f"the workflow {target} is already running in this chain of runs "
                             f"({' <- '.join(chain)}): a Run Workflow node cannot start its own workflow")
        control.check_target(conn, inst["project_id"], inst["workflow_id"], target, submitted=True,
                             where="workflow")
        # The node's own parameters that the target declares are the child run's AdvancedParams.
        child_params = {str(p.get("ParamKey")) for p in conn.execute(
            select(workflows.c.params).where(workflows.c.id == target)).scalar() or []}
        overrides = {k: v for k, v in tdef.params.items() if k in child_params}
        uin = conn.execute(select(R.c.execute_user_uin).where(R.c.execution_id == inst["workflow_execution_id"])).scalar()
        text = f"Run Workflow node: starting a run of the workflow {target}"
        if not self._run_now(tx, inst, text):
            return
        tx.flush()
        child = self.runs.create_run_in(conn, inst["project_id"], Caller(secret_id="", uin=str(uin or "")), target,
                                        None, overrides, None, parent_instance_id=inst["id"])
        self._log(inst, tx.now, "INFO", f"Run Workflow node: started the run {child} of the workflow {target}; "
                                        "waiting for its end")

    def _child_ended(self, conn: Connection, now: datetime, parent_id: int, execution_id: str, state: str,
                     workflow_id: str) -> None:
        node = conn.execute(select(TI).where(TI.c.id == parent_id)).mappings().first()
        if node is None or node["state"] != states.RUNNING:
            return
        ok = state == progress.SUCCESS
        text = f"Run Workflow node: the run {execution_id} of the workflow {workflow_id} ended {state}"
        tx = Tx(conn=conn, now=now, actor="scheduler")
        path = self._log(node, now, "INFO" if ok else "ERROR", text)
        if self._end(tx, node, ok, text):
            attempt_row(conn, node, now, path, "COMPLETE" if ok else "EXPIRED")
        tx.flush()


def control_name(type_id: int) -> str:
    return {control.BRANCH: "Branch", control.MERGE: "Merge", control.FOREACH: "For-each",
            control.RUN_WORKFLOW: "Run Workflow"}.get(type_id, "control")


def attempt_row(conn: Connection, inst: Mapping[Any, Any], now: datetime, path: str | None, state: str) -> None:
    """The attempt of a control node, written when it ends (a RUNNING attempt row would be taken
    for a lost process by the engine's watch): its log and its times, for the instance views."""
    started = inst["started_at"] if inst["state"] == states.RUNNING else now
    conn.execute(insert(E).values(
        instance_id=inst["id"], life_round_num=inst["life_round_num"],
        try_no=inst["tries"] if inst["state"] == states.RUNNING else inst["tries"] + 1,
        run_type=inst["run_type"], state=state, started_at=started or now, ended_at=now,
        log_path=path, log_offset=0, node_id=NODE, executor=NODE,
    ))


def is_running_node(inst: Mapping[Any, Any]) -> bool:
    """A For-each or Run Workflow node waiting for its iterations or its child run (no process)."""
    return inst["state"] == states.RUNNING and inst["task_type_id"] in (control.FOREACH, control.RUN_WORKFLOW)


def kill_node(tx: Tx, inst: Mapping[Any, Any], reason: str, kill_one: Any) -> str:
    """End a running For-each or Run Workflow node EXPIRED (KillTriggerWorkflowRuns); a Run
    Workflow node's child runs are killed with it (``kill_one`` kills one of their instances)."""
    conn = tx.conn
    for child in conn.execute(
        select(TI).select_from(TI.join(TR, TR.c.instance_id == TI.c.id).join(
            R, R.c.execution_id == TR.c.workflow_execution_id))
        .where(R.c.parent_instance_id == inst["id"], TI.c.state.in_((*states.PENDING, states.RUNNING)))
    ).mappings().all():
        if is_running_node(child):
            kill_node(tx, child, reason, kill_one)
        else:
            kill_one(tx, child, reason)
    values = {"ended_at": tx.now, "deadline_at": None, "retry_at": None, "claimed_by": None, "error_msg": reason}
    if not transition(tx, inst, states.EXPIRED, reason, values):
        return "changed"
    attempt_row(conn, inst, tx.now, None, "EXPIRED")
    return "expired"
