"""Alarms (spec §1 H; migration 0004_alarms), on the shared ``metadata``.

Conventions as in tables.py: instants are naive UTC, every constraint is named.

- ``alarm_rules``: one CreateOpsAlarmRule. The wire structures (``AlarmRuleDetail``,
  ``AlarmGroups``) are kept as validated wire dicts; the columns beside them exist for filters.
  ``alarm_types_text`` and ``recipients_text`` are the lists joined as ``,a,b,`` so that "rules
  of type X" / "rules that notify Y" is a portable ``LIKE '%,X,%'`` on SQLite and PostgreSQL.
- ``alarm_rule_objects``: the monitored objects of a rule, one row each, so that matching an
  instance (its task, workflow and project) against the rules is one indexed join.
- ``alarm_messages``: one row per rule firing for one instance (AlarmMessage). ``dedupe_key``
  (rule, instance, life round, what) makes a firing idempotent: the engine replaying a batch, or
  the overtime sweep seeing a late instance again, records nothing new.
- ``alarm_deliveries``: the durable outbox, one row per (message, channel, target, repetition).
  The delivery worker claims due rows with a lease, so a restart (or a crashed worker) loses
  nothing: an expired lease makes the row due again.

No foreign key points at tasks or instances: alarm history outlives them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    exists,
    or_,
)

from wedata.storage.tables import BigId, metadata

alarm_rules = Table(
    "alarm_rules",
    metadata,
    Column("id", String(36), primary_key=True),  # AlarmRuleId: a UUID
    Column("project_id", String(19), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("monitor_object_type", Integer, nullable=False),  # 1 task, 2 workflow, 3 project
    Column("monitor_object_ids", JSON, nullable=False),  # as given (order kept, duplicates removed)
    Column("alarm_types", JSON, nullable=False),  # ["failure", "overtime", ...]
    Column("alarm_types_text", String(1024), nullable=False),  # ",failure,overtime,"
    Column("alarm_level", Integer, nullable=False, default=1),  # 1 normal, 2 important, 3 urgent
    Column("status", Integer, nullable=False, default=1),  # 0 disabled, 1 enabled
    Column("detail", JSON, nullable=False),  # AlarmRuleDetail wire dict
    Column("groups", JSON, nullable=False),  # [AlarmGroup wire dict]
    Column("recipients_text", Text, nullable=False, default=""),  # ",uin1,roster2,"
    Column("owner_uin", String(32), nullable=False),
    Column("update_user_uin", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("project_id", "name"),
)
# ListOpsAlarmRules pages a project's rules newest first.
Index("ix_alarm_rules_project_created", alarm_rules.c.project_id, alarm_rules.c.created_at)

alarm_rule_objects = Table(
    "alarm_rule_objects",
    metadata,
    Column("rule_id", String(36), ForeignKey("alarm_rules.id", ondelete="CASCADE"), nullable=False),
    Column("project_id", String(19), nullable=False),
    Column("object_type", Integer, nullable=False),  # the rule's MonitorObjectType
    Column("object_id", String(64), nullable=False),  # TaskId, WorkflowId or ProjectId
    PrimaryKeyConstraint("rule_id", "object_id"),
)
# Matching an instance: (its project, type 1 + task id | type 2 + workflow id | type 3 + project).
Index(
    "ix_alarm_rule_objects_match",
    alarm_rule_objects.c.project_id,
    alarm_rule_objects.c.object_type,
    alarm_rule_objects.c.object_id,
)

alarm_messages = Table(
    "alarm_messages",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),  # AlarmMessageId
    Column("project_id", String(19), nullable=False),
    Column("rule_id", String(36), nullable=False),  # the rule may be deleted later; history stays
    Column("rule_name", String(256), nullable=False),
    Column("alarm_type", String(64), nullable=False),  # failure | success | overtime | backTracking...
    Column("alarm_level", Integer, nullable=False),
    Column("reason", Text, nullable=False),  # AlarmReason
    Column("task_id", String(24)),
    Column("task_name", String(256)),
    Column("workflow_id", String(36)),
    Column("instance_id", BigInteger),
    Column("data_time", DateTime),  # CurRunDate: wall time in the task's zone (never shifted)
    Column("life_round_num", Integer),
    Column("alarm_ways", JSON, nullable=False),  # channel numbers as strings, e.g. ["1", "6"]
    Column("recipients", JSON, nullable=False),  # AlarmRecipients
    Column("recipients_text", Text, nullable=False, default=""),  # ",a,b," for the recipient filter
    Column("custom_emails", JSON),
    Column("fired_at", DateTime, nullable=False),
    # AlarmTime: "the same alarm may be sent several times; the latest time is shown".
    Column("alarm_time", DateTime, nullable=False),
    Column("dedupe_key", String(200), nullable=False),
    UniqueConstraint("dedupe_key"),
)
Index("ix_alarm_messages_project_time", alarm_messages.c.project_id, alarm_messages.c.alarm_time)

alarm_deliveries = Table(
    "alarm_deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("message_id", BigId, ForeignKey("alarm_messages.id", ondelete="CASCADE"), nullable=False),
    Column("alarm_way", String(4), nullable=False),  # "1".."11"
    Column("target", String(2048), nullable=False, default=""),  # webhook URL ("" for person channels)
    Column("round", Integer, nullable=False, default=1),  # repetition (NotificationFatigue.NotifyCount)
    # PENDING (due at next_attempt_at), DELIVERED, FAILED (gave up), NOT_DELIVERED (channel not
    # configured on this server), SUPPRESSED (quiet hours)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime),
    Column("lease_until", DateTime),  # a worker is delivering it until then
    Column("claimed_by", String(64)),
    Column("quiet", JSON),  # the group's QuietIntervals, checked when the row is due
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("delivered_at", DateTime),
    Column("created_at", DateTime, nullable=False),
)
# The worker's claim: due PENDING rows.
Index("ix_alarm_deliveries_due", alarm_deliveries.c.status, alarm_deliveries.c.next_attempt_at)
Index("ix_alarm_deliveries_message", alarm_deliveries.c.message_id)


# MonitorObjectType: 1 task, 2 workflow, 3 project (services/alarms/rules.py validates them).
OBJECT_TASK, OBJECT_WORKFLOW, OBJECT_PROJECT = 1, 2, 3


def rule_watches(instances: Any) -> Any:
    """The join condition "this rule object watches this instance" (its task, its workflow or its
    project); ``instances`` is ``task_instances`` or an alias of it."""
    RO = alarm_rule_objects
    return and_(
        RO.c.project_id == instances.c.project_id,
        or_(
            and_(RO.c.object_type == OBJECT_TASK, RO.c.object_id == instances.c.task_id),
            and_(RO.c.object_type == OBJECT_WORKFLOW, RO.c.object_id == instances.c.workflow_id),
            and_(RO.c.object_type == OBJECT_PROJECT, RO.c.object_id == instances.c.project_id),
        ),
    )


def watched_by_an_active_rule(instances: Any) -> Any:
    """Whether an enabled rule watches the instance: read with the instances the engine ends, so
    that the alarm observer skips its own read when none is (services/alarms/alarms.py)."""
    return exists().where(rule_watches(instances), alarm_rules.c.id == alarm_rule_objects.c.rule_id,
                          alarm_rules.c.status == 1)
