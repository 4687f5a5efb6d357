"""The signed upload route passes the actions' own authorization check: uploading bytes is a
write (develop) in the project, like CreateResourceFile. A Visitor and an OperationEngineer are
refused (nothing stored), a DataEngineer uploads and registers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.actions.instances.test_instances import Space
from tests.actions.resources.conftest import register, uploader_for
from tests.support import Api, ServerProcess
from wedata.cli.client import ApiError

ROLES = {"DataEngineer": "308335260676890624", "OperationEngineer": "308335260844662784",
         "Visitor": "308335260945326080"}


def _member(api: Api, server: ServerProcess, project: str, role: str) -> Api:
    user = server.new_user()
    api.call("CreateProjectMember", {"ProjectId": project, "UserUins": [user.uin],  # type: ignore[attr-defined]
                                     "RoleIds": [ROLES[role]]})
    return user


def test_upload_needs_the_write_permission(api: Api, space: Space, server: ServerProcess, tmp_path: Path) -> None:
    p = space.project
    for role in ("Visitor", "OperationEngineer"):
        user = _member(api, server, p, role)
        assert user.data("ListResourceFiles", {"ProjectId": p})["TotalCount"] >= 0  # a member: reads
        with pytest.raises(ApiError) as info:
            uploader_for(server, user.secret_id, user.secret_key).put(p, "/", f"{role}.sh", b"echo no\n", tmp_path)
        assert info.value.code == "UnauthorizedOperation", info.value.error_message
        assert "write (develop)" in info.value.error_message and role in info.value.error_message
        assert not list((server.home / "objects").rglob(f"{role}.sh"))  # nothing stored
    developer = _member(api, server, p, "DataEngineer")
    stored = uploader_for(server, developer.secret_id, developer.secret_key).put(p, "/", "dev.sh", b"echo yes\n",
                                                                                 tmp_path)
    assert stored["Size"] == 9 and stored["Sha256"] == hashlib.sha256(b"echo yes\n").hexdigest()
    rid = register(developer, p, "/", "dev.sh", stored)
    assert developer.data("GetResourceFile", {"ProjectId": p, "ResourceId": rid})["ResourceSourceMode"] == "UPLOAD_MODE"
    # An unknown project: not found, not a crash.
    with pytest.raises(ApiError) as info:
        uploader_for(server, developer.secret_id, developer.secret_key).put("9" * 19, "/", "x.sh", b"x", tmp_path)
    assert info.value.code in ("ResourceNotFound", "UnauthorizedOperation.UserNotInProject")
