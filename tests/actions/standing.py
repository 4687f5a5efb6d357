"""The refusals of an action the registry checks after its read (actions/registry.py
``standing_in_read``), through the SDK: exactly those of a check made before the read."""

from __future__ import annotations

from typing import Any

from tests.support import Api, ServerProcess

VISITOR = "308335260945326080"
NOT_MEMBER = "UnauthorizedOperation.UserNotInProject"


def refuses_as_before_the_read(api: Api, server: ServerProcess, action: str, project: str,
                               found: dict[str, Any], missing: list[dict[str, Any]]) -> Any:
    """``found`` names an existing object of ``project``; ``missing[0]`` a well-formed one that does
    not exist, the rest any other request the handler would refuse. A non-member is refused for
    each without a word about what they name; a Visitor reads ``found`` and gets
    ``ResourceNotFound`` for ``missing[0]``; once removed, the Visitor is refused at the next
    request; the project deleted, the administrator is told the project does not exist. Deletes
    the project. Returns what the Visitor read of ``found``."""
    outsider, visitor = server.new_user(), server.new_user()
    api.call("CreateProjectMember", {"ProjectId": project, "UserUins": [visitor.uin],  # type: ignore[attr-defined]
                                     "RoleIds": [VISITOR]})
    for params in (found, *missing):
        err = outsider.error(action, {"ProjectId": project, **params})
        assert err.code == NOT_MEMBER, params
        assert not any(str(v) in err.message for v in params.values()), err.message
    got = visitor.raw(action, {"ProjectId": project, **found})["Data"]
    assert visitor.error(action, {"ProjectId": project, **missing[0]}).code == "ResourceNotFound"

    api.call("DeleteProjectMember", {"ProjectId": project, "UserUins": [visitor.uin]})  # type: ignore[attr-defined]
    assert visitor.error(action, {"ProjectId": project, **found}).code == NOT_MEMBER

    api.call("DeleteProject", {"ProjectId": project})
    err = api.error(action, {"ProjectId": project, **found})
    assert err.code == "ResourceNotFound" and f"project {project}" in err.message
    return got
