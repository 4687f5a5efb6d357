"""Lake engines of a project: AddCalcEnginesToProject, and which engine a DLC task may name.

WeData binds DLC compute engines to a project (``DLCInfo``: ``ComputeResources`` names the
engines, with their ``Region`` and ``DefaultDatabase``). Here an engine is a DuckDB file beside
the built-in lake (``executors/sql/contract.py: lake_engine_path``), created on first use; a DLC
SQL task names it in ``TaskConfiguration.DataCluster`` and runs there, unqualified names meaning
the engine's ``DefaultDatabase`` (a DuckDB schema, created when missing). A DLC task without a
``DataCluster`` runs on the built-in lake, which every project may use.

Decisions where WeData is silent:

- **Who**: binding an engine changes the project: its administrators (owner, ProjectManager,
  tenant administrator), as every project change; anyone else gets ``UnauthorizedOperation``.
- **Names** are tenant-wide (as DLC engines are): letters, digits, ``_`` and ``-``, at most 64,
  so that a name is a file name. ``lake`` is the built-in lake's own file and cannot be bound.
  Several projects may bind one engine and then share its data.
- **Binding again** an engine the project already has updates its Region, DefaultDatabase and
  account fields (idempotent); nothing is ever unbound by this action.
- The engines named in ``CreateProject``'s ``DLCInfo`` are bound the same way (they are read
  from the project's stored ``DLCInfo``), as long as they are plain names.
- The fields are validated as in CreateProject (``dlc_info_record``): a STANDARD project's
  binding needs ``StandardModeEnvTag`` and ``AccessAccount``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from wedata.clock import Clock
from wedata.config import Settings
from wedata.principal import Caller
from wedata.services.errors import InvalidValue
from wedata.services.projects.projects import ProjectService, dlc_info_record
from wedata.spec import models as M
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.lake_tables import project_lake_engines

ENGINE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
BUILT_IN = "lake"
MAX_ITEMS = 20
LE = project_lake_engines


@dataclass(frozen=True, slots=True)
class LakeEngine:
    name: str
    default_database: str | None


def check_engine_name(name: str, field: str) -> str:
    if not ENGINE_NAME.fullmatch(name):
        raise InvalidValue(f"{field}: an engine name holds letters, digits, _ and - only (at most 64), got {name!r}")
    if name == BUILT_IN:
        raise InvalidValue(f"{field}: {BUILT_IN!r} is the built-in lake, which every project uses without binding")
    return name


class LakeEngineService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, projects: ProjectService) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.projects = projects

    def add(self, caller: Caller, project_id: str, infos: Sequence[M.DLCClusterInfo]) -> None:
        """AddCalcEnginesToProject."""
        if not infos:
            raise InvalidValue("DLCInfo must hold at least one engine binding")
        if len(infos) > MAX_ITEMS:
            raise InvalidValue(f"DLCInfo holds at most {MAX_ITEMS} items")
        now = self.clock.now()
        with self.db.write() as conn:
            project = self.projects.require_admin(conn, project_id, caller)
            rows: dict[str, dict[str, Any]] = {}
            for i, info in enumerate(infos):
                record = dlc_info_record(info, project.project_model)
                assert record is not None
                for j, name in enumerate(record["ComputeResources"]):
                    rows[check_engine_name(name.strip(), f"DLCInfo[{i}].ComputeResources[{j}]")] = {
                        "region": record["Region"].strip()[:64],
                        "default_database": record["DefaultDatabase"].strip()[:128],
                        "standard_mode_env_tag": record["StandardModeEnvTag"],
                        "access_account": record["AccessAccount"],
                        "sub_account_uin": record["SubAccountUin"],
                    }
            existing = set(conn.execute(select(LE.c.engine_name).where(LE.c.project_id == project_id)).scalars())
            for name, values in rows.items():
                if name in existing:
                    conn.execute(update(LE).where(LE.c.project_id == project_id, LE.c.engine_name == name)
                                 .values(**values, updated_at=now))
                else:
                    conn.execute(insert(LE).values(project_id=project_id, engine_name=name, **values,
                                                   create_user_uin=caller.uin, created_at=now, updated_at=now))

    def bound(self, conn: Connection, project_id: str, name: str) -> LakeEngine | None:
        """The engine ``name`` if the project has it (through this action or CreateProject)."""
        row = conn.execute(select(LE.c.default_database).where(LE.c.project_id == project_id,
                                                               LE.c.engine_name == name)).first()
        if row is not None:
            return LakeEngine(name, row.default_database or None)
        info = conn.execute(select(T.projects.c.dlc_info).where(T.projects.c.id == project_id)).scalar()
        if isinstance(info, dict) and name in (info.get("ComputeResources") or []) and ENGINE_NAME.fullmatch(name) \
                and name != BUILT_IN:
            return LakeEngine(name, str(info.get("DefaultDatabase") or "").strip() or None)
        return None
