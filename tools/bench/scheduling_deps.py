"""Dependency-resolution benchmark: how long mapping one downstream instance to its upstream data
times takes (pure functions, no I/O).

The target (issue 3): a daily task depending on an every-minute task (DAY <- MINUTE, previous day
(-1440, 0], 1,440 upstream times) resolves in <= 2 ms. Other rows show the regular fast path on
bigger windows, the QuartzCron fallback, windows/calendars, and parameter rendering.
Usage: ``python tools/bench/scheduling_deps.py [--repeat 200]``; ``run()`` returns the figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from wedata.scheduling.cycles import CycleType, Schedule  # noqa: E402
from wedata.scheduling.dependencies import upstream_data_times  # noqa: E402
from wedata.scheduling.parameters import RenderContext, render  # noqa: E402

TARGET_MS = 2.0


def _time(fn: Callable[[], object], repeat: int) -> tuple[float, float, int]:
    """(median ms, best ms, result size) over ``repeat`` calls after one warm-up."""
    result = fn()
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    size = len(result) if isinstance(result, list | str) else 0
    return statistics.median(samples), min(samples), size


def run(repeat: int = 200) -> dict[str, dict[str, float]]:
    start = datetime(2024, 1, 1)
    t = datetime(2025, 3, 12)
    every_minute = Schedule(CycleType.MINUTE_CYCLE, "0 * * * * ? *", start_time=start)
    five_minutes = Schedule(CycleType.MINUTE_CYCLE, "0 */5 * * * ? *", start_time=start)
    # A year range is not a daily pattern: QuartzCron finds every fire itself.
    via_cron = Schedule(CycleType.CRONTAB_CYCLE, "0 * * * * ? 2020-2030", start_time=start)
    windowed = Schedule(
        CycleType.MINUTE_CYCLE,
        "0 * * * * ? *",
        start_time=start,
        execution_start="22:00",
        execution_end="05:59",
        calendar=frozenset(date(2025, 3, d) for d in range(1, 32) if d % 7),
    )
    hourly = Schedule(CycleType.HOUR_CYCLE, "0 30 * * * ? *", start_time=start)
    daily = Schedule(CycleType.DAY_CYCLE, "0 30 2 * * ? *", start_time=start)
    weekly = Schedule(CycleType.WEEK_CYCLE, "0 0 1 ? * MON *", start_time=start)
    ctx = RenderContext(
        t,
        scheduled_time=t + timedelta(hours=2),
        task_params={"dt": "${yyyyMMdd-1d}", "path": "/data/${dt}/${HH}"},
        workflow_params={"region": "gz"},
    )
    template = "insert overwrite table t partition (dt='${dt}') select * from s where ts < ${timestamp} -- ${path} $(HH:mm)"

    cases: dict[str, Callable[[], object]] = {
        "day<-minute (-1440,0] 1-minute [target]": lambda: upstream_data_times(
            "DAY_CYCLE", t, every_minute, "DAY", "PREVIOUS_DAY_LATER_OFFSET_MINUTE"
        ),
        "day<-minute current day, QuartzCron path": lambda: upstream_data_times(
            "DAY_CYCLE", t, via_cron, "DAY", "CURRENT_DAY"
        ),
        "day<-minute window 22:00-05:59 + calendar": lambda: upstream_data_times(
            "DAY_CYCLE", t, windowed, "DAY", "PREVIOUS_DAY_LATER_OFFSET_MINUTE"
        ),
        "day<-hour (-24,0]": lambda: upstream_data_times(
            "DAY_CYCLE", t, hourly, "DAY", "PREVIOUS_DAY_LATER_OFFSET_HOUR"
        ),
        "month<-minute previous month 5-minute": lambda: upstream_data_times(
            "MONTH_CYCLE", datetime(2025, 3, 1), five_minutes, "MONTH", "PREVIOUS_MONTH"
        ),
        "year<-day all days of year": lambda: upstream_data_times(
            "YEAR_CYCLE", datetime(2025, 1, 1), daily, "DAY", "ALL_DAY_OF_YEAR"
        ),
        "day<-week recent date": lambda: upstream_data_times("DAY_CYCLE", t, weekly, "DAY", "RECENT_DATE"),
        "render a SQL template": lambda: render(template, ctx),
    }
    out: dict[str, dict[str, float]] = {}
    for name, fn in cases.items():
        median, best, size = _time(
            fn, repeat if "year" not in name and "month" not in name else max(10, repeat // 10)
        )
        out[name] = {"median_ms": round(median, 4), "best_ms": round(best, 4), "size": size}
    target = out["day<-minute (-1440,0] 1-minute [target]"]
    out["target"] = {"limit_ms": TARGET_MS, "met": float(target["median_ms"] <= TARGET_MS)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    results = run(args.repeat)
    width = max(len(k) for k in results)
    for name, row in results.items():
        if name == "target":
            continue
        print(
            f"{name:<{width}}  median {row['median_ms']:8.3f} ms  best {row['best_ms']:8.3f} ms  n={int(row['size'])}"
        )
    target = results["target"]
    verdict = "met" if target["met"] else "MISSED"
    print(f"target: day<-minute over a day <= {target['limit_ms']} ms: {verdict}")


if __name__ == "__main__":
    main()
