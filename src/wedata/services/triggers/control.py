"""Control-flow nodes of trigger workflows: their settings, checked when a task is saved and
submitted (issue 11 item 6; docs/triggers.md, "Control-flow nodes").

The spec names the task types (§3.18: Branch 130, Merge 131, For-each 137, Run Workflow 140) but
no configuration keys for them, so this server reads its own keys from
``TaskExtConfigurationList`` (string values, like every ext key):

- Branch: ``branch.conditions``, a JSON array of ``{"Condition": <expression>, "TaskIds": [...]}``.
  Every entry whose condition holds is followed; the entries with ``Condition`` ``else`` (or
  none) are followed when no other holds. The expression is a Jinja2 expression (comparisons,
  ``and``/``or``/``not``, ``in``, arithmetic, string tests) over ``${name}`` references: the
  run's workflow parameters, the task's own parameters, and its ``ParamTaskInList`` inputs (an
  upstream task run's output). A value that reads as a number is compared as a number.
- Merge: no key; it ends as its ``DependencyTriggerPolicy`` decides, without a process.
- For-each: ``foreach.items`` (a ``${name}`` reference or literal text: a JSON array, else a
  comma-separated list), ``foreach.taskId`` (the inner task: a task of the same workflow with no
  edge, run once per item with the parameters ``item`` and ``item_index``), ``foreach.parallelism``
  (1-100, default 1).
- Run Workflow: ``workflow.id``, another trigger workflow of the project; a chain of Run Workflow
  nodes must never lead back to the node's own workflow.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import Connection, select

from wedata.services.errors import InvalidValue, NotFound, OperationFailed
from wedata.storage import tables as T

BRANCH, MERGE, FOREACH, RUN_WORKFLOW = 130, 131, 137, 140
CONTROL_TYPES = frozenset({BRANCH, MERGE, FOREACH, RUN_WORKFLOW})
CONDITIONS, ITEMS, INNER, PARALLELISM, TARGET = (
    "branch.conditions", "foreach.items", "foreach.taskId", "foreach.parallelism", "workflow.id")
ELSE = "else"
MAX_ITEMS = 1000
MAX_PARALLELISM = 100
_REF = re.compile(r"\$\{([^{}]+)\}")
_ENV = SandboxedEnvironment()
FIELD = "TaskConfiguration.TaskExtConfigurationList"


@dataclass(frozen=True)
class BranchRule:
    condition: str | None  # None: the else branch
    task_ids: tuple[str, ...]


def ext_of(conf: Mapping[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in (conf or {}).get("TaskExtConfigurationList") or []:
        if isinstance(item, Mapping) and item.get("ParamKey") is not None:
            out[str(item["ParamKey"])] = "" if item.get("ParamValue") is None else str(item["ParamValue"])
    return out


# -- Branch conditions --------------------------------------------------------------------------------

def _translate(condition: str) -> tuple[str, list[str]]:
    """``${a} > 1`` as the Jinja2 expression ``_p[0] > 1`` and the names it reads."""
    names: list[str] = []

    def sub(m: re.Match[str]) -> str:
        names.append(m.group(1).strip())
        return f"_p[{len(names) - 1}]"

    return _REF.sub(sub, condition), names


def compile_condition(condition: str, where: str) -> list[str]:
    """Parse one condition; returns the names it reads. InvalidValue naming ``where``."""
    expr, names = _translate(condition)
    try:
        _ENV.compile_expression(expr)
    except TemplateSyntaxError as exc:
        raise InvalidValue(f"{where}: the condition {condition!r} does not parse: {exc.message}") from None
    return names


def parse_branch(ext: Mapping[str, str], where: str = FIELD) -> list[BranchRule]:
    raw = ext.get(CONDITIONS)
    field = f"{where} {CONDITIONS}"
    if raw is None or not raw.strip():
        raise InvalidValue(f"{field} is required for a Branch node (TaskTypeId 130): a JSON array of "
                           '{"Condition": "${x} == 1", "TaskIds": ["..."]}')
    try:
        items = json.loads(raw)
    except ValueError as exc:
        raise InvalidValue(f"{field} is not JSON: {exc}") from None
    if not isinstance(items, list) or not items:
        raise InvalidValue(f"{field} must be a non-empty JSON array")
    rules: list[BranchRule] = []
    for i, item in enumerate(items):
        at = f"{field}[{i}]"
        if not isinstance(item, dict):
            raise InvalidValue(f"{at} must be an object with Condition and TaskIds")
        ids = item.get("TaskIds")
        if not isinstance(ids, list) or not ids or not all(isinstance(x, str) and x.strip() for x in ids):
            raise InvalidValue(f"{at}.TaskIds must be a non-empty list of task ids")
        cond = item.get("Condition")
        if cond is not None and not isinstance(cond, str):
            raise InvalidValue(f"{at}.Condition must be a string")
        cond = (cond or "").strip()
        if cond and cond.lower() != ELSE:
            compile_condition(cond, f"{at}.Condition")
            rules.append(BranchRule(cond, tuple(x.strip() for x in ids)))
        else:
            rules.append(BranchRule(None, tuple(x.strip() for x in ids)))
    return rules


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def evaluate(condition: str, values: Mapping[str, str]) -> bool:
    """Raises KeyError naming an unknown parameter, ValueError for an expression that fails."""
    expr, names = _translate(condition)
    missing = [n for n in names if n not in values]
    if missing:
        raise KeyError(", ".join(missing))
    try:
        return bool(_ENV.compile_expression(expr)(_p=[_value(values[n]) for n in names]))
    except Exception as exc:  # a sandbox refusal or a type error in the user's expression
        raise ValueError(f"the condition {condition!r} cannot be evaluated: {exc}") from None


def choose(rules: Sequence[BranchRule], values: Mapping[str, str]) -> tuple[set[str], list[str]]:
    """The task ids to follow and a line per rule for the log."""
    chosen: set[str] = set()
    lines: list[str] = []
    for r in rules:
        if r.condition is None:
            continue
        held = evaluate(r.condition, values)
        lines.append(f"condition {r.condition!r}: {'true' if held else 'false'} -> {', '.join(r.task_ids)}")
        if held:
            chosen.update(r.task_ids)
    if not chosen:
        for r in rules:
            if r.condition is None:
                chosen.update(r.task_ids)
                lines.append(f"no condition holds: else -> {', '.join(r.task_ids)}")
    return chosen, lines


# -- For-each -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ForEach:
    items: str
    inner: str
    parallelism: int


def parse_foreach(ext: Mapping[str, str], where: str = FIELD) -> ForEach:
    items = (ext.get(ITEMS) or "").strip()
    if not items:
        raise InvalidValue(f"{where} {ITEMS} is required for a For-each node (TaskTypeId 137): a ${{name}} "
                           "reference or a JSON array")
    if not _REF.fullmatch(items):
        split_items(items, f"{where} {ITEMS}")
    inner = (ext.get(INNER) or "").strip()
    if not inner:
        raise InvalidValue(f"{where} {INNER} is required for a For-each node: the id of its inner task")
    raw = (ext.get(PARALLELISM) or "1").strip()
    try:
        par = int(raw)
    except ValueError:
        raise InvalidValue(f"{where} {PARALLELISM} must be an integer, not {raw!r}") from None
    if not 1 <= par <= MAX_PARALLELISM:
        raise InvalidValue(f"{where} {PARALLELISM} must be between 1 and {MAX_PARALLELISM}, not {par}")
    return ForEach(items, inner, par)


def split_items(text: str, where: str) -> list[str]:
    """A JSON array (of scalars) or comma-separated text as the list of items."""
    text = text.strip()
    if text.startswith("[") or text.startswith("{") or text.startswith('"'):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidValue(f"{where}: {text[:80]!r} is not a list: {exc}") from None
        if not isinstance(data, list):
            raise InvalidValue(f"{where}: {text[:80]!r} is not a list (a JSON {type(data).__name__})")
        if any(isinstance(x, (dict, list)) for x in data):
            raise InvalidValue(f"{where}: the items must be strings or numbers")
        out = ["" if x is None else x if isinstance(x, str) else json.dumps(x) for x in data]
    else:
        out = [x.strip() for x in text.split(",")] if text else []
    if len(out) > MAX_ITEMS:
        raise InvalidValue(f"{where}: at most {MAX_ITEMS} items, not {len(out)}")
    return out


def foreach_items(spec: ForEach, values: Mapping[str, str]) -> list[str]:
    ref = _REF.fullmatch(spec.items)
    if ref is None:
        return split_items(spec.items, ITEMS)
    name = ref.group(1).strip()
    if name not in values:
        raise InvalidValue(f"{ITEMS}: ${{{name}}} is not a parameter of the run nor an input of the node")
    return split_items(values[name], f"{ITEMS} (${{{name}}} = {values[name][:80]!r})")


# -- Run Workflow --------------------------------------------------------------------------------------

def target_of(ext: Mapping[str, str], where: str = FIELD) -> str:
    target = (ext.get(TARGET) or "").strip()
    if not target:
        raise InvalidValue(f"{where} {TARGET} is required for a Run Workflow node (TaskTypeId 140): the "
                           "WorkflowId of the trigger workflow to run")
    return target


def _targets(conn: Connection, workflow_ids: Iterable[str], *, submitted: bool) -> dict[str, set[str]]:
    """workflow -> the workflows its Run Workflow tasks start (submitted versions or drafts)."""
    t, v = T.tasks, T.task_versions
    q = select(t.c.workflow_id, t.c.definition).where(t.c.task_type_id == RUN_WORKFLOW,
                                                        t.c.workflow_id.in_(list(workflow_ids)))
    if submitted:
        q = (select(t.c.workflow_id, v.c.snapshot.label("definition"))
             .select_from(t.join(v, v.c.version_id == t.c.prod_version_id))
             .where(t.c.task_type_id == RUN_WORKFLOW, t.c.workflow_id.in_(list(workflow_ids))))
    out: dict[str, set[str]] = {}
    for wf, definition in conn.execute(q):
        target = ext_of((definition or {}).get("TaskConfiguration")).get(TARGET, "").strip()
        if target:
            out.setdefault(wf, set()).add(target)
    return out


def check_no_cycle(conn: Connection, workflow_id: str, target: str, *, submitted: bool, where: str) -> None:
    """Refuse when running ``target`` would (through Run Workflow nodes) start ``workflow_id``."""
    path = {target: [workflow_id, target]}
    frontier = [target]
    while frontier:
        if workflow_id in path:
            chain = " -> ".join(path[workflow_id])
            raise InvalidValue(f"{where}: the Run Workflow node would start its own workflow ({chain})")
        edges = _targets(conn, frontier, submitted=submitted)
        nxt: list[str] = []
        for wf in frontier:
            for t in sorted(edges.get(wf, ())):
                if t not in path:
                    path[t] = [*path[wf], t]
                    nxt.append(t)
        frontier = nxt
    if workflow_id in path:
        raise InvalidValue(f"{where}: the Run Workflow node would start its own workflow "
                           f"({' -> '.join(path[workflow_id])})")


def check_target(conn: Connection, project_id: str, workflow_id: str, target: str, *, submitted: bool,
                 where: str = FIELD) -> None:
    """The target is another trigger workflow of the project (with a submitted task when
    ``submitted``), and no chain of Run Workflow nodes leads back."""
    field = f"{where} {TARGET}"
    if target == workflow_id:
        raise InvalidValue(f"{field}: a Run Workflow node cannot start its own workflow {workflow_id}")
    w = T.workflows
    row = conn.execute(select(w.c.workflow_type).where(w.c.id == target, w.c.project_id == project_id)).first()
    if row is None or row.workflow_type != "trigger":
        raise NotFound(f"{field}: {target} is not a trigger workflow of the project {project_id}")
    if submitted:
        t = T.tasks
        if conn.execute(select(t.c.id).where(t.c.workflow_id == target, t.c.prod_version_id.is_not(None))
                        .limit(1)).first() is None:
            raise OperationFailed(f"{field}: the workflow {target} has no submitted task: submit its tasks first")
    check_no_cycle(conn, workflow_id, target, submitted=submitted, where=field)


def check_definition(conn: Connection, project_id: str, workflow_id: str, type_id: int,
                     conf: Mapping[str, Any], *, submitted: bool) -> None:
    """Every rule on a control node's settings (CreateTriggerTask, UpdateTriggerTask*:
    ``submitted`` False; SubmitTriggerTask: True)."""
    ext = ext_of(conf)
    if type_id == BRANCH:
        named = sorted({t for r in parse_branch(ext) for t in r.task_ids})
        if submitted:
            t = T.tasks
            found = {r.id for r in conn.execute(select(t.c.id).where(t.c.id.in_(named), t.c.workflow_id == workflow_id))}
            unknown = [x for x in named if x not in found]
            if unknown:
                raise InvalidValue(f"{FIELD} {CONDITIONS}: the task(s) {', '.join(unknown[:10])} are not in the "
                                   f"workflow {workflow_id}")
    elif type_id == FOREACH:
        spec = parse_foreach(ext)
        t = T.tasks
        inner = conn.execute(select(t.c.workflow_id, t.c.task_type_id, t.c.prod_version_id)
                             .where(t.c.id == spec.inner)).first()
        if inner is None or inner.workflow_id != workflow_id:
            raise InvalidValue(f"{FIELD} {INNER}: the task {spec.inner} is not in the workflow {workflow_id}")
        if inner.task_type_id in CONTROL_TYPES:
            raise InvalidValue(f"{FIELD} {INNER}: the inner task {spec.inner} must not be a control-flow node")
        if submitted and inner.prod_version_id is None:
            raise OperationFailed(f"{FIELD} {INNER}: the inner task {spec.inner} has never been submitted")
    elif type_id == RUN_WORKFLOW:
        check_target(conn, project_id, workflow_id, target_of(ext), submitted=submitted)


def inner_tasks(conn: Connection, version_ids: Sequence[str]) -> set[str]:
    """The inner tasks of the For-each nodes among these submitted versions."""
    v = T.task_versions
    out: set[str] = set()
    for (snapshot,) in conn.execute(select(v.c.snapshot).where(v.c.version_id.in_(list(version_ids)))):
        if ((snapshot or {}).get("TaskBaseAttribute") or {}).get("TaskTypeId") in (FOREACH, str(FOREACH)):
            inner = ext_of((snapshot or {}).get("TaskConfiguration")).get(INNER, "").strip()
            if inner:
                out.add(inner)
    return out
