"""Resource folders through the SDK: create, get, rename (what is below follows), list, delete."""

from __future__ import annotations

from pathlib import Path

from tests.actions.instances.test_instances import Space
from tests.actions.resources.conftest import Uploader, register
from tests.support import Api, unique


def test_folder_lifecycle(api: Api, space: Space, uploader: Uploader, tmp_path: Path) -> None:
    p = space.project
    top = unique("top")
    fid = api.data("CreateResourceFolder", {"ProjectId": p, "ParentFolderPath": "/", "FolderName": top})["FolderId"]
    sub = api.data("CreateResourceFolder", {"ProjectId": p, "ParentFolderPath": f"/{top}", "FolderName": "sub"})[
        "FolderId"]
    got = api.data("GetResourceFolder", {"ProjectId": p, "FolderId": sub})
    assert got["FolderPath"] == f"/{top}/sub" and got["ParentFolderPath"] == f"/{top}" and got["FolderName"] == "sub"
    assert got["ProjectId"] == p and got["CreateUserUin"] == "100000000001" and got["CreateUserName"]
    page = api.data("ListResourceFolders", {"ProjectId": p, "ParentFolderPath": f"/{top}"})
    assert [i["FolderPath"] for i in page["Items"]] == [f"/{top}/sub"]
    assert (page["TotalCount"], page["PageNumber"], page["PageSize"], page["TotalPageNumber"]) == (1, 1, 10, 1)

    stored = uploader.put(p, f"/{top}/sub", "a.txt", b"a", tmp_path)
    rid = register(api, p, f"/{top}/sub", "a.txt", stored)
    # A rename carries the folders and files below it; the object stays where it is.
    renamed = unique("renamed")
    assert api.data("UpdateResourceFolder", {"ProjectId": p, "FolderId": fid, "FolderName": renamed})["Status"]
    assert api.data("GetResourceFolder", {"ProjectId": p, "FolderId": sub})["FolderPath"] == f"/{renamed}/sub"
    f = api.data("GetResourceFile", {"ProjectId": p, "ResourceId": rid})
    assert f["LocalPath"] == f"/datastudio/resource/{renamed}/sub/a.txt" and f["RemotePath"] == stored["RemotePath"]

    # Not empty: refused, nothing deleted.
    err = api.error("DeleteResourceFolder", {"ProjectId": p, "FolderId": sub})
    assert err.code == "FailedOperation" and "not empty" in err.message
    assert api.error("DeleteResourceFolder", {"ProjectId": p, "FolderId": fid}).code == "FailedOperation"
    assert api.data("GetResourceFolder", {"ProjectId": p, "FolderId": sub})["FolderId"] == sub
    api.data("DeleteResourceFile", {"ProjectId": p, "ResourceId": rid})
    assert api.data("DeleteResourceFolder", {"ProjectId": p, "FolderId": sub})["Status"] is True
    assert api.data("DeleteResourceFolder", {"ProjectId": p, "FolderId": fid})["Status"] is True
    assert api.error("GetResourceFolder", {"ProjectId": p, "FolderId": fid}).code == "ResourceNotFound"


def test_folder_bad_input(api: Api, space: Space) -> None:
    p = space.project
    name = unique("f")
    api.data("CreateResourceFolder", {"ProjectId": p, "ParentFolderPath": "/", "FolderName": name})
    bad = [
        ({"ParentFolderPath": "/", "FolderName": ".."}, "InvalidParameterValue"),
        ({"ParentFolderPath": "/", "FolderName": "a/b"}, "InvalidParameterValue"),
        ({"ParentFolderPath": "/../etc", "FolderName": "x"}, "InvalidParameterValue"),
        ({"ParentFolderPath": "etc", "FolderName": "x"}, "InvalidParameterValue"),
        ({"ParentFolderPath": "/missing-parent", "FolderName": "x"}, "ResourceNotFound"),
        ({"ParentFolderPath": "/", "FolderName": name}, "InvalidParameter.DuplicateName"),
    ]
    for params, code in bad:
        assert api.error("CreateResourceFolder", {"ProjectId": p, **params}).code == code, params
    page = api.data("ListResourceFolders", {"ProjectId": p, "ParentFolderPath": "/", "PageSize": 200})
    assert [i["FolderName"] for i in page["Items"]].count(name) == 1 and page["TotalCount"] >= 1
    assert not any(i["FolderName"] in ("..", "x", "a/b") for i in page["Items"])
    assert api.error("ListResourceFolders", {"ProjectId": p, "ParentFolderPath": "/", "PageSize": 5}).code == \
        "InvalidParameterValue"
    assert api.error("ListResourceFolders", {"ProjectId": p, "ParentFolderPath": "/nope"}).code == "ResourceNotFound"
    assert api.error("UpdateResourceFolder", {"ProjectId": p, "FolderId": "nope", "FolderName": "x"}).code == \
        "ResourceNotFound"
