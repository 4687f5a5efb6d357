"""One engine cycle in one transaction: end attempts, fire timers, re-evaluate, dispatch.

Doing the three in a single transaction is what makes a dependency hop cheap: the exit of an
upstream attempt, the readiness of its downstream and the claim of the downstream's slot commit
together, and the downstream process is spawned right after the commit. Work that must not
happen inside the transaction (log footers, kills, spawns, removing scratch directories) is
collected in :class:`After` and done once the transaction has committed.

File faults (docs/engine.md, Faults): a log that cannot be written (permissions, a directory
in its place, ...) fails THAT attempt before it starts, with the reason as its JobErrorMsg and
in its history; the cycle and every other attempt go on. "No space left" is not one attempt's
fault: it propagates, the whole cycle rolls back (no claim is half made), and the engine pauses
dispatch until space returns (scheduler/diskguard.py) while it goes on ending attempts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, func, insert, select, update

from wedata.executors.base import Handle
from wedata.executors.local import read_exit_code
from wedata.executors.outputs import Scanned, collect
from wedata.executors.remote import logs_in_database
from wedata.executors.sql.splitting import may_change_schema
from wedata.executors.sql_tasks import read_outcome
from wedata.executors.tasktypes import DLC_SQL_TYPE, NOTEBOOK_TYPE, SQL_TASK_TYPES
from wedata.scheduler import states
from wedata.scheduler.attempt_rows import end_rows, new_rows, store_handles
from wedata.scheduler.definitions import TaskDef
from wedata.scheduler.diskguard import DiskGuard
from wedata.scheduler.node import EngineNode
from wedata.scheduler.planner import to_wall
from wedata.scheduler.readiness import evaluate
from wedata.scheduler.runs import (
    Prepared,
    append_log,
    log_end,
    log_line,
    log_path,
    prepare,
    render_context,
    run_dir_for,
)
from wedata.scheduler.staging import stage
from wedata.scheduler.transitions import Move, Tx, transition, transition_many
from wedata.scheduling.datatimes import instance_key
from wedata.storage.alarm_tables import watched_by_an_active_rule
from wedata.storage.catalog_tables import mark_stale
from wedata.storage.engine_tables import instance_deps, instance_executions, task_instances
from wedata.storage.health import is_disk_full
from wedata.storage.lineage_tables import record_run
from wedata.storage.quality_tables import gate_success, quality_task_gates
from wedata.storage.remote_runs import append_chunk, remote_outputs
from wedata.storage.tables import tasks

log = logging.getLogger("wedata.scheduler")
TI = task_instances
E = instance_executions
KILL_PREFIX = "killed:"

_FINISHED = (
    select(TI, tasks.c.prod_version_id.label("prod_version"), E.c.id.label("eid"), E.c.state.label("e_state"),
           E.c.log_path, E.c.log_offset, E.c.error_msg.label("e_error"), E.c.started_at.label("e_started"),
           E.c.try_no.label("e_try"), E.c.executor.label("e_executor"),
           # Whether data-quality groups are attached (gate_success has work to do): read here
           # rather than with one more query per ending attempt.
           exists().where(quality_task_gates.c.task_id == TI.c.task_id).label("has_gates"),
           # Whether an enabled alarm rule watches the instance: the alarm observer reads the
           # rules only for those (Tx's hints), one statement fewer a cycle when none does.
           watched_by_an_active_rule(TI).label("alarm_watched"))
    .select_from(E.join(TI, TI.c.id == E.c.instance_id).outerjoin(tasks, tasks.c.id == TI.c.task_id))
    .where(E.c.id.in_(bindparam("ids", expanding=True)))
)


@dataclass
class Launch:
    execution_id: int
    prepared: Prepared
    # The attempt's log header (file, line), written by the launcher just before the start.
    header: tuple[str, str] | None = None


@dataclass
class After:
    """What to do once the cycle's transaction has committed."""

    footers: list[tuple[str, str]] = field(default_factory=list)
    cleanup: list[str] = field(default_factory=list)
    notebooks: list[tuple[str, str]] = field(default_factory=list)  # (run dir, log path): scheduler/notebooks.py
    kills: list[Handle] = field(default_factory=list)
    launches: list[Launch] = field(default_factory=list)
    finished: int = 0


# -- ending attempts --------------------------------------------------------------------------------


def finish(node: EngineNode, tx: Tx, exits: list[tuple[int, int | None]], after: After,
           handles: dict[int, dict[str, Any]] | None = None) -> None:
    """End the attempts that exited. ``handles``: the not yet stored handles of some of them
    (a short attempt ends before its handle's transaction): written with their end."""
    # An attempt may be reported twice (its watcher, then a poll); a known code beats "lost".
    codes: dict[int, int | None] = {}
    for eid, code in exits:
        if code is not None or eid not in codes:
            codes[eid] = code
    ids = list(codes)
    rows: list[Any] = []
    for i in range(0, len(ids), 500):
        rows.extend(tx.conn.execute(_FINISHED, {"ids": ids[i : i + 500]}).mappings().all())
    ends: list[dict[str, Any]] = []  # the attempts' own rows: one executemany
    moves: list[Move] = []  # the instances: one transition_many
    for r in rows:
        if r["e_state"] != states.RUNNING:
            continue  # already ended (reported twice)
        if r["state"] != states.RUNNING:
            # The instance was ended by someone else meanwhile: close the attempt's record only.
            code = codes[r["eid"]]
            ends.append({"eid": r["eid"], "st": "COMPLETE" if code == 0 else "EXPIRED", "at": tx.now,
                         "code": code, "err": None if code == 0 else f"instance already {r['state']}"})
            continue
        run_dir = run_dir_for(node.run_root, r["id"], r["life_round_num"], r["e_try"])
        code = codes[r["eid"]]
        if code is None and node.fail_reason(r["eid"]) is None:
            # Reconcile before declaring it lost (and retrying it): the wrapper may have left
            # its code in the exit file although the watcher or a poll could not see it.
            code = read_exit_code(run_dir)
        footer, end, move = end_attempt(node, tx, r, code)
        ends.append(end)
        moves.append(move)
        after.footers.append((r["log_path"], footer))
        if logs_in_database(r["e_executor"]):  # a remote attempt's log is in the database
            append_chunk(tx.conn, r["eid"], footer, tx.now)
        tdef = node.def_for(r)
        if tdef is not None and tdef.task_type_id == NOTEBOOK_TYPE and r["log_path"]:
            after.notebooks.append((run_dir, r["log_path"]))
        after.cleanup.append(run_dir)
        after.finished += 1
    handles = dict(handles or {})
    plain = [e for e in ends if e["eid"] not in handles]
    with_handle = [{**e, "handle": handles[e["eid"]]["handle"], "pid": handles[e["eid"]]["pid"]}
                   for e in ends if e["eid"] in handles]
    for e in with_handle:
        del handles[e["eid"]]
    store_handles(tx.conn, list(handles.values()))  # reported twice, already ended: still stored
    end_rows(tx, plain, with_handle)  # PostgreSQL: with the cycle's history (attempt_rows.py)
    if moves:
        transition_many(tx, moves)


def _remote_scan(tx: Tx, r: Any) -> Scanned | None:
    """The outputs a remote worker scanned from its attempt's output (it sent them with the end)."""
    if not logs_in_database(r["e_executor"]):
        return None
    got = remote_outputs(tx.conn, r["eid"])
    return Scanned.from_json(got) if got is not None else Scanned()


def end_attempt(node: EngineNode, tx: Tx, r: Any, code: int | None) -> tuple[str, dict[str, Any], Move]:
    """How an attempt ended: its log footer, the update of its execution row and the move of its
    instance (both applied by the caller, batched with the other attempts of the cycle)."""
    now = tx.now
    pre_failure = node.fail_reason(r["eid"])  # forgotten once this cycle commits (engine.py)
    killed = r["e_error"] if r["e_error"] and r["e_error"].startswith(KILL_PREFIX) else None
    tdef = node.def_for(r)
    cost = int((now - (r["e_started"] or now)).total_seconds() * 1000)
    common = {"ended_at": now, "cost_ms": cost, "deadline_at": None, "claimed_by": None}
    # A SQL attempt leaves its outcome (reason, last result set) in its run directory.
    sql = read_outcome(run_dir_for(node.run_root, r["id"], r["life_round_num"], r["e_try"])) \
        if tdef is not None and tdef.task_type_id in SQL_TASK_TYPES else None
    if sql is not None and tdef is not None and may_change_schema(tdef.code):
        # DDL ran (or may have): the catalog of the task's source is due for a refresh.
        mark_stale(tx.conn, catalog_source(tdef), now)
    if code == 0 and not killed and not pre_failure:
        outputs: dict[str, str] = {}
        missing: dict[str, str] = {}
        if tdef is not None and r["log_path"] and tdef.out_params:  # only declared outputs are read
            ctx = render_context(tdef, r, to_wall(r["scheduled_at"], tdef.zone), {}, {})
            got = collect(r["log_path"], r["log_offset"] or 0, tdef.out_params, ctx,
                          sql.rows if sql is not None else None, scanned=_remote_scan(tx, r))
            outputs, missing = got.values, got.missing
        if sql is not None and tdef is not None and sql.statements and sql.dialect:
            # Lineage: the statements that ran go to the lineage worker (one INSERT; parsed there).
            record_run(tx.conn, process_type="SCHEDULE_TASK", process_id=r["task_id"], process_name=tdef.name,
                       source_id=catalog_source(tdef), dialect=sql.dialect, database=sql.database,
                       default_schema=sql.default_schema, statements=sql.statements, now=now)
        end = {"eid": r["eid"], "st": "COMPLETE", "at": now, "code": 0, "err": None}
        # Data quality: attached groups are requested to check; a blocking one holds the key
        # (the transition then satisfies no downstream edge until the check passes).
        held = gate_success(tx.conn, r, now) if r["has_gates"] else False
        move = Move(r, states.COMPLETED, "attempt succeeded", {**common, "outputs": outputs or None})
        lines = [log_line(now, "WARN", f"output parameter {k} not produced: {why}") for k, why in missing.items()]
        if held:
            lines.append(log_line(now, "INFO", "downstream instances wait for the data quality check (ExecFailBlock)"))
        return "".join(lines) + log_line(now, "INFO", f"exit code 0; instance COMPLETED after {cost} ms"), end, move
    if pre_failure:
        reason = pre_failure
    elif killed:
        reason = killed[len(KILL_PREFIX):].strip()
    elif code is None:
        reason = "the process was lost (no exit status; e.g. killed while no scheduler watched it)"
    elif sql is not None and sql.error and code == sql.exit_code:
        reason = f"{sql.error} (exit code {code})"
    else:
        reason = f"exit code {code}"
    retry_left = r["tries"] < r["try_limit"] and not killed
    wait_min = tdef.retry_wait_minutes if tdef else 5
    # A kill or a timeout says so in its own words (the reason the request wrote); anything
    # else is the task's own failure (issue 16: a kill no longer reads as an exception).
    msg = reason if killed else "the user code or execution environment raised an exception: " + reason
    if retry_left:
        state, detail = states.FAILED_RETRY, "FAILED"
        retry_at = now + timedelta(minutes=wait_min)
        values = {**common, "retry_at": retry_at, "error_msg": msg}
        node.timer_at(retry_at)
        tail = f"instance FAILED_RETRY, retry {r['tries'] + 1} of {r['try_limit']} in {wait_min} minute(s)"
    else:
        state, detail = states.EXPIRED, "EXPIRED"
        values = {**common, "retry_at": None, "error_msg": msg}
        tail = "instance EXPIRED" + ("" if killed else f" (no retry left of {r['try_limit']} tries)")
    end = {"eid": r["eid"], "st": detail, "at": now, "code": code, "err": (killed or reason)[:2000]}
    return log_line(now, "ERROR", f"{reason}; {tail}"), end, Move(r, state, reason[:500], values)


# -- timers -------------------------------------------------------------------------------------------


def timers(node: EngineNode, tx: Tx, after: After) -> None:
    """Retries whose wait is over; deadlines (ExecutionTTL, WaitExecutionTotalTTL, kill requests)."""
    now, conn = tx.now, tx.conn
    retry = conn.execute(_RETRIES_DUE, {"now": now}).mappings().all()
    transition_many(tx, [Move(r, states.WAIT_RUN, "retry wait over", {"retry_at": None, "wait_since": now})
                         for r in retry])
    if retry:
        evaluate(tx, [r["id"] for r in retry])
    due = conn.execute(_DEADLINES_DUE, {"now": now}).mappings().all()
    for r in due:
        if r["state"] == states.RUNNING:
            after.kills.extend(deadline_kill(node, tx, r))
        elif r["state"] in states.PENDING:
            msg = wait_timeout_message(tx.conn, r, node.def_for(r))
            transition(tx, r, states.EXPIRED, msg, {"deadline_at": None, "retry_at": None, "error_msg": msg,
                                               "ended_at": now})
            note_in_log(node, r, now, msg)
        else:
            conn.execute(update(TI).where(TI.c.id == r["id"]).values(deadline_at=None))


def deadline_kill(node: EngineNode, tx: Tx, inst: Any) -> list[Handle]:
    ex = tx.conn.execute(
        select(E.c.id, E.c.handle, E.c.error_msg, E.c.try_no).where(E.c.instance_id == inst["id"], E.c.state == states.RUNNING)
    ).first()
    tx.conn.execute(
        update(TI).where(TI.c.id == inst["id"]).values(deadline_at=None, row_version=TI.c.row_version + 1)
    )
    if ex is None:
        return []
    if ex.error_msg and ex.error_msg.startswith(KILL_PREFIX):
        reason = ex.error_msg  # a kill requested by an operation names who and why
    else:
        tdef = node.def_for(inst)
        ttl = f" ({tdef.execution_ttl_minutes} minute(s))" if tdef is not None else ""
        reason = (f"{KILL_PREFIX} execution timeout: attempt {ex.try_no} ran longer than ExecutionTTL{ttl}; "
                  "killed and not retried (executionTTLStrategy fail)")
    tx.conn.execute(update(E).where(E.c.id == ex.id).values(error_msg=reason))
    # A kill that comes right after the start finds the handle not stored yet: this node's own
    # copy has the process it started. Only without either is the process looked for by its run
    # directory (pid file, then a scan), where a sandbox's outer process can be found first.
    return [ex.handle or node.pending_handle(ex.id)
            or {"run_dir": run_dir_for(node.run_root, inst["id"], inst["life_round_num"], ex.try_no)}]


def wait_timeout_message(conn: Any, inst: Any, tdef: TaskDef | None) -> str:
    """Why a waiting instance ended at its WaitExecutionTotalTTL: an upstream instance that
    failed is named as the cause ("upstream failure"), else what it was still waiting for."""
    ttl = f" ({tdef.wait_ttl_minutes} minute(s))" if tdef is not None else ""
    waited = f"waited longer than WaitExecutionTotalTTL{ttl} after its scheduled time"
    if inst["state"] == states.FAILED_RETRY:
        return f"{waited} for its retry; the last attempt had failed: {inst['error_msg'] or 'unknown reason'}"
    if inst["state"] != states.WAIT_UPSTREAM:
        return f"{waited} ({inst['state']})"
    D = instance_deps
    U = TI.alias("up")
    rows = conn.execute(
        select(D.c.upstream_task_id, D.c.upstream_data_time, D.c.kind, U.c.state)
        .select_from(D.outerjoin(U, (U.c.task_id == D.c.upstream_task_id)
                                 & (U.c.data_time == D.c.upstream_data_time)))
        .where(D.c.instance_id == inst["id"], D.c.met.is_(False))
        .limit(20)
    ).all()
    failed = [instance_key(t, dt) for t, dt, _, st in rows if st == states.EXPIRED]
    if failed:
        shown = ", ".join(failed[:5]) + (f" and {len(failed) - 5} more" if len(failed) > 5 else "")
        return f"upstream failure: the upstream instance(s) {shown} failed (EXPIRED); {waited}"
    pending = [f"{instance_key(t, dt)} ({st or 'not created'})" for t, dt, kind, st in rows if kind == "task"]
    tail = f": still waiting for {', '.join(pending[:5])}" if pending else " waiting for upstream instances"
    return f"{waited}{tail}"


def note_in_log(node: EngineNode, inst: Any, now: datetime, text: str) -> None:
    """A line in the current round's log, when the round has one (a courtesy: the history and
    JobErrorMsg have the same fact)."""
    path = log_path(node.logs_dir, inst["task_id"], inst["data_time"], inst["life_round_num"])
    if not path.exists():
        return
    try:
        append_log(path, log_line(now, "ERROR", text))
    except OSError as exc:
        if is_disk_full(exc):
            raise
        log.warning("instance %s: cannot write its log %s: %s", inst["id"], path, exc)


# Built once (the engine asks after most iterations; building cost more than running them).
_NEXT_RETRY = select(func.min(TI.c.retry_at)).where(TI.c.state == states.FAILED_RETRY)
_NEXT_DEADLINE = select(func.min(TI.c.deadline_at)).where(TI.c.deadline_at.is_not(None))
_RETRIES_DUE = select(TI).where(TI.c.state == states.FAILED_RETRY, TI.c.retry_at <= bindparam("now")).limit(500)
_DEADLINES_DUE = select(TI).where(TI.c.deadline_at <= bindparam("now")).limit(500)


def next_timer(conn: Any) -> datetime | None:
    a = conn.execute(_NEXT_RETRY).scalar()
    b = conn.execute(_NEXT_DEADLINE).scalar()
    present = [t for t in (a, b) if t is not None]
    return min(present) if present else None


# -- dispatch -----------------------------------------------------------------------------------------

# Candidates are read with the columns a claim needs (state, counters, what the run is rendered
# from) and nothing more: cheap even when hundreds are ready, and no second read of the chosen.
# The task's status and submitted version are read per candidate (correlated, a primary-key
# look each), not joined: with a million instances in the past and the day's WAIT_RUN ones in
# the future, PostgreSQL expects ~160,000 due candidates where there are a few, and a join
# became a hash join over every task (42 ms a cycle at 100,000 tasks; 0.2 ms this way).
_TASK_STATUS = select(tasks.c.status).where(tasks.c.id == TI.c.task_id).correlate(TI).scalar_subquery()
_TASK_VERSION = select(tasks.c.prod_version_id).where(tasks.c.id == TI.c.task_id).correlate(TI).scalar_subquery()
_CLAIM_COLUMNS = (
    TI.c.id, TI.c.task_id, TI.c.resource_group_id, TI.c.self_depend, TI.c.parallel_limit, TI.c.version_id,
    TI.c.state, TI.c.row_version, TI.c.data_time, TI.c.scheduled_at, TI.c.life_round_num, TI.c.tries,
    TI.c.total_run_num, TI.c.run_type, TI.c.project_id, TI.c.workflow_id, TI.c.params,
    _TASK_VERSION.label("prod_version"),
)
_CANDIDATES = (
    select(*_CLAIM_COLUMNS)
    .where(TI.c.state == states.WAIT_RUN, TI.c.scheduled_at <= bindparam("now"), _TASK_STATUS == "Y")
    .order_by(TI.c.priority, TI.c.data_time, TI.c.id)
    .limit(bindparam("lim"))
)
# PostgreSQL, several engines on one database (docs/deploy.md): one dispatches at a time (until
# its transaction commits), so each counts the others' claims and a group's slots hold exactly.
# The lock is taken by the candidates' own statement (an InitPlan run once, when there is a
# first candidate): the running attempts are counted by the NEXT statement, whose snapshot is
# taken after the lock, while the candidates themselves are checked by the optimistic claim.
_CANDIDATES_LOCKED = _CANDIDATES.add_columns(
    select(func.pg_advisory_xact_lock(5149808400021)).scalar_subquery().label("dispatch_lock")
)
_RUNNING = select(TI.c.task_id, TI.c.resource_group_id).where(TI.c.state == states.RUNNING)


def dispatch(node: EngineNode, tx: Tx, after: After) -> None:
    conn = tx.conn
    query = _CANDIDATES_LOCKED if conn.dialect.name == "postgresql" else _CANDIDATES
    cands = conn.execute(query, {"now": tx.now, "lim": 500}).mappings().all()
    if not cands:
        return
    limits = node.slot_limits()
    default = node.settings.default_slots
    running: dict[str, int] = {}
    busy: dict[str, int] = {}  # task -> its running attempts
    for task_id, group_id in conn.execute(_RUNNING):
        running[group_id or ""] = running.get(group_id or "", 0) + 1
        busy[task_id] = busy.get(task_id, 0) + 1
    chosen: list[tuple[Any, TaskDef]] = []
    for c in cands:
        tdef = node.def_for(c)
        if tdef is None:
            continue
        if tdef.dry_run:  # needs no slot
            chosen.append((c, tdef))
            continue
        group = c["resource_group_id"] or ""
        limit = limits.get(group, default) if group else default
        if running.get(group, 0) >= limit:
            continue
        n = busy.get(c["task_id"], 0)
        # A rerun's RedefineParallelNum (parallel_limit, set by services/ops/rerun.py) caps the
        # task's concurrent attempts; otherwise SelfDepend decides (parallel: no cap, else one).
        cap = c["parallel_limit"]
        if cap is None:
            cap = None if c["self_depend"] == "parallel" else 1
        if cap is not None and n >= cap:
            continue
        chosen.append((c, tdef))
        running[group] = running.get(group, 0) + 1
        busy[c["task_id"]] = n + 1
    if not chosen:
        return
    claims: list[tuple[Any, TaskDef]] = []
    for row, tdef in chosen:
        if tdef.dry_run:
            dry_run(node, tx, row)
            continue
        claims.append((row, tdef))
    if claims:
        after.launches.extend(claim_all(node, tx, claims))


def dry_run(node: EngineNode, tx: Tx, inst: Any) -> None:
    run_type = inst["run_type"] if inst["run_type"].endswith("_SKIP_RUN") else inst["run_type"] + "_SKIP_RUN"
    tries = inst["tries"] + 1
    if not transition(tx, inst, states.COMPLETED, "dry run (ScheduleType 1): not executed", {
        "tries": tries, "total_run_num": inst["total_run_num"] + 1, "started_at": tx.now, "ended_at": tx.now,
        "cost_ms": 0, "deadline_at": None, "run_type": run_type,
    }):
        return
    path = log_path(node.logs_dir, inst["task_id"], inst["data_time"], inst["life_round_num"])
    try:
        append_log(path, log_line(tx.now, "INFO", "dry run (ScheduleType 1): the task is set to success without executing"))
    except OSError as exc:
        if is_disk_full(exc):
            raise
        log.warning("dry run of instance %s: cannot write its log %s: %s", inst["id"], path, exc)
    tx.conn.execute(insert(E).values(
        instance_id=inst["id"], life_round_num=inst["life_round_num"], try_no=tries, run_type=run_type,
        state="COMPLETE", started_at=tx.now, ended_at=tx.now, log_path=str(path), log_offset=0,
        node_id=node.node_id,
    ))


def claim_all(node: EngineNode, tx: Tx, claims: list[tuple[Any, TaskDef]]) -> list[Launch]:
    """Claim the chosen instances (WAIT_RUN -> RUNNING) and create their attempts: one
    transition_many, one INSERT of the execution rows (RETURNING their ids), whatever their
    number; the attempts are prepared in between (nothing written: the launcher writes their
    log headers and run directories after the commit, scheduler/launcher.py)."""
    now = tx.now
    moves: list[Move] = []
    for inst, tdef in claims:
        tries = inst["tries"] + 1
        ttl = tdef.execution_ttl_minutes
        values = {
            "tries": tries, "total_run_num": inst["total_run_num"] + 1, "started_at": now, "ended_at": None,
            "cost_ms": None, "error_msg": None, "retry_at": None, "claimed_by": node.node_id,
            "deadline_at": now + timedelta(minutes=ttl) if ttl > 0 else None, "try_limit": tdef.try_limit,
        }
        moves.append(Move(inst, states.RUNNING, f"attempt {tries} started", values))
    won = transition_many(tx, moves)
    rows: list[dict[str, Any]] = []
    pending: list[tuple[Prepared, dict[str, Any] | None, str, str]] = []
    for (inst, tdef), move, ok in zip(claims, moves, won, strict=True):
        if not ok:
            continue
        assert move.values is not None
        if move.values["deadline_at"] is not None:
            node.timer_at(move.values["deadline_at"])
        row, prepared, handle, header = _attempt(node, tx, inst, tdef, move.values["tries"])
        rows.append(row)
        pending.append((prepared, handle, row["log_path"], header))
    if not rows:
        return []
    launches = [Launch(0, prepared, (path, header)) for prepared, _, path, header in pending]
    remote = [i for i, (_, handle, _, _) in enumerate(pending)
              if handle is not None and logs_in_database(handle.get("executor"))]

    def numbered(i: int, eid: int) -> None:
        launch = launches[i]
        launch.execution_id = eid
        if launch.prepared.spec is not None:
            launch.prepared.spec = replace(launch.prepared.spec, execution_id=eid)

    # The ids are needed only after the commit, by the launcher; on PostgreSQL the rows go with
    # the cycle's history. A remote attempt's log is in the database: its header needs the id now.
    new_rows(tx, rows, numbered, at_once=bool(remote))
    for i in remote:
        append_chunk(tx.conn, launches[i].execution_id, pending[i][3], now)
    return launches


def _attempt(node: EngineNode, tx: Tx, inst: Any, tdef: TaskDef, tries: int
             ) -> tuple[dict[str, Any], Prepared, dict[str, Any] | None, str]:
    """A claimed instance's attempt: its run prepared, its log header, its execution row.

    The header is written by the launcher just before the start, after the commit: the attempt's
    part of the log starts after it, at the file's present end plus the header (nothing else
    writes this round's log between now and then: its earlier attempt's footer was written when
    that attempt ended, by this thread)."""
    now = tx.now
    path = log_path(node.logs_dir, inst["task_id"], inst["data_time"], inst["life_round_num"])
    header = log_line(now, "INFO", f"attempt {tries} of {tdef.try_limit} (life round {inst['life_round_num']}) "
                                   f"on {node.host}")
    offset = log_end(path) + len(header.encode("utf-8"))
    prepared = prepare(
        tx.conn, tdef, inst,
        run_dir=run_dir_for(node.run_root, inst["id"], inst["life_round_num"], tries),
        scheduled_wall=to_wall(inst["scheduled_at"], tdef.zone),
        workflow_params=node.workflow_params(tx.conn, inst["workflow_id"]),
        log_file=path, check_users=getattr(node.executor, "admin_only", False),
    )
    handle = node.executor.handle_for(prepared.spec) if prepared.spec is not None else None
    row = {
        "instance_id": inst["id"], "life_round_num": inst["life_round_num"], "try_no": tries,
        "run_type": inst["run_type"], "state": states.RUNNING, "started_at": now, "log_path": str(path),
        "log_offset": offset, "executor": (handle or {}).get("executor") or node.executor.name, "host": node.host,
        "node_id": node.node_id,
        "code_content": prepared.code,
        # As much of the handle as is known before the start: enough to find the attempt after
        # a crash (the local executor's wrapper writes its pid into run_dir at once).
        "handle": handle,
    }
    return row, prepared, handle, header


def spawn(node: EngineNode, launch: Launch, guard: DiskGuard | None = None) -> None:
    """Start a claimed attempt (on the launcher's thread, scheduler/launcher.py, which the engine
    has told ``node.watch`` it before: the exit may be reported at once)."""
    if launch.header is not None:
        path, header = launch.header
        try:
            append_log(path, header)
        except OSError as exc:  # this attempt's own file: it fails before it runs, nothing else does
            if guard is not None and is_disk_full(exc):
                guard.full(path, exc)  # no more starts until space returns
            node.fail_before_run(launch.execution_id,
                                 f"cannot write the instance's log file {path}: {exc.strerror or exc}")
            return
    spec = launch.prepared.spec
    if spec is None:
        node.fail_before_run(launch.execution_id, launch.prepared.error or "the attempt could not be prepared")
        return
    if spec.resources:  # after the commit: a download never holds the engine's transaction
        problem = stage(node.stores, spec)
        if problem is not None:
            node.fail_before_run(launch.execution_id, problem)
            return
    try:
        handle = node.executor.submit(spec)
    except Exception as exc:  # OSError, ExecutorError: this attempt fails, the engine goes on
        if guard is not None and is_disk_full(exc):
            guard.full(getattr(exc, "filename", None) or spec.run_dir, exc)  # no more starts until space returns
        node.fail_before_run(launch.execution_id, f"could not start the process: {exc}")
        return
    node.add_handle(launch.execution_id, handle)



def catalog_source(tdef: TaskDef) -> int | None:
    """The catalog key of a SQL task's source: the data source's Id, or None for the lake (a DLC
    task, type 32)."""
    if tdef.task_type_id == DLC_SQL_TYPE or not tdef.source_service_id:
        return None
    first = tdef.source_service_id.split(";", 1)[0].strip()
    return int(first) if first.isdigit() else None
