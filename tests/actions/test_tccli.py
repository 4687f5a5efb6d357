"""The seed scenario through `tccli`, the official command line, as a user would type it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.actions.test_seed import SERVER_SET, compare, seed, seed_task_request
from tests.support import ADMIN_ID, ADMIN_KEY, ServerProcess, clean_env, unique

TCCLI = str(Path(sys.executable).parent / "tccli")


class Tccli:
    def __init__(self, server: ServerProcess, home: Path) -> None:
        self.server = server
        self.home = home
        self.env = clean_env()
        # tccli writes ~/.tccli on first run: keep it in the test's directory.
        self.env.update(HOME=str(home), TENCENTCLOUD_SECRET_ID=ADMIN_ID, TENCENTCLOUD_SECRET_KEY=ADMIN_KEY)
        self.env.pop("TENCENTCLOUD_REGION", None)
        self.n = 0

    def run(self, action: str, params: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        self.n += 1
        path = self.home / f"req{self.n}.json"
        path.write_text(json.dumps(params, ensure_ascii=False))
        cmd = [TCCLI, "wedata", action, "--version", "2025-08-06", "--region", "ap-guangzhou",
               "--endpoint", f"http://{self.server.endpoint}", "--cli-input-json", f"file://{path}"]  # fmt: skip
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=120)

    def data(self, action: str, params: dict[str, Any]) -> Any:
        out = self.run(action, params)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout).get("Data")


@pytest.fixture(scope="module")
def cli(sqlite_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Tccli:
    return Tccli(sqlite_server, tmp_path_factory.mktemp("tccli-home"))


def test_seed_scenario_through_tccli(cli: Tccli) -> None:
    group = cli.data("CreateResourceGroup", {
        "Name": unique("rg"), "Type": {"ResourceGroupType": "Schedule", "Schedule": {"Specification": "s_test", "Number": 1}},
        "AutoRenewEnabled": False, "PurchasePeriod": 1, "VpcId": "vpc-1", "SubNet": "subnet-1", "ResourceRegion": "ap-nanjing",
    })["ResourceGroupId"]  # fmt: skip
    project = cli.data("CreateProject", {"Project": {"ProjectName": unique("tccli"), "DisplayName": "tccli"}})["ProjectId"]
    example = seed()["Data"]
    wf_name = unique(example["TaskBaseAttribute"]["WorkflowName"])
    workflow = cli.data("CreateWorkflow", {"ProjectId": project, "WorkflowName": wf_name, "ParentFolderPath": "/"})["WorkflowId"]
    upstream = cli.data("CreateTask", {
        "ProjectId": project,
        "TaskBaseAttribute": {"TaskName": unique("up"), "TaskTypeId": "35", "WorkflowId": workflow},
        "TaskConfiguration": {"CodeContent": "ZWNobyAx", "ResourceGroup": group},
        "TaskSchedulerConfiguration": {"ParamTaskOutList": [{"ParamKey": "taskout_v1", "ParamValue": "$[0][0]"}]},
    })["TaskId"]  # fmt: skip
    name = unique(example["TaskBaseAttribute"]["TaskName"])
    task_id = cli.data("CreateTask", seed_task_request(project, workflow, group, upstream, name))["TaskId"]

    out = cli.run("GetTask", {"ProjectId": project, "TaskId": task_id})
    assert out.returncode == 0, out.stderr
    got = {"Data": json.loads(out.stdout)["Data"]}
    expected = {"Data": seed()["Data"]}
    base = expected["Data"]["TaskBaseAttribute"]
    base.update(TaskName=name, WorkflowId=workflow, WorkflowName=wf_name)
    expected["Data"]["TaskConfiguration"]["ResourceGroup"] = group
    sched = expected["Data"]["TaskSchedulerConfiguration"]
    sched["UpstreamDependencyConfigList"][0]["TaskId"] = upstream
    sched["ParamTaskInList"][0]["FromTaskId"] = upstream
    compare(expected, got, skip=frozenset(SERVER_SET))

    # Submit, then the version list shows V1 as the used submit version.
    submitted = cli.data("SubmitTask", {"ProjectId": project, "TaskId": task_id, "VersionRemark": "from tccli"})
    assert submitted["Status"] is True and submitted["VersionId"].startswith(task_id + "_")
    versions = cli.data("ListTaskVersions", {"ProjectId": project, "TaskId": task_id, "TaskVersionType": "SUBMIT"})
    assert [v["VersionNum"] for v in versions["Items"]] == ["V1"]


def test_tccli_reports_errors_with_exit_255(cli: Tccli) -> None:
    out = cli.run("GetTask", {"ProjectId": "1234567890123456789", "TaskId": "1"})
    assert out.returncode == 255
    assert "code:ResourceNotFound" in out.stderr
    out = cli.run("CreateProject", {"Project": {"ProjectName": "9bad name", "DisplayName": "x"}})
    assert out.returncode == 255 and "code:InvalidParameterValue" in out.stderr


def test_a_workflow_run_through_tccli(cli: Tccli) -> None:
    """CreateTriggerWorkflowRun and GetTriggerWorkflowRun as a tccli user types them."""
    project = cli.data("CreateProject", {"Project": {"ProjectName": unique("tccli_trg"), "DisplayName": "t",
                                                     "ScheduleMode": "workflow"}})["ProjectId"]
    workflow = cli.data("CreateTriggerWorkflow", {"ProjectId": project, "WorkflowName": unique("twf"),
                                                  "ParentFolderPath": "/",
                                                  "WorkflowParams": [{"ParamKey": "p", "ParamValue": "x"}]})["WorkflowId"]
    task = cli.data("CreateTriggerTask", {
        "ProjectId": project,
        "TriggerTaskBaseAttribute": {"TaskName": unique("t"), "TaskTypeId": "35", "WorkflowId": workflow},
        "TriggerTaskConfiguration": {"CodeContent": "ZWNobyAke3B9"},  # echo ${p}
        "TriggerTaskSchedulerConfiguration": {"MaxRetryNumber": 0},
    })["TaskId"]
    cli.data("SubmitTriggerTask", {"ProjectId": project, "TaskId": task, "VersionRemark": "tccli"})
    execution = cli.data("CreateTriggerWorkflowRun", {"ProjectId": project, "WorkflowId": workflow,
                                                      "AdvancedParams": [{"ParamKey": "p", "ParamValue": "y"}]})[
        "WorkflowExecutionId"]
    from tests.waiting import wait_until

    got = wait_until(lambda: cli.data("GetTriggerWorkflowRun", {"ProjectId": project, "WorkflowExecutionId": execution}),
                     lambda d: d["TriggerWorkflowRun"]["ExecutionState"] in ("SUCCESS", "FAILED"),
                     what="the workflow run to finish", progress=lambda d: d["TriggerWorkflowRun"]["ExecutionState"])
    assert got["TriggerWorkflowRun"]["ExecutionState"] == "SUCCESS"
    assert [t["TaskId"] for t in got["TriggerTaskRuns"]] == [task]
    assert "\"y\"" in got["TriggerWorkflowRun"]["WorkflowParams"]
