"""Code studio files and folders through the SDK: the tree, private and shared scopes, versions
on submit, notebook validation, and bad input that changes nothing."""

from __future__ import annotations

import json
from typing import Any

from tests.actions.code.conftest import MAX_BYTES, folder, new_file, new_project, paths, tree, uin
from tests.support import Api, unique

NOTEBOOK = json.dumps({
    "cells": [{"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [],
               "source": "print(6 * 7)"}],
    "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
})


def get(user: Api, project: str, file_id: str, content: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = user.data("GetCodeFile", {"ProjectId": project, "CodeFileId": file_id,
                                                     "IncludeContent": content})
    return data


def test_a_tree_of_folders_and_files(api: Api) -> None:
    project = new_project(api)
    etl = folder(api, project, "etl")
    daily = folder(api, project, "daily", "/etl")
    made = new_file(api, project, "load.py", "/etl/daily", "print('hi')",
                    CodeFileConfig={"Params": "p1", "NotebookSessionInfo": {"NotebookSessionId": "s-1",
                                                                             "NotebookSessionName": "session1"}})
    assert made["Path"] == "/etl/daily/load.py" and made["ParentFolderPath"] == "/etl/daily"
    assert made["AccessScope"] == "SHARED" and made["OwnerUin"] == made["UpdateUserUin"]
    assert made["CodeFileContent"] == "print('hi')" and made["VersionId"] is None
    assert made["CodeFileConfig"]["NotebookSessionInfo"]["NotebookSessionName"] == "session1"
    new_file(api, project, "notes.md", "/", "# notes")
    listed = tree(api, project)
    assert [n["Path"] for n in listed] == ["/etl", "/notes.md", "/~"]
    every = paths(listed)
    assert every["/etl/daily"]["Id"] == daily and every["/etl/daily"]["Type"] == "folder"
    assert every["/etl/daily/load.py"]["IsLeaf"] is True and every["/etl/daily/load.py"]["Params"] == "p1"
    assert every["/etl/daily/load.py"]["NodePermission"] == "CAN_MANAGE"
    # Below a path, folders only, a keyword.
    assert [n["Path"] for n in tree(api, project, "/etl")] == ["/etl/daily"]
    assert "/etl/daily/load.py" not in paths(tree(api, project, OnlyFolderNode=True))
    hits = paths(tree(api, project, Keyword="LOAD"))
    assert "/etl/daily/load.py" in hits and "/notes.md" not in hits
    assert api.data("GetCodeFolder", {"ProjectId": project, "FolderId": etl})["Path"] == "/etl"
    # IncludeContent false (the default) leaves the content out.
    assert get(api, project, made["CodeFileId"], content=False)["CodeFileContent"] is None
    assert get(api, project, made["CodeFileId"])["CodeFileContent"] == "print('hi')"
    # Renaming a folder carries what is below it.
    api.data("UpdateCodeFolder", {"ProjectId": project, "FolderId": etl, "FolderName": "pipelines"})
    assert get(api, project, made["CodeFileId"])["Path"] == "/pipelines/daily/load.py"
    assert "/etl" not in paths(tree(api, project))


def test_versions_are_recorded_on_submit(api: Api) -> None:
    project = new_project(api)
    made = new_file(api, project, "job.py", "/", "v = 1")
    fid = made["CodeFileId"]
    saved = api.data("UpdateCodeFile", {"ProjectId": project, "CodeFileId": fid, "CodeFileContent": "v = 2"})
    assert saved["CodeFileContent"] == "v = 2" and saved["VersionId"] is None
    first = api.data("UpdateCodeFile", {"ProjectId": project, "CodeFileId": fid, "SubmitAction": True})
    assert first["VersionId"] and first["CodeFileContent"] == "v = 2"
    second = api.data("UpdateCodeFile", {"ProjectId": project, "CodeFileId": fid, "CodeFileContent": "v = 3",
                                         "SubmitAction": True})
    assert second["VersionId"] not in (None, first["VersionId"])
    # A save without submit keeps the last version id.
    third = api.data("UpdateCodeFile", {"ProjectId": project, "CodeFileId": fid, "CodeFileContent": "v = 4"})
    assert third["VersionId"] == second["VersionId"] and get(api, project, fid)["CodeFileContent"] == "v = 4"


def test_a_private_file_is_its_owners_alone(team: dict[str, Any]) -> None:
    project, alice, bob, pm = team["project"], team["alice"], team["bob"], team["pm"]
    name = unique("mine") + ".py"
    folder(alice, project, "drafts", "/~")
    made = new_file(alice, project, name, "/~/drafts", "secret = 1")
    assert made["AccessScope"] == "PRIVATE" and made["Path"] == f"/~/drafts/{name}"
    mine = paths(tree(alice, project))
    assert f"/~/drafts/{name}" in mine and mine["/~"]["AccessScope"] == "PRIVATE"
    assert f"/~/drafts/{name}" in paths(tree(alice, project, "/~"))
    for other in (bob, pm):  # a project manager included: private means private
        assert f"/~/drafts/{name}" not in paths(tree(other, project))
        for action in ("GetCodeFile", "DeleteCodeFile"):
            assert other.error(action, {"ProjectId": project, "CodeFileId": made["CodeFileId"]}).code == \
                "ResourceNotFound"
        err = other.error("UpdateCodeFile", {"ProjectId": project, "CodeFileId": made["CodeFileId"],
                                             "CodeFileContent": "stolen"})
        assert err.code == "ResourceNotFound"
    assert bob.error("CreateCodeFile", {"ProjectId": project, "CodeFileName": "x.py",
                                        "ParentFolderPath": "/~/drafts"}).code == "ResourceNotFound"
    # The same path is free in Bob's own private tree, and both stay apart.
    folder(bob, project, "drafts", "/~")
    other = new_file(bob, project, name, "/~/drafts", "mine = 2")
    assert other["CodeFileId"] != made["CodeFileId"]
    assert get(alice, project, made["CodeFileId"])["CodeFileContent"] == "secret = 1"
    assert alice.data("GetCodeFolder", {"ProjectId": project, "FolderId": "~"})["OwnerUin"] == uin(alice)


def test_notebooks_must_be_real_notebooks(api: Api) -> None:
    project = new_project(api)
    empty = new_file(api, project, "empty.ipynb")
    assert empty["CodeFileContent"] == ""
    made = new_file(api, project, "nb.ipynb", "/", NOTEBOOK)
    assert json.loads(made["CodeFileContent"])["cells"][0]["source"] == "print(6 * 7)"
    broken = {"cells": [{"cell_type": "code", "source": "x"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    for bad in ("print(1)", json.dumps(broken), json.dumps({"nbformat": 99})):
        err = api.error("CreateCodeFile", {"ProjectId": project, "CodeFileName": unique("bad") + ".ipynb",
                                           "ParentFolderPath": "/", "CodeFileContent": bad})
        assert err.code == "InvalidParameterValue" and "CodeFileContent" in err.message
        err = api.error("UpdateCodeFile", {"ProjectId": project, "CodeFileId": made["CodeFileId"],
                                           "CodeFileContent": bad, "SubmitAction": True})
        assert err.code == "InvalidParameterValue" and "CodeFileContent" in err.message
    after = get(api, project, made["CodeFileId"])
    assert after["CodeFileContent"] == made["CodeFileContent"] and after["VersionId"] is None
    assert sorted(paths(tree(api, project))) == ["/empty.ipynb", "/nb.ipynb", "/~"]


def test_bad_names_paths_and_sizes_change_nothing(api: Api) -> None:
    project = new_project(api)
    folder(api, project, "f")
    made = new_file(api, project, "a.py", "/f", "x = 1")
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        ("CreateCodeFile", {"CodeFileName": "..", "ParentFolderPath": "/f"}, "InvalidParameterValue", "CodeFileName"),
        ("CreateCodeFile", {"CodeFileName": "../../etc/passwd", "ParentFolderPath": "/f"}, "InvalidParameterValue",
         "CodeFileName"),
        ("CreateCodeFile", {"CodeFileName": "/etc/passwd", "ParentFolderPath": "/"}, "InvalidParameterValue",
         "CodeFileName"),
        ("CreateCodeFile", {"CodeFileName": "b.py", "ParentFolderPath": "/f/../.."}, "InvalidParameterValue",
         "ParentFolderPath"),
        ("CreateCodeFile", {"CodeFileName": "b.py", "ParentFolderPath": "f"}, "InvalidParameterValue",
         "ParentFolderPath"),
        ("CreateCodeFile", {"CodeFileName": "b.py", "ParentFolderPath": "/nope"}, "ResourceNotFound", "/nope"),
        ("CreateCodeFile", {"CodeFileName": "a.py", "ParentFolderPath": "/f"}, "InvalidParameter.DuplicateName",
         "/f/a.py"),
        ("CreateCodeFolder", {"FolderName": "a.py", "ParentFolderPath": "/f"}, "InvalidParameter.DuplicateName",
         "/f/a.py"),
        ("CreateCodeFolder", {"FolderName": "~", "ParentFolderPath": "/"}, "InvalidParameterValue", "FolderName"),
        ("CreateCodeFolder", {"FolderName": "x\ty", "ParentFolderPath": "/"}, "InvalidParameterValue", "FolderName"),
        ("CreateCodeFile", {"CodeFileName": "big.py", "ParentFolderPath": "/f",
                            "CodeFileContent": "#" * (MAX_BYTES + 1)}, "InvalidParameterValue", "CodeFileContent"),
        ("UpdateCodeFile", {"CodeFileId": made["CodeFileId"], "CodeFileContent": "#" * (MAX_BYTES + 1),
                            "SubmitAction": True}, "InvalidParameterValue", "CodeFileContent"),
        ("GetCodeFile", {"CodeFileId": "no-such-file"}, "ResourceNotFound", "no-such-file"),
        ("UpdateCodeFolder", {"FolderId": "no-such-folder", "FolderName": "g"}, "ResourceNotFound", "no-such-folder"),
        ("DeleteCodeFolder", {"FolderId": "~"}, "InvalidParameterValue", "FolderId"),
    ]
    for action, body, code, needle in cases:
        err = api.error(action, {"ProjectId": project, **body})
        assert err.code == code, (action, body, err)
        assert needle in err.message, (action, err.message)
    # A folder id is not a file id and the other way round.
    fid = paths(tree(api, project))["/f"]["Id"]
    assert api.error("GetCodeFile", {"ProjectId": project, "CodeFileId": fid}).code == "ResourceNotFound"
    assert api.error("GetCodeFolder", {"ProjectId": project, "FolderId": made["CodeFileId"]}).code == \
        "ResourceNotFound"
    # A non-empty folder is not deleted; renaming onto a taken name is refused.
    err = api.error("DeleteCodeFolder", {"ProjectId": project, "FolderId": fid})
    assert err.code == "FailedOperation" and "not empty" in err.message
    folder(api, project, "g")
    assert api.error("UpdateCodeFolder", {"ProjectId": project, "FolderId": fid, "FolderName": "g"}).code == \
        "InvalidParameter.DuplicateName"
    assert sorted(paths(tree(api, project))) == ["/f", "/f/a.py", "/g", "/~"]
    assert get(api, project, made["CodeFileId"])["CodeFileContent"] == "x = 1"
    # Emptied, it goes.
    api.data("DeleteCodeFile", {"ProjectId": project, "CodeFileId": made["CodeFileId"]})
    assert api.data("DeleteCodeFolder", {"ProjectId": project, "FolderId": fid})["Status"] is True
    assert sorted(paths(tree(api, project))) == ["/g", "/~"]


def test_strangers_get_nothing(team: dict[str, Any]) -> None:
    project, alice, stranger = team["project"], team["alice"], team["stranger"]
    made = new_file(alice, project, unique("s") + ".py", "/", "1")
    for action, body in (("ListCodeFolderContents", {"ParentFolderPath": "/"}),
                         ("GetCodeFile", {"CodeFileId": made["CodeFileId"]}),
                         ("CreateCodeFolder", {"FolderName": "x", "ParentFolderPath": "/"})):
        err = stranger.error(action, {"ProjectId": project, **body})
        assert err.code.startswith("UnauthorizedOperation"), (action, err)
