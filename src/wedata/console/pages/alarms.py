"""Alarms: a project's alarm rules and its recent alarm messages, through the alarm actions.

- ``/p/{project}/alarms``: ListOpsAlarmRules (newest first, 20 a page, ``?keyword=`` is the
  action's Keyword: a rule id or part of a name), each rule with what it watches, its alarm
  types, level, status and channels.
- ``/p/{project}/alarms/messages``: ListAlarmMessages (latest alarm time first, 20 a page,
  ``?level=`` the action's AlarmLevel), each message with its task and data time (linking to
  the instance), reason, level, channels and recipients.

A filter the action refuses (a level that is not 1-3) shows the action's error on the page; a
caller who is not a member gets the action's refusal as the page (403).
"""

from __future__ import annotations

from starlette.responses import Response

from wedata.console.frame import Pages, View

pages = Pages()

PAGE_SIZE = 20
LEVELS = {1: "normal", 2: "important", 3: "urgent"}
OBJECT_TYPES = {1: "tasks", 2: "workflows", 3: "project"}
WAYS = {"1": "email", "2": "SMS", "3": "WeChat", "4": "voice", "5": "WeCom", "6": "HTTP", "7": "WeCom group",
        "8": "Feishu group", "9": "DingTalk group", "10": "Slack", "11": "Teams"}


def _page(v: View) -> int:
    try:
        return max(1, int(v.arg("page") or 1))
    except ValueError:
        return 1


@pages.get("/p/{project_id}/alarms")
def rules(v: View) -> Response:
    project_id = v.param("project_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    keyword = v.arg("keyword")
    number = _page(v)
    data, error = a.try_data("ListOpsAlarmRules", ProjectId=project_id, PageNumber=number, PageSize=PAGE_SIZE,
                             Keyword=keyword or None)
    if error is not None and (error.forbidden or error.not_found):
        raise error
    return v.render("alarm_rules.html", project=project, data=data, error=error, keyword=keyword, page=number,
                    levels=LEVELS, object_types=OBJECT_TYPES, ways=WAYS)


@pages.get("/p/{project_id}/alarms/messages")
def messages(v: View) -> Response:
    project_id = v.param("project_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    level = v.arg("level")
    number = _page(v)
    params: dict[str, object] = {"ProjectId": project_id, "PageNumber": number, "PageSize": PAGE_SIZE,
                                 "TimeZone": "UTC+0"}
    if level:
        params["AlarmLevel"] = int(level) if level.isdigit() else level
    data, error = a.try_data("ListAlarmMessages", **params)
    if error is not None and (error.forbidden or error.not_found):
        raise error
    return v.render("alarm_messages.html", project=project, data=data, error=error, level=level, page=number,
                    levels=LEVELS, ways=WAYS)
