"""The house rules of DESIGN.md that a checker can hold: dependencies point one way (the
import-linter contracts in pyproject.toml) and modules stay small."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SRC = ROOT / "src" / "wedata"
MAX_LINES = 600
# Generated or append-only: the spec (from tccli's api.json) and the migrations.
EXEMPT = (SRC / "spec", SRC / "storage" / "migrations")


def test_import_contracts_hold() -> None:
    out = subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout, out.stdout[-3000:]


def test_no_module_over_the_size_cap() -> None:
    big = {
        str(p.relative_to(ROOT)): n
        for p in SRC.rglob("*.py")
        if not any(p.is_relative_to(e) for e in EXEMPT) and (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not big, f"modules over {MAX_LINES} lines (split them by what they own): {big}"
