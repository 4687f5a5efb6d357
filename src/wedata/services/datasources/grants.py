"""AuthorizeDataSource, RevokeDataSourceAuthorization, DescribeDataSourceAuthority: the grants.

A grant lets another project (``AuthProjectId``) or one user of another project (``AuthUsers``,
``<ProjectId>_<Uin>``, all of one project, as WeData documents) use a data source. Decisions:

- The target project must be live, and a granted user a member of it (a grant to someone who
  cannot act in that project would be a dead letter); both are checked, nothing is half-granted.
- The owning project already uses its sources: granting to it (or to its users) is refused.
- Granting twice is a no-op; revoking what was not granted is a no-op (``Status`` true).
- ``RevokeProjectId`` removes the project's grant and the grants of its users; ``RevokeUser``
  one user's grant; neither removes every grant of the source (the owning project keeps it).
- DescribeDataSourceAuthority answers ``null`` for an empty list, as WeData's example does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, exists, insert, select

from wedata.principal import Caller
from wedata.services.datasources.access import WHOLE_PROJECT, G
from wedata.services.errors import InvalidValue, NotFound
from wedata.storage import tables as T

_PROJECT_USER = re.compile(r"(?P<project>[0-9]{1,19})_(?P<uin>[0-9]{1,32})")
MAX_USERS = 100


@dataclass(frozen=True, slots=True)
class Grants:
    project_ids: list[str]
    users: list[str]  # "<ProjectId>_<Uin>"


def _live_project(conn: Connection, project_id: str, field: str) -> None:
    p = T.projects
    found = conn.execute(select(p.c.id).where(p.c.id == project_id, p.c.deleted_at.is_(None))).first()
    if found is None:
        raise NotFound(f"{field}: the project {project_id} does not exist.")


def _project_user(text: str, field: str) -> tuple[str, str]:
    m = _PROJECT_USER.fullmatch(text or "")
    if m is None:
        raise InvalidValue(f"{field} must be <ProjectId>_<user Uin> (e.g. 1460947878944567296_100028579606), "
                           f"got {text[:80]!r}")
    return m.group("project"), m.group("uin")


def _not_own(source: Row[Any], project_id: str, field: str) -> None:
    if project_id == source.project_id:
        raise InvalidValue(
            f"{field}: the data source {source.id} belongs to the project {project_id}, whose members use it "
            "already; grant it to other projects or their users"
        )


def authorize(conn: Connection, source: Row[Any], caller: Caller, project_id: str | None,
              users: list[str] | None, now: datetime) -> None:
    if project_id and users:
        raise InvalidValue("Give AuthProjectId or AuthUsers, not both")
    if project_id:
        if not re.fullmatch(r"[0-9]{1,19}", project_id):
            raise InvalidValue(f"AuthProjectId must be a project id, got {project_id[:80]!r}")
        _not_own(source, project_id, "AuthProjectId")
        _live_project(conn, project_id, "AuthProjectId")
        targets = [(project_id, WHOLE_PROJECT)]
    elif users:
        if len(users) > MAX_USERS:
            raise InvalidValue(f"AuthUsers holds at most {MAX_USERS} users, got {len(users)}")
        targets = [_project_user(u, "AuthUsers") for u in dict.fromkeys(users)]
        projects = {p for p, _ in targets}
        if len(projects) > 1:
            raise InvalidValue(f"AuthUsers must all be of one project, got {', '.join(sorted(projects))}")
        target_project = targets[0][0]
        _not_own(source, target_project, "AuthUsers")
        _live_project(conn, target_project, "AuthUsers")
        m = T.project_members
        members = set(conn.execute(
            select(m.c.user_uin).where(m.c.project_id == target_project, m.c.user_uin.in_([u for _, u in targets]))
        ).scalars())
        strangers = [u for _, u in targets if u not in members]
        if strangers:
            raise InvalidValue(
                f"AuthUsers: the user(s) {', '.join(strangers[:10])} are not members of the project {target_project}"
            )
    else:
        raise InvalidValue("Give AuthProjectId or AuthUsers: whom to grant the data source to")
    for target_project, uin in targets:
        present = conn.execute(select(exists().where(
            G.c.data_source_id == source.id, G.c.project_id == target_project, G.c.user_uin == uin,
        ))).scalar()
        if not present:
            conn.execute(insert(G).values(
                data_source_id=source.id, project_id=target_project, user_uin=uin, grantor_uin=caller.uin,
                created_at=now,
            ))


def revoke(conn: Connection, source: Row[Any], project_id: str | None, user: str | None) -> None:
    if project_id and user:
        raise InvalidValue("Give RevokeProjectId or RevokeUser, not both (or neither, to revoke every grant)")
    where = [G.c.data_source_id == source.id]
    if project_id:
        where.append(G.c.project_id == project_id)
    elif user:
        target_project, uin = _project_user(user, "RevokeUser")
        where += [G.c.project_id == target_project, G.c.user_uin == uin]
    conn.execute(delete(G).where(*where))


def describe(conn: Connection, source_id: int) -> Grants:
    rows = conn.execute(
        select(G.c.project_id, G.c.user_uin).where(G.c.data_source_id == source_id)
        .order_by(G.c.created_at, G.c.project_id, G.c.user_uin)
    ).all()
    return Grants(
        [r.project_id for r in rows if r.user_uin == WHOLE_PROJECT],
        [f"{r.project_id}_{r.user_uin}" for r in rows if r.user_uin != WHOLE_PROJECT],
    )
