"""SQL scripts: CreateSQLScript, GetSQLScript, UpdateSQLScript, DeleteSQLScript.

A script is a node of a tree (``tree.py``) with its text (``content.py``: Base64 on the wire,
stored decoded) and its ``SQLScriptConfig``. Saving a configuration checks what it names: the
data source must be usable by the project and caller (``UnauthorizedOperation`` naming it) and
the resource group must exist. Every check runs before the write, so a refused request changes
nothing. Deleting a script keeps its runs (and their results, until they expire).
"""

from __future__ import annotations

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from wedata.clock import Clock
from wedata.config import Settings
from wedata.principal import Caller
from wedata.services.common import new_uuid
from wedata.services.datasources.datasources import DataSourceService
from wedata.services.errors import Duplicate, NotFound
from wedata.services.folders import MAX_PATH_LENGTH, check_name, check_path, join_path, path_too_long
from wedata.services.sql.content import ScriptConfig, config_from_wire, decode_base64, parse_config
from wedata.services.sql.targets import check_group, check_source
from wedata.services.sql.tree import (
    SCRIPT,
    N,
    Node,
    folder_exists,
    load,
    node,
    path_taken,
    require_manage,
    scope_of,
    tree_of,
    viewer,
)
from wedata.spec import models as M
from wedata.storage.db import Database


class SqlScriptService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, datasources: DataSourceService) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.datasources = datasources

    def _check_config(self, config: M.SQLScriptConfig | None, project_id: str, caller: Caller) -> ScriptConfig:
        cfg = parse_config(config)
        check_source(self.datasources, self.settings, cfg, project_id, caller.uin, to_run=False)
        check_group(self.db, cfg.executor_group_id)
        return cfg

    def create(self, caller: Caller, req: M.CreateSQLScriptRequest) -> Node:
        name = check_name(req.script_name, "ScriptName")
        parent = check_path(req.parent_folder_path, "ParentFolderPath", lenient=True)
        scope = scope_of(req.access_scope)
        path = join_path(parent, name)
        if len(path) > MAX_PATH_LENGTH:
            raise path_too_long("The script path")
        text = decode_base64(req.script_content, "ScriptContent", self.settings.sql_script_max_bytes)
        cfg = self._check_config(req.script_config, req.project_id, caller)
        tree = tree_of(scope, caller.uin)
        script_id, now = new_uuid(), self.clock.now()
        try:
            with self.db.write() as conn:
                if not folder_exists(conn, req.project_id, tree, parent):
                    raise NotFound(f"The folder {parent} does not exist in the {scope} SQL folders.")
                if path_taken(conn, req.project_id, tree, path) is not None:
                    raise Duplicate(f"{path} already exists in the {scope} SQL folders.")
                conn.execute(insert(N).values(
                    id=script_id, project_id=req.project_id, scope=scope, tree=tree, kind=SCRIPT, path=path,
                    parent_path=parent, name=name, owner_uin=caller.uin, update_user_uin=caller.uin, content=text,
                    config=cfg.wire, created_at=now, updated_at=now,
                ))
                who = viewer(conn, req.project_id, caller)
                return node(load(conn, req.project_id, script_id, SCRIPT, who), who, content=True)
        except IntegrityError:  # a concurrent create of the same path won the unique constraint
            raise Duplicate(f"{path} already exists in the {scope} SQL folders.") from None

    def get(self, caller: Caller, project_id: str, script_id: str) -> Node:
        with self.db.read() as conn:
            who = viewer(conn, project_id, caller)
            return node(load(conn, project_id, script_id, SCRIPT, who), who, content=True)

    def update(self, caller: Caller, req: M.UpdateSQLScriptRequest) -> Node:
        """Save the content and/or the configuration (each replaced whole when given)."""
        values: dict[str, object] = {}
        if req.script_content is not None:
            values["content"] = decode_base64(req.script_content, "ScriptContent", self.settings.sql_script_max_bytes)
        if req.script_config is not None:
            values["config"] = self._check_config(req.script_config, req.project_id, caller).wire
        with self.db.write() as conn:
            who = viewer(conn, req.project_id, caller)
            row = load(conn, req.project_id, req.script_id, SCRIPT, who, lock=True)
            if values:
                conn.execute(update(N).where(N.c.id == row.id).values(
                    **values, update_user_uin=caller.uin, updated_at=self.clock.now()))
            return node(load(conn, req.project_id, req.script_id, SCRIPT, who), who, content=True)

    def delete(self, caller: Caller, project_id: str, script_id: str) -> None:
        with self.db.write() as conn:
            who = viewer(conn, project_id, caller)
            row = load(conn, project_id, script_id, SCRIPT, who, lock=True)
            require_manage(row, who)
            conn.execute(N.delete().where(N.c.id == row.id))

    def runnable(self, caller: Caller, project_id: str, script_id: str) -> tuple[Node, ScriptConfig]:
        """A script to run (RunSQLScript with ScriptId): visible to the caller; its config."""
        found = self.get(caller, project_id, script_id)
        return found, config_from_wire(found.config)
