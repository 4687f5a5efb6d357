"""Data quality: rules over the tables of the data sources and the lake, grouped in monitoring
tasks attached to production tasks, run after each successful attempt of those tasks, with
exact verdicts, stored results, alarms, and holds that keep downstream instances waiting.

The domain owns the ``quality_*`` tables (``storage/quality_tables.py``, migrations 0016 and
0023). It
depends on the catalog (tables and columns exist; GUIDs), datasources (who may use a source; its
pool), and alarms (the alarm rules and the webhook outbox); the engine reaches it only through
storage (``quality_tables.gate_success``, the held keys the transition function respects).

Modules: ``quality.py`` (the service), ``templates.py`` (the system templates and what they
measure), ``compare.py`` (CompareRule validation and evaluation), ``scan.py`` (the SQL, per
dialect), ``targets.py`` (a table, its source, where checks run), ``definitions.py`` (rule
and strategy validation), ``rules.py``, ``groups.py`` (writes), ``execution.py`` (one group
run), ``checks.py`` (the worker after successful attempts; alarms), ``cycle.py`` (MonitorType 3:
the group's own cycle), ``holds.py`` (holding and
releasing downstream instances), ``listing.py`` (the lists).

Decisions where WeData is silent (docs/quality.md has the user's view):

- **Tables**: a table is ``DatasourceId`` + ``DatabaseName`` (+ ``SchemaName`` for PostgreSQL,
  default ``public``) + ``TableName`` (or a rule's ``TableId``, the catalog GUID); it must be in
  the catalog, which is read again when it is due or does not list the table. A DLC source means
  the built-in lake. The quality API's ``DatasourceType`` has no PostgreSQL: MySQL-wire sources
  are 1 (MYSQL), DLC (the lake) 3, PostgreSQL-wire sources 5 (TCHouse-P/CDW, PostgreSQL-based).
- **Groups**: a group monitors one table. MonitorType 2 attaches it to production tasks;
  MonitorType 3 runs it on its own cycle (``cycle.py``: the scheduler's calendar code, the quality
  worker, TriggerType 3, project alarm rules). Rules created without a
  ``RuleGroupId`` join the table's first group, created as MonitorType 1 (not configured) when
  there is none; ModifyQualityRuleGroup attaches it. ``TriggerTypes`` default to all three.
  ``ExecutorGroupId`` is stored; checks run on the server's quality worker, not on a resource
  group. Group names are unique in a project.
- **CompareRule** is the alarm condition (api.json "报警触发条件"): true -> the rule is triggered.
- **Batches** (CreateQualityRule, Create/Modify/DeleteQualityRuleGroup) are all or nothing: the
  first bad item is refused naming its field, and nothing is written; the answers then list
  every item as a success.
- **Paging**: PageNumber from 1, PageSize 1..200 (default 10); pages carry Items and
  TotalCount only (spec §3.22).
"""
