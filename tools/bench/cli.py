"""How fast the `wedata` CLI starts (issue 16: `wedata --help` in <= 0.3 s).

Runs each command ``--runs`` times as a fresh process (the way a shell runs it) and reports the
median and worst wall time, plus the slowest imports of `wedata --help` (``python -X
importtime``). Offline commands only: no server is needed. The CLI keeps SQLAlchemy, Starlette,
the app and rich out of the import path of --help (wedata/cli/main.py loads subcommands lazily).
Usage: ``python tools/bench/cli.py [--runs 15]``; prints one JSON report, exit 1 if --help is
over the target.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET_S = 0.3
COMMANDS = {
    "wedata --help": ["--help"],
    "wedata tasks --help": ["tasks", "--help"],
    "wedata cron explain": ["cron", "explain", "0 30 9 ? * MON-FRI", "-n", "5"],
}


def env() -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), out.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    out["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="wedata-bench-")
    return out


def timed(args: list[str], runs: int) -> dict[str, float]:
    samples = []
    e = env()
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "wedata.cli.main", *args], env=e, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return {"median_s": round(statistics.median(samples), 4), "max_s": round(max(samples), 4), "runs": runs}


def slowest_imports(args: list[str], top: int = 8) -> list[dict[str, object]]:
    res = subprocess.run([sys.executable, "-X", "importtime", "-m", "wedata.cli.main", *args], env=env(),
                         capture_output=True, text=True, check=True)
    rows = []
    for line in res.stderr.splitlines():
        # "import time:  self [us] | cumulative | imported package", nested imports indented.
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative_us, name = line.split(":", 1)[1].split("|")
        rows.append({"module": name.rstrip(), "cumulative_ms": round(int(cumulative_us) / 1000, 1)})
    top_level = [{**r, "module": str(r["module"]).strip()} for r in rows if not str(r["module"]).startswith("  ")]
    return sorted(top_level, key=lambda r: -float(r["cumulative_ms"]))[:top]  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    opts = parser.parse_args()
    start = time.perf_counter()
    for _ in range(opts.runs):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    interpreter = (time.perf_counter() - start) / opts.runs
    report = {
        "target_help_s": TARGET_S,
        "python_startup_s": round(interpreter, 4),
        "commands": {name: timed(args, opts.runs) for name, args in COMMANDS.items()},
        "help_slowest_imports": slowest_imports(["--help"]),
    }
    print(json.dumps(report, indent=2))
    return 0 if report["commands"]["wedata --help"]["median_s"] <= TARGET_S else 1  # type: ignore[index]


if __name__ == "__main__":
    raise SystemExit(main())
