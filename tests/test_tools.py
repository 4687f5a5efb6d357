"""The benchmarks and generators under tools/ keep working as the code moves: each one starts
and prints its usage (a script that no longer imports fails here, not on the day it is needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "tools" / "bench").glob("*.py"))


@pytest.fixture(scope="module")
def started() -> dict[str, tuple[int, str]]:
    """Every script started with --help, in children of one interpreter (tests/script_starts.py)."""
    out = subprocess.run([sys.executable, str(ROOT / "tests" / "script_starts.py"), *map(str, SCRIPTS)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return {k: (v[0], v[1]) for k, v in json.loads(out.stdout).items()}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_benchmark_script_starts(script: Path, started: dict[str, tuple[int, str]]) -> None:
    code, output = started[str(script)]
    assert code == 0, output[-4000:]
    assert "usage" in output.lower()


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_the_scale_benchmark_seeds_and_lists_at_a_small_size(backend: str) -> None:
    """tools/bench/scale.py seeds with COPY (SQLite: batched INSERTs), naming the tables'
    columns: a new column the database fills itself (a generated one) broke it once with nothing
    failing here. A small run seeds, checks the seeded rows through the SDK, explains and lists
    them."""
    if backend == "postgres":
        from tests.conftest import require_postgres

        require_postgres()
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "bench" / "scale.py"), "--backend", backend,
                          "--tasks", "200", "--instances", "1000", "--only", "explain,lists", "--plans",
                          "--filter", "TaskName common|InstanceType 0", "--repeat", "1"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "seeded rows verified through the SDK" in out.stdout + out.stderr
    assert "total      200" in out.stdout, out.stdout[-3000:]
    if backend == "sqlite":  # the plans of SQLite's explain: the instance filter's own index
        assert "COVERING INDEX ix_task_instances_project_scheduled_typed" in out.stdout, out.stdout[-3000:]
