"""Alarms: a project's alarm rules (list, create, edit, enable/disable, delete) and its recent
alarm messages with their delivery state, through the alarm actions.

- ``/p/{project}/alarms``: ListOpsAlarmRules (newest first, 20 a page, ``?keyword=`` is the
  action's Keyword: a rule id or part of a name), each rule with what it watches, its alarm
  types, level, status and channels; for users who operate the project, **New rule**, and per
  rule **Edit**, **Enable**/**Disable** (UpdateOpsAlarmRule ``Status``) and **Delete**
  (DeleteOpsAlarmRule, confirmed).
- ``/p/{project}/alarms/new`` and ``/p/{project}/alarms/rules/{rule}/edit``: the rule's form.
  **Create** calls CreateOpsAlarmRule, **Save** UpdateOpsAlarmRule. The form edits the first
  recipient group and the first TimeOutExtInfo entry; on save the rule is read again
  (GetOpsAlarmRule) and everything the form does not show (other groups, quiet intervals,
  whitelisted tasks, the backfill timeouts...) is sent back as it was, because a given
  ``AlarmRuleDetail`` or ``AlarmGroups`` replaces the old one whole (docs/alarms.md). A refused
  rule shows the form as typed with the action's code and message next to the field it names.
- ``/p/{project}/alarms/messages``: ListAlarmMessages (latest alarm time first, 20 a page,
  ``?level=`` the action's AlarmLevel), each message with its task and data time (linking to
  the instance), reason, level, channels, recipients and **delivery**: per channel and target,
  sent / failed (with the reason) / pending / not sent. AlarmMessage has no field for that:
  after ListAlarmMessages has checked membership, the outbox rows of the page's messages are
  one query (``services.alarms`` ``delivery_states``).

A filter the action refuses (a level that is not 1-3) shows the action's error on the page; a
caller who is not a member gets the action's refusal as the page (403), and so does a Visitor
posting a change (the actions need the operator role).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from starlette.responses import Response

from wedata.console.client import ActionFailed
from wedata.console.frame import Pages, View

pages = Pages()

PAGE_SIZE = 20
LEVELS = {1: "normal", 2: "important", 3: "urgent"}
OBJECT_TYPES = {1: "tasks", 2: "workflows", 3: "project"}
WAYS = {"1": "email", "2": "SMS", "3": "WeChat", "4": "voice", "5": "WeCom", "6": "HTTP", "7": "WeCom group",
        "8": "Feishu group", "9": "DingTalk group", "10": "Slack", "11": "Teams"}
WEBHOOK_WAYS = ("6", "7", "8", "9", "10", "11")
ALARM_TYPES = (("failure", "failed"), ("success", "succeeded"), ("overtime", "late (overtime)"),
               ("backTrackingOrRerunFailure", "a rerun or backfill failed"),
               ("backTrackingOrRerunSuccess", "a rerun or backfill succeeded"))
TRIGGERS = ((2, "once it has failed for good (no retry left)"), (1, "on the first failed attempt"))
RECIPIENT_TYPES = ((1, "named users"), (2, "the task's owner"), (3, "on-call rosters"))
TIMEOUT_RULES = ((1, "runs longer than"), (2, "has not finished at (time of day)"), (3, "waits longer than"),
                 (4, "has not finished within its cycle"))
TIMEOUT_KINDS = ((1, "a fixed value"), (2, "the task's average run time"))
TYPE_PREFIX, WAY_PREFIX = "type:", "way:"
# The form's plain fields (their names are the wire names where there is one).
FIELDS = ("AlarmRuleName", "Description", "MonitorObjectType", "MonitorObjectIds", "AlarmLevel", "Trigger",
          "DataBackfillOrRerunTrigger", "TimeoutRuleType", "TimeoutType", "TimeoutHour", "TimeoutMin",
          "AlarmRecipientType", "AlarmRecipientIds", "WebHook", "CustomEmails", "NotifyCount", "NotifyInterval")
# Words of an error message -> the form field it is shown next to (the first one named wins).
ERROR_FIELDS = (
    ("AlarmRuleName", "AlarmRuleName"), ("Description", "Description"), ("MonitorObjectType", "MonitorObjectType"),
    ("MonitorObjectIds", "MonitorObjectIds"), ("MonitorWhiteTasks", "MonitorObjectIds"), ("AlarmTypes", "AlarmTypes"),
    ("AlarmLevel", "AlarmLevel"), ("DataBackfillOrRerunTrigger", "DataBackfillOrRerunTrigger"), ("Trigger", "Trigger"),
    ("TimeOutExtInfo", "Timeout"), ("DataBackfillOrRerunTimeOutExtInfo", "Timeout"), ("overtime alarm", "Timeout"),
    ("AlarmWays", "AlarmWays"), ("AlarmRecipientIds", "AlarmRecipientIds"), ("AlarmRecipientType", "AlarmRecipientType"),
    ("WebHooks", "WebHook"), ("CustomEmails", "CustomEmails"), ("NotifyCount", "NotifyCount"),
    ("NotifyInterval", "NotifyInterval"),
)
# Named only when nothing more precise is: an error about a recipient group as a whole.
FALLBACK_FIELDS = (("AlarmGroups", "AlarmWays"), ("AlarmRuleDetail", "Trigger"))
DELIVERY_WORDS = {"DELIVERED": "sent", "FAILED": "failed", "PENDING": "pending", "NOT_DELIVERED": "not sent",
                  "SUPPRESSED": "suppressed (quiet hours)"}


def error_field(err: ActionFailed) -> str | None:
    """The form field an action's error names first."""
    if err.code.endswith("RuleNameRepeated"):
        return "AlarmRuleName"
    for table in (ERROR_FIELDS, FALLBACK_FIELDS):
        found = [(m.start(), field) for words, field in table if (m := re.search(rf"\b{words}\b", err.message))]
        if found:
            return min(found)[1]
    return None


# -- the rules ------------------------------------------------------------------------------------


@pages.get("/p/{project_id}/alarms")
def rules(v: View) -> Response:
    project_id = v.param("project_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    keyword = v.arg("keyword")
    number = v.page()
    data, error = a.try_data("ListOpsAlarmRules", ProjectId=project_id, PageNumber=number, PageSize=PAGE_SIZE,
                             Keyword=keyword or None)
    if error is not None and (error.forbidden or error.not_found):
        raise error
    return v.render("alarm_rules.html", project=project, data=data, error=error, keyword=keyword, page=number,
                    levels=LEVELS, object_types=OBJECT_TYPES, ways=WAYS, may_operate=v.may_operate(project_id))


def _split(text: str) -> list[str]:
    return [p for p in re.split(r"[\s,;]+", text) if p]


def _number(text: str) -> int | str | None:
    """A number field: empty is left out, a number sent as one, anything else sent as typed (the
    action names the field)."""
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def values_of(rule: Any) -> tuple[dict[str, str], set[str], set[str]]:
    """The form's values, ticked alarm types and ticked channels of a rule (GetOpsAlarmRule)."""
    detail = rule.alarm_rule_detail  # getattr(None, ...) is None: a rule always has one, but be safe
    group = (rule.alarm_groups or [None])[0]
    timeout = (getattr(detail, "time_out_ext_info", None) or [None])[0]
    fatigue = group.notification_fatigue if group is not None else None
    hooks = [u for h in (group.web_hooks or []) for u in (h.web_hooks or [])] if group is not None else []

    def text(value: Any) -> str:
        return "" if value is None else str(value)

    values = {
        "AlarmRuleName": text(rule.alarm_rule_name), "Description": text(rule.description),
        "MonitorObjectType": text(rule.monitor_object_type or 1),
        "MonitorObjectIds": ", ".join(rule.monitor_object_ids or []), "AlarmLevel": text(rule.alarm_level or 1),
        "Trigger": text(getattr(detail, "trigger", None) or 2),
        "DataBackfillOrRerunTrigger": text(getattr(detail, "data_backfill_or_rerun_trigger", None) or 1),
        "TimeoutRuleType": text(timeout.rule_type if timeout else 1), "TimeoutType": text(timeout.type if timeout else 1),
        "TimeoutHour": text(timeout.hour if timeout else ""), "TimeoutMin": text(timeout.min if timeout else ""),
        "AlarmRecipientType": text(group.alarm_recipient_type if group else 1),
        "AlarmRecipientIds": ", ".join(group.alarm_recipient_ids or []) if group else "",
        "WebHook": hooks[0] if hooks else "", "CustomEmails": ", ".join(group.custom_emails or []) if group else "",
        "NotifyCount": text(fatigue.notify_count if fatigue else 1),
        "NotifyInterval": text(fatigue.notify_interval if fatigue else 5),
    }
    return values, set(rule.alarm_types or []), set(group.alarm_ways or []) if group else {"1"}


def rule_params(project_id: str, values: dict[str, str], types: set[str], ways: set[str],
                existing: Any = None) -> dict[str, Any]:
    """CreateOpsAlarmRule / UpdateOpsAlarmRule parameters from the form, over the rule as it is
    (``existing``): what the form does not show is sent back unchanged."""
    old = msgspec.to_builtins(existing) if existing is not None else {}
    detail: dict[str, Any] = dict(old.get("AlarmRuleDetail") or {})
    detail["Trigger"] = _number(values["Trigger"])
    detail["DataBackfillOrRerunTrigger"] = _number(values["DataBackfillOrRerunTrigger"])
    if "overtime" in types:
        entry = dict((detail.get("TimeOutExtInfo") or [{}])[0])
        entry.update(RuleType=_number(values["TimeoutRuleType"]), Type=_number(values["TimeoutType"]),
                     Hour=_number(values["TimeoutHour"]), Min=_number(values["TimeoutMin"]))
        detail["TimeOutExtInfo"] = [entry, *(detail.get("TimeOutExtInfo") or [])[1:]]
    groups: list[dict[str, Any]] = list(old.get("AlarmGroups") or [{}])
    group = dict(groups[0])
    chosen = sorted(ways, key=lambda w: int(w) if w.isdigit() else 99)
    hook = values["WebHook"].strip()
    fatigue = dict(group.get("NotificationFatigue") or {})
    fatigue.update(NotifyCount=_number(values["NotifyCount"]), NotifyInterval=_number(values["NotifyInterval"]))
    group.update(
        AlarmWays=chosen, AlarmRecipientType=_number(values["AlarmRecipientType"]),
        AlarmRecipientIds=_split(values["AlarmRecipientIds"]),
        WebHooks=[{"AlarmWay": w, "WebHooks": [hook]} for w in chosen if w in WEBHOOK_WAYS and hook] or None,
        CustomEmails=_split(values["CustomEmails"]) or None, NotificationFatigue=fatigue,
    )
    kind = _number(values["MonitorObjectType"])
    ids = _split(values["MonitorObjectIds"])
    if kind == 3 and not ids:
        ids = [project_id]  # a project rule watches its own project
    return {
        "ProjectId": project_id, "AlarmRuleName": values["AlarmRuleName"], "Description": values["Description"],
        "MonitorObjectType": kind, "MonitorObjectIds": ids,
        "AlarmTypes": [t for t, _ in ALARM_TYPES if t in types] + sorted(types - {t for t, _ in ALARM_TYPES}),
        "AlarmLevel": _number(values["AlarmLevel"]), "AlarmRuleDetail": detail, "AlarmGroups": [group, *groups[1:]],
    }


def _form(v: View, project: Any, values: dict[str, str], types: set[str], ways: set[str], *,
          rule_id: str = "", error: ActionFailed | None = None, status: int = 200) -> Response:
    return v.render("alarm_rule_form.html", status=status, project=project, values=values, types=types, ways=ways,
                    rule_id=rule_id, error=error, error_field=error_field(error) if error else None,
                    may_operate=v.may_operate(project.project_id), levels=LEVELS, object_types=OBJECT_TYPES,
                    all_ways=WAYS, alarm_types=ALARM_TYPES, triggers=TRIGGERS, recipient_types=RECIPIENT_TYPES,
                    timeout_rules=TIMEOUT_RULES, timeout_kinds=TIMEOUT_KINDS, type_prefix=TYPE_PREFIX,
                    way_prefix=WAY_PREFIX)


def _posted(v: View) -> tuple[dict[str, str], set[str], set[str]]:
    form = v.form
    values = {k: form.get(k, "") for k in FIELDS}
    values["AlarmRuleName"] = values["AlarmRuleName"].strip()
    types = {k[len(TYPE_PREFIX):] for k in form if k.startswith(TYPE_PREFIX)}
    ways = {k[len(WAY_PREFIX):] for k in form if k.startswith(WAY_PREFIX)}
    return values, types, ways


@pages.get("/p/{project_id}/alarms/new")
def new_rule(v: View) -> Response:
    project_id = v.param("project_id")
    project = v.actions.data("GetProject", ProjectId=project_id)
    v.actions.data("ListOpsAlarmRules", ProjectId=project_id, PageSize=1)  # membership (GetProject is tenant-wide)
    values = dict.fromkeys(FIELDS, "")
    values.update(MonitorObjectType="1", AlarmLevel="1", Trigger="2", DataBackfillOrRerunTrigger="1",
                  TimeoutRuleType="1", TimeoutType="1", AlarmRecipientType="2", NotifyCount="1", NotifyInterval="5",
                  MonitorObjectIds=v.arg("task"))
    return _form(v, project, values, {"failure"}, {"1"})


@pages.post("/p/{project_id}/alarms")
def create_rule(v: View) -> Response:
    project_id = v.param("project_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    values, types, ways = _posted(v)
    try:
        created = a.data("CreateOpsAlarmRule", **rule_params(project_id, values, types, ways))
    except ActionFailed as err:
        return _form(v, project, values, types, ways, error=err, status=403 if err.forbidden else 400)
    return v.redirect(f"/p/{project_id}/alarms?keyword={created.alarm_rule_id}")


@pages.get("/p/{project_id}/alarms/rules/{rule_id}/edit")
def edit_rule(v: View) -> Response:
    project_id, rule_id = v.param("project_id"), v.param("rule_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    rule = a.data("GetOpsAlarmRule", ProjectId=project_id, AlarmRuleId=rule_id)
    values, types, ways = values_of(rule)
    return _form(v, project, values, types, ways, rule_id=rule_id)


@pages.post("/p/{project_id}/alarms/rules/{rule_id}")
def update_rule(v: View) -> Response:
    project_id, rule_id = v.param("project_id"), v.param("rule_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    values, types, ways = _posted(v)
    try:
        rule = a.data("GetOpsAlarmRule", ProjectId=project_id, AlarmRuleId=rule_id)
        a.data("UpdateOpsAlarmRule", AlarmRuleId=rule_id, **rule_params(project_id, values, types, ways, rule))
    except ActionFailed as err:
        return _form(v, project, values, types, ways, rule_id=rule_id, error=err, status=403 if err.forbidden else 400)
    return v.redirect(f"/p/{project_id}/alarms?keyword={rule_id}")


@pages.post("/p/{project_id}/alarms/rules/{rule_id}/status")
def set_status(v: View) -> Response:
    project_id, rule_id = v.param("project_id"), v.param("rule_id")
    status = v.form.get("Status", "")
    v.actions.data("UpdateOpsAlarmRule", ProjectId=project_id, AlarmRuleId=rule_id,
                   Status=int(status) if status.isdigit() else status)
    return v.redirect(f"/p/{project_id}/alarms")


@pages.post("/p/{project_id}/alarms/rules/{rule_id}/delete")
def delete_rule(v: View) -> Response:
    project_id, rule_id = v.param("project_id"), v.param("rule_id")
    v.actions.data("DeleteOpsAlarmRule", ProjectId=project_id, AlarmRuleId=rule_id)
    return v.redirect(f"/p/{project_id}/alarms")


# -- the messages ---------------------------------------------------------------------------------


def delivery_text(row: Any) -> tuple[str, str]:
    """(the state's words, the details) of one outbox row."""
    words = DELIVERY_WORDS.get(row["status"], row["status"].lower())
    if row["status"] == "FAILED":
        code = f"HTTP {row['last_status_code']}: " if row["last_status_code"] else ""
        return words, f"{code}{row['last_error'] or ''} after {row['attempts']} attempt(s)".strip()
    if row["status"] == "PENDING":
        retry = f", last error: {row['last_error']}" if row["last_error"] else ""
        return words, f"{row['attempts']} attempt(s) so far{retry}"
    if row["status"] == "NOT_DELIVERED":
        return words, row["last_error"] or ""
    if row["status"] == "DELIVERED" and row["delivered_at"] is not None:
        return words, f"at {row['delivered_at']:%Y-%m-%d %H:%M:%S} UTC"
    return words, ""


@pages.get("/p/{project_id}/alarms/messages")
def messages(v: View) -> Response:
    project_id = v.param("project_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    level = v.arg("level")
    number = v.page()
    params: dict[str, object] = {"ProjectId": project_id, "PageNumber": number, "PageSize": PAGE_SIZE,
                                 "TimeZone": "UTC+0"}
    if level:
        params["AlarmLevel"] = int(level) if level.isdigit() else level
    data, error = a.try_data("ListAlarmMessages", **params)
    if error is not None and (error.forbidden or error.not_found):
        raise error
    deliveries: dict[int, list[dict[str, str]]] = {}
    if data is not None:  # ListAlarmMessages checked membership
        ids = [int(m.alarm_message_id) for m in data.items or [] if str(m.alarm_message_id).isdigit()]
        for mid, rows in v.console.deliveries.delivery_states(project_id, ids).items():
            deliveries[mid] = [{"way": WAYS.get(r["alarm_way"], r["alarm_way"]), "target": r["target"] or "",
                                "round": r["round"], "status": r["status"],
                                **dict(zip(("words", "details"), delivery_text(r), strict=True))} for r in rows]
    return v.render("alarm_messages.html", project=project, data=data, error=error, level=level, page=number,
                    levels=LEVELS, ways=WAYS, deliveries=deliveries)
