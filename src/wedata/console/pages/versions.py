"""A task's versions and the difference between two of them.

``/p/{project}/tasks/{task}/versions``: the SAVE versions (ListTaskVersions, newest first, up to
``MAX_VERSIONS``) and the SUBMIT ones, each pickable as the old (``a``) and the new (``b``) side
of a comparison; ``?a=<VersionId>&b=<VersionId>`` shows, from GetTaskVersion of each, a unified
diff (Python's difflib) of the code and of the rest of the definition (the three sections of the
Task as JSON, code left out, sorted keys, so a change shows as the lines it touched). Without
``a``/``b`` the two newest SAVE versions are compared.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

import msgspec
from starlette.responses import Response

from wedata.console.frame import Pages, View
from wedata.console.reads import all_items
from wedata.console.render import decode_code

pages = Pages()

MAX_VERSIONS = 200
CONTEXT = 3
# Fields that differ between any two versions without saying anything about the definition.
NOISE = {"TaskLatestVersionNo", "TaskLatestSubmitVersionNo", "LastUpdateTime", "LastUpdateUserName",
         "UpdateUserUin", "Submit", "CodeContent"}


def definition_lines(detail: Any) -> tuple[list[str], list[str]]:
    """(the code's lines, the rest of the definition as sorted JSON lines) of a TaskVersionDetail."""
    task = msgspec.to_builtins(detail.task) if detail.task is not None else {}

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in NOISE and v is not None}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    code = decode_code(((detail.task.task_configuration if detail.task else None) or _Empty()).code_content)
    rest = json.dumps(strip(task), indent=2, sort_keys=True, ensure_ascii=False)
    return code.splitlines(), rest.splitlines()


class _Empty:
    code_content = None


def diff(old: list[str], new: list[str], old_name: str, new_name: str) -> list[tuple[str, str]]:
    """(css class, line) of a unified diff; empty when equal."""
    out: list[tuple[str, str]] = []
    for line in difflib.unified_diff(old, new, old_name, new_name, n=CONTEXT, lineterm=""):
        kind = ("file" if line.startswith(("---", "+++")) else "hunk" if line.startswith("@@")
                else "add" if line.startswith("+") else "del" if line.startswith("-") else "same")
        out.append((kind, line))
    return out


@pages.get("/p/{project_id}/tasks/{task_id}/versions")
def versions(v: View) -> Response:
    project_id, task_id = v.param("project_id"), v.param("task_id")
    a = v.actions
    task = a.data("GetTask", ProjectId=project_id, TaskId=task_id)
    saved, _ = all_items(a, "ListTaskVersions", page_size=200, max_items=MAX_VERSIONS, ProjectId=project_id,
                         TaskId=task_id, TaskVersionType="SAVE")
    submitted, _ = all_items(a, "ListTaskVersions", page_size=200, max_items=MAX_VERSIONS, ProjectId=project_id,
                             TaskId=task_id, TaskVersionType="SUBMIT")
    old_id, new_id = v.arg("a"), v.arg("b")
    if not old_id and not new_id and len(saved) >= 2:
        old_id, new_id = saved[1].version_id or "", saved[0].version_id or ""
    compared: dict[str, Any] | None = None
    if old_id and new_id:
        old = a.data("GetTaskVersion", ProjectId=project_id, TaskId=task_id, VersionId=old_id)
        new = a.data("GetTaskVersion", ProjectId=project_id, TaskId=task_id, VersionId=new_id)
        (old_code, old_rest), (new_code, new_rest) = definition_lines(old), definition_lines(new)
        compared = {
            "old": old, "new": new,
            "code": diff(old_code, new_code, f"code V{old.version_num}", f"code V{new.version_num}"),
            "rest": diff(old_rest, new_rest, f"definition V{old.version_num}", f"definition V{new.version_num}"),
        }
    return v.render("versions.html", project_id=project_id, task=task, saved=saved, submitted=submitted,
                    old_id=old_id, new_id=new_id, compared=compared)
