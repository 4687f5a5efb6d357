"""The field rules of a task's base attribute and the given fields of its two config sections
(CreateTask, UpdateTask*, and so the trigger tasks): names, owner, description, folder, type.
Moved out of tasks.py (size cap); TaskService uses them.
"""

from __future__ import annotations

from typing import Any

from wedata.services.errors import InvalidValue
from wedata.services.tasks.definition import CONF, decode_code, given_fields, resolve_twins
from wedata.services.tasks.patch import DOWNSTREAM, UPSTREAM
from wedata.services.tasks.types import known_task_type

MAX_NAME = 256
_DOWN_OLD = "DownStreamDependencyConfigList"

def _name(value: Any, field: str = "TaskName") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(f"{field} must not be empty")
    if value != value.strip():
        raise InvalidValue(f"{field} must not start or end with blanks: {value!r}")
    if len(value) > MAX_NAME:
        raise InvalidValue(f"{field} must be at most {MAX_NAME} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value) or "/" in value:
        raise InvalidValue(f"{field} must not contain '/' or control characters")
    return value


def _owner(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 32:
        raise InvalidValue(f"OwnerUin must be a user id of at most 32 characters, got {value!r}")
    return value.strip()


def _description(value: Any) -> str:
    if value is None:
        return ""
    if len(value) > 4096:
        raise InvalidValue("TaskDescription must be at most 4096 characters")
    return str(value)


def _folder(value: Any) -> str | None:
    """The stored folder path: None for the workflow's root."""
    from wedata.services.folders import check_path

    path = check_path(value, "TaskFolderPath", lenient=True)
    return None if path == "/" else path


def _task_type(value: Any) -> int:
    try:
        tid = int(str(value).strip())
    except ValueError:
        raise InvalidValue(f"TaskTypeId must be an integer, got {value!r}") from None
    # -1 is the 2021 API's cross-workflow placeholder node, not a task one can create.
    if tid < 0 or not known_task_type(tid):
        raise InvalidValue(f"TaskTypeId {tid} is not a known task type")
    return tid


def _conf_given(raw: dict[str, Any] | None) -> dict[str, Any]:
    given = given_fields(raw)
    given.pop("ResourceGroupName", None)  # output only: derived from ResourceGroup
    if "CodeContent" in given:
        given["CodeContent"] = decode_code(given["CodeContent"], f"{CONF}.CodeContent")
    return given


def _sched_given(raw: dict[str, Any] | None) -> tuple[dict[str, Any], list[Any] | None, list[Any] | None]:
    """(scheduler fields under new names, upstream items, downstream items)."""
    given = resolve_twins(given_fields(raw))
    up = given.pop(UPSTREAM, None)
    down_new, down_old = given.pop(DOWNSTREAM, None), given.pop(_DOWN_OLD, None)
    return given, up, down_new if down_new is not None else down_old
