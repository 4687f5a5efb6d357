"""Catalog privileges through the official SDK on SQLite and PostgreSQL servers, against the
real PostgreSQL of the machine: a grant decides whether a SQL script may read or write a table
(ungoverned tables follow the project rules), grants on a schema cover its tables, ListPermissions
shows direct and inherited grants, who may grant what, per-item Results, and bad input refused
with nothing written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.actions.datasources.conftest import Db, create_source, new_project
from tests.actions.sql.conftest import run, wait_status
from tests.support import Api, ServerProcess

DE = "308335260676890624"


@dataclass
class Setup:
    project: str
    source: int
    alice: Api
    bob: Api


def uin(user: Api) -> str:
    return str(user.uin)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def setup(api: Api, server: ServerProcess, postgres: Db) -> Setup:
    project = new_project(api)
    source = create_source(api, project, postgres)
    job = run(api, project, "CREATE SCHEMA IF NOT EXISTS sales; CREATE TABLE IF NOT EXISTS sales.orders (id int); "
                            "CREATE TABLE IF NOT EXISTS sales.refunds (id int); CREATE TABLE IF NOT EXISTS notes (id int)",
              source)
    assert wait_status(api, project, job["JobId"])["Status"] == "SUCCESS"
    alice, bob = server.new_user(), server.new_user()
    api.call("CreateProjectMember", {"ProjectId": project, "UserUins": [uin(alice), uin(bob)], "RoleIds": [DE]})
    return Setup(project, source, alice, bob)


def table(s: Setup, name: str) -> dict[str, str]:
    return {"ResourceType": "Table", "ResourceUri": f"{s.source}.sales.{name}"}


def body(resources: list[dict[str, str]], subjects: list[tuple[str, str]], *privileges: str) -> dict[str, Any]:
    return {"Resources": resources, "Subjects": [{"SubjectType": k, "SubjectValues": [v]} for k, v in subjects],
            "Privileges": [{"Name": p} for p in privileges]}


def sql(user: Api, s: Setup, text: str) -> Any:
    """Run a script; the SDK error (its code and message) when refused."""
    try:
        return run(user, s.project, text, s.source)
    except Exception as exc:  # noqa: BLE001 - the caller asserts the code
        return exc


def refused(user: Api, s: Setup, text: str, *words: str) -> None:
    err = sql(user, s, text)
    assert getattr(err, "code", None) == "UnauthorizedOperation", err
    for w in words:
        assert w in str(err.message), err.message


def grants_on(api: Api, resource: dict[str, str]) -> list[tuple[str, str, str, bool]]:
    data = api.data("ListPermissions", {"Resource": resource})
    return sorted((d["SubjectDetails"][0]["SubjectType"], d["SubjectDetails"][0]["SubjectValue"], p["Name"],
                   p["Inherited"]) for d in data["Details"] for p in d["PermissionDetails"])


def test_a_grant_decides_who_reads_and_writes(api: Api, setup: Setup) -> None:
    s = setup
    # Ungoverned: every member who may use the source reads and writes.
    sql(s.bob, s, "SELECT * FROM sales.orders")["JobId"]
    answer = api.data("AuthorizePrivileges", body([table(s, "orders")], [("User", uin(s.alice))], "SELECT_TABLE"))
    assert answer == {"OverallSuccess": True, "Results": [
        {"Resource": table(s, "orders"), "Result": True, "Reason": ""}]}
    # Governed now: alice reads, bob does not; nobody without MODIFY_TABLE writes.
    assert sql(s.alice, s, "SELECT * FROM sales.orders")["JobId"]
    refused(s.bob, s, "SELECT count(*) FROM sales.orders", f"{s.source}.sales.orders", "SELECT_TABLE")
    refused(s.alice, s, "INSERT INTO sales.orders VALUES (1)", "MODIFY_TABLE")
    refused(s.bob, s, "WITH x AS (SELECT id FROM sales.orders) SELECT * FROM x", "SELECT_TABLE")
    # Other tables of the schema, and unqualified names of the default schema, stay ungoverned.
    assert sql(s.bob, s, "SELECT * FROM sales.refunds; SELECT * FROM notes")["JobId"]
    assert sql(api, s, "SELECT * FROM sales.orders")["JobId"]  # a tenant administrator passes

    # A grant on the schema to a project role covers every table in it, for SQL run in that project.
    schema = {"ResourceType": "Schema", "ResourceUri": f"{s.source}.sales"}
    api.call("AuthorizePrivileges", body([schema], [("Role", f"{s.project}.{DE}")], "SELECT_TABLE"))
    assert sql(s.bob, s, "SELECT * FROM sales.orders")["JobId"]
    refused(s.bob, s, "DELETE FROM sales.refunds", "MODIFY_TABLE", "sales.refunds")
    assert grants_on(api, table(s, "orders")) == [
        ("Role", f"{s.project}.{DE}", "SELECT_TABLE", True), ("User", uin(s.alice), "SELECT_TABLE", False)]
    mine = s.alice.data("ListPermissions", {})
    assert [d["Resource"] for d in mine["Details"]] == [table(s, "orders")] and mine["TotalCount"] == 1

    # Revoking the role's grant: bob is refused again.
    revoked = api.data("RevokePrivileges", body([schema], [("Role", f"{s.project}.{DE}")], "SELECT_TABLE"))
    assert revoked["OverallSuccess"] is True
    refused(s.bob, s, "SELECT * FROM sales.orders", "SELECT_TABLE")
    api.call("RevokePrivileges", body([table(s, "orders")], [("User", uin(s.alice))], "SELECT_TABLE"))
    assert grants_on(api, table(s, "orders")) == []
    assert sql(s.bob, s, "INSERT INTO sales.orders VALUES (2)")["JobId"]  # ungoverned again


def test_who_may_grant_and_per_item_results(api: Api, setup: Setup) -> None:
    s = setup
    refunds, orders = table(s, "refunds"), table(s, "orders")
    err = s.alice.error("AuthorizePrivileges", body([refunds], [("User", uin(s.bob))], "SELECT_TABLE"))
    assert err.code == "UnauthorizedOperation" and "MANAGE_GRANTS" in str(err.message)
    assert grants_on(api, refunds) == []
    api.call("AuthorizePrivileges", body([refunds], [("User", uin(s.alice))], "MANAGE_GRANTS", "SELECT_TABLE"))
    # alice grants what she holds, not more.
    s.alice.call("AuthorizePrivileges", body([refunds], [("User", uin(s.bob))], "SELECT_TABLE"))
    err = s.alice.error("AuthorizePrivileges", body([refunds], [("User", uin(s.bob))], "MODIFY_TABLE"))
    assert err.code == "UnauthorizedOperation" and "MODIFY_TABLE" in str(err.message)
    # One resource she manages, one she does not: granted where allowed, reported where not.
    answer = s.alice.data("AuthorizePrivileges", body([refunds, orders], [("Project", s.project)], "SELECT_TABLE"))
    assert answer["OverallSuccess"] is False
    assert [(r["Resource"], r["Result"]) for r in answer["Results"]] == [(refunds, True), (orders, False)]
    assert "MANAGE_GRANTS" in answer["Results"][1]["Reason"]
    assert grants_on(api, orders) == []
    api.call("RevokePrivileges", body([refunds], [("User", uin(s.alice)), ("User", uin(s.bob)),
                                                  ("Project", s.project)], "MANAGE_GRANTS", "SELECT_TABLE"))
    assert grants_on(api, refunds) == []


@pytest.mark.parametrize(("change", "code", "words"), [
    ({"Resources": [{"ResourceType": "Column", "ResourceUri": "x"}]}, "InvalidParameterValue", "ResourceType"),
    ({"Resources": [{"ResourceType": "Table", "ResourceUri": "1.sales"}]}, "InvalidParameterValue", "ResourceUri"),
    ({"Resources": [{"ResourceType": "Table", "ResourceUri": "DataLakeCatalog.main.nope_nothing"}]},
     "ResourceNotFound", "nope_nothing"),
    ({"Resources": [{"ResourceType": "Catalog", "ResourceUri": "999999999"}]}, "ResourceNotFound", "999999999"),
    ({"Subjects": [{"SubjectType": "User", "SubjectValues": ["777777777777"]}]}, "ResourceNotFound", "777777777777"),
    ({"Subjects": [{"SubjectType": "Role", "SubjectValues": ["1.2"]}]}, "ResourceNotFound", "Subjects"),
    ({"Subjects": [{"SubjectType": "Group", "SubjectValues": ["g"]}]}, "InvalidParameterValue", "SubjectType"),
    ({"Subjects": [{"SubjectType": "GlobalRole", "SubjectValues": ["AllAccountUsers"]}]}, "UnsupportedOperation",
     "GlobalRole"),
    ({"Privileges": [{"Name": "DROP_EVERYTHING"}]}, "InvalidParameterValue", "DROP_EVERYTHING"),
    ({"Privileges": [{"Name": "USE_CATALOG"}]}, "InvalidParameterValue", "USE_CATALOG"),
    ({"Privileges": []}, "InvalidParameterValue", "Privileges"),
])
def test_bad_grants_write_nothing(api: Api, setup: Setup, change: dict[str, Any], code: str, words: str) -> None:
    good = body([table(setup, "orders")], [("User", uin(setup.bob))], "SELECT_TABLE")
    err = api.error("AuthorizePrivileges", {**good, **change})
    assert err.code == code and words in str(err.message), err.message
    assert grants_on(api, table(setup, "orders")) == []


def test_a_stranger_sees_no_catalog(api: Api, server: ServerProcess, setup: Setup) -> None:
    stranger = server.new_user()
    err = stranger.error("ListPermissions", {"Resource": table(setup, "orders")})
    assert err.code == "ResourceNotFound"
    assert stranger.data("ListPermissions", {}) == {"Details": [], "TotalCount": 0}
