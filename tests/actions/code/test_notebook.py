"""A Notebook task (132) whose source is a code studio file runs the file's current version
headless with nbclient on a real ipykernel kernel: its outputs are in the instance log, and the
executed notebook is kept next to it; a failing cell fails the run; SubmitTask refuses a missing
or private file and a submitter without CAN_RUN on it; a file deleted later fails the run with
its name; ``${...}`` parameters are rendered into the code cells."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.actions.code.conftest import VISITOR, new_file, uin
from tests.actions.instances.test_instances import Space, full_log, new_space, submit, wait_for
from tests.support import Api, ServerProcess, unique


def notebook(*sources: str) -> str:
    cells = [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
              "source": src} for i, src in enumerate(sources)]
    cells.insert(1, {"cell_type": "markdown", "id": "md", "metadata": {}, "source": "# a note"})
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def studio(file_id: str) -> dict[str, Any]:
    return {"TaskExtConfigurationList": [{"ParamKey": "notebook.source", "ParamValue": "codeStudio"},
                                         {"ParamKey": "notebook.scriptId", "ParamValue": file_id}]}


def ended(api: Api, space: Space, task_id: str) -> tuple[dict[str, Any], str, dict[str, Any]]:
    (item,) = wait_for(api, space, task_id, {"COMPLETED", "FAILED", "EXPIRED"}, timeout=60)
    text, _ = full_log(api, space, item["InstanceKey"])
    detail = api.data("GetTaskInstance", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"]})
    return item, text, detail


def test_a_code_studio_notebook_runs_as_a_task(api: Api, server: ServerProcess) -> None:
    space = new_space(api)
    made = new_file(api, space.project, "report.ipynb", "/",
                    notebook("answer = 6 * 7\nprint('the answer is', answer)", "answer + 1"))
    fid = made["CodeFileId"]
    api.data("UpdateCodeFile", {"ProjectId": space.project, "CodeFileId": fid, "SubmitAction": True})
    # A later save that is not submitted is not what runs: the current version is.
    api.data("UpdateCodeFile", {"ProjectId": space.project, "CodeFileId": fid,
                                "CodeFileContent": notebook("print('draft, never submitted')")})
    task = submit(api, space, "", type_id="132", conf=studio(fid))
    item, text, detail = ended(api, space, task)
    assert item["InstanceState"] == "COMPLETED", (text, detail["JobErrorMsg"])
    assert "the answer is 42" in text and "43" in text and "draft" not in text
    # The executed notebook is kept next to the instance log, with its outputs.
    kept = list((server.home / "logs" / task).glob("*/*.ipynb"))
    assert len(kept) == 1, kept
    executed = json.loads(kept[0].read_text())
    outputs = [c.get("outputs") for c in executed["cells"] if c["cell_type"] == "code"]
    assert "".join(outputs[0][0]["text"]) == "the answer is 42\n"
    assert "".join(outputs[1][0]["data"]["text/plain"]) == "43" and outputs[1][0]["execution_count"] == 2


def test_a_failing_cell_fails_the_run_and_keeps_what_ran(api: Api, server: ServerProcess) -> None:
    space = new_space(api)
    made = new_file(api, space.project, "broken.ipynb", "/", notebook("print('before')", "1 / 0", "print('after')"))
    task = submit(api, space, "", type_id="132", conf=studio(made["CodeFileId"]), sched={"MaxRetryNumber": 0})
    item, text, _ = ended(api, space, task)
    assert item["InstanceState"] in ("FAILED", "EXPIRED")
    assert "before" in text and "ZeroDivisionError" in text and "after" not in text
    (kept,) = (server.home / "logs" / task).glob("*/*.ipynb")
    cells = [c for c in json.loads(kept.read_text())["cells"] if c["cell_type"] == "code"]
    assert cells[1]["outputs"][0]["ename"] == "ZeroDivisionError" and cells[2]["outputs"] == []


def test_a_missing_or_private_file_is_refused_and_a_deleted_one_fails_the_run(api: Api, tmp_path: Path) -> None:
    space = new_space(api)
    task = create(api, space, studio("no-such-file"))
    err = api.error("SubmitTask", {"ProjectId": space.project, "TaskId": task, "VersionRemark": "go"})
    assert err.code == "ResourceNotFound" and "no-such-file" in err.message
    private = new_file(api, space.project, "mine.ipynb", "/~", notebook("print(1)"))
    task = create(api, space, studio(private["CodeFileId"]))
    err = api.error("SubmitTask", {"ProjectId": space.project, "TaskId": task, "VersionRemark": "go"})
    assert err.code == "InvalidParameterValue" and "private" in err.message
    task = create(api, space, {"TaskExtConfigurationList": [{"ParamKey": "notebook.source", "ParamValue": "codeStudio"}]})
    err = api.error("SubmitTask", {"ProjectId": space.project, "TaskId": task, "VersionRemark": "go"})
    assert err.code == "InvalidParameterValue" and "notebook.scriptId" in err.message
    assert not api.data("GetTask", {"ProjectId": space.project, "TaskId": task})["TaskBaseAttribute"]["Submit"]
    # Submitted, waiting for its upstream, then the file is deleted: the attempt fails naming it.
    gate = tmp_path / "go"
    up = submit(api, space, f"for _ in $(seq 600); do [ -e {gate} ] && break; sleep 0.05; done")
    shared = new_file(api, space.project, unique("gone") + ".ipynb", "/", notebook("print(1)"))
    task = create(api, space, studio(shared["CodeFileId"]), sched={"MaxRetryNumber": 0, "UpstreamDependencyConfigList": [
        {"TaskId": up, "MainCyclicConfig": "DAY", "SubordinateCyclicConfig": "CURRENT_DAY"}]})
    api.data("SubmitTask", {"ProjectId": space.project, "TaskId": task, "VersionRemark": "go"})
    wait_for(api, space, task, {"WAIT_UPSTREAM"})
    api.data("DeleteCodeFile", {"ProjectId": space.project, "CodeFileId": shared["CodeFileId"]})
    gate.touch()
    item, _, detail = ended(api, space, task)
    assert item["InstanceState"] != "COMPLETED" and shared["CodeFileId"] in str(detail["JobErrorMsg"])


def create(api: Api, space: Space, conf: dict[str, Any], sched: dict[str, Any] | None = None,
           workflow: str | None = None) -> str:
    """A one-off Notebook task, not submitted."""
    return str(api.data("CreateTask", {
        "ProjectId": space.project,
        "TaskBaseAttribute": {"TaskName": unique("nb"), "TaskTypeId": "132", "WorkflowId": workflow or space.workflow},
        "TaskConfiguration": {"CodeContent": "", **conf},
        "TaskSchedulerConfiguration": {"CycleType": "ONEOFF_CYCLE", "StartTime": "2025-01-01 00:00:00",
                                       **(sched or {})}})["TaskId"])


def test_submitting_a_code_studio_notebook_needs_can_run(api: Api, server: ServerProcess) -> None:
    """A Visitor allowed to edit one workflow (a workflow grant) may submit a Notebook task there
    only when they may run the code studio file: CAN_VIEW is refused, a CAN_RUN grant lets it run."""
    space = new_space(api)
    visitor = server.new_user()
    api.call("CreateProjectMember", {"ProjectId": space.project, "UserUins": [uin(visitor)], "RoleIds": [VISITOR]})
    api.call("CreateWorkflowPermissions", {"ProjectId": space.project, "EntityType": "workflow",
                                           "EntityId": space.workflow, "PermissionList": [
                                               {"PermissionTargetType": "user", "PermissionTargetId": uin(visitor),
                                                "PermissionTypeList": ["CAN_EDIT"]}]})
    fid = new_file(api, space.project, unique("shared") + ".ipynb", "/", notebook("print('ran by the visitor')"))[
        "CodeFileId"]
    assert visitor.data("GetMyCodeMaxPermission", {"ProjectId": space.project, "ResourceId": fid})[
        "PermissionType"] == "CAN_VIEW"
    task = create(visitor, space, studio(fid))
    err = visitor.error("SubmitTask", {"ProjectId": space.project, "TaskId": task, "VersionRemark": "go"})
    assert err.code == "UnauthorizedOperation" and "CAN_RUN" in err.message and "CAN_VIEW" in err.message
    assert not api.data("GetTask", {"ProjectId": space.project, "TaskId": task})["TaskBaseAttribute"]["Submit"]
    api.data("CreateCodePermissions", {"ProjectId": space.project, "AuthorizePermissionObjects": [
        {"Resource": {"ResourceType": "script", "ResourceId": fid}, "AuthorizeSubjects": [
            {"SubjectType": "user", "SubjectValues": [uin(visitor)], "Privileges": ["CAN_RUN"]}]}]})
    visitor.data("SubmitTask", {"ProjectId": space.project, "TaskId": task, "VersionRemark": "go"})
    item, text, detail = ended(api, space, task)
    assert item["InstanceState"] == "COMPLETED", (text, detail["JobErrorMsg"])
    assert "ran by the visitor" in text


def test_parameters_are_rendered_into_the_cells(api: Api, server: ServerProcess) -> None:
    space = new_space(api)
    fid = new_file(api, space.project, unique("params") + ".ipynb", "/", notebook(
        "day = '${yyyyMMdd}'\nprint('day', day, 'region', '${region}')", 'print("quote\\" ok")'))["CodeFileId"]
    params = {"TaskSchedulingParameterList": [{"ParamKey": "region", "ParamValue": 'east "1"'}]}
    task = submit(api, space, "", type_id="132", conf={**studio(fid), **params})
    item, text, detail = ended(api, space, task)
    assert item["InstanceState"] == "COMPLETED", (text, detail["JobErrorMsg"])
    assert 'day 20250101 region east "1"' in text
    # The markdown cell is left alone; the executed notebook shows the rendered source.
    (kept,) = (server.home / "logs" / task).glob("*/*.ipynb")
    cells = json.loads(kept.read_text())["cells"]
    assert "20250101" in "".join(cells[0]["source"]) and "".join(cells[1]["source"]) == "# a note"
    # An unknown parameter fails the attempt naming it (as for Python code).
    bad = new_file(api, space.project, unique("bad") + ".ipynb", "/", notebook("print('${no_such_param}')"))
    task = submit(api, space, "", type_id="132", conf=studio(bad["CodeFileId"]), sched={"MaxRetryNumber": 0})
    item, _, detail = ended(api, space, task)
    assert item["InstanceState"] != "COMPLETED" and "no_such_param" in str(detail["JobErrorMsg"])
