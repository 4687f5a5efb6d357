"""Alarms (spec §1 H): wire shapes <-> services.alarms.

Rules come back as WeData's GetOpsAlarmRule example shows them: the configuration as given plus
the documented defaults, ``BundleId``/``BundleInfo`` empty strings (bundles are not supported),
every other unset field null. Messages show ``AlarmWays`` as channel names (``email``, ``sms``,
..., as in the ListAlarmMessages example), ``AlarmTime`` in the request's TimeZone (UTC+8 by
default) and ``CurRunDate`` unshifted (the data time in the task's own zone).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.scheduling.datatimes import format_wall
from wedata.services.alarms.rules import WAY_NAMES
from wedata.services.common import fmt_time
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


def rule_data(row: Mapping[str, Any]) -> M.AlarmRuleData:
    return M.AlarmRuleData(
        alarm_rule_id=row["id"],
        alarm_rule_name=row["name"],
        description=row["description"],
        monitor_object_type=row["monitor_object_type"],
        monitor_object_ids=list(row["monitor_object_ids"]),
        alarm_types=list(row["alarm_types"]),
        status=row["status"],
        alarm_rule_detail=msgspec.convert(row["detail"], M.AlarmRuleDetail),
        alarm_level=row["alarm_level"],
        owner_uin=row["owner_uin"],
        bundle_id="",
        bundle_info="",
        alarm_groups=[msgspec.convert(g, M.AlarmGroup) for g in row["groups"]],
    )


def message_data(row: Mapping[str, Any], zone: str | None) -> M.AlarmMessage:
    return M.AlarmMessage(
        alarm_message_id=row["id"],
        alarm_time=fmt_time(row["alarm_time"], zone),
        task_name=row["task_name"],
        task_id=row["task_id"],
        cur_run_date=format_wall(row["data_time"]) if row["data_time"] else None,
        alarm_reason=row["reason"],
        alarm_level=row["alarm_level"],
        alarm_rule_id=row["rule_id"],
        alarm_ways=[WAY_NAMES.get(w, w) for w in row["alarm_ways"] or []],
        alarm_recipients=list(row["recipients"] or []),
        custom_emails=row["custom_emails"],
    )


@action("CreateOpsAlarmRule")
def create_rule(services: Services, ctx: RequestContext, req: M.CreateOpsAlarmRuleRequest) -> M.CreateOpsAlarmRuleResponse:
    rule_id = services.alarms.create_rule(req.project_id, ctx.caller.uin, req)
    return M.CreateOpsAlarmRuleResponse(data=M.CreateAlarmRuleData(alarm_rule_id=rule_id))


@action("GetOpsAlarmRule")
def get_rule(services: Services, ctx: RequestContext, req: M.GetOpsAlarmRuleRequest) -> M.GetOpsAlarmRuleResponse:
    return M.GetOpsAlarmRuleResponse(data=rule_data(services.alarms.get_rule(req.project_id, req.alarm_rule_id)))


@action("ListOpsAlarmRules")
def list_rules(services: Services, ctx: RequestContext, req: M.ListOpsAlarmRulesRequest) -> M.ListOpsAlarmRulesResponse:
    rows, total, pg = services.alarms.list_rules(req)
    return M.ListOpsAlarmRulesResponse(
        data=M.ListAlarmRulesResult(
            page_number=pg.number,
            page_size=pg.size,
            total_page_number=pg.total_pages(total),
            total_count=total,
            items=[rule_data(r) for r in rows],
        )
    )


@action("UpdateOpsAlarmRule")
def update_rule(services: Services, ctx: RequestContext, req: M.UpdateOpsAlarmRuleRequest) -> M.UpdateOpsAlarmRuleResponse:
    services.alarms.update_rule(req.project_id, ctx.caller.uin, req)
    return M.UpdateOpsAlarmRuleResponse(data=M.ModifyAlarmRuleResult(status=True))


@action("DeleteOpsAlarmRule")
def delete_rule(services: Services, ctx: RequestContext, req: M.DeleteOpsAlarmRuleRequest) -> M.DeleteOpsAlarmRuleResponse:
    services.alarms.delete_rule(req.project_id, req.alarm_rule_id)
    return M.DeleteOpsAlarmRuleResponse(data=M.DeleteAlarmRuleResult(status=True))


@action("ListAlarmMessages")
def list_messages(services: Services, ctx: RequestContext, req: M.ListAlarmMessagesRequest) -> M.ListAlarmMessagesResponse:
    rows, total, pg, zone = services.alarms.list_messages(req)
    return M.ListAlarmMessagesResponse(
        data=M.ListAlarmMessages(
            page_number=pg.number,
            page_size=pg.size,
            total_count=total,
            total_page_number=pg.total_pages(total),
            items=[message_data(r, zone) for r in rows],
        )
    )


@action("GetAlarmMessage")
def get_message(services: Services, ctx: RequestContext, req: M.GetAlarmMessageRequest) -> M.GetAlarmMessageResponse:
    row = services.alarms.get_message(req.project_id, req.alarm_message_id, req.time_zone)
    return M.GetAlarmMessageResponse(data=message_data(row, req.time_zone or None))
