"""SQL folders and scripts through the official SDK: create, read, update, rename, move, delete,
the tree listing, and bad input (the code, and that nothing changed). No SQL runs here."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.actions.sql.conftest import Db, b64, create_source, new_project, unb64
from tests.support import ADMIN_UIN, Api, unique

TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


@pytest.fixture(scope="module")
def project(api: Api) -> str:
    return new_project(api)


def folder(api: Api, project: str, name: str, parent: str = "/", **extra: Any) -> str:
    data = api.data("CreateSQLFolder", {"ProjectId": project, "FolderName": name, "ParentFolderPath": parent, **extra})
    return str(data["FolderId"])


def script(api: Api, project: str, name: str, parent: str = "", sql: str = "select 1", **extra: Any) -> dict[str, Any]:
    body = {"ProjectId": project, "ScriptName": name, "ParentFolderPath": parent, "ScriptContent": b64(sql), **extra}
    data: dict[str, Any] = api.data("CreateSQLScript", body)
    return data


def contents(api: Api, project: str, parent: str = "/", **extra: Any) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = api.data("ListSQLFolderContents",
                                          {"ProjectId": project, "ParentFolderPath": parent, **extra})
    return data


def paths(nodes: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for n in nodes:
        out.append(n["Path"])
        out.extend(paths(n["Children"] or []))
    return out


def test_a_script_round_trips_with_every_field(api: Api, project: str, postgres: Db) -> None:
    source = create_source(api, project, postgres)
    name = unique("s")
    config = {"DatasourceId": str(source), "DatasourceEnv": "PROD", "ComputeResource": "warehouse01",
              "Params": '{"dt":"20250101"}', "AdvanceConfig": b64('{"k":"v"}')}
    created = script(api, project, name, "", "select 1;\nselect 'é';", ScriptConfig=config, AccessScope="SHARED")
    assert set(created) == {"ScriptId", "ScriptName", "OwnerUin", "ParentFolderPath", "ScriptConfig",
                            "ScriptContent", "UpdateUserUin", "ProjectId", "UpdateTime", "CreateTime",
                            "AccessScope", "Path"}
    assert created["ScriptName"] == name and created["Path"] == f"/{name}" and created["ParentFolderPath"] == ""
    assert created["OwnerUin"] == ADMIN_UIN == created["UpdateUserUin"] and created["ProjectId"] == project
    assert created["AccessScope"] == "SHARED" and TIME.match(created["CreateTime"])
    assert unb64(created["ScriptContent"]) == "select 1;\nselect 'é';"
    assert created["ScriptConfig"] == {**config, "ExecutorGroupId": None}
    got = api.data("GetSQLScript", {"ProjectId": project, "ScriptId": created["ScriptId"]})
    assert got == created


def test_update_saves_content_and_config_and_nothing_else(api: Api, project: str) -> None:
    created = script(api, project, unique("s"), sql="select 1")
    updated = api.data("UpdateSQLScript", {"ProjectId": project, "ScriptId": created["ScriptId"],
                                           "ScriptContent": b64("select 2")})
    assert unb64(updated["ScriptContent"]) == "select 2" and updated["ScriptName"] == created["ScriptName"]
    assert updated["ScriptConfig"] == created["ScriptConfig"] and updated["Path"] == created["Path"]
    again = api.data("UpdateSQLScript", {"ProjectId": project, "ScriptId": created["ScriptId"],
                                         "ScriptConfig": {"DatasourceEnv": "DEV"}})
    assert again["ScriptConfig"]["DatasourceEnv"] == "DEV" and unb64(again["ScriptContent"]) == "select 2"


def test_folders_nest_and_list_as_a_tree(api: Api, project: str) -> None:
    top = unique("f")
    fid = folder(api, project, top)
    sub = folder(api, project, "sub", f"/{top}")
    s1 = script(api, project, "b_script", f"/{top}")
    s2 = script(api, project, "a_script", f"/{top}/sub")
    got = api.data("GetSQLFolder", {"ProjectId": project, "FolderId": fid})
    assert (got["Id"], got["Name"], got["Type"], got["Path"], got["ParentFolderPath"]) == (
        fid, top, "folder", f"/{top}", "")
    assert got["AccessScope"] == "SHARED" and got["OwnerUin"] == ADMIN_UIN == got["CreateUserUin"]
    assert got["NodePermission"] == "CAN_MANAGE" and got["IsLeaf"] is False
    listed = contents(api, project, f"/{top}")
    # Folders first, then scripts; each folder with its own content.
    assert [n["Name"] for n in listed] == ["sub", "b_script"]
    assert listed[0]["Id"] == sub and listed[0]["IsLeaf"] is False and listed[0]["Type"] == "folder"
    assert [c["Id"] for c in listed[0]["Children"]] == [s2["ScriptId"]]
    leaf = listed[1]
    assert leaf["Id"] == s1["ScriptId"] and leaf["Type"] == "script" and leaf["IsLeaf"] is True
    assert leaf["Children"] is None and leaf["ParentFolderPath"] == f"/{top}"
    root = contents(api, project, "/")
    assert f"/{top}/sub/a_script" in paths(root)
    assert paths(contents(api, project, f"/{top}", OnlyFolderNode=True)) == [f"/{top}/sub"]
    assert paths(contents(api, project, f"/{top}", Keyword="A_SCR")) == [f"/{top}/sub", f"/{top}/sub/a_script"]


def test_rename_and_delete_a_folder(api: Api, project: str) -> None:
    top = unique("f")
    fid = folder(api, project, top)
    folder(api, project, "inner", f"/{top}")
    s = script(api, project, "q", f"/{top}/inner")
    renamed = unique("g")
    data = api.data("UpdateSQLFolder", {"ProjectId": project, "FolderId": fid, "FolderName": renamed})
    assert data == {"Status": True, "FolderId": fid}
    moved = api.data("GetSQLScript", {"ProjectId": project, "ScriptId": s["ScriptId"]})
    assert moved["Path"] == f"/{renamed}/inner/q" and moved["ParentFolderPath"] == f"/{renamed}/inner"
    err = api.error("DeleteSQLFolder", {"ProjectId": project, "FolderId": fid})
    assert err.code == "FailedOperation" and "not empty" in err.message
    assert api.data("GetSQLFolder", {"ProjectId": project, "FolderId": fid})["Path"] == f"/{renamed}"
    assert api.data("DeleteSQLScript", {"ProjectId": project, "ScriptId": s["ScriptId"]}) == {
        "Status": True, "FolderId": None}
    inner = contents(api, project, f"/{renamed}")[0]["Id"]
    api.data("DeleteSQLFolder", {"ProjectId": project, "FolderId": inner})
    assert api.data("DeleteSQLFolder", {"ProjectId": project, "FolderId": fid})["Status"] is True
    assert api.error("GetSQLFolder", {"ProjectId": project, "FolderId": fid}).code == "ResourceNotFound"
    assert api.error("GetSQLScript", {"ProjectId": project, "ScriptId": s["ScriptId"]}).code == "ResourceNotFound"


def test_a_folder_and_a_script_cannot_share_a_path(api: Api, project: str) -> None:
    name = unique("x")
    folder(api, project, name)
    err = api.error("CreateSQLScript", {"ProjectId": project, "ScriptName": name, "ScriptContent": b64("select 1")})
    assert err.code == "InvalidParameter.DuplicateName" and f"/{name}" in err.message
    assert api.error("CreateSQLFolder", {"ProjectId": project, "FolderName": name, "ParentFolderPath": "/"}
                     ).code == "InvalidParameter.DuplicateName"
    assert paths(contents(api, project, "/", Keyword=name)) == [f"/{name}"]


@pytest.mark.parametrize(("action", "body", "code", "field"), [
    ("CreateSQLScript", {"ScriptName": "a/b"}, "InvalidParameterValue", "ScriptName"),
    ("CreateSQLScript", {"ScriptName": " "}, "InvalidParameterValue", "ScriptName"),
    ("CreateSQLScript", {"ScriptName": "ok", "ScriptContent": "select 1"}, "InvalidParameterValue", "ScriptContent"),
    ("CreateSQLScript", {"ScriptName": "ok", "ParentFolderPath": "/nope"}, "ResourceNotFound", "/nope"),
    ("CreateSQLScript", {"ScriptName": "ok", "ParentFolderPath": "x//y"}, "InvalidParameterValue", "ParentFolderPath"),
    ("CreateSQLScript", {"ScriptName": "ok", "AccessScope": "PUBLIC"}, "InvalidParameterValue", "AccessScope"),
    ("CreateSQLScript", {"ScriptName": "ok", "ScriptConfig": {"DatasourceId": "abc"}}, "InvalidParameterValue",
     "ScriptConfig.DatasourceId"),
    ("CreateSQLScript", {"ScriptName": "ok", "ScriptConfig": {"DatasourceId": "987654321"}}, "ResourceNotFound",
     "987654321"),
    ("CreateSQLScript", {"ScriptName": "ok", "ScriptConfig": {"ExecutorGroupId": "20990101000000000000"}},
     "ResourceNotFound", "ExecutorGroupId"),
    ("CreateSQLScript", {"ScriptName": "ok", "ScriptConfig": {"DatasourceEnv": "QA"}}, "InvalidParameterValue",
     "DatasourceEnv"),
    ("CreateSQLScript", {"ScriptName": "ok", "ScriptConfig": {"Params": "[1]"}}, "InvalidParameterValue",
     "ScriptConfig.Params"),
    ("CreateSQLFolder", {"FolderName": "..", "ParentFolderPath": "/"}, "InvalidParameterValue", "FolderName"),
    ("CreateSQLFolder", {"FolderName": "ok", "ParentFolderPath": "/missing"}, "ResourceNotFound", "/missing"),
    ("CreateSQLFolder", {"FolderName": "x" * 129, "ParentFolderPath": "/"}, "InvalidParameterValue", "FolderName"),
])
def test_bad_input_is_refused_and_nothing_is_created(api: Api, project: str, action: str, body: dict[str, Any],
                                                     code: str, field: str) -> None:
    before = paths(contents(api, project))
    err = api.error(action, {"ProjectId": project, **body})
    assert err.code == code and field in err.message, err
    assert paths(contents(api, project)) == before


def test_bad_updates_change_nothing(api: Api, project: str) -> None:
    s = script(api, project, unique("s"), sql="select 42")
    for body, code in (({"ScriptContent": "not base64!"}, "InvalidParameterValue"),
                       ({"ScriptConfig": {"DatasourceId": "0"}}, "InvalidParameterValue"),
                       ({"ScriptConfig": {"DatasourceId": "123456789"}}, "ResourceNotFound")):
        err = api.error("UpdateSQLScript", {"ProjectId": project, "ScriptId": s["ScriptId"], **body})
        assert err.code == code
    assert api.data("GetSQLScript", {"ProjectId": project, "ScriptId": s["ScriptId"]}) == s
    f1, f2 = unique("f"), unique("f")
    fid = folder(api, project, f1)
    folder(api, project, f2)
    for body, code in (({"FolderName": f2}, "InvalidParameter.DuplicateName"),
                       ({"FolderName": "a/b"}, "InvalidParameterValue"),
                       ({"FolderName": f1, "AccessScope": "ALL"}, "InvalidParameterValue")):
        err = api.error("UpdateSQLFolder", {"ProjectId": project, "FolderId": fid, **body})
        assert err.code == code
    assert api.data("GetSQLFolder", {"ProjectId": project, "FolderId": fid})["Path"] == f"/{f1}"
    assert api.error("UpdateSQLFolder", {"ProjectId": project, "FolderId": "nope", "FolderName": "z"}
                     ).code == "ResourceNotFound"


def test_a_script_over_the_size_limit_is_refused_naming_the_field(api: Api, project: str) -> None:
    name = unique("big")
    big = "select 1;\n" * (1024 * 1024 // 10 + 10)  # just over the default 1 MiB
    err = api.error("CreateSQLScript", {"ProjectId": project, "ScriptName": name, "ScriptContent": b64(big)})
    assert err.code == "InvalidParameterValue" and "ScriptContent" in err.message and "1048576" in err.message
    assert paths(contents(api, project, Keyword=name)) == []


def test_a_source_the_project_may_not_use_is_refused_naming_it(api: Api, project: str, postgres: Db) -> None:
    other = new_project(api)
    source = create_source(api, other, postgres)
    name = unique("s")
    err = api.error("CreateSQLScript", {"ProjectId": project, "ScriptName": name, "ScriptContent": b64("select 1"),
                                        "ScriptConfig": {"DatasourceId": str(source)}})
    assert err.code == "UnauthorizedOperation" and f"data source {source}" in err.message
    assert paths(contents(api, project, Keyword=name)) == []
    api.data("AuthorizeDataSource", {"DataSourceId": source, "AuthProjectId": project})
    assert script(api, project, name, ScriptConfig={"DatasourceId": str(source)})["ScriptConfig"]["DatasourceId"] == \
        str(source)
