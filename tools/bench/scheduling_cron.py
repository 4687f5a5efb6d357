"""Benchmark: Quartz cron next-fire-time throughput (part of the scheduling benchmark).

Measures calls per second of ``QuartzCron.next_wall_after`` chained over consecutive fires
(the planner's access pattern), from a start spread over many months so the per-month day
cache is exercised too, plus ``next_after`` in a fixed-offset and a DST zone.

Run: ``.venv/bin/python tools/bench/scheduling_cron.py``
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

try:
    from wedata.scheduling.cron import QuartzCron
    from wedata.scheduling.timezones import parse_zone
except ImportError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
    from wedata.scheduling.cron import QuartzCron
    from wedata.scheduling.timezones import parse_zone

EXPRESSIONS = (
    "0 0 0 * * ? *",  # daily (WeData's DAY_CYCLE default)
    "0 */5 * * * ?",  # every five minutes
    "0 0 1 ? * 6#3",  # third Friday of the month
    "0 0 0 LW * ?",  # last weekday of the month
)
TARGET_SECONDS = 0.5


def _rate(func: Any, start: Any) -> float:
    """Calls/s of chaining ``func`` from ``start`` for about TARGET_SECONDS (best of 3)."""
    best = 0.0
    for _ in range(3):
        n, t0 = 0, time.perf_counter()
        value = start
        while True:
            for _ in range(1000):
                nxt = func(value)
                value = nxt if nxt is not None else start  # wrap around at the end of 2099
            n += 1000
            elapsed = time.perf_counter() - t0
            if elapsed >= TARGET_SECONDS:
                break
        best = max(best, n / elapsed)
    return best


def run() -> dict[str, Any]:
    """Fire times per second for each expression; keys are stable for comparisons."""
    results: dict[str, Any] = {"unit": "next fire times per second"}
    start_wall = datetime(2025, 1, 1, 0, 0, 0)
    for expression in EXPRESSIONS:
        cron = QuartzCron.parse(expression)
        results[f"next_wall_after {expression}"] = round(_rate(cron.next_wall_after, start_wall))
    for zone_name in ("UTC+8", "America/New_York"):
        tz = parse_zone(zone_name)
        for expression in ("0 0 0 * * ? *", "0 */5 * * * ?"):
            cron = QuartzCron.parse(expression)
            start = datetime(2025, 1, 1, tzinfo=UTC)
            results[f"next_after {zone_name} {expression}"] = round(
                _rate(lambda t, c=cron, z=tz: c.next_after(t, z), start)
            )
    t0 = time.perf_counter()
    for i in range(2000):
        QuartzCron.parse(f"{i % 60} {i // 60 % 60} 0/2 ? * MON-FRI")
    results["parse (uncached) per second"] = round(2000 / (time.perf_counter() - t0))
    return results


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(description=(__doc__ or "cron benchmark").splitlines()[0]).parse_args()
    res = run()
    width = max(len(k) for k in res)
    for key, value in res.items():
        print(f"{key:<{width}}  {value:>10,}" if isinstance(value, int) else f"{key:<{width}}  {value}")
