"""Which actions the registry may check after their handler (actions/registry.py
``standing_in_read``): only reads that need nothing beyond ``read``, whose handler can have had no
effect by the time the check refuses. The behaviour itself goes through the SDK in
tests/actions/tasks/test_tasks.py (``test_get_task_refuses_before_it_says_what_is_missing``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from wedata.actions import registry
from wedata.actions.registry import action, load_actions
from wedata.services.projects.needs import Need
from wedata.spec import VERSION


@pytest.fixture
def vacated() -> Iterator[dict[str, Any]]:
    """The registry with UpdateTask and ListTaskInstances taken out for the test, then put back."""
    defs = load_actions()[VERSION]
    saved = {name: defs.pop(name) for name in ("UpdateTask", "ListTaskInstances")}
    try:
        yield defs
    finally:
        defs.update(saved)


def _handler(*_: Any) -> None:
    return None


def test_a_write_is_never_checked_after_its_handler(vacated: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="UpdateTask: only a read-only action"):
        action("UpdateTask", standing_in_read=True)(_handler)
    assert "UpdateTask" not in vacated


def test_a_read_that_needs_more_than_read_is_never_checked_after_its_handler(vacated: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="ListTaskInstances: only a read-only action"):
        action("ListTaskInstances", need=Need.OPERATE, standing_in_read=True)(_handler)
    action("ListTaskInstances", standing_in_read=True)(_handler)  # a plain read may
    assert vacated["ListTaskInstances"].standing_in_read


def test_the_late_checked_actions_are_the_reads_that_carry_the_standing() -> None:
    late = sorted(name for name, d in registry.load_actions()[VERSION].items() if d.standing_in_read)
    assert late == ["GetTask", "GetTaskInstance", "GetTriggerTask"]
