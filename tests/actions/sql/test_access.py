"""Who sees and changes what: the shared tree (every member), private trees (their owner only),
the rights to rename, move and delete, and who sees and stops runs; through the SDK with
several users of one project."""

from __future__ import annotations

from typing import Any

import pytest

from tests.actions.sql.conftest import Db, b64, create_source, new_project, run, wait_status
from tests.support import Api, ServerProcess, unique

PM = "308335260274237440"  # ProjectManager
DE = "308335260676890624"  # DataEngineer


def uin(user: Api) -> str:
    return str(user.uin)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def team(api: Api, server: ServerProcess, postgres: Db) -> dict[str, Any]:
    project = new_project(api)
    people = {who: server.new_user() for who in ("alice", "bob", "pm", "stranger")}
    for who, role in (("alice", DE), ("bob", DE), ("pm", PM)):
        api.call("CreateProjectMember", {"ProjectId": project, "UserUins": [uin(people[who])], "RoleIds": [role]})
    return {"project": project, "source": create_source(api, project, postgres), **people}


def names(user: Api, project: str, parent: str = "/", **extra: Any) -> set[str]:
    def walk(nodes: list[dict[str, Any]]) -> set[str]:
        out: set[str] = set()
        for n in nodes:
            out.add(f"{n['AccessScope']}:{n['Path']}")
            out |= walk(n["Children"] or [])
        return out
    return walk(user.data("ListSQLFolderContents", {"ProjectId": project, "ParentFolderPath": parent, **extra}))


def new_script(user: Api, project: str, name: str, scope: str, parent: str = "", **extra: Any) -> str:
    return str(user.data("CreateSQLScript", {"ProjectId": project, "ScriptName": name, "ParentFolderPath": parent,
                                             "ScriptContent": b64("select 1"), "AccessScope": scope, **extra}
                         )["ScriptId"])


def test_a_private_script_is_its_owners_alone(team: dict[str, Any]) -> None:
    project, alice, bob, pm = team["project"], team["alice"], team["bob"], team["pm"]
    name = unique("mine")
    sid = new_script(alice, project, name, "PRIVATE")
    assert f"PRIVATE:/{name}" in names(alice, project)
    assert f"PRIVATE:/{name}" in names(alice, project, AccessScope="PRIVATE")
    assert f"PRIVATE:/{name}" not in names(alice, project, AccessScope="SHARED")
    for other in (bob, pm):  # a project manager included: private means private
        assert not any(name in n for n in names(other, project))
        for action in ("GetSQLScript", "DeleteSQLScript"):
            assert other.error(action, {"ProjectId": project, "ScriptId": sid}).code == "ResourceNotFound"
        assert other.error("UpdateSQLScript", {"ProjectId": project, "ScriptId": sid,
                                               "ScriptContent": b64("drop table x")}).code == "ResourceNotFound"
    # The name is free in Bob's own tree, and both stay apart.
    bob_sid = new_script(bob, project, name, "PRIVATE")
    assert bob_sid != sid and f"PRIVATE:/{name}" in names(bob, project)
    got = alice.data("GetSQLScript", {"ProjectId": project, "ScriptId": sid})
    assert got["OwnerUin"] == uin(alice) and got["ScriptContent"] == b64("select 1")


def test_a_shared_script_is_edited_by_members_and_removed_by_its_owner_or_an_administrator(
    team: dict[str, Any]
) -> None:
    project, alice, bob, pm = team["project"], team["alice"], team["bob"], team["pm"]
    name = unique("shared")
    sid = new_script(alice, project, name, "SHARED")
    assert f"SHARED:/{name}" in names(bob, project)
    listed = [n for n in bob.data("ListSQLFolderContents", {"ProjectId": project, "ParentFolderPath": "/",
                                                            "Keyword": name})]
    assert listed[0]["NodePermission"] == "CAN_EDIT"
    edited = bob.data("UpdateSQLScript", {"ProjectId": project, "ScriptId": sid, "ScriptContent": b64("select 2")})
    assert edited["UpdateUserUin"] == uin(bob) and edited["OwnerUin"] == uin(alice)
    err = bob.error("DeleteSQLScript", {"ProjectId": project, "ScriptId": sid})
    assert err.code == "UnauthorizedOperation" and uin(alice) in err.message
    assert alice.data("GetSQLScript", {"ProjectId": project, "ScriptId": sid})["ScriptContent"] == b64("select 2")
    assert pm.data("DeleteSQLScript", {"ProjectId": project, "ScriptId": sid})["Status"] is True
    assert alice.error("GetSQLScript", {"ProjectId": project, "ScriptId": sid}).code == "ResourceNotFound"


def test_only_the_owner_or_an_administrator_renames_a_shared_folder(team: dict[str, Any]) -> None:
    project, alice, bob = team["project"], team["alice"], team["bob"]
    name = unique("f")
    fid = alice.data("CreateSQLFolder", {"ProjectId": project, "FolderName": name, "ParentFolderPath": "/"})["FolderId"]
    err = bob.error("UpdateSQLFolder", {"ProjectId": project, "FolderId": fid, "FolderName": "taken_over"})
    assert err.code == "UnauthorizedOperation"
    assert bob.error("DeleteSQLFolder", {"ProjectId": project, "FolderId": fid}).code == "UnauthorizedOperation"
    assert alice.data("GetSQLFolder", {"ProjectId": project, "FolderId": fid})["Name"] == name
    # Members create inside a shared folder.
    new_script(bob, project, "inside", "SHARED", f"/{name}")
    assert f"SHARED:/{name}/inside" in names(alice, project)


def test_moving_a_folder_between_the_trees(team: dict[str, Any]) -> None:
    project, alice, bob = team["project"], team["alice"], team["bob"]
    name = unique("move")
    fid = alice.data("CreateSQLFolder", {"ProjectId": project, "FolderName": name, "ParentFolderPath": "/"})["FolderId"]
    new_script(alice, project, "a", "SHARED", f"/{name}")
    bobs = new_script(bob, project, "b", "SHARED", f"/{name}")
    err = alice.error("UpdateSQLFolder", {"ProjectId": project, "FolderId": fid, "FolderName": name,
                                          "AccessScope": "PRIVATE"})
    assert err.code == "FailedOperation" and "other users" in err.message
    assert f"SHARED:/{name}/b" in names(bob, project)
    bob.data("DeleteSQLScript", {"ProjectId": project, "ScriptId": bobs})
    alice.data("UpdateSQLFolder", {"ProjectId": project, "FolderId": fid, "FolderName": name, "AccessScope": "PRIVATE"})
    assert {f"PRIVATE:/{name}", f"PRIVATE:/{name}/a"} <= names(alice, project)
    assert not any(name in n for n in names(bob, project))
    alice.data("UpdateSQLFolder", {"ProjectId": project, "FolderId": fid, "FolderName": name, "AccessScope": "SHARED"})
    assert {f"SHARED:/{name}", f"SHARED:/{name}/a"} <= names(bob, project)


def test_a_stranger_gets_nothing(team: dict[str, Any]) -> None:
    project, stranger = team["project"], team["stranger"]
    for action, body in (("ListSQLFolderContents", {"ParentFolderPath": "/"}),
                         ("CreateSQLScript", {"ScriptName": "x"}),
                         ("RunSQLScript", {"ScriptContent": "select 1", "ScriptConfig": {"DatasourceId": "1"}}),
                         ("GetSQLRunResult", {"JobId": "1"})):
        assert stranger.error(action, {"ProjectId": project, **body}).code == "UnauthorizedOperation.UserNotInProject"


def test_who_sees_and_stops_runs(team: dict[str, Any]) -> None:
    project, alice, bob, pm, source = team["project"], team["alice"], team["bob"], team["pm"], team["source"]
    adhoc = run(alice, project, "select 1", source)["JobId"]
    assert wait_status(alice, project, adhoc)["Status"] == "SUCCESS"
    for action in ("GetSQLRunResult", "StopSQLScriptRun"):
        assert bob.error(action, {"ProjectId": project, "JobId": adhoc}).code == "ResourceNotFound"
    sid = new_script(alice, project, unique("s"), "SHARED", ScriptConfig={"DatasourceId": str(source)})
    job = alice.data("RunSQLScript", {"ProjectId": project, "ScriptId": sid})["JobId"]
    assert wait_status(bob, project, job)["Status"] == "SUCCESS"  # Bob sees a shared script's runs
    assert [j["JobId"] for j in bob.data("ListSQLScriptRuns", {"ProjectId": project, "ScriptId": sid})] == [job]
    err = bob.error("StopSQLScriptRun", {"ProjectId": project, "JobId": job})
    assert err.code == "UnauthorizedOperation"
    err = pm.error("StopSQLScriptRun", {"ProjectId": project, "JobId": job})
    assert err.code == "InvalidParameter.InvalidJobState" and "SUCCESS" in err.message
