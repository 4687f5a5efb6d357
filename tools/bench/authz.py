"""The authorization check's own cost, in process: the one check every project-scoped request
passes (services/permissions/authorize.py), against the membership check it replaced (one query
too: services/projects/projects.require_member), for a DataEngineer member on SQLite.

Reads (GetTask: the role check only) and writes to a workflow (UpdateWorkflow: plus the workflow
grants of its folder chain). Prints medians in milliseconds. Usage: `python tools/bench/authz.py [-n 5000]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from wedata.clock import SystemClock  # noqa: E402
from wedata.config import Settings  # noqa: E402
from wedata.principal import Caller  # noqa: E402
from wedata.services.container import Services  # noqa: E402
from wedata.services.projects.needs import Need  # noqa: E402
from wedata.spec import models as M  # noqa: E402
from wedata.storage.db import Database  # noqa: E402
from wedata.storage.migrate import upgrade  # noqa: E402

DATA_ENGINEER = "308335260676890624"


def median_ms(fn: Callable[[], Any], n: int) -> float:
    for _ in range(200):
        fn()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return round(statistics.median(samples) * 1000, 4)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=5000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-authz-"))
    db = Database(f"sqlite:///{home / 'wedata.db'}")
    upgrade(db)
    services = Services(db, Settings(home=home), SystemClock())
    admin, member = Caller("admin", "100000000001", is_admin=True), Caller("m", "200000000002")
    project = services.projects.create_project(admin, M.ProjectRequest(project_name="bench", display_name="bench"))
    services.projects.add_members(admin, project, [member.uin], [DATA_ENGINEER])
    services.workflows.create_folder(project, admin.uin, "/", "team")
    workflow = services.workflows.create_workflow(
        project, admin.uin, name="wf", parent_folder_path="/team", workflow_type=None, description=None,
        owner_uin=None, params=None, scheduler_config=None, bundle_id=None, bundle_info=None)
    auth = services.authorizer
    read = SimpleNamespace(project_id=project, task_id="20250101000000000")
    write = SimpleNamespace(project_id=project, workflow_id=workflow)
    out = {
        "old_membership_check_ms": median_ms(lambda: services.projects.require_member(project, member), args.n),
        "read_check_ms": median_ms(lambda: auth.check("GetTask", Need.READ, project, member, read, {}), args.n),
        "write_check_ms": median_ms(lambda: auth.check("UpdateWorkflow", Need.WRITE, project, member, write, {}), args.n),
        "cached_check_ms": median_ms(lambda c={}: auth.check("GetTask", Need.READ, project, member, read, c), args.n),  # type: ignore[misc]
    }
    out["added_read_ms"] = round(out["read_check_ms"] - out["old_membership_check_ms"], 4)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
