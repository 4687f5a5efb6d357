"""services/common.py ``fmt_time``: the wall time of a stored UTC time in the caller's zone, as
``yyyy-MM-dd HH:mm:ss``, for fixed offsets and named zones (daylight saving included), at the
ends of the calendar the platform stores (1970-2099) and across midnight and the year's end."""

from __future__ import annotations

from datetime import datetime

import pytest

from wedata.services.common import fmt_time


@pytest.mark.parametrize(("utc", "zone", "wall"), [
    (datetime(2026, 12, 6, 1, 2, 3, 999999), None, "2026-12-06 09:02:03"),  # the default zone, UTC+8
    (datetime(2026, 12, 31, 16, 0, 0), "UTC+8", "2027-01-01 00:00:00"),
    (datetime(2027, 1, 1, 4, 59, 59), "UTC-5", "2026-12-31 23:59:59"),
    (datetime(2026, 6, 1, 12, 0, 0), "UTC+5:30", "2026-06-01 17:30:00"),
    (datetime(2026, 7, 1, 12, 0, 0), "America/New_York", "2026-07-01 08:00:00"),  # summer time
    (datetime(2026, 1, 1, 12, 0, 0), "America/New_York", "2026-01-01 07:00:00"),
    (datetime(1970, 1, 1, 0, 0, 0), "UTC", "1970-01-01 00:00:00"),
    (datetime(2099, 12, 31, 15, 59, 59), "Asia/Shanghai", "2099-12-31 23:59:59"),
])
def test_a_stored_time_is_shown_as_the_wall_time_of_the_zone(utc: datetime, zone: str | None, wall: str) -> None:
    assert fmt_time(utc, zone) == wall


def test_no_time_is_none() -> None:
    assert fmt_time(None, "UTC+8") is None
