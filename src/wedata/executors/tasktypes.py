"""Task types the engine can run, and how their (already rendered) code becomes a command.

- Shell (35): the code is written to ``task.sh`` and run by ``/bin/bash``.
- Shell form mode (38): ``task.sh`` unpacks the package (ext ``ftp.file.name``) into ``work/``
  and runs ``shell.cmd`` with ``shell.args`` (executors/shell_form.py).
- Python (30): the code is written to ``task.py`` and run unbuffered (``-u``, so the log streams)
  by the interpreter the ext keys name: ``python_sub_version`` (e.g. ``python3.11``) or else
  ``python_type`` (``python3``, ``python2``). ``python3`` and the exact version of the server's
  own interpreter use that interpreter (its base, outside the server's virtualenv); anything
  else is looked up on PATH. A missing interpreter fails the attempt with a clear message.

- Notebook (132): the notebook (``.ipynb`` JSON) is written to ``notebook.ipynb`` and run
  headless by ``run_notebook.py`` (executors/notebook_runner.py, copied beside it) with the
  server's own interpreter, which has nbclient and ipykernel; the executed notebook is written
  to ``work/executed.ipynb`` and kept next to the instance log (scheduler/notebooks.py). With
  ``notebook.source`` = ``codeStudio`` the notebook is the code studio file
  ``notebook.scriptId`` (its current version, read when the attempt is claimed); otherwise the
  task's own code is the notebook.

SQL tasks are not commands: JDBC SQL (21, any MySQL- or PostgreSQL-wire data source),
TDSQL-PostgreSQL (23), StarRocks (134, MySQL wire) and DLC SQL (32, the lake) are run by the SQL
executor (``executors/sql_tasks.py``); :data:`SQL_TASK_TYPES` names them.

Other task types are not runnable here; :data:`SUPPORTED_TASK_TYPES` lets SubmitTask refuse
them up front.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from wedata.executors.base import ExecutorError
from wedata.executors.shell_form import PACKAGE_KEY, form_command, packaged_text

SHELL_TYPE = 35
PYTHON_TYPE = 30
JDBC_SQL_TYPE = 21
TDSQL_POSTGRES_TYPE = 23
DLC_SQL_TYPE = 32
STARROCKS_TYPE = 134
SQL_TASK_TYPES: frozenset[int] = frozenset({JDBC_SQL_TYPE, TDSQL_POSTGRES_TYPE, DLC_SQL_TYPE, STARROCKS_TYPE})
NOTEBOOK_TYPE = 132
SHELL_FORM_TYPE = 38  # Shell form mode: an uploaded package (ext ftp.file.name) + a command (executors/shell_form.py)
SUPPORTED_TASK_TYPES: frozenset[int] = frozenset({SHELL_TYPE, SHELL_FORM_TYPE, PYTHON_TYPE, NOTEBOOK_TYPE}) | SQL_TASK_TYPES
# Notebook tasks: where the notebook comes from (WeData's ext keys) and what the attempt leaves.
NOTEBOOK_SOURCE_KEY = "notebook.source"
NOTEBOOK_SCRIPT_KEY = "notebook.scriptId"
CODE_STUDIO = "codeStudio"
EXECUTED_NOTEBOOK = "executed.ipynb"  # in the attempt's work/ directory


def _own_python() -> str:
    base = getattr(sys, "_base_executable", None) or sys.executable
    return base if base and os.path.exists(base) else sys.executable


def python_interpreter(ext: Mapping[str, str]) -> str:
    wanted = (ext.get("python_sub_version") or ext.get("python_type") or "python3").strip() or "python3"
    own = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if wanted in ("python3", own, "python"):
        return _own_python()
    found = shutil.which(wanted)
    if found is None:
        raise ExecutorError(f"Python interpreter {wanted!r} (ext key python_sub_version/python_type) was not found")
    return found


@dataclass(frozen=True)
class Command:
    """How an attempt runs: its argv, and the files (name -> text) that must be in its run
    directory first. Built without touching the disk (on the engine's cycle); the executor
    writes the files when it starts the attempt (:func:`write_files`)."""

    argv: list[str]
    files: dict[str, str]


def command_for(task_type_id: int, code: str, ext: Mapping[str, str], run_dir: str) -> Command:
    """The command that runs ``code`` from ``run_dir``; nothing is written here."""
    def text(c: str) -> str:
        return c if c.endswith("\n") else c + "\n"

    if task_type_id == SHELL_TYPE:
        return Command(["/bin/bash", str(Path(run_dir, "task.sh"))], {"task.sh": text(code)})
    if task_type_id == SHELL_FORM_TYPE:  # ``code`` is the rendered command line (shell_form.form_source)
        return Command(*form_command(code, run_dir, notebook_interpreter()))
    if task_type_id == PYTHON_TYPE:
        interpreter = python_interpreter(ext)
        return Command([interpreter, "-u", str(Path(run_dir, "task.py"))], {"task.py": text(code)})
    if task_type_id == NOTEBOOK_TYPE:
        runner = Path(run_dir, "run_notebook.py")
        return Command([notebook_interpreter(), "-u", str(runner), str(Path(run_dir, "notebook.ipynb")), EXECUTED_NOTEBOOK],
                       {"notebook.ipynb": code, "run_notebook.py": packaged_text("notebook_runner.py")})
    if task_type_id in SQL_TASK_TYPES:
        raise ExecutorError(f"task type {task_type_id} is a SQL task: the SQL executor runs it, not a command")
    raise ExecutorError(f"task type {task_type_id} cannot be run by this server (supported: Shell 35, Shell form mode 38, "
                        "Python 30, Notebook 132, SQL 21, 23, 32, 134)")


def write_files(run_dir: str, files: Mapping[str, str]) -> None:
    """Create ``run_dir`` and write an attempt's files into it (OSError as the disk gives it)."""
    os.makedirs(run_dir, exist_ok=True)
    for name, content in files.items():
        with open(os.path.join(run_dir, name), "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(content)


def build_command(task_type_id: int, code: str, ext: Mapping[str, str], run_dir: str) -> list[str]:
    """Write the code into ``run_dir`` and return the argv that runs it (both steps at once)."""
    command = command_for(task_type_id, code, ext, run_dir)
    write_files(run_dir, command.files)
    return command.argv


def notebook_interpreter() -> str:
    """The interpreter notebooks run with: the server's own (its environment has nbclient and
    ipykernel; the sandbox shows that environment read-only, executors/sandbox.py)."""
    return sys.executable


# Resource files a task uses (services/resources, docs/files.md): staged read-only into
# ``<run dir>/resources/`` before the attempt starts.
RESOURCE_EXT_KEY = "resourceFiles"  # Shell/Python: ResourceIds or resource paths, comma-separated


def resource_refs(task_type_id: int, ext: Mapping[str, str]) -> list[str]:
    """The resource files a task names (ResourceIds or paths), in order, without duplicates."""
    raw = [ext.get(RESOURCE_EXT_KEY) or ""]
    if task_type_id == SHELL_FORM_TYPE:
        raw.insert(0, ext.get(PACKAGE_KEY) or "")
    refs: list[str] = []
    for text in raw:
        for part in text.replace(";", ",").replace("\n", ",").split(","):
            part = part.strip()
            if part and part not in refs:
                refs.append(part)
    return refs
