"""SelfDepend: serial (one at a time, unordered), orderly (in data-time order), parallel."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from wedata.scheduling.cycles import CycleType, InitStrategy, Schedule
from wedata.scheduling.selfdepend import SelfDepend, concurrency_limit, may_start, self_dependency


def W(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, SelfDepend.SERIAL),
        ("", SelfDepend.SERIAL),
        ("serial", SelfDepend.SERIAL),
        ("ORDERLY", SelfDepend.ORDERLY),
        ("parallel", SelfDepend.PARALLEL),
        ("1", SelfDepend.ORDERLY),
        (2, SelfDepend.SERIAL),
        (3, SelfDepend.PARALLEL),
    ],
)
def test_parse(value: str | int | None, expected: SelfDepend) -> None:
    assert SelfDepend.parse(value) is expected


def test_parse_rejects() -> None:
    with pytest.raises(ValueError, match="unknown SelfDepend"):
        SelfDepend.parse("sometimes")


DAILY = Schedule(CycleType.DAY_CYCLE, "0 30 2 * * ? *", start_time=W("2025-03-10"))


def test_orderly_waits_for_previous_data_time() -> None:
    assert self_dependency("orderly", DAILY, W("2025-03-12")) == W("2025-03-11")
    assert self_dependency("orderly", DAILY, W("2025-03-10")) is None  # the first instance
    assert self_dependency("serial", DAILY, W("2025-03-12")) is None
    assert self_dependency("parallel", DAILY, W("2025-03-12")) is None


def test_orderly_follows_the_schedule_not_the_calendar_unit() -> None:
    weekdays = Schedule(CycleType.WEEK_CYCLE, "0 0 1 ? * MON,THU *")
    assert self_dependency(SelfDepend.ORDERLY, weekdays, W("2025-03-10")) == W("2025-03-06")
    trading = Schedule(CycleType.DAY_CYCLE, "0 0 1 * * ? *", calendar={date(2025, 3, 7), date(2025, 3, 10)})
    assert self_dependency(SelfDepend.ORDERLY, trading, W("2025-03-10")) == W("2025-03-07")
    minutes = Schedule(
        CycleType.MINUTE_CYCLE,
        "0 */10 * * * ? *",
        execution_start="09:00",
        execution_end="17:00",
        init_strategy=InitStrategy.T_PLUS_1,
    )
    # T+1 minute instance of 09:00 has data time 08:50; its predecessor ran at 17:00 the day
    # before with data time 16:50.
    assert self_dependency(SelfDepend.ORDERLY, minutes, W("2025-03-10 08:50")) == W("2025-03-09 16:50")


def test_concurrency() -> None:
    assert concurrency_limit("serial") == 1
    assert concurrency_limit("orderly") == 1
    assert concurrency_limit("parallel") is None
    assert concurrency_limit("serial", redefine_parallel_num=4) == 4
    assert concurrency_limit("parallel", redefine_parallel_num=0) is None


def test_may_start() -> None:
    assert may_start("serial", 0)
    assert not may_start("serial", 1)
    assert may_start("serial", 1, redefine_parallel_num=2)
    assert may_start("parallel", 50)
    assert may_start("orderly", 0, previous_completed=True)
    assert not may_start("orderly", 0, previous_completed=False)
    assert may_start("serial", 0, previous_completed=False)  # serial ignores order
