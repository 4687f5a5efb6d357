"""UpdateTaskPartially: ``FieldToRemoveList`` paths and the merge of ``NewSetting``; the merge
of the scheduler section that UpdateTask shares (:func:`merge_scheduler`).

Path grammar (spec §2.4): ``"<Section>/<ListField>:<key1>,<key2>"`` removes the list items with
those keys (the key of each list is in ``REMOVABLE``; both spellings of the downstream list are
accepted). Decisions where the documentation is silent:

- ``"<Section>/<Field>"`` without keys resets the field: a list is emptied, a scalar goes back
  to its CreateTask default (``CrontabExpression`` is then derived again from the cycle);
- a key that names no item is ``InvalidParameterValue`` (a typo must not pass silently);
- removals apply to the stored task first, then ``NewSetting`` is merged: scalars replace,
  list items are upserted by their key (spec §6.7), so a path and a new item with the same
  key replace the item.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wedata.scheduling.cycletypes import CycleType
from wedata.services.errors import InvalidValue
from wedata.services.tasks.definition import (
    CONF,
    CONFIG_DEFAULTS,
    LIST_KEYS,
    SCHED,
    SCHEDULER_DEFAULTS,
    TWINS,
)
from wedata.services.tasks.edges import Config

UPSTREAM = "UpstreamDependencyConfigList"
DOWNSTREAM = "DownstreamDependencyConfigList"
_DOWNSTREAM_OLD = "DownStreamDependencyConfigList"

REMOVABLE: dict[tuple[str, str], str] = {
    **LIST_KEYS,
    (SCHED, UPSTREAM): "TaskId",
    (SCHED, DOWNSTREAM): "TaskId",
    (SCHED, _DOWNSTREAM_OLD): "TaskId",
}
_OLD_NAMES = {old: new for new, old in TWINS.items()}


@dataclass
class Removal:
    section: str
    field: str  # canonical name (new spelling)
    keys: list[str] | None  # None: reset the whole field


def parse_removals(paths: list[str] | None) -> list[Removal]:
    out: list[Removal] = []
    for raw in paths or []:
        text = (raw or "").strip()
        path, colon, key_text = text.partition(":")
        section, slash, field = path.strip().partition("/")
        section, field = section.strip(), field.strip()
        if not slash or section not in (CONF, SCHED) or not field or "/" in field:
            raise InvalidValue(
                f"FieldToRemoveList: {raw!r} is not a path of the form <Section>/<Field>[:<key>,...] "
                f"with Section {CONF} or {SCHED}"
            )
        field = _OLD_NAMES.get(field, field)
        if field == _DOWNSTREAM_OLD:
            field = DOWNSTREAM
        known = CONFIG_DEFAULTS if section == CONF else {**SCHEDULER_DEFAULTS, UPSTREAM: [], DOWNSTREAM: []}
        if field not in known:
            raise InvalidValue(f"FieldToRemoveList: {section} has no field {field!r}")
        if colon:
            if (section, field) not in REMOVABLE:
                raise InvalidValue(f"FieldToRemoveList: {section}/{field} is not a list that can remove items by key")
            keys = [k.strip() for k in key_text.split(",") if k.strip()]
            if not keys:
                raise InvalidValue(f"FieldToRemoveList: {raw!r} names no key after ':'")
            out.append(Removal(section, field, keys))
        else:
            out.append(Removal(section, field, None))
    return out


def _remove_items(items: list[dict[str, Any]] | None, key: str, keys: list[str], where: str) -> list[dict[str, Any]]:
    present = {str(i.get(key)) for i in items or []}
    missing = [k for k in keys if k not in present]
    if missing:
        raise InvalidValue(f"FieldToRemoveList: {where} has no item with {key} {', '.join(missing)}")
    return [i for i in items or [] if str(i.get(key)) not in keys]


def apply_removals(
    removals: list[Removal],
    conf: dict[str, Any],
    sched: dict[str, Any],
    upstream: dict[str, Config],
    downstream: dict[str, Config],
) -> tuple[bool, bool]:
    """Apply in place; return (upstream changed, downstream changed)."""
    up_changed = down_changed = False
    for r in removals:
        where = f"{r.section}/{r.field}"
        if r.field in (UPSTREAM, DOWNSTREAM):
            edges = upstream if r.field == UPSTREAM else downstream
            for k in r.keys if r.keys is not None else list(edges):
                if k not in edges:
                    raise InvalidValue(f"FieldToRemoveList: {where} has no item with TaskId {k}")
                del edges[k]
            if r.field == UPSTREAM:
                up_changed = True
            else:
                down_changed = True
            continue
        target = conf if r.section == CONF else sched
        defaults = CONFIG_DEFAULTS if r.section == CONF else SCHEDULER_DEFAULTS
        if r.keys is None:
            default = defaults[r.field]
            target[r.field] = list(default) if isinstance(default, list) else default
            if r.field == "CycleType":
                sched["CrontabExpression"] = None  # derive it again for the reset cycle
        else:
            target[r.field] = _remove_items(target.get(r.field), REMOVABLE[(r.section, r.field)], r.keys, where)
    return up_changed, down_changed


def merge_scheduler(current: dict[str, Any], given: dict[str, Any], *, upsert_lists: bool) -> dict[str, Any]:
    """The stored TaskSchedulerConfiguration overlaid with the fields given (UpdateTask and
    UpdateTaskPartially). A CrontabExpression that was not given is kept while the cycle stays;
    it is derived again when the cycle changes, or a one-off task's StartTime moves (its run
    time). The cycle changes only when ``CycleType`` is given."""
    from wedata.services.tasks.definition import merge_section

    old_cycle, old_start = current.get("CycleType"), current.get("StartTime")
    sched = merge_section(current, given, SCHED, upsert_lists=upsert_lists)
    if not (given.get("CrontabExpression") or "").strip():
        try:
            cycle: CycleType | None = CycleType.parse(sched.get("CycleType") or "DAY_CYCLE")
        except (ValueError, TypeError):
            cycle = None  # validate_scheduler reports it
        if cycle is not None and (
            cycle.value != old_cycle or (cycle is CycleType.ONEOFF_CYCLE and sched.get("StartTime") != old_start)
        ):
            sched["CrontabExpression"] = None  # derive it for the new cycle / run time
    return sched
