"""SubmitTask's checks of what a task runs besides its code (the task types' own sources):

- Shell form mode (38) names its package (ext ``ftp.file.name``) and what to run (``shell.cmd``,
  or the code): executors/shell_form.py. A package that is no resource file of the project
  fails the attempt naming it (scheduler/staging.py), as for every resource file.
- A Notebook task (132) whose source is code studio (``notebook.source`` = ``codeStudio``) runs
  the file ``notebook.scriptId``: the submitter must hold ``CAN_RUN`` on it (services/code/access.py,
  the code domain's one check; a file they cannot see is ``ResourceNotFound``), and it must be a
  file of the shared tree (a private file under ``/~`` is its owner's alone).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from wedata.executors.shell_form import form_problem
from wedata.executors.tasktypes import (
    CODE_STUDIO,
    NOTEBOOK_SCRIPT_KEY,
    NOTEBOOK_SOURCE_KEY,
    NOTEBOOK_TYPE,
    SHELL_FORM_TYPE,
)
from wedata.principal import Caller
from wedata.services.code.access import CAN_RUN, require_permission
from wedata.services.code.tree import FOLDER, is_private
from wedata.services.errors import InvalidValue
from wedata.services.tasks.definition import CONF

EXT = "TaskExtConfigurationList"


def _ext(conf: dict[str, Any]) -> dict[str, str]:
    return {str(p["ParamKey"]): str(p.get("ParamValue") or "") for p in conf.get(EXT) or []
            if isinstance(p, dict) and p.get("ParamKey")}


def check_sources(conn: Connection, project_id: str, caller: Caller, task_type_id: int,
                  definition: dict[str, Any] | None) -> None:
    conf = (definition or {}).get(CONF) or {}
    if task_type_id == SHELL_FORM_TYPE:
        problem = form_problem(_ext(conf), str(conf.get("CodeContent") or ""))
        if problem is not None:
            raise InvalidValue(problem)
    if task_type_id == NOTEBOOK_TYPE:
        ext = _ext(conf)
        if ext.get(NOTEBOOK_SOURCE_KEY, "").strip() != CODE_STUDIO:
            return
        file_id = ext.get(NOTEBOOK_SCRIPT_KEY, "").strip()
        if not file_id:
            raise InvalidValue(f"{EXT}: the ext key {NOTEBOOK_SCRIPT_KEY} must name the code studio file to run "
                               f"({NOTEBOOK_SOURCE_KEY} is {CODE_STUDIO})")
        row = require_permission(conn, project_id, caller, file_id, CAN_RUN,
                                 "run as a Notebook task (SubmitTask)")
        if row.kind == FOLDER:
            raise InvalidValue(f"{EXT}: {NOTEBOOK_SCRIPT_KEY} {file_id} is a code studio folder, not a file")
        if row.tree != "" or is_private(row.path):
            raise InvalidValue(f"{EXT}: the code studio file {file_id} ({NOTEBOOK_SCRIPT_KEY}) is private (under "
                               "/~): only shared files run as tasks")
