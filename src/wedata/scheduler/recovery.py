"""Crash safety: scheduler nodes, heartbeats, and adopting the attempts of dead nodes.

Every engine registers a node row and refreshes its heartbeat every ``heartbeat_interval``
seconds (real time). A node is dead when it stopped, when its heartbeat is older than
``node_lease`` seconds, or at once when it ran on this host and its pid is gone (a ``kill -9``
of the server is noticed by the restarted server immediately, not after a lease).

The RUNNING attempts of a dead node are adopted: the executor is asked to re-attach through the
stored handle. A local process that still runs is watched to its end and its exit code read from
the wrapper's exit file, so the attempt completes exactly once, as if nothing had happened. One
that ended while nobody watched reports the code it left behind; one that vanished without a
code (killed with SIGKILL, machine rebooted) is a failed attempt handled by the retry policy.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from sqlalchemy import bindparam, delete, insert, or_, select, update

from wedata.clock import utcnow
from wedata.executors.processes import pid_alive
from wedata.scheduler import states
from wedata.scheduler.node import EngineNode
from wedata.scheduler.runs import run_dir_for
from wedata.storage.db import Database
from wedata.storage.engine_tables import instance_executions, scheduler_nodes, task_instances

log = logging.getLogger("wedata.scheduler.recovery")
E = instance_executions
N = scheduler_nodes
TI = task_instances

# Built once: every engine runs them each heartbeat_interval.
_HEARTBEAT = update(N).where(N.c.node_id == bindparam("me")).values(heartbeat_at=bindparam("at"))
_OTHER_NODES = select(N).where(N.c.node_id != bindparam("me"))
# RUNNING attempts nobody watches: of no node, of a dead node, or of a node whose row is gone.
_ORPHANS = select(E.c.id, E.c.instance_id, E.c.handle, E.c.node_id, E.c.life_round_num, E.c.try_no).where(
    E.c.state == states.RUNNING,
    or_(E.c.node_id.is_(None), E.c.node_id.in_(bindparam("dead", expanding=True)),
        E.c.node_id.not_in(select(N.c.node_id).scalar_subquery())),
)


def register_node(db: Database, node_id: str, host: str, kind: str) -> None:
    now = utcnow()
    with db.write() as conn:
        conn.execute(insert(N).values(node_id=node_id, host=host, pid=os.getpid(), kind=kind,
                                      started_at=now, heartbeat_at=now))


def unregister_node(db: Database, node_id: str) -> None:
    with db.write() as conn:
        conn.execute(update(N).where(N.c.node_id == node_id).values(stopped_at=utcnow()))


def heartbeat(db: Database, node_id: str) -> None:
    with db.write() as conn:
        conn.execute(_HEARTBEAT, {"me": node_id, "at": utcnow()})



def dead_nodes(node: EngineNode) -> list[str]:
    now = utcnow()
    lease = node.settings.node_lease
    dead: list[str] = []
    with node.db.read() as conn:
        rows = conn.execute(_OTHER_NODES, {"me": node.node_id}).mappings().all()
    for r in rows:
        if r["stopped_at"] is not None or r["host"] == node.host and not pid_alive(r["pid"]) or (now - r["heartbeat_at"]).total_seconds() > lease:
            dead.append(r["node_id"])
    return dead


def adopt_orphans(node: EngineNode, *, startup: bool = False) -> int:
    """Take over the RUNNING attempts of dead nodes (and of none). Returns how many."""
    dead = dead_nodes(node)
    with node.db.read() as conn:
        rows = conn.execute(_ORPHANS, {"dead": dead}).all()
        known = {r[0] for r in conn.execute(select(N.c.node_id))} if rows else set()
    adopted = 0
    for eid, iid, handle, _node, life_round, try_no in rows:
        with node.db.write() as conn:
            # Claim it first, so two engines never adopt the same attempt.
            won = conn.execute(
                update(E).where(E.c.id == eid, E.c.state == states.RUNNING,
                                or_(E.c.node_id.is_(None), E.c.node_id.in_(dead), E.c.node_id.not_in(known)))
                .values(node_id=node.node_id)
            ).rowcount
            if won:
                conn.execute(update(TI).where(TI.c.id == iid).values(claimed_by=node.node_id))
        if not won:
            continue
        adopted += 1
        h: dict[str, Any] = dict(handle or {})
        h.setdefault("run_dir", run_dir_for(node.run_root, iid, life_round, try_no))
        node.watch(eid)
        if not node.executor.attach(eid, h):
            node.fail_before_run(eid, "its executor cannot be reached from this scheduler")
    if dead:
        with node.db.write() as conn:
            conn.execute(delete(N).where(N.c.node_id.in_(dead)))
    if adopted:
        log.info("adopted %d running attempt(s) from dead scheduler(s)%s", adopted, " at start-up" if startup else "")
    return adopted


def check_lost(node: EngineNode) -> None:
    """Safety net: our own RUNNING attempts whose process is gone but never reported."""
    with node.db.read() as conn:
        rows = conn.execute(
            select(E.c.id, E.c.handle).where(E.c.state == states.RUNNING, E.c.node_id == node.node_id,
                                             E.c.handle.is_not(None))
        ).all()
    for eid, handle in rows:
        if node.is_pending(eid):
            # The executor reports its exit, or has reported it and it waits to be recorded (a
            # failed cycle keeps it): a poll here could race with that report or, once the
            # run directory is gone, turn a known code into "lost".
            continue
        state = node.executor.poll(handle)
        if not state.running:
            node.report_exit(eid, state.exit_code)
