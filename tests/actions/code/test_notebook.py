"""A Notebook task (132) whose source is a code studio file runs the file's current version
headless with nbclient on a real ipykernel kernel: its outputs are in the instance log, and the
executed notebook is kept next to it; a failing cell fails the run; a missing file fails it with
the file named."""

from __future__ import annotations

import json
from typing import Any

from tests.actions.code.conftest import new_file
from tests.actions.instances.test_instances import Space, full_log, new_space, submit, wait_for
from tests.support import Api, ServerProcess


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


def test_a_missing_or_private_file_fails_the_run_naming_it(api: Api) -> None:
    space = new_space(api)
    task = submit(api, space, "", type_id="132", conf=studio("no-such-file"), sched={"MaxRetryNumber": 0})
    item, _, detail = ended(api, space, task)
    assert item["InstanceState"] != "COMPLETED" and "no-such-file" in str(detail["JobErrorMsg"])
    private = new_file(api, space.project, "mine.ipynb", "/~", notebook("print(1)"))
    task = submit(api, space, "", type_id="132", conf=studio(private["CodeFileId"]), sched={"MaxRetryNumber": 0})
    item, _, detail = ended(api, space, task)
    assert item["InstanceState"] != "COMPLETED" and "private" in str(detail["JobErrorMsg"])
