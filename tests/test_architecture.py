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


def test_services_build_no_wire_structs() -> None:
    """The wire convention (docs/development.md): services return domain records; only the
    action packages' wire.py build spec Structs. A service may read request Structs (typed
    input) but never constructs one: no call of any ``wedata.spec.models`` class under services/."""
    import ast

    offenders: list[str] = []
    for path in (SRC / "services").rglob("*.py"):
        tree = ast.parse(path.read_text())
        aliases = {
            a.asname or a.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "wedata.spec"
            for a in node.names
            if a.name == "models"
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in aliases
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.func.value.id}.{node.func.attr}(...)")
    assert not offenders, "services construct spec Structs (move it to actions/<domain>/wire.py):\n" + "\n".join(offenders)
