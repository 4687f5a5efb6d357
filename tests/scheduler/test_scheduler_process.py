"""`wedata scheduler` runs the engine alone against the API server's database: the server
(started with WEDATA_SCHEDULER=0) only records the submission, the separate scheduler process
plans and runs it."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from tests.actions.instances.test_instances import instances, new_space, submit, wait_for
from tests.support import ROOT, ServerProcess, wedata_cli


def test_the_engine_runs_in_its_own_process(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "home", env={"WEDATA_SCHEDULER": "0"}).start()
    engine: subprocess.Popen[bytes] | None = None
    try:
        api = srv.admin()
        space = new_space(api)
        task = submit(api, space, "echo from the scheduler process")
        time.sleep(1.0)
        assert instances(api, space, task) == []  # nobody plans without an engine
        env = srv.env() | {"WEDATA_PLAN_INTERVAL": "0.2"}
        with open(tmp_path / "scheduler.log", "wb") as log:
            engine = subprocess.Popen([*wedata_cli(), "scheduler"], env=env, cwd=ROOT, stdout=log, stderr=log,
                                      start_new_session=True)
        (item,) = wait_for(api, space, task, {"COMPLETED"}, timeout=30)
        data = api.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"]})
        assert "from the scheduler process" in data["LogInfo"].split("<br>")
    finally:
        if engine is not None:
            engine.send_signal(signal.SIGTERM)
            assert engine.wait(15) == 0  # a clean stop on SIGTERM
        srv.stop()
