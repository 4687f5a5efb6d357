"""Code permissions through the SDK: the project-wide base by role, grants on folders that
inherit downwards, the maximum over the folder chain, enforcement in the code actions, the
permission list, and grants that are refused whole."""

from __future__ import annotations

from typing import Any

from tests.actions.code.conftest import DE, folder, new_file, paths, tree, uin
from tests.support import Api, unique


def res(kind: str, rid: str) -> dict[str, str]:
    return {"ResourceType": kind, "ResourceId": rid}


def grant(by: Api, project: str, kind: str, rid: str, subject: str, values: list[str],
          privileges: list[str]) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = by.data("CreateCodePermissions", {"ProjectId": project, "AuthorizePermissionObjects": [
        {"Resource": res(kind, rid), "AuthorizeSubjects": [{"SubjectType": subject, "SubjectValues": values,
                                                            "Privileges": privileges}]}]})
    return data


def level(user: Api, project: str, rid: str) -> str:
    return str(user.data("GetMyCodeMaxPermission", {"ProjectId": project, "ResourceId": rid})["PermissionType"])


def rows(user: Api, project: str, kind: str, rid: str, **extra: Any) -> list[dict[str, Any]]:
    data = user.data("ListCodePermissions", {"ProjectId": project, "PageNumber": 1, "PageSize": 100,
                                             "Resource": res(kind, rid), **extra})
    assert data["TotalCount"] == len(data["Rows"])
    return list(data["Rows"])


def test_grants_on_folders_inherit_downwards(team: dict[str, Any]) -> None:
    project, alice, bob, pm, visitor = (team[k] for k in ("project", "alice", "bob", "pm", "visitor"))
    top = unique("team")
    top_id = folder(alice, project, top)
    sub_id = folder(alice, project, "sub", f"/{top}")
    made = new_file(alice, project, "job.py", f"/{top}/sub", "x = 1")
    fid = made["CodeFileId"]
    # The base: the owner and administrators manage, a DataEngineer edits, a Visitor reads.
    assert [level(u, project, fid) for u in (alice, pm, bob, visitor)] == \
        ["CAN_MANAGE", "CAN_MANAGE", "CAN_EDIT", "CAN_VIEW"]
    assert visitor.data("GetCodeFile", {"ProjectId": project, "CodeFileId": fid, "IncludeContent": True})[
        "CodeFileContent"] == "x = 1"
    err = visitor.error("UpdateCodeFile", {"ProjectId": project, "CodeFileId": fid, "CodeFileContent": "x = 2"})
    assert err.code == "UnauthorizedOperation" and "CAN_EDIT" in err.message
    assert visitor.error("CreateCodeFile", {"ProjectId": project, "CodeFileName": "v.py",
                                            "ParentFolderPath": f"/{top}"}).code == "UnauthorizedOperation"
    err = bob.error("DeleteCodeFile", {"ProjectId": project, "CodeFileId": fid})
    assert err.code == "UnauthorizedOperation" and "CAN_MANAGE" in err.message
    # A grant on the top folder reaches the file two levels down, and shows in the tree.
    result = grant(alice, project, "folder", top_id, "user", [uin(visitor)], ["CAN_EDIT"])
    assert result == [{"Item": top_id, "Result": True, "Reason": "Authorization successful"}]
    assert level(visitor, project, fid) == "CAN_EDIT" and level(visitor, project, sub_id) == "CAN_EDIT"
    assert paths(tree(visitor, project))[f"/{top}/sub/job.py"]["NodePermission"] == "CAN_EDIT"
    saved = visitor.data("UpdateCodeFile", {"ProjectId": project, "CodeFileId": fid, "CodeFileContent": "x = 2"})
    assert saved["UpdateUserUin"] == uin(visitor)
    new_file(visitor, project, "v.py", f"/{top}", "v = 1")
    assert visitor.error("DeleteCodeFile", {"ProjectId": project, "CodeFileId": fid}).code == "UnauthorizedOperation"
    # The maximum over the chain: CAN_VIEW on the sub folder does not lower CAN_EDIT from above;
    # CAN_MANAGE to a role on the sub folder lets Bob (a DataEngineer) delete below it only.
    grant(alice, project, "folder", sub_id, "user", [uin(visitor)], ["CAN_VIEW"])
    assert level(visitor, project, fid) == "CAN_EDIT"
    grant(alice, project, "folder", sub_id, "role", [DE], ["CAN_MANAGE"])
    assert level(bob, project, fid) == "CAN_MANAGE" and level(bob, project, top_id) == "CAN_EDIT"
    # Who may act on the file: the ProjectManager role and the owner, then the grants where they are.
    listed = rows(bob, project, "script", fid)
    assert [(r["RoleType"], r["RoleId"], r["Privileges"], r["DeleteAble"]) for r in listed[:2]] == \
        [("role", "308335260274237440", ["CAN_MANAGE"], False), ("user", uin(alice), ["CAN_MANAGE"], False)]
    inherited = {(r["RoleType"], r["RoleId"], r["Resource"]["ResourceId"]): r for r in listed[2:]}
    assert inherited[("role", DE, sub_id)]["Privileges"] == ["CAN_MANAGE"]
    assert inherited[("user", uin(visitor), top_id)]["Privileges"] == ["CAN_EDIT"]
    assert not any(r["DeleteAble"] for r in inherited.values())
    assert [r["DeleteAble"] for r in rows(alice, project, "folder", top_id, Users=[uin(visitor)])] == [True]
    # Revoked, the visitor is back to reading.
    revoked = alice.data("DeleteCodePermissions", {"ProjectId": project, "RecyclePolicySet": [
        {"Resource": res("folder", top_id), "RecycleSubjects": [{"SubjectType": "user", "SubjectValues": [uin(visitor)],
                                                                  "Privileges": ["CAN_EDIT"]}]}]})
    assert revoked == [{"Item": top_id, "Result": True, "Reason": "Revoked 1 grant(s)"}]
    assert level(visitor, project, fid) == "CAN_VIEW"
    assert visitor.error("UpdateCodeFile", {"ProjectId": project, "CodeFileId": fid,
                                            "CodeFileContent": "x = 3"}).code == "UnauthorizedOperation"
    assert bob.data("DeleteCodeFile", {"ProjectId": project, "CodeFileId": fid})["Status"] is True


def test_bad_grants_are_refused_whole(team: dict[str, Any]) -> None:
    project, alice, bob, stranger = team["project"], team["alice"], team["bob"], team["stranger"]
    fid = new_file(alice, project, unique("g") + ".py", "/", "1")["CodeFileId"]
    folder_id = folder(alice, project, unique("gf"))
    private = new_file(alice, project, unique("p") + ".py", "/~", "1")["CodeFileId"]
    good = {"Resource": res("script", fid), "AuthorizeSubjects": [
        {"SubjectType": "user", "SubjectValues": [uin(bob)], "Privileges": ["CAN_MANAGE"]}]}

    def bad(obj: dict[str, Any]) -> Any:
        return alice.error("CreateCodePermissions", {"ProjectId": project, "AuthorizePermissionObjects": [good, obj]})

    subject = {"SubjectType": "user", "SubjectValues": [uin(bob)], "Privileges": ["CAN_RUN"]}
    cases = [
        ({"Resource": res("script", fid), "AuthorizeSubjects": [{**subject, "SubjectValues": [uin(stranger)]}]},
         "InvalidParameterValue", "AuthorizePermissionObjects[1].AuthorizeSubjects[0].SubjectValues[0]"),
        ({"Resource": res("script", fid), "AuthorizeSubjects": [{**subject, "SubjectType": "role",
                                                                  "SubjectValues": ["42"]}]},
         "InvalidParameterValue", "unknown project role"),
        ({"Resource": res("script", fid), "AuthorizeSubjects": [{**subject, "Privileges": ["CAN_OWN"]}]},
         "InvalidParameterValue", "Privileges[0]"),
        ({"Resource": res("script", fid), "AuthorizeSubjects": [{**subject, "SubjectType": "group"}]},
         "InvalidParameterValue", "SubjectType"),
        ({"Resource": res("script", fid), "AuthorizeSubjects": []}, "InvalidParameterValue", "AuthorizeSubjects"),
        ({"Resource": res("folder", fid), "AuthorizeSubjects": [subject]}, "InvalidParameterValue", "ResourceType"),
        ({"Resource": res("script", "no-such-id"), "AuthorizeSubjects": [subject]}, "ResourceNotFound", "no-such-id"),
        ({"Resource": res("script", private), "AuthorizeSubjects": [subject]}, "InvalidParameterValue", "private"),
    ]
    for obj, code, needle in cases:
        err = bad(obj)
        assert err.code == code and needle in err.message, (obj, err)
    # Nothing of the valid first object was saved.
    assert level(bob, project, fid) == "CAN_EDIT"
    assert len(rows(alice, project, "script", fid)) == 2
    # Granting and revoking take CAN_MANAGE: Bob edits but does not manage Alice's folder.
    err = bob.error("CreateCodePermissions", {"ProjectId": project, "AuthorizePermissionObjects": [
        {"Resource": res("folder", folder_id), "AuthorizeSubjects": [subject]}]})
    assert err.code == "UnauthorizedOperation" and "CAN_MANAGE" in err.message
    err = bob.error("DeleteCodePermissions", {"ProjectId": project, "RecyclePolicySet": [
        {"Resource": res("folder", folder_id), "RecycleSubjects": [subject]}]})
    assert err.code == "UnauthorizedOperation"
    assert alice.error("DeleteCodePermissions", {"ProjectId": project}).code == "InvalidParameterValue"
    assert alice.error("ListCodePermissions", {"ProjectId": project, "PageNumber": 1, "PageSize": 101,
                                               "Resource": res("script", fid)}).code == "InvalidParameterValue"
    assert alice.error("GetMyCodeMaxPermission", {"ProjectId": project, "ResourceId": "nope"}).code == \
        "ResourceNotFound"
    # Another user's private file does not exist for Bob.
    assert bob.error("GetMyCodeMaxPermission", {"ProjectId": project, "ResourceId": private}).code == \
        "ResourceNotFound"
    assert level(alice, project, private) == "CAN_MANAGE"
