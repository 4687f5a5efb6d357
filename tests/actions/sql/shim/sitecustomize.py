"""TEST SUPPORT ONLY, until the shared SQL executor (``wedata/executors/sql/runner.py``, built on
another branch) is merged: when the real module cannot be found, ``import
wedata.executors.sql.runner`` loads ``fake_sql_runner.py`` from this folder instead.

The servers of tests/actions/sql/ run with this folder first on ``PYTHONPATH``, so Python imports
this file at start-up (``site``). The finder is appended to ``sys.meta_path``: it is asked only
after every normal finder failed, so once the real runner exists this shim does nothing at all.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

NAME = "wedata.executors.sql.runner"
FAKE = Path(__file__).with_name("fake_sql_runner.py")


class _FakeRunnerFinder(MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname != NAME:
            return None
        return importlib.util.spec_from_file_location(NAME, FAKE)


sys.meta_path.append(_FakeRunnerFinder())
