"""Resource files through the SDK and the signed upload route: register, read, list, update,
delete; and bad input: nothing written outside the store's root, nothing half-saved."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.actions.instances.test_instances import Space
from tests.actions.resources.conftest import Uploader, register
from tests.support import Api, ServerProcess, unique
from wedata.cli.client import ApiError


def _all_files(root: Path) -> set[Path]:
    return {Path(d, f) for d, _, fs in os.walk(root) for f in fs}


def test_upload_register_read_list_update_delete(api: Api, space: Space, uploader: Uploader, server: ServerProcess,
                                                 tmp_path: Path) -> None:
    p = space.project
    data = b"x" * 3000
    stored = uploader.put(p, "/", "lookup.csv", data, tmp_path)
    assert stored == {"RemotePath": f"/datastudio/resource/{p}/lookup.csv", "BucketName": "wedata-local",
                      "CosRegion": "local", "Size": 3000, "Sha256": hashlib.sha256(data).hexdigest()}
    assert (server.home / "objects" / "datastudio" / "resource" / p / "lookup.csv").read_bytes() == data
    rid = register(api, p, "/", "lookup.csv", stored)
    got = api.data("GetResourceFile", {"ProjectId": p, "ResourceId": rid})
    assert got == {
        "ProjectId": p, "ResourceId": rid, "ResourceName": "lookup.csv", "LocalPath": "/datastudio/resource/lookup.csv",
        "RemotePath": stored["RemotePath"], "FileExtensionType": "csv", "Size": "2.93 KB",
        "CreatorUserUin": "100000000001", "CreatorUserName": got["CreatorUserName"], "UpdateUserName":
        got["UpdateUserName"], "UpdateUserUin": "100000000001", "BucketName": "wedata-local", "CosRegion": "local",
        "ResourceSourceMode": "UPLOAD_MODE", "BundleId": None, "BundleInfo": None,
    }
    page = api.data("ListResourceFiles", {"ProjectId": p, "ResourceName": "LOOKUP"})
    assert page["Items"] == [{"ResourceId": rid, "ResourceName": "lookup.csv", "FileExtensionType": "csv",
                              "LocalPath": "/datastudio/resource/lookup.csv"}]
    assert (page["TotalCount"], page["TotalPageNumber"]) == (1, 1)
    assert api.data("ListResourceFiles", {"ProjectId": p, "CreateUserUin": "999"})["TotalCount"] == 0
    assert api.data("ListResourceFiles", {"ProjectId": p, "CreateTimeStart": "2999-01-01 00:00:00"})["TotalCount"] == 0
    assert api.data("ListResourceFiles", {"ProjectId": p, "ModifyTimeEnd": "2999-01-01 00:00:00"})["TotalCount"] == 1
    assert api.data("UpdateResourceFile", {"ProjectId": p, "ResourceId": rid, "ResourceName": "renamed.csv",
                                           "BundleId": "b1"})["Status"] is True
    got = api.data("GetResourceFile", {"ProjectId": p, "ResourceId": rid})
    assert (got["ResourceName"], got["BundleId"], got["RemotePath"]) == ("renamed.csv", "b1", stored["RemotePath"])
    # An object written behind the server's back is re-read (hash and size) by UpdateResourceFile.
    (server.home / "objects" / stored["RemotePath"][1:]).write_bytes(b"y" * 5)
    api.data("UpdateResourceFile", {"ProjectId": p, "ResourceId": rid, "ResourceFile": stored["RemotePath"]})
    got = api.data("GetResourceFile", {"ProjectId": p, "ResourceId": rid})
    assert (got["Size"], got["ResourceSourceMode"]) == ("5 B", "COS_MODE")
    assert api.data("DeleteResourceFile", {"ProjectId": p, "ResourceId": rid})["Status"] is True
    assert api.error("GetResourceFile", {"ProjectId": p, "ResourceId": rid}).code == "ResourceNotFound"


def test_bad_input_is_refused_and_nothing_escapes_the_store(api: Api, space: Space, uploader: Uploader,
                                                           server: ServerProcess, tmp_path: Path) -> None:
    p = space.project
    stored = uploader.put(p, "/", "ok.txt", b"ok", tmp_path)
    before = _all_files(server.home)
    base = {"ProjectId": p, "ResourceName": "x.txt", "BucketName": "wedata-local", "CosRegion": "local",
            "ParentFolderPath": "/"}
    other = api.data("CreateProject", {"Project": {"ProjectName": unique("rp"), "DisplayName": "r"}})["ProjectId"]
    cases = [
        ({"ResourceFile": f"/datastudio/resource/{p}/../../../etc/passwd"}, "InvalidParameterValue"),
        ({"ResourceFile": f"/datastudio/resource/{p}/a/./b"}, "InvalidParameterValue"),
        ({"ResourceFile": "/etc/passwd"}, "InvalidParameterValue"),
        ({"ResourceFile": f"datastudio/resource/{p}/ok.txt"}, "InvalidParameterValue"),
        ({"ResourceFile": f"/datastudio/resource/{other}/ok.txt"}, "InvalidParameterValue"),  # another project's
        ({"ResourceFile": f"/datastudio/resource/{p}/missing.txt"}, "ResourceNotFound"),
        ({"ResourceFile": stored["RemotePath"], "ResourceName": "../x"}, "InvalidParameterValue"),
        ({"ResourceFile": stored["RemotePath"], "ResourceName": "a/b"}, "InvalidParameterValue"),
        ({"ResourceFile": stored["RemotePath"], "ParentFolderPath": "/../x"}, "InvalidParameterValue"),
        ({"ResourceFile": stored["RemotePath"], "ParentFolderPath": "/nope"}, "ResourceNotFound"),
        ({"ResourceFile": stored["RemotePath"], "BucketName": "someone-elses"}, "InvalidParameterValue"),
    ]
    for params, code in cases:
        err = api.error("CreateResourceFile", {**base, **params})
        assert err.code == code, (params, err.message)
    assert api.data("ListResourceFiles", {"ProjectId": p})["TotalCount"] == 0
    # Uploads: escaping names and folders, a hash that does not match, a missing folder.
    for folder, name in (("/", ".."), ("/", "../../escape"), ("/../..", "x"), ("/", "/etc/x"), ("/nope", "x")):
        with pytest.raises(ApiError) as info:
            uploader.put(p, folder, name, b"evil", tmp_path)
        assert info.value.code in ("InvalidParameterValue", "ResourceNotFound"), (folder, name)
    with pytest.raises(ApiError) as info:
        uploader.put(p, "/", "hash.txt", b"real bytes", tmp_path, sha256="0" * 64)
    assert info.value.code == "InvalidParameterValue" and "Sha256 does not match" in info.value.error_message
    # A stranger may not upload into the project.
    stranger = server.new_user()
    from tests.actions.resources.conftest import uploader_for

    with pytest.raises(ApiError) as info:
        uploader_for(server, stranger.secret_id, stranger.secret_key).put(p, "/", "s.txt", b"s", tmp_path)
    assert info.value.code == "UnauthorizedOperation.UserNotInProject"
    after = _all_files(server.home)
    objects = server.home / "objects"
    new = {f for f in after - before if not str(f).startswith(str(server.home / "logs"))
           and "wedata.db" not in f.name}
    assert not new, new  # nothing stored anywhere: not in the store, not outside it
    assert not (objects / "etc").exists() and not (server.home / "escape").exists()
    assert api.error("DeleteResourceFile", {"ProjectId": p, "ResourceId": "nope"}).code == "ResourceNotFound"
    assert api.error("ListResourceFiles", {"ProjectId": p, "PageSize": 201}).code == "InvalidParameterValue"
    assert api.error("ListResourceFiles", {"ProjectId": p, "CreateTimeStart": "yesterday"}).code == \
        "InvalidParameterValue"
