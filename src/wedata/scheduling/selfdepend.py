"""``SelfDepend``: how the instances of one task constrain each other.

- ``serial`` (default, 2021 "unordered serial"): at most one instance of the task runs at a
  time; whichever is ready first goes first, data-time order is not enforced.
- ``orderly`` ("ordered serial"): instance T also waits until the instance before it (the
  previous data time of the same schedule) has *completed successfully*; hence one at a time,
  in data-time order. The first instance (nothing before StartTime) has no predecessor.
- ``parallel``: no constraint between instances.

A rerun or backfill may override the concurrency with ``RedefineParallelNum``.
"""

from __future__ import annotations

import enum
from datetime import datetime

from wedata.scheduling.cycles import Schedule
from wedata.scheduling.datatimes import previous_data_time

__all__ = [
    "SelfDepend",
    "concurrency_limit",
    "may_start",
    "self_dependency",
]


class SelfDepend(enum.StrEnum):
    SERIAL = "serial"
    ORDERLY = "orderly"
    PARALLEL = "parallel"

    @classmethod
    def parse(cls, value: str | int | SelfDepend | None) -> SelfDepend:
        """The 2025 names, case-insensitive, or the 2021 codes 1 (orderly), 2 (serial), 3 (parallel)."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return cls.SERIAL
        if isinstance(value, SelfDepend):
            return value
        text = str(value).strip().lower()
        legacy = {"1": cls.ORDERLY, "2": cls.SERIAL, "3": cls.PARALLEL}
        if text in legacy:
            return legacy[text]
        try:
            return cls(text)
        except ValueError:
            raise ValueError(f"unknown SelfDepend {value!r} (serial | orderly | parallel)") from None


def self_dependency(mode: SelfDepend | str, schedule: Schedule, data_time: datetime) -> datetime | None:
    """The data time of the instance this one must wait for (``orderly`` only), else None."""
    if SelfDepend.parse(mode) is not SelfDepend.ORDERLY:
        return None
    return previous_data_time(schedule, data_time)


def concurrency_limit(mode: SelfDepend | str, redefine_parallel_num: int | None = None) -> int | None:
    """How many instances of the task may run at once (None = unlimited).

    ``RedefineParallelNum`` (rerun/backfill) wins when given and positive.
    """
    if redefine_parallel_num is not None and redefine_parallel_num > 0:
        return redefine_parallel_num
    return None if SelfDepend.parse(mode) is SelfDepend.PARALLEL else 1


def may_start(
    mode: SelfDepend | str,
    running_count: int,
    *,
    previous_completed: bool = True,
    redefine_parallel_num: int | None = None,
) -> bool:
    """Whether one more instance of the task may start now.

    ``running_count`` is the number of the task's instances currently RUNNING;
    ``previous_completed`` whether the instance named by :func:`self_dependency` (if any) has
    COMPLETED (only consulted for ``orderly``).
    """
    parsed = SelfDepend.parse(mode)
    if parsed is SelfDepend.ORDERLY and not previous_completed:
        return False
    limit = concurrency_limit(parsed, redefine_parallel_num)
    return limit is None or running_count < limit
