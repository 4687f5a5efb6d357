"""Tasks use resource files: a Python task imports an uploaded module, a Shell task runs a command
from an uploaded archive, from the local store and from a real S3-compatible server (moto);
a referenced file cannot be deleted; a re-upload takes effect at the next run."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from tests.actions.instances.test_instances import Space, full_log, new_space, submit, wait_for
from tests.actions.resources.conftest import Uploader, register, s3_object, uploader_for
from tests.support import Api, ServerProcess, unique


def _archive() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        script = b"#!/bin/bash\necho \"tool ran with $1\"\n"
        info = tarfile.TarInfo("tool/run.sh")
        info.size, info.mode = len(script), 0o755
        tar.addfile(info, io.BytesIO(script))
    return buf.getvalue()


def _ext(value: str) -> dict[str, object]:
    return {"TaskExtConfigurationList": [{"ParamKey": "resourceFiles", "ParamValue": value}]}


def _log(api: Api, space: Space, task_id: str, state: str = "COMPLETED") -> tuple[str, dict[str, object]]:
    (item,) = wait_for(api, space, task_id, {state, "FAILED", "EXPIRED", "COMPLETED"})
    text, _ = full_log(api, space, item["InstanceKey"])
    detail = api.data("GetTaskInstance", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"]})
    assert item["InstanceState"] == state, (item["InstanceState"], text, detail["JobErrorMsg"])
    return text, detail


def python_and_shell(api: Api, space: Space, uploader: Uploader, tmp_path: Path) -> tuple[str, str]:
    p = space.project
    folder = unique("lib")
    api.data("CreateResourceFolder", {"ProjectId": p, "ParentFolderPath": "/", "FolderName": folder})
    module = unique("helpers")
    stored = uploader.put(p, f"/{folder}", f"{module}.py", b"def greet():\n    return 'hello from the resource'\n",
                          tmp_path)
    rid = register(api, p, f"/{folder}", f"{module}.py", stored)
    task = submit(api, space, f"import {module}\nprint({module}.greet())", type_id="30", conf=_ext(rid))
    text, _ = _log(api, space, task)
    assert "hello from the resource" in text

    tool = uploader.put(p, f"/{folder}", "tool.tgz", _archive(), tmp_path)
    register(api, p, f"/{folder}", "tool.tgz", tool)
    shell = submit(api, space, 'tar -xzf "$WEDATA_RESOURCES/tool.tgz" && bash tool/run.sh 42',
                   conf=_ext(f"/datastudio/resource/{folder}/tool.tgz"))
    text, _ = _log(api, space, shell)
    assert "tool ran with 42" in text
    return rid, stored["RemotePath"]


def test_tasks_use_resources_from_the_local_store(api: Api, space: Space, uploader: Uploader,
                                                  tmp_path: Path) -> None:
    p = space.project
    rid, remote = python_and_shell(api, space, uploader, tmp_path)
    err = api.error("DeleteResourceFile", {"ProjectId": p, "ResourceId": rid})
    assert err.code == "ResourceInUse" and "submitted task" in err.message
    assert api.data("GetResourceFile", {"ProjectId": p, "ResourceId": rid})["ResourceId"] == rid
    # A re-upload to the same path: the next run gets the new content.
    got = api.data("GetResourceFile", {"ProjectId": p, "ResourceId": rid})
    folder = got["LocalPath"].split("/")[3]
    module = got["ResourceName"][:-3]
    uploader.put(p, f"/{folder}", got["ResourceName"], b"def greet():\n    return 'version two'\n", tmp_path)
    again = submit(api, space, f"import {module}\nprint({module}.greet())", type_id="30", conf=_ext(remote))
    text, _ = _log(api, space, again)
    assert "version two" in text and "hello from the resource" not in text
    # A task cannot change what later runs get: sandboxed, its resources are read-only; without
    # isolation (this suite's servers run as root with none) the changed cache entry is noticed.
    tamper = submit(api, space, f'echo evil > "$WEDATA_RESOURCES/{module}.py" || true', conf=_ext(rid))
    _log(api, space, tamper)
    text, _ = _log(api, space, submit(api, space, f"import {module}\nprint({module}.greet())", type_id="30",
                                      conf=_ext(rid)))
    assert "version two" in text


def test_a_missing_resource_fails_the_run_with_its_name(api: Api, space: Space) -> None:
    task = submit(api, space, "echo never", conf=_ext("/datastudio/resource/no/such.py"), sched={"MaxRetryNumber": 0})
    _, detail = _log(api, space, task, "EXPIRED")
    assert "/datastudio/resource/no/such.py" in str(detail["JobErrorMsg"])


def test_tasks_use_resources_from_an_s3_server(s3_server: ServerProcess, moto: str, tmp_path: Path) -> None:
    api = s3_server.admin()
    space = new_space(api)
    uploader = uploader_for(s3_server)
    _, remote = python_and_shell(api, space, uploader, tmp_path)
    # The bytes are in the bucket, not in the server's local store.
    assert s3_object(moto, remote[1:]) == b"def greet():\n    return 'hello from the resource'\n"
    assert not (s3_server.home / "objects" / remote[1:]).exists()
    got = api.data("ListResourceFiles", {"ProjectId": space.project, "PageSize": 10})
    assert got["TotalCount"] == 2
    detail = api.data("GetResourceFile", {"ProjectId": space.project, "ResourceId": got["Items"][0]["ResourceId"]})
    assert (detail["BucketName"], detail["CosRegion"]) == ("wedata-test-bucket", "us-east-1")
    # Over the configured limit (1 MiB on this server): refused, nothing in the bucket.
    import pytest

    from wedata.cli.client import ApiError

    with pytest.raises(ApiError) as info:
        uploader.put(space.project, "/", "big.bin", b"0" * (1024 * 1024 + 1), tmp_path)
    assert info.value.code == "InvalidParameterValue" and "limit" in info.value.error_message
    assert s3_object(moto, f"datastudio/resource/{space.project}/big.bin") is None
