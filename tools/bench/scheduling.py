"""The scheduling benchmark of issue 3: cron next-fire throughput and dependency resolution.

Runs both parts (``scheduling_cron.py``, ``scheduling_deps.py``) and prints one JSON report.
Targets: >= 100,000 next fire times/s for simple expressions; DAY <- MINUTE dependency
resolution over a day (1,440 upstream times) in <= 2 ms.
Usage: ``python tools/bench/scheduling.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "src"))

import scheduling_cron  # noqa: E402
import scheduling_deps  # noqa: E402


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    report = {"cron": scheduling_cron.run(), "dependencies": scheduling_deps.run()}
    print(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
