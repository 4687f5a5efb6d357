"""Waiting for the engine in tests, without fixed wall-clock deadlines.

A busy 2-core machine runs the same work slower, so a wait that gives up after N seconds flat
fails when the machine is loaded, not when the engine is wrong. :func:`wait_until` instead
watches what it polls: every change of the observed value (a plan's percentage, the states of
a task's instances) is progress and restarts the patience window. It fails only when nothing
moved for ``patience`` seconds (scaled by ``WEDATA_TEST_TIME_SCALE``, default 1), and its
message says what was still awaited and the last value seen. The work a wait covers therefore
sets its length: a year-long backfill keeps moving and is waited for; a stuck instance is not.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
SCALE = float(os.environ.get("WEDATA_TEST_TIME_SCALE", "1") or 1)
# A hard ceiling all the same (pytest-timeout is the last resort), as a multiple of patience.
CEILING = 40


def wait_until(
    observe: Callable[[], T],
    done: Callable[[T], bool],
    *,
    what: str,
    patience: float = 30.0,
    interval: float = 0.05,
    progress: Callable[[T], Any] | None = None,
) -> T:
    """Poll ``observe()`` until ``done(value)``; fail when ``progress(value)`` (default: the
    value itself) stayed the same for ``patience`` seconds."""
    window = patience * SCALE
    started = last_move = time.monotonic()
    marker: Any = object()
    value = observe()
    while not done(value):
        now = time.monotonic()
        seen = progress(value) if progress is not None else value
        if seen != marker:
            marker, last_move = seen, now
        elif now - last_move > window:
            raise AssertionError(f"waited for {what}; nothing changed for {window:.0f} s; last seen: {value!r}")
        if now - started > window * CEILING:
            raise AssertionError(f"waited for {what} for {now - started:.0f} s; last seen: {value!r}")
        time.sleep(interval)
        value = observe()
    return value
