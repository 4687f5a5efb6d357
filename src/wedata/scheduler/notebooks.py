"""Notebook tasks (132): the notebook an attempt runs, and the executed notebook it leaves.

- ``notebook_code``: with ``notebook.source`` = ``codeStudio`` the notebook is the code studio
  file named by ``notebook.scriptId`` (services/code), read in the claim's transaction: its
  latest submitted version (UpdateCodeFile with SubmitAction), or its saved content when it was
  never submitted. Only a file of the project's shared tree runs (a private file under ``/~`` is
  its owner's alone). Otherwise the task's own code is the notebook. Empty content runs as an
  empty notebook.
- ``render_cells``: ``${...}`` parameters are rendered into the source of every code cell (as a
  Python task's code is rendered: strict, an unknown name fails the attempt naming it); markdown
  and raw cells and outputs are left alone, and the JSON stays valid whatever a value holds.
- ``keep_notebook``: after the attempt ended, the executed notebook (``work/executed.ipynb``)
  is copied next to the instance log, as ``logs/<TaskId>/<yyyyMMddHHmmss>/<LifeRoundNum>.ipynb``
  (the latest try of the round), before the run directory is removed.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from sqlalchemy import Connection, select

from wedata.executors.tasktypes import (
    CODE_STUDIO,
    EXECUTED_NOTEBOOK,
    NOTEBOOK_SCRIPT_KEY,
    NOTEBOOK_SOURCE_KEY,
)
from wedata.storage.code_tables import code_nodes, code_versions

log = logging.getLogger("wedata.engine")
N, V = code_nodes, code_versions
EMPTY = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def notebook_code(conn: Connection, project_id: str, ext: Mapping[str, str], code: str) -> tuple[str, str | None]:
    """The notebook to run and None, or the task's code and why it cannot run."""
    if (ext.get(NOTEBOOK_SOURCE_KEY) or "").strip() != CODE_STUDIO:
        return (code if code.strip() else EMPTY), None
    file_id = (ext.get(NOTEBOOK_SCRIPT_KEY) or "").strip()
    if not file_id:
        return code, f"ext key {NOTEBOOK_SCRIPT_KEY} must name the code studio file to run ({NOTEBOOK_SOURCE_KEY} " \
                      f"is {CODE_STUDIO})"
    row = conn.execute(
        select(N.c.path, N.c.tree, N.c.content, V.c.content.label("submitted"))
        .select_from(N.outerjoin(V, V.c.id == N.c.version_id))
        .where(N.c.id == file_id, N.c.project_id == project_id, N.c.kind == "script")
    ).first()
    if row is None:
        return code, f"the code studio file {file_id} ({NOTEBOOK_SCRIPT_KEY}) does not exist in the project"
    if row.tree != "":
        return code, f"the code studio file {file_id} is private (under /~): only shared files run as tasks"
    text = row.submitted if row.submitted is not None else (row.content or "")
    return (text if text.strip() else EMPTY), None


def render_cells(text: str, render: Callable[[str], str]) -> str:
    """The notebook with its code cells rendered (``render`` raises ParameterError); a text that
    is not a notebook is returned as it is (the runner says why it cannot read it)."""
    try:
        nb = json.loads(text)
    except ValueError:
        return text
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        return text
    changed = False
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source")
        joined = "".join(source) if isinstance(source, list) else source
        if isinstance(joined, str) and "$" in joined:
            cell["source"] = render(joined)
            changed = True
    return json.dumps(nb, ensure_ascii=False) if changed else text


def artifact_path(log_path: str) -> str:
    stem, _ = os.path.splitext(log_path)
    return stem + ".ipynb"


def keep_notebook(run_dir: str, log_path: str) -> None:
    """Copy the executed notebook next to the log (nothing when the attempt left none)."""
    source = Path(run_dir, "work", EXECUTED_NOTEBOOK)
    if not log_path or not source.is_file() or source.is_symlink():
        return
    try:
        shutil.copyfile(source, artifact_path(log_path))
    except OSError as exc:
        log.warning("cannot keep the executed notebook %s: %s", source, exc)
