"""Alarms (spec §1 H): rules and the messages they record.

Rules: services/alarms/; answers are rendered by ``wire.py``; the contract is docs/alarms.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.alarms import wire
from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("CreateOpsAlarmRule")
def create_rule(services: Services, ctx: RequestContext, req: M.CreateOpsAlarmRuleRequest) -> M.CreateOpsAlarmRuleResponse:
    rule_id = services.alarms.create_rule(req.project_id, ctx.caller.uin, req)
    return M.CreateOpsAlarmRuleResponse(data=wire.created(rule_id))


@action("GetOpsAlarmRule")
def get_rule(services: Services, ctx: RequestContext, req: M.GetOpsAlarmRuleRequest) -> M.GetOpsAlarmRuleResponse:
    return M.GetOpsAlarmRuleResponse(data=wire.rule(services.alarms.get_rule(req.project_id, req.alarm_rule_id)))


@action("ListOpsAlarmRules")
def list_rules(services: Services, ctx: RequestContext, req: M.ListOpsAlarmRulesRequest) -> M.ListOpsAlarmRulesResponse:
    return M.ListOpsAlarmRulesResponse(data=wire.rule_page(services.alarms.list_rules(req)))


@action("UpdateOpsAlarmRule")
def update_rule(services: Services, ctx: RequestContext, req: M.UpdateOpsAlarmRuleRequest) -> M.UpdateOpsAlarmRuleResponse:
    services.alarms.update_rule(req.project_id, ctx.caller.uin, req)
    return M.UpdateOpsAlarmRuleResponse(data=wire.updated())


@action("DeleteOpsAlarmRule")
def delete_rule(services: Services, ctx: RequestContext, req: M.DeleteOpsAlarmRuleRequest) -> M.DeleteOpsAlarmRuleResponse:
    services.alarms.delete_rule(req.project_id, req.alarm_rule_id)
    return M.DeleteOpsAlarmRuleResponse(data=wire.deleted())


@action("ListAlarmMessages")
def list_messages(services: Services, ctx: RequestContext, req: M.ListAlarmMessagesRequest) -> M.ListAlarmMessagesResponse:
    return M.ListAlarmMessagesResponse(data=wire.message_page(services.alarms.list_messages(req), req.time_zone or None))


@action("GetAlarmMessage")
def get_message(services: Services, ctx: RequestContext, req: M.GetAlarmMessageRequest) -> M.GetAlarmMessageResponse:
    row = services.alarms.get_message(req.project_id, req.alarm_message_id, req.time_zone)
    return M.GetAlarmMessageResponse(data=wire.message(row, req.time_zone or None))
