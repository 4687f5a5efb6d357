"""The pure parts of the catalog, lineage, quality and trigger pages: hop counting over lineage
edges, a rule's alarm condition in words, trigger-domain times and durations."""

from __future__ import annotations

from types import SimpleNamespace as NS

from wedata.console.pages.lineage import hops
from wedata.console.pages.quality import condition
from wedata.console.pages.triggers import took, when


def test_hops_count_the_shortest_way_from_the_table() -> None:
    # t -> a -> b -> c, and a shortcut t -> c; d hangs off b; x is not reachable from t.
    edges = [("t", "a"), ("a", "b"), ("b", "c"), ("t", "c"), ("b", "d"), ("x", "t")]
    assert hops("t", edges) == {"t": 0, "a": 1, "c": 1, "b": 2, "d": 3}
    assert hops("t", [("t", "a"), ("a", "t")]) == {"t": 0, "a": 1}  # a cycle ends


def rule(*items: NS, expression: str | None = None) -> NS:
    return NS(compare_rule=NS(items=list(items), compute_expression=expression))


def item(kind: int, op: str | None, *values: str, compute: int | None = None) -> NS:
    return NS(compare_type=kind, operator=op, value_compute_type=compute,
              value_list=[NS(value=v) for v in values])


def test_a_rules_alarm_condition_in_words() -> None:
    assert condition(rule(item(1, ">", "0"))) == "triggers when value > 0"
    assert condition(rule(item(1, "=>", "5"), item(2, "<", "10"))) == "triggers when value ≥ 5 or change < 10 %"
    assert condition(rule(item(3, None, "1", "9", compute=5))) == "triggers when value outside 1 .. 9"
    assert condition(rule(item(1, "<", "1"), item(1, ">", "9"), expression="0a1")) == \
        "triggers when 0a1: value < 1; value > 9"
    assert condition(NS(compare_rule=None)) == ""


def test_trigger_times_are_epoch_milliseconds_shown_in_utc() -> None:
    assert when("1740787200000") == "2025-03-01 00:00:00"
    assert when(None) == "" and when("") == "" and when("soon") == "soon"
    assert took("400") == "0.4 s" and took(65_000) == "1 min 5 s" and took("3600000") == "1 h"
    assert took(None) == ""
