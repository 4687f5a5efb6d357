"""Servers for the code studio tests (a small file-size limit, to test it), a project with a
team of users, and helpers that drive the code actions through the SDK."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import BACKENDS, require_postgres
from tests.support import PG_URL, Api, ServerProcess, create_pg_database, drop_pg_database, unique

MAX_BYTES = 64 * 1024
PM = "308335260274237440"  # ProjectManager
DE = "308335260676890624"  # DataEngineer
OPS = "308335260844662784"  # OperationEngineer
VISITOR = "308335260945326080"


@pytest.fixture(scope="package", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db_name = url = None
    if request.param == "postgres":
        require_postgres()
        db_name = create_pg_database(migrated=True)
        url = f"{PG_URL}/{db_name}"
    srv = ServerProcess(tmp_path_factory.mktemp(f"wedata-code-{request.param}"), url,
                        env={"WEDATA_CODE_FILE_MAX_BYTES": str(MAX_BYTES)}).start()
    yield srv
    srv.stop()
    if db_name:
        drop_pg_database(db_name)


@pytest.fixture(scope="package")
def api(server: ServerProcess) -> Api:
    return server.admin()


def uin(user: Api) -> str:
    return str(user.uin)  # type: ignore[attr-defined]


def new_project(api: Api) -> str:
    name = unique("code")
    return str(api.data("CreateProject", {"Project": {"ProjectName": name, "DisplayName": name}})["ProjectId"])


@pytest.fixture(scope="module")
def team(api: Api, server: ServerProcess) -> dict[str, Any]:
    """A project with two DataEngineers, a ProjectManager, a Visitor and a stranger."""
    project = new_project(api)
    people = {who: server.new_user() for who in ("alice", "bob", "pm", "visitor", "stranger")}
    for who, role in (("alice", DE), ("bob", DE), ("pm", PM), ("visitor", VISITOR)):
        api.call("CreateProjectMember", {"ProjectId": project, "UserUins": [uin(people[who])], "RoleIds": [role]})
    return {"project": project, **people}


def folder(user: Api, project: str, name: str, parent: str = "/") -> str:
    return str(user.data("CreateCodeFolder", {"ProjectId": project, "FolderName": name,
                                              "ParentFolderPath": parent})["FolderId"])


def new_file(user: Api, project: str, name: str, parent: str = "/", content: str | None = None,
             **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"ProjectId": project, "CodeFileName": name, "ParentFolderPath": parent, **extra}
    if content is not None:
        body["CodeFileContent"] = content
    data: dict[str, Any] = user.data("CreateCodeFile", body)
    return data


def tree(user: Api, project: str, parent: str | None = "/", **extra: Any) -> list[dict[str, Any]]:
    body: dict[str, Any] = {"ProjectId": project, **extra}
    if parent is not None:
        body["ParentFolderPath"] = parent
    data: list[dict[str, Any]] = user.data("ListCodeFolderContents", body)
    return data


def paths(nodes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every node of a listed tree by Path."""
    out: dict[str, dict[str, Any]] = {}
    for n in nodes:
        out[n["Path"]] = n
        out.update(paths(n["Children"] or []))
    return out
