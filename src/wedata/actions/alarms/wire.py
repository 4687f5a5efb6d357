"""Alarm records -> WeData 2025-08-06 Structs: the one place this domain renders answers.

Rules come back as WeData's GetOpsAlarmRule example shows them: the configuration as stored
(as given plus the documented defaults, services/alarms/rules.py) turned back into Structs,
``BundleId``/``BundleInfo`` empty strings (bundles are not supported), every other unset field
null. Messages show ``AlarmWays`` as channel names (``email``, ``sms``, ..., as in the
ListAlarmMessages example), ``AlarmTime`` in the request's TimeZone (UTC+8 by default) and
``CurRunDate`` unshifted (the data time in the task's own zone).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from wedata.scheduling.datatimes import format_wall
from wedata.services.alarms.rules import WAY_NAMES
from wedata.services.common import Paged, fmt_time
from wedata.spec import models as M


def created(rule_id: str) -> M.CreateAlarmRuleData:
    return M.CreateAlarmRuleData(alarm_rule_id=rule_id)


def updated() -> M.ModifyAlarmRuleResult:
    return M.ModifyAlarmRuleResult(status=True)


def deleted() -> M.DeleteAlarmRuleResult:
    return M.DeleteAlarmRuleResult(status=True)


def rule(row: Mapping[Any, Any]) -> M.AlarmRuleData:
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


def rule_page(paged: Paged[Mapping[Any, Any]]) -> M.ListAlarmRulesResult:
    return M.ListAlarmRulesResult(
        page_number=paged.page.number,
        page_size=paged.page.size,
        total_page_number=paged.total_pages,
        total_count=paged.total,
        items=[rule(r) for r in paged.items],
    )


def message(row: Mapping[Any, Any], zone: str | None) -> M.AlarmMessage:
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


def message_page(paged: Paged[Mapping[Any, Any]], zone: str | None) -> M.ListAlarmMessages:
    return M.ListAlarmMessages(
        page_number=paged.page.number,
        page_size=paged.page.size,
        total_count=paged.total,
        total_page_number=paged.total_pages,
        items=[message(r, zone) for r in paged.items],
    )
