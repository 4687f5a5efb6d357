"""Trigger workflows (CreateTriggerWorkflow, GetTriggerWorkflow, ListTriggerWorkflows,
UpdateTriggerWorkflow, UpdateTriggerWorkflowPartially, DeleteTriggerWorkflow).

A trigger workflow is a ``workflows`` row of type ``trigger`` (created, renamed, listed and
deleted by WorkflowService: one set of name, folder, owner and parameter rules for both kinds)
plus a ``trigger_workflows`` row written in the same transaction through WorkflowService's
``trigger`` hook.

Decisions where WeData is silent:

- Only workflow-scheduling projects have trigger workflows (``UnsupportedOperation`` naming the
  project's ScheduleMode otherwise; the periodic workflow actions refuse trigger workflows).
- The trigger settings are validated against the spec's ranges and, in the write's transaction,
  against what the firing worker needs (services/triggers/trigger_config.py: cron, zone, bounds,
  watch path, pattern); the worker fires them (firing.py). A trigger without ``TriggerId`` gets
  a UUID.
- UpdateTriggerWorkflow replaces what it is given (a list given replaces the whole list);
  UpdateTriggerWorkflowPartially upserts list items by key (``ParamKey``, ``TriggerId``,
  ``Type``) and removes the ``FieldToRemoveList`` entries ``WorkflowParams:<key>``,
  ``TriggerWorkflowSchedulerConfigurations:<TriggerId>``, ``GeneralTaskParams:<Type>``.
- DeleteTriggerWorkflow refuses a workflow that still holds tasks (``ResourceInUse``), as
  DeleteWorkflow does; its runs stay readable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, select, update

from wedata.clock import Clock
from wedata.config import Settings
from wedata.services.common import Page, Paged, new_uuid, page, parse_time_range
from wedata.services.errors import InvalidValue, NotFound
from wedata.services.workflows.workflows import TRIGGER, WorkflowService, require_schedule_mode
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.trigger_tables import trigger_workflows

TW = trigger_workflows
TRIGGER_MODES = ("TIME_TRIGGER", "FILE_ARRIVAL")
SCHEDULER_STATUSES = ("ACTIVE", "PAUSED")
CONFIG_MODES = ("COMMON", "CRON_EXPRESSION")
GENERAL_PARAM_TYPES = ("SPARK_SQL",)


@dataclass(frozen=True, slots=True)
class TriggerWorkflow:
    """A trigger workflow: its workflows row and its trigger settings (settings: wire dicts)."""

    row: Row[Any]
    trigger_mode: str | None
    scheduler_status: str
    triggers: list[dict[str, Any]]
    run_config: dict[str, Any] | None
    general_task_params: list[dict[str, Any]]
    execute_user_uin: str | None


@dataclass(frozen=True, slots=True)
class Settings_:
    """The trigger settings of one write: None = not given (stays)."""

    trigger_mode: str | None = None
    scheduler_status: str | None = None
    triggers: list[dict[str, Any]] | None = None
    run_config: dict[str, Any] | None = None
    general_task_params: list[dict[str, Any]] | None = None
    execute_user_uin: str | None = None

    def values(self) -> dict[str, Any]:
        out = {
            "trigger_mode": self.trigger_mode,
            "scheduler_status": self.scheduler_status,
            "triggers": self.triggers,
            "run_config": self.run_config,
            "general_task_params": self.general_task_params,
            "execute_user_uin": self.execute_user_uin,
        }
        return {k: v for k, v in out.items() if v is not None}


# ----------------------------------------------------------------------------------------------
# Validation of the trigger settings (spec §3.21 ranges).


def _choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    text = str(value).strip().upper()
    if text not in choices:
        raise InvalidValue(f"{field} must be one of {', '.join(choices)}, got {value!r}")
    return text


def _int_range(value: Any, field: str, lo: int, hi: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InvalidValue(f"{field} must be an integer from {lo} to {hi}, got {value!r}")
    return value


def check_triggers(items: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if items is None:
        return None
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, raw in enumerate(items):
        at = f"TriggerWorkflowSchedulerConfigurations[{i}]"
        item = dict(raw)
        if item.get("TriggerMode") is not None:
            item["TriggerMode"] = _choice(item["TriggerMode"], f"{at}.TriggerMode", TRIGGER_MODES)
        if item.get("ConfigMode") is not None:
            item["ConfigMode"] = _choice(item["ConfigMode"], f"{at}.ConfigMode", CONFIG_MODES)
        if item.get("SchedulerStatus") is not None:
            item["SchedulerStatus"] = _choice(item["SchedulerStatus"], f"{at}.SchedulerStatus", SCHEDULER_STATUSES)
        if item.get("Recursive") is not None and item["Recursive"] not in (0, 1):
            raise InvalidValue(f"{at}.Recursive must be 0 or 1, got {item['Recursive']!r}")
        _int_range(item.get("TriggerMinimumInterval"), f"{at}.TriggerMinimumInterval", 1, 1440)
        _int_range(item.get("TriggerWaitTime"), f"{at}.TriggerWaitTime", 1, 60)
        _int_range(item.get("TriggerMinimumIntervalSecond"), f"{at}.TriggerMinimumIntervalSecond", 1, 1440 * 60)
        _int_range(item.get("TriggerWaitTimeSecond"), f"{at}.TriggerWaitTimeSecond", 1, 3600)
        trigger_id = str(item.get("TriggerId") or "").strip() or new_uuid()
        if trigger_id in seen:
            raise InvalidValue(f"{at}.TriggerId {trigger_id!r} is given twice")
        seen.add(trigger_id)
        item["TriggerId"] = trigger_id
        out.append(item)
    return out


def check_run_config(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    field = "TriggerWorkflowRunConfiguration"
    return {
        "MaxConcurrentNum": _int_range(raw.get("MaxConcurrentNum"), f"{field}.MaxConcurrentNum", 1, 1000),
        "QueuingMode": _int_range(raw.get("QueuingMode"), f"{field}.QueuingMode", 0, 1),
    }


def check_general_params(items: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if items is None:
        return None
    out: list[dict[str, Any]] = []
    for i, raw in enumerate(items):
        kind = _choice(raw.get("Type"), f"GeneralTaskParams[{i}].Type", GENERAL_PARAM_TYPES)
        if any(p["Type"] == kind for p in out):
            raise InvalidValue(f"GeneralTaskParams: the Type {kind} is given twice")
        out.append({"Type": kind, "Value": raw.get("Value")})
    return out


def check_settings(body: dict[str, Any]) -> Settings_:
    """The trigger settings of a Create/UpdateTriggerWorkflow body (wire names), validated."""
    mode = body.get("TriggerMode")
    status = body.get("SchedulerStatus")
    uin = body.get("ExecuteUserUin")
    if uin is not None and (not str(uin).strip().isdigit() or len(str(uin)) > 32):
        raise InvalidValue(f"ExecuteUserUin must be a user id (digits), got {uin!r}")
    return Settings_(
        trigger_mode=_choice(mode, "TriggerMode", TRIGGER_MODES) if mode is not None else None,
        scheduler_status=_choice(status, "SchedulerStatus", SCHEDULER_STATUSES) if status is not None else None,
        triggers=check_triggers(body.get("TriggerWorkflowSchedulerConfigurations")),
        run_config=check_run_config(body.get("TriggerWorkflowRunConfiguration")),
        general_task_params=check_general_params(body.get("GeneralTaskParams")),
        execute_user_uin=str(uin).strip() if uin is not None else None,
    )


def _params(items: list[dict[str, Any]] | None) -> list[tuple[str, str]] | None:
    return None if items is None else [(str(p.get("ParamKey") or ""), str(p.get("ParamValue") or "")) for p in items]


def _upsert(old: list[dict[str, Any]], new: list[dict[str, Any]] | None, key: str) -> list[dict[str, Any]] | None:
    if new is None:
        return None
    out = {str(item.get(key)): item for item in old}
    for item in new:
        out[str(item.get(key))] = item
    return list(out.values())


def _select() -> Any:
    w = T.workflows
    return select(w, TW.c.trigger_mode, TW.c.scheduler_status, TW.c.triggers, TW.c.run_config,
                  TW.c.general_task_params, TW.c.execute_user_uin).select_from(
        w.outerjoin(TW, TW.c.workflow_id == w.c.id))


def _record(r: Row[Any]) -> TriggerWorkflow:
    return TriggerWorkflow(
        row=r,
        trigger_mode=r.trigger_mode,
        scheduler_status=r.scheduler_status or "ACTIVE",
        triggers=list(r.triggers or []),
        run_config=r.run_config,
        general_task_params=list(r.general_task_params or []),
        execute_user_uin=r.execute_user_uin,
    )


def load_trigger_workflow(conn: Connection, project_id: str, workflow_id: str) -> TriggerWorkflow:
    w = T.workflows
    r = conn.execute(_select().where(w.c.project_id == project_id, w.c.id == workflow_id)).first()
    if r is None or r.workflow_type != TRIGGER:
        if r is not None:
            raise NotFound(f"The workflow {workflow_id} is not a trigger workflow of the project {project_id}.")
        raise NotFound(f"The trigger workflow {workflow_id} does not exist in the project {project_id}.")
    return _record(r)


class TriggerWorkflowService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, workflows: WorkflowService) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.workflows = workflows

    def create(self, project_id: str, caller_uin: str, body: dict[str, Any]) -> str:
        """CreateTriggerWorkflow (``body``: the request under its wire names)."""
        extra = check_settings(body)

        def write(conn: Connection, workflow_id: str) -> None:
            values = {"scheduler_status": "ACTIVE", "triggers": [], "general_task_params": [], **extra.values()}
            conn.execute(insert(TW).values(workflow_id=workflow_id, **values))
            self._check_firing(conn, workflow_id)

        return self.workflows.create_workflow(
            project_id, caller_uin,
            name=body.get("WorkflowName") or "", parent_folder_path=body.get("ParentFolderPath") or "",
            workflow_type=None, description=body.get("WorkflowDesc"), owner_uin=body.get("OwnerUin"),
            params=_params(body.get("WorkflowParams")), scheduler_config=None,
            bundle_id=body.get("BundleId"), bundle_info=body.get("BundleInfo"), trigger=write,
        )

    def get(self, project_id: str, workflow_id: str) -> TriggerWorkflow:
        with self.db.read() as conn:
            return load_trigger_workflow(conn, project_id, workflow_id)

    def list_workflows(self, req: Any) -> Paged[TriggerWorkflow]:
        """ListTriggerWorkflows: newest change first."""
        pg: Page = page(req.page_number, req.page_size, min_size=10, max_size=200)
        w = T.workflows
        conds = [w.c.project_id == req.project_id, w.c.workflow_type == TRIGGER]
        if req.keyword:
            conds.append(func.lower(w.c.name).contains(req.keyword.lower(), autoescape=True) | (w.c.id == req.keyword))
        if req.parent_folder_path:
            from wedata.services.folders import check_path

            conds.append(w.c.folder_path == check_path(req.parent_folder_path, "ParentFolderPath"))
        for column, value in ((w.c.bundle_id, req.bundle_id), (w.c.owner_uin, req.owner_uin),
                              (w.c.create_user_uin, req.create_user_uin), (TW.c.execute_user_uin, req.execute_user_uin)):
            if value:
                conds.append(column == value)
        for column, values, field in ((w.c.updated_at, req.modify_time, "ModifyTime"),
                                      (w.c.created_at, req.create_time, "CreateTime")):
            rng = parse_time_range(values, None, field)
            if rng:
                conds.append(column.between(*rng))
        where = and_(*conds)
        with self.db.read() as conn:
            require_schedule_mode(conn, req.project_id, "workflow", "Trigger workflows")
            total = conn.execute(
                select(func.count()).select_from(w.outerjoin(TW, TW.c.workflow_id == w.c.id)).where(where)
            ).scalar_one()
            rows = conn.execute(
                _select().where(where).order_by(w.c.updated_at.desc(), w.c.id).limit(pg.size).offset(pg.offset)
            ).all()
        return Paged([_record(r) for r in rows], pg, int(total))

    def update(self, project_id: str, workflow_id: str, caller_uin: str, body: dict[str, Any], *,
               partial: bool = False, removals: list[str] | None = None) -> None:
        """UpdateTriggerWorkflow (a list given replaces the list) or, with ``partial``,
        UpdateTriggerWorkflowPartially (lists upserted by key, then ``removals``)."""
        extra = check_settings(body)
        params = body.get("WorkflowParams")
        if partial or removals:
            with self.db.read() as conn:
                current = load_trigger_workflow(conn, project_id, workflow_id)
            old_params = list(current.row.params or [])
            params = _upsert(old_params, params, "ParamKey") if params is not None else None
            triggers = _upsert(current.triggers, extra.triggers, "TriggerId") if extra.triggers is not None else None
            general = (_upsert(current.general_task_params, extra.general_task_params, "Type")
                       if extra.general_task_params is not None else None)
            entry: str
            for entry in removals or []:
                field, _, key = str(entry).partition(":")
                lists = {"WorkflowParams": ("ParamKey", params if params is not None else old_params),
                         "TriggerWorkflowSchedulerConfigurations":
                             ("TriggerId", triggers if triggers is not None else current.triggers),
                         "GeneralTaskParams": ("Type", general if general is not None else current.general_task_params)}
                if field not in lists or not key:
                    raise InvalidValue(
                        f"FieldToRemoveList: {entry!r} must be WorkflowParams:<ParamKey>, "
                        "TriggerWorkflowSchedulerConfigurations:<TriggerId> or GeneralTaskParams:<Type>")
                name, items = lists[field]
                kept = [i for i in items if str(i.get(name)) != key]
                if len(kept) == len(items):
                    raise InvalidValue(f"FieldToRemoveList: {entry!r} names nothing the workflow has")
                if field == "WorkflowParams":
                    params = kept
                elif field == "GeneralTaskParams":
                    general = kept
                else:
                    triggers = kept
            extra = Settings_(extra.trigger_mode, extra.scheduler_status, triggers, extra.run_config, general,
                              extra.execute_user_uin)

        def write(conn: Connection, wid: str) -> bool:
            values = extra.values()
            if values:
                conn.execute(update(TW).where(TW.c.workflow_id == wid).values(**values))
                self._check_firing(conn, wid)
            return bool(values)

        self.workflows.update_workflow(
            project_id, workflow_id, caller_uin,
            name=body.get("WorkflowName"), owner_uin=body.get("OwnerUin"), description=body.get("WorkflowDesc"),
            params=_params(params), scheduler_config=None, bundle_id=body.get("BundleId"),
            bundle_info=body.get("BundleInfo"), trigger=write,
        )

    def _check_firing(self, conn: Connection, workflow_id: str) -> None:
        """The triggers as stored by this write must be ones the firing worker can fire from
        (trigger_config.py); raised inside the write's transaction, so nothing is saved."""
        from wedata.services.triggers.trigger_config import check_triggers_of
        from wedata.services.triggers.watch import Roots

        row = conn.execute(select(TW.c.trigger_mode, TW.c.triggers).where(TW.c.workflow_id == workflow_id)).one()
        check_triggers_of(row.trigger_mode, list(row.triggers or []), Roots.from_settings(self.settings))

    def delete(self, project_id: str, workflow_id: str) -> None:
        self.workflows.delete_workflow(project_id, workflow_id, trigger=True)
