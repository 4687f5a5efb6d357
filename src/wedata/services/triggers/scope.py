"""Which instance state changes can concern a trigger workflow run: the filter of the trigger
observers (progress.py, nodes.py), so that the changes of a periodic workflow's instances cost
them no statement. Each of them read ``trigger_task_runs`` for every batch of changes, three
statements on every hop of the engine's cycle whatever the workflows (issue 14).

A trigger run's instances belong to trigger workflows: runs.py creates them for the tasks of the
run's workflow, nodes.py for the tasks of the node's own workflow (For-each) or of another
trigger workflow (Run Workflow). A workflow's kind is set when it is created and never changes
(services/workflows refuses a trigger setting on a periodic workflow and the reverse), and
workflow ids are not reused, so each process reads a workflow's kind once and keeps it.

A change whose workflow is not known passes: a caller that moved an instance row read without
its ``workflow_id`` (the history row carries None, transitions.py), or a workflow that is not
(or no longer) in ``workflows`` (a run outlives its workflow). The observers then read what they
need for it, as before.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select

from wedata.services.workflows.workflows import TRIGGER
from wedata.storage.tables import workflows

# Workflows whose kind a process keeps per database; past it the map starts again (a read each).
MAX_KEPT = 100_000

_KIND_OF = select(workflows.c.id, workflows.c.workflow_type).where(
    workflows.c.id.in_(bindparam("ids", expanding=True)))
_kinds: weakref.WeakKeyDictionary[Engine, dict[str, bool]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def of_trigger_workflows(conn: Connection, changes: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The changes that may concern a trigger run: those of instances of trigger workflows, and
    those whose workflow is not known."""
    with _lock:
        kinds = _kinds.get(conn.engine)
        if kinds is None:
            kinds = _kinds[conn.engine] = {}
    unknown = {wf for c in changes if (wf := c.get("workflow_id")) is not None and wf not in kinds}
    if unknown:
        if len(kinds) + len(unknown) > MAX_KEPT:
            kinds.clear()
        for workflow_id, kind in conn.execute(_KIND_OF, {"ids": sorted(unknown)}):
            kinds[workflow_id] = kind == TRIGGER
    return [c for c in changes if kinds.get(c.get("workflow_id") or "", True)]
