"""Catalog grants on SQL tasks (services/permissions/catalog.py): each attempt checks the tables
its statements read with the rights of whoever submitted the running version; a refused attempt
fails with UnauthorizedOperation naming the table and the privilege in its log."""

from __future__ import annotations

from tests.actions.instances.test_instances import Space, full_log
from tests.actions.sql_tasks.conftest import Fast
from tests.actions.sql_tasks.test_sql_tasks import on_day, sql_task
from tests.support import Api, unique

DE = "308335260676890624"


def test_a_lake_grant_decides_whether_a_sql_task_reads_a_table(api: Api, space: Space, fast: Fast) -> None:
    db, table = unique("gov").lower(), unique("t").lower()
    made = sql_task(api, space, f"CREATE DATABASE IF NOT EXISTS {db};\nCREATE TABLE {db}.{table} (id INT);\n"
                                f"INSERT INTO {db}.{table} VALUES (1), (2)", None, type_id="32")
    assert on_day(api, space, made, {"COMPLETED", "EXPIRED"})["InstanceState"] == "COMPLETED"
    engineer = fast.server.new_user()
    api.call("CreateProjectMember", {"ProjectId": space.project, "UserUins": [engineer.uin],  # type: ignore[attr-defined]
                                     "RoleIds": [DE]})
    resource = {"ResourceType": "Table", "ResourceUri": f"DataLakeCatalog.{db}.{table}"}
    grant = {"Resources": [resource], "Privileges": [{"Name": "SELECT_TABLE"}]}
    # Governed by a grant to someone else: the engineer's task is refused at its attempt.
    other = fast.server.new_user()
    api.call("AuthorizePrivileges", {**grant, "Subjects": [{"SubjectType": "User",
                                                            "SubjectValues": [other.uin]}]})  # type: ignore[attr-defined]
    refused = sql_task(engineer, space, f"SELECT count(*) AS n FROM {db}.{table}", None, type_id="32")
    item = on_day(api, space, refused, {"COMPLETED", "EXPIRED"})
    log, _ = full_log(api, space, item["InstanceKey"])
    assert item["InstanceState"] == "EXPIRED", log
    assert f"may not read the table DataLakeCatalog.{db}.{table}" in log and "SELECT_TABLE" in log
    # Granted to the project the task runs in: the next task reads.
    api.call("AuthorizePrivileges", {**grant, "Subjects": [{"SubjectType": "Project",
                                                            "SubjectValues": [space.project]}]})
    allowed = sql_task(engineer, space, f"SELECT count(*) AS n FROM {db}.{table}", None, type_id="32")
    item = on_day(api, space, allowed, {"COMPLETED", "EXPIRED"})
    log, _ = full_log(api, space, item["InstanceKey"])
    assert item["InstanceState"] == "COMPLETED", log
    assert "2" in log.split("<br>")
