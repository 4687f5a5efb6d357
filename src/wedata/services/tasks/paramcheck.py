"""The parameter guard rail: every ``${...}`` in a task's code must be something the run can
render (docs/scheduling.md, "Checked at save and submit").

The code is rendered once, as the engine will render it (scheduler/runs.py ``render_context``:
the same renderer, strict, with a Shell task's own variables left to bash), against what the
task can see at submission: its TaskSchedulingParameterList, its constant ParamTaskOutList
entries, its ParamTaskInList keys (their values come from upstream at run time), and its
workflow's parameters. What is left is named with its line:

- SubmitTask refuses it (``InvalidParameterValue``), nothing changes;
- CreateTask / UpdateTask / UpdateTaskPartially save it (a draft may be unfinished) but say so:
  a ``WARNING`` line in the server log and the saved version's remark (``VersionRemark`` in
  ListTaskVersions / GetTaskVersion), since WeData's answers to those actions have no field for
  a warning.

Decision: a name only a rerun or backfill could supply (``RedefineParamList``) must be declared
somewhere the task sees (a task parameter with a default, say); an undeclared one is refused,
because a periodic run would fail on it. Only task types the engine runs are checked (their
code is rendered); a dry run (ScheduleType 1) never renders its code and is not checked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from wedata.scheduling.parameters import (
    ParameterError,
    RenderContext,
    UnknownVariableError,
    is_result_selector,
    own_output_constants,
    render,
)
from wedata.scheduling.shellnames import shell_foreign
from wedata.services.tasks.definition import CONF, SCHED
from wedata.storage import tables as T

CODE_FIELD = f"{CONF}.CodeContent"
_HINT = ("declare a parameter in TaskSchedulingParameterList, the workflow's parameters or ParamTaskInList, "
         "or write $${...} for a literal ${...}")
# Any data time renders the same names; one far from the calendar's ends keeps offsets in range.
_PROBE_TIME = datetime(2000, 6, 15, 12, 0, 0)


def _pairs(items: Any) -> dict[str, str]:
    return {str(p["ParamKey"]): str(p.get("ParamValue") or "") for p in items or [] if p.get("ParamKey")}


def workflow_params(conn: Connection, workflow_id: str) -> dict[str, str]:
    row = conn.execute(select(T.workflows.c.params).where(T.workflows.c.id == workflow_id)).first()
    return _pairs(row[0] if row else None)


def code_problems(conn: Connection, task_type_id: int, definition: dict[str, Any], workflow_id: str) -> str | None:
    """What in the task's code the engine could not render, in words; None when all is well."""
    from wedata.executors.shell_form import form_source
    from wedata.executors.tasktypes import SHELL_FORM_TYPE, SHELL_TYPE, SUPPORTED_TASK_TYPES

    conf = definition.get(CONF) or {}
    sched = definition.get(SCHED) or {}
    code = conf.get("CodeContent") or ""
    if task_type_id == SHELL_FORM_TYPE:  # what runs is shell.cmd shell.args (executors/shell_form.py)
        code = form_source(_pairs(conf.get("TaskExtConfigurationList")), code)
    if task_type_id not in SUPPORTED_TASK_TYPES or sched.get("ScheduleType") == 1 or "$" not in code:
        return None
    outputs = _pairs(sched.get("ParamTaskOutList"))
    ctx = RenderContext(
        data_time=_PROBE_TIME,
        zone=sched.get("ScheduleTimeZone") or "UTC+8",
        task_params={**own_output_constants(outputs), **_pairs(conf.get("TaskSchedulingParameterList"))},
        workflow_params=workflow_params(conn, workflow_id),
        inputs={str(p["ParamKey"]): "" for p in sched.get("ParamTaskInList") or [] if p.get("ParamKey")},
        foreign=shell_foreign(code) if task_type_id in (SHELL_TYPE, SHELL_FORM_TYPE) else None,
    )
    try:
        render(code, ctx)
    except UnknownVariableError as exc:
        parts = []
        for p in exc.problems:
            text = p.describe()
            if p.name in outputs and is_result_selector(outputs[p.name]):
                text += (f" (the output parameter {p.name} is the selector {outputs[p.name]}: "
                         "it has a value only after the run)")
            parts.append(text)
        return "; ".join(parts) + f" ({_HINT})"
    except ParameterError as exc:
        return str(exc)
    return None
