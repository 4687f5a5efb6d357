"""Resource staging benchmark: how long it takes to put a cached resource file into a run
directory (scheduler/staging.py ``stage``: a stat of the cache entry and one hard link per file,
storage/objects.py ContentCache), the work the engine's after-phase does per attempt that uses
resources. Target (issue 12): <= 50 ms for a cached 50 MB file.

Scenarios:

  cached   a file of --mb MB already in the cache, staged into --repeat fresh run directories
  cold     the first staging of each of --repeat distinct files: a copy from the local store
           into the cache with its sha256 verified, then the link (what a cache miss costs)

Usage: ``python tools/bench/resources.py [--scenario cached|cold] [--mb 50] [--repeat 20]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))


def _stores(home: Path):  # type: ignore[no-untyped-def]
    from wedata.config import Settings
    from wedata.storage.objects import Stores

    return Stores(Settings(home=home))


def _put(stores, home: Path, name: str, mb: int):  # type: ignore[no-untyped-def]
    from wedata.executors.base import StagedResource

    data = os.urandom(1024 * 1024) * mb
    src = home / f"{name}.src"
    src.write_bytes(data)
    key = f"datastudio/resource/1/{name}"
    stores.local.put_file(src, key)
    src.unlink()
    return StagedResource(name, hashlib.sha256(data).hexdigest(), len(data), "local", "wedata-local", key)


def _stage_once(stores, res, run_root: Path, i: int) -> float:  # type: ignore[no-untyped-def]
    from wedata.executors.base import RunSpec
    from wedata.scheduler.staging import stage

    run_dir = run_root / f"run{i}"
    spec = RunSpec(execution_id=i, argv=[], cwd=str(run_dir / "work"), log_path="", run_dir=str(run_dir),
                   resources=(res,))
    t0 = time.perf_counter()
    problem = stage(stores, spec)
    elapsed = (time.perf_counter() - t0) * 1000
    if problem is not None:
        raise SystemExit(problem)
    assert (run_dir / "resources" / res.name).stat().st_size == res.size
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=("cached", "cold"), default="cached")
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-resources-") as tmp:
        home = Path(tmp)
        stores = _stores(home)
        times: list[float] = []
        if args.scenario == "cached":
            res = _put(stores, home, "big.bin", args.mb)
            _stage_once(stores, res, home / "run", -1)  # fills the cache
            times = [_stage_once(stores, res, home / "run", i) for i in range(args.repeat)]
        else:
            for i in range(args.repeat):
                res = _put(stores, home, f"f{i}.bin", args.mb)
                times.append(_stage_once(stores, res, home / "run", i))
        print(json.dumps({"scenario": args.scenario, "mb": args.mb, "repeat": args.repeat,
                          "median_ms": round(statistics.median(times), 3), "max_ms": round(max(times), 3),
                          "target_ms": 50 if args.scenario == "cached" else None}))


if __name__ == "__main__":
    main()
