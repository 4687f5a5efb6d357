"""Shell form mode (task type 38): a task runs a command from an uploaded package, unpacked into
its working directory, from the local store and from a real S3-compatible server (moto); the
spec's ext keys ftp.file.name / shell.cmd / shell.args, as in WeData's CreateTask example."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path
from typing import Any

from tests.actions.instances.test_instances import Space, full_log, new_space, submit, wait_for
from tests.actions.resources.conftest import Uploader, register, s3_object, uploader_for
from tests.support import Api, ServerProcess, unique

RUN_SH = b'#!/bin/bash\necho "form mode ran $(basename "$0") with [$1] [$2] in $(basename "$PWD")"\ncat data/greeting.txt\n'


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("echo.sh", (2025, 1, 1, 0, 0, 0)), RUN_SH)  # fixed times: the same bytes
        z.writestr(zipfile.ZipInfo("data/greeting.txt", (2025, 1, 1, 0, 0, 0)), "hello from the package\n")
    return buf.getvalue()


def _tgz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def form(package: str, cmd: str, args: str = "") -> dict[str, Any]:
    return {"TaskExtConfigurationList": [
        {"ParamKey": "ftp.file.name", "ParamValue": package}, {"ParamKey": "shell.cmd", "ParamValue": cmd},
        {"ParamKey": "shell.args", "ParamValue": args}, {"ParamKey": "extraInfo", "ParamValue": '{"fromMapping":false}'}]}


def ended(api: Api, space: Space, task_id: str) -> tuple[str, str, dict[str, Any]]:
    (item,) = wait_for(api, space, task_id, {"FAILED", "EXPIRED", "COMPLETED"})
    text, _ = full_log(api, space, item["InstanceKey"])
    detail = api.data("GetTaskInstance", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"]})
    return str(item["InstanceState"]), text, detail


def run_packages(api: Api, space: Space, uploader: Uploader, tmp_path: Path) -> str:
    """A zip package with an entry script (by RemotePath) and a tgz with a nested script (by
    ResourceId, `${...}` in its arguments); returns the zip's RemotePath."""
    p = space.project
    folder = unique("pkg")
    api.data("CreateResourceFolder", {"ProjectId": p, "ParentFolderPath": "/", "FolderName": folder})
    stored = uploader.put(p, f"/{folder}", "echo.zip", _zip(), tmp_path)
    register(api, p, f"/{folder}", "echo.zip", stored)
    task = submit(api, space, "", type_id="38", conf=form(stored["RemotePath"], "echo.sh", "one 'two words'"))
    state, text, detail = ended(api, space, task)
    assert state == "COMPLETED", (text, detail["JobErrorMsg"])
    assert "form mode ran echo.sh with [one] [two words] in work" in text and "hello from the package" in text
    assert "unpacked the package echo.zip" in text

    tool = uploader.put(p, f"/{folder}", "tool.tgz", _tgz({"tool/run.sh": b'echo "tool says $1"\n'}), tmp_path)
    rid = register(api, p, f"/{folder}", "tool.tgz", tool)
    task = submit(api, space, "", type_id="38", conf=form(rid, "tool/run.sh", "${yyyyMMdd}"))
    state, text, detail = ended(api, space, task)
    assert state == "COMPLETED", (text, detail["JobErrorMsg"])
    assert "tool says 20250101" in text
    # shell.cmd as a command line, the package's files beside it.
    task = submit(api, space, "", type_id="38", conf=form(rid, "ls tool && echo", "listed"))
    state, text, _ = ended(api, space, task)
    assert state == "COMPLETED" and "run.sh" in text and "listed" in text
    return str(stored["RemotePath"])


def test_shell_form_mode_runs_a_package_from_the_local_store(api: Api, space: Space, uploader: Uploader,
                                                             tmp_path: Path) -> None:
    run_packages(api, space, uploader, tmp_path)


def test_shell_form_mode_runs_a_package_from_an_s3_server(s3_server: ServerProcess, moto: str,
                                                          tmp_path: Path) -> None:
    api = s3_server.admin()
    space = new_space(api)
    remote = run_packages(api, space, uploader_for(s3_server), tmp_path)
    assert s3_object(moto, remote[1:]) == _zip()  # the bytes are in the bucket
    assert not (s3_server.home / "objects" / remote[1:]).exists()


def test_shell_form_mode_bad_input(api: Api, space: Space, uploader: Uploader, server: ServerProcess,
                                   tmp_path: Path) -> None:
    p = space.project
    # SubmitTask refuses a form-mode task without its package or its command, naming the key.
    for conf, key in ((form("", "echo.sh"), "ftp.file.name"), (form("/datastudio/resource/x.zip", ""), "shell.cmd"),
                      (form("/datastudio/resource/x.zip", "run.sh", "${no_such_param}"), "no_such_param")):
        task_id = api.data("CreateTask", {
            "ProjectId": p, "TaskBaseAttribute": {"TaskName": unique("f"), "TaskTypeId": "38",
                                                  "WorkflowId": space.workflow},
            "TaskConfiguration": {"CodeContent": "", **conf},
            "TaskSchedulerConfiguration": {"CycleType": "ONEOFF_CYCLE", "StartTime": "2025-01-01 00:00:00"}})["TaskId"]
        err = api.error("SubmitTask", {"ProjectId": p, "TaskId": task_id, "VersionRemark": "go"})
        assert err.code == "InvalidParameterValue" and key in err.message, err.message
        got = api.data("GetTask", {"ProjectId": p, "TaskId": task_id})["TaskBaseAttribute"]
        assert got["Submit"] is False  # not submitted: nothing half-saved
    # A package that is no resource file: the attempt fails naming it.
    task = submit(api, space, "", type_id="38", conf=form("/datastudio/resource/nope/missing.zip", "run.sh"),
                  sched={"MaxRetryNumber": 0})
    state, _, detail = ended(api, space, task)
    assert state != "COMPLETED" and "/datastudio/resource/nope/missing.zip" in str(detail["JobErrorMsg"])
    # An archive whose members escape: refused by the unpacker, nothing written outside work/.
    evil = uploader.put(p, "/", "evil.tgz", _tgz({"../../escaped.sh": b"echo escaped\n", "ok.sh": b"echo ok\n"}),
                        tmp_path)
    register(api, p, "/", "evil.tgz", evil)
    task = submit(api, space, "", type_id="38", conf=form(evil["RemotePath"], "ok.sh"), sched={"MaxRetryNumber": 0})
    state, text, _ = ended(api, space, task)
    assert state != "COMPLETED" and "cannot unpack the package evil.tgz" in text, text
    assert not list(server.home.rglob("escaped.sh"))
    # A plain file as the package: copied in and run.
    plain = uploader.put(p, "/", "hello.sh", b'echo "plain package $1"\n', tmp_path)
    register(api, p, "/", "hello.sh", plain)
    task = submit(api, space, "", type_id="38", conf=form(plain["RemotePath"], "hello.sh", "works"))
    state, text, _ = ended(api, space, task)
    assert state == "COMPLETED" and "plain package works" in text, text
