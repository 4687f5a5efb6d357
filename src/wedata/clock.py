"""Clocks: the bottom of the house (imports nothing of wedata). The real one, and a scaled one
so tests can live through hours in seconds.

Everything stores and compares naive UTC datetimes; ``Clock.now()`` returns one.

``ScaledClock(start, factor)``: time starts at ``start`` (naive UTC; default: now) and runs
``factor`` times faster than the wall clock. Everything the engine and services schedule
(scheduled times, RetryWait, ExecutionTTL, the planning horizon) follows it; waits are converted
back to real seconds with :meth:`real_seconds`. Configured with ``WEDATA_CLOCK_START``
(``yyyy-MM-dd HH:mm:ss``, UTC) and ``WEDATA_CLOCK_FACTOR``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time as a naive UTC datetime."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=None)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class ScaledClock:
    def __init__(self, start: datetime | None = None, factor: float = 1.0) -> None:
        if factor <= 0:
            raise ValueError("clock factor must be positive")
        self.factor = factor
        self._origin = start or utcnow()
        self._real0 = time.monotonic()

    def now(self) -> datetime:
        return self._origin + timedelta(seconds=(time.monotonic() - self._real0) * self.factor)


def real_seconds(clock: Clock, seconds: float) -> float:
    """How long ``seconds`` of clock time last in real time."""
    factor = getattr(clock, "factor", 1.0)
    return seconds / factor


def make_clock(start: datetime | None, factor: float) -> Clock:
    if start is None and factor == 1.0:
        return SystemClock()
    return ScaledClock(start, factor)
