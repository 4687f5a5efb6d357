"""tools/cluster.sh (docs/deploy.md): the six processes of a PostgreSQL + Redis cluster on loopback
really start, serve through both API ports, run a task on a worker, and stop."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.actions.instances.test_instances import new_space, submit, wait_for
from tests.conftest import require_postgres
from tests.executors.celery_support import new_group
from tests.support import ROOT, Api, clean_env, drop_pg_database, free_port_pair, harness_sandbox

pytestmark = pytest.mark.xdist_group("cluster")


def test_the_cluster_script_starts_six_processes_that_run_a_task_on_a_worker(tmp_path: Path) -> None:
    require_postgres()
    port = free_port_pair()  # the script serves on port and port + 1
    db = "wd_cluster_" + uuid.uuid4().hex[:10]
    wrapper = tmp_path / "wedata"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -m wedata.cli.main "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    env = clean_env() | harness_sandbox() | {
        "WEDATA_CLUSTER_DIR": str(tmp_path / "cluster"), "WEDATA_CLUSTER_DB": db, "WEDATA_CLUSTER_PORT": str(port),
        "WEDATA": str(wrapper), "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    script = str(ROOT / "tools" / "cluster.sh")

    def cluster(*args: str, **extra: str) -> str:
        out = subprocess.run([script, *args], env=env | extra, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    try:
        cluster("start")
        creds = dict(part.split("=", 1) for part in
                     (tmp_path / "cluster" / "admin.env").read_text().split()[1:])
        first, second = (Api(f"127.0.0.1:{p}", creds["WEDATA_SECRET_ID"], creds["WEDATA_SECRET_KEY"])
                         for p in (port, port + 1))
        group = new_group(first)
        cluster("workers", WEDATA_CLUSTER_GROUP=group)
        assert "stopped" not in cluster("status")
        space = new_space(first)
        task = submit(second, space, "echo ran on a worker", conf={"ResourceGroup": group})
        (item,) = wait_for(first, space, task, {"COMPLETED"}, timeout=60)
        log = second.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"]})
        assert "ran on a worker" in log["LogInfo"]
        assert any("worker" in line for line in log["LogInfo"].split("<br>")[:3]), log["LogInfo"][:500]
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=60)
        drop_pg_database(db)
    assert "stopped" in cluster("status")
