"""The tasks of trigger workflows (CreateTriggerTask ... ListDownstreamTriggerTasks).

A trigger task IS a task: a ``tasks`` row whose workflow is a trigger workflow, with the same
wire-shaped definition, SAVE/SUBMIT versions, edges and submit as a periodic task
(services/tasks/). :class:`TriggerTaskService` is the periodic ``TaskService`` through its
extension points (``TRIGGER_TASKS``, ``_mode_check``, ``_check_targets``); this module only
translates the trigger sections into the periodic ones and back:

- ``TriggerTaskBaseAttribute`` / ``TriggerTaskConfiguration`` / ``TriggerTaskSchedulerConfiguration``
  carry a subset of the periodic sections' fields under the same names. The scheduling fields a
  trigger task lacks (cycle, cron, start and end, self-dependency, events ...) keep their periodic
  defaults in the stored definition: the engine reads one definition format (a task run is an
  engine instance), and the trigger answers simply do not show them.
- ``UpstreamDependencyConfigList`` items are bare ``{TaskId}``: an edge inside one workflow run
  (stored as the CRONTAB/CURRENT edge "the same data time", which is exactly the run's).
- Edges stay inside the workflow (``InvalidParameterValue`` otherwise); cycles are refused by
  the periodic check.
- ``FieldToRemoveList`` paths name the trigger sections (``TriggerTaskSchedulerConfiguration/
  UpstreamDependencyConfigList:<TaskId>``); the periodic names are accepted too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from wedata.principal import Caller
from wedata.services.errors import InvalidValue
from wedata.services.tasks.definition import CONF, SCHED
from wedata.services.tasks.patch import DOWNSTREAM, UPSTREAM
from wedata.services.tasks.tasks import TaskService
from wedata.services.triggers import control
from wedata.services.workflows.workflows import require_schedule_mode

BASE = "TaskBaseAttribute"
TRIGGER_SECTIONS = {
    "TriggerTaskBaseAttribute": BASE,
    "TriggerTaskConfiguration": CONF,
    "TriggerTaskSchedulerConfiguration": SCHED,
}
# An edge of a trigger task: the upstream task's run in the same workflow run (same data time).
RUN_EDGE = {"MainCyclicConfig": "CRONTAB", "SubordinateCyclicConfig": "CURRENT"}


def _edges(items: Any) -> Any:
    if items is None:
        return None
    return [{"TaskId": (i or {}).get("TaskId"), **RUN_EDGE} for i in items]


def to_task_sched(sched: dict[str, Any] | None) -> dict[str, Any]:
    """A TriggerTaskSchedulerConfiguration dict as a TaskSchedulerConfiguration dict."""
    out = dict(sched or {})
    for key in (UPSTREAM, DOWNSTREAM):
        if key in out:
            out[key] = _edges(out[key])
    return out


def _removals(paths: list[str] | None) -> list[str] | None:
    if paths is None:
        return None
    out = []
    for p in paths:
        head, sep, rest = str(p).partition("/")
        out.append(f"{TRIGGER_SECTIONS.get(head, head)}{sep}{rest}")
    return out


class TriggerTaskService(TaskService):
    """TaskService for the tasks of trigger workflows (the class docstring of TaskService lists
    the extension points overridden here)."""

    TRIGGER_TASKS = True
    KIND_NAME = "trigger task"

    def _mode_check(self, conn: Connection, project_id: str) -> None:
        require_schedule_mode(conn, project_id, "workflow", "Trigger tasks")

    def _check_targets(self, targets: dict[str, Any], workflow_id: str) -> None:
        for tid, r in targets.items():
            if r.workflow_id != workflow_id:
                raise InvalidValue(
                    f"The task {tid} is not in the workflow {workflow_id}: the dependencies of a trigger task "
                    "stay inside its workflow."
                )

    def _check(self, conn: Connection, project_id: str, caller: Caller, current: Any, workflow_id: str,
               type_id: int, draft: Any, stored: Any = None) -> Any:
        out = super()._check(conn, project_id, caller, current, workflow_id, type_id, draft, stored)
        if type_id in control.CONTROL_TYPES:  # their settings (services/triggers/control.py)
            control.check_definition(conn, project_id, workflow_id, type_id, draft.conf, submitted=False)
        return out

    def _check_runnable(self, row: Any, project_id: str, caller: Caller) -> None:
        if row.task_type_id in control.CONTROL_TYPES:  # no process: checked in _check_parameters
            return
        super()._check_runnable(row, project_id, caller)

    def _check_parameters(self, conn: Connection, row: Any) -> None:  # type: ignore[override]
        if row.task_type_id in control.CONTROL_TYPES:
            control.check_definition(conn, row.project_id, row.workflow_id, row.task_type_id,
                                     (row.definition or {}).get(CONF) or {}, submitted=True)
            return
        super()._check_parameters(conn, row)

    def require(self, project_id: str, task_id: str) -> None:
        """NotFound unless ``task_id`` is a trigger task of the project (before a lineage list)."""
        with self.db.read() as conn:
            self._row(conn, project_id, task_id)

    # -- the trigger sections ------------------------------------------------------------------

    def create_trigger_task(self, project_id: str, caller: Caller, base: dict[str, Any], conf: dict[str, Any],
                            sched: dict[str, Any]) -> str:
        return self.create_task(project_id, caller, base, conf, to_task_sched(sched))

    def update_trigger_task(self, project_id: str, task_id: str, caller: Caller, task: dict[str, Any]) -> None:
        self.update_task(project_id, task_id, caller, task.get("TriggerTaskBaseAttribute") or {},
                         task.get("TriggerTaskConfiguration") or {},
                         to_task_sched(task.get("TriggerTaskSchedulerConfiguration")))

    def update_trigger_task_partially(self, project_id: str, task_id: str, caller: Caller,
                                      new_setting: dict[str, Any] | None, removals: list[str] | None) -> None:
        setting = new_setting or {}
        periodic = {
            BASE: setting.get("TriggerTaskBaseAttribute"),
            CONF: setting.get("TriggerTaskConfiguration"),
            SCHED: to_task_sched(setting.get("TriggerTaskSchedulerConfiguration"))
            if setting.get("TriggerTaskSchedulerConfiguration") is not None else None,
        }
        self.update_task_partially(project_id, task_id, caller, periodic, _removals(removals))
