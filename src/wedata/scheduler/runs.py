"""Turning a claimed instance into a RunSpec, and an ended attempt into outputs and log lines.

Files of one instance: ``logs/<TaskId>/<yyyyMMddHHmmss data time>/<LifeRoundNum>.log`` holds
every try of that life round (each try starts with a header line, so the log of a round reads
as one story); ``run/<instance id>.<life round>.<try>/`` holds the rendered code and the
wrapper's pid and exit files while the attempt runs, and ``work/`` in it is the task's own
writable directory (its HOME and working directory; executors/sandbox.py).
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, select

from wedata.executors.base import ExecutorError, RunSpec
from wedata.executors.shell_form import form_source
from wedata.executors.sql.contract import SqlJob
from wedata.executors.tasktypes import (
    NOTEBOOK_TYPE,
    SHELL_FORM_TYPE,
    SHELL_TYPE,
    SQL_TASK_TYPES,
    command_for,
    resource_refs,
)
from wedata.scheduler.definitions import TaskDef
from wedata.scheduler.notebooks import notebook_code, render_cells
from wedata.scheduler.staging import resolve, resources_dir
from wedata.scheduling.datatimes import format_wall, instance_key
from wedata.scheduling.parameters import ParameterError, RenderContext, own_output_constants, render
from wedata.scheduling.shellnames import shell_foreign
from wedata.scheduling.timezones import DEFAULT_ZONE, parse_zone
from wedata.storage.engine_tables import instance_deps, task_instances
from wedata.storage.health import is_disk_full
from wedata.storage.tables import credentials, task_versions, tasks

TI = task_instances


def log_path(logs_dir: Path, task_id: str, data_time: datetime, life_round: int) -> Path:
    # An iteration of a For-each node has a microsecond in its data time (scheduling/datatimes.py).
    stamp = data_time.strftime("%Y%m%d%H%M%S") + (f".{data_time.microsecond:06d}" if data_time.microsecond else "")
    return logs_dir / task_id / stamp / f"{life_round}.log"


# Log lines read in WeData's default zone, like every time the API shows without a TimeZone,
# and say so: "2025-01-01 08:00:00 +08:00 INFO ..." (issue 16: every time shown names its zone).
_LOG_ZONE = parse_zone(DEFAULT_ZONE)


def log_line(now: datetime, level: str, message: str) -> str:
    local = now.replace(tzinfo=UTC).astimezone(_LOG_ZONE)
    offset = local.strftime("%z")  # +0800
    return f"{format_wall(local.replace(tzinfo=None))} {offset[:3]}:{offset[3:]} {level} {message}\n"


def append_log(path: str | Path, text: str) -> int:
    """Append and return the file size afterwards (the next writer's offset). Raises OSError:
    the engine's callers decide what a failure means (cycle.py, engine.py)."""
    try:
        f = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed below, after the mkdir retry)
    except FileNotFoundError:  # the first line of this task's logs: its directory is made once
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        f = open(path, "a", encoding="utf-8")  # noqa: SIM115
    with f:
        f.write(text)
        return f.tell()


def log_end(path: str | Path) -> int:
    """The size of a log file, 0 when there is none yet (or it cannot be read: its write fails
    then, with the reason)."""
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def remove_run_dir(run_dir: str) -> None:
    shutil.rmtree(run_dir, ignore_errors=True)


class RunDirRemover:
    """Removes finished attempts' run directories on a thread of its own.

    Removing is file-system work of several system calls per directory (``rmtree`` of the pid
    and exit files, ``task.sh``, ``work/``): on the engine's thread it cost about an eighth of
    its busy time at full load (issue 14), time taken from the next cycle. Nothing waits for it:
    a directory left behind by a crash is only scratch (an attempt's outcome is in the database
    and its log), so the queue is not persisted; :meth:`close` finishes what is queued."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def remove(self, run_dirs: list[str]) -> None:
        if not run_dirs:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="wedata-run-dirs", daemon=True)
            self._thread.start()
        for d in run_dirs:
            self._queue.put(d)

    def close(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while (d := self._queue.get()) is not None:
            remove_run_dir(d)


def render_context(tdef: TaskDef, inst: Mapping[Any, Any], scheduled_wall: datetime,
                   workflow_params: Mapping[str, str], inputs: Mapping[str, str],
                   source: str | None = None) -> RenderContext:
    """Strict: an unknown ``${name}`` or a malformed time expression fails the attempt with the
    names (never an empty string); a Shell task's own variables are bash's (shellnames.py)."""
    # The task's own constant outputs (ParamTaskOutList) read like parameters, below its own;
    # a rerun's RedefineParamList (task_instances.params, services/ops/rerun.py) wins.
    params = {**own_output_constants(tdef.out_params), **tdef.params, **(inst.get("params") or {})}
    return RenderContext(
        data_time=inst["data_time"],
        scheduled_time=scheduled_wall,
        zone=tdef.zone,
        task_params=params,
        workflow_params=workflow_params,
        inputs=inputs,
        foreign=shell_foreign(tdef.code if source is None else source)
        if tdef.task_type_id in (SHELL_TYPE, SHELL_FORM_TYPE) else None,
    )


def input_values(conn: Connection, tdef: TaskDef, inst: Mapping[Any, Any]) -> tuple[dict[str, str], list[str]]:
    """ParamTaskInList values from the depended-upon upstream instances, and what is missing."""
    values: dict[str, str] = {}
    problems: list[str] = []
    if not tdef.in_params:
        return values, problems
    from_ids = list({p.from_task_id for p in tdef.in_params})
    # The upstream instance an input comes from: the latest one this instance depends on.
    dep_times: dict[str, datetime] = {}
    for tid, dt in conn.execute(
        select(instance_deps.c.upstream_task_id, instance_deps.c.upstream_data_time).where(
            instance_deps.c.instance_id == inst["id"],
            instance_deps.c.upstream_task_id.in_(from_ids),
            instance_deps.c.kind == "task",
        )
    ):
        if tid not in dep_times or dt > dep_times[tid]:
            dep_times[tid] = dt
    outputs: dict[str, dict[str, Any]] = {}
    for tid in from_ids:
        if tid in dep_times:
            q = select(TI.c.data_time, TI.c.outputs).where(TI.c.task_id == tid, TI.c.data_time == dep_times[tid])
        else:
            # Not linked by a dependency edge: the latest success at or before our data time.
            q = (
                select(TI.c.data_time, TI.c.outputs)
                .where(and_(TI.c.task_id == tid, TI.c.data_time <= inst["data_time"], TI.c.state == "COMPLETED"))
                .order_by(TI.c.data_time.desc())
                .limit(1)
            )
        row = conn.execute(q).first()
        if row is not None:
            outputs[tid] = {"data_time": row[0], "values": row[1] or {}}
    for p in tdef.in_params:
        got = outputs.get(p.from_task_id)
        if got is not None and p.from_key in got["values"]:
            values[p.key] = str(got["values"][p.from_key])
        elif got is None:
            problems.append(
                f"input parameter {p.key}: no instance of upstream task {p.from_task_id} to take {p.from_key} from"
            )
        else:
            problems.append(
                f"input parameter {p.key}: upstream instance {instance_key(p.from_task_id, got['data_time'])} "
                f"produced no output parameter {p.from_key}"
            )
    return values, problems


def users_are_admins(conn: Connection, tdef: TaskDef) -> bool:
    """Whether every user whose input makes up what runs is a tenant admin: the task's OwnerUin
    (which a caller may set to anyone, so it is not enough alone), its creator and last editor,
    and the submitter of the running version. A Uin is an admin when it has credentials and
    every one of them is an admin credential."""
    uins = {u for u in re.split(r"[;,\s]+", tdef.owner_uin or "") if u}
    row = conn.execute(select(tasks.c.create_user_uin, tasks.c.update_user_uin).where(tasks.c.id == tdef.task_id)).first()
    if row is not None:
        uins.update(u for u in row if u)
    submitter = conn.execute(
        select(task_versions.c.create_user_uin).where(task_versions.c.version_id == tdef.version_id)
    ).scalar()
    if submitter:
        uins.add(submitter)
    if not uins:
        return False
    admin: dict[str, bool] = {}
    for uin, is_admin in conn.execute(select(credentials.c.uin, credentials.c.is_admin).where(credentials.c.uin.in_(uins))):
        admin[uin] = admin.get(uin, True) and bool(is_admin)
    return all(admin.get(u, False) for u in uins)


@dataclass
class Prepared:
    spec: RunSpec | None
    code: str
    error: str | None = None


def run_dir_for(run_root: Path, instance_id: int, life_round: int, try_no: int) -> str:
    """The scratch directory of one attempt (known before the execution row exists)."""
    return str(run_root / f"{instance_id}.{life_round}.{try_no}")


def prepare(
    conn: Connection,
    tdef: TaskDef,
    inst: Mapping[Any, Any],
    *,
    run_dir: str,
    scheduled_wall: datetime,
    workflow_params: Mapping[str, str],
    log_file: Path,
    check_users: bool = False,
) -> Prepared:
    """Render the code and build the RunSpec (its execution_id is filled in by the caller).
    ``check_users``: look up whether the task's users are all admins (``RunSpec.trusted``), for
    an executor without isolation."""
    inputs, problems = input_values(conn, tdef, inst)
    # What is rendered: the code; a Shell form-mode task's command line (shell.cmd shell.args).
    source = form_source(tdef.ext, tdef.code) if tdef.task_type_id == SHELL_FORM_TYPE else tdef.code
    ctx = render_context(tdef, inst, scheduled_wall, workflow_params, inputs, source)
    if problems:  # a missing input is the reason, not the ${name} it leaves unrendered
        try:
            shown = render(source, replace(ctx, strict=False))
        except ParameterError:
            shown = source
        return Prepared(None, shown, "; ".join(problems))
    if tdef.task_type_id == NOTEBOOK_TYPE:  # the notebook: a code studio file, or the task's code
        code, problem = notebook_code(conn, str(inst["project_id"]), tdef.ext, source)
        if problem is not None:
            return Prepared(None, code, problem)
    else:
        code = source
    try:  # a notebook's code cells one by one (its JSON stays JSON); any other code as a whole
        code = render_cells(code, lambda text: render(text, ctx)) if tdef.task_type_id == NOTEBOOK_TYPE \
            else render(code, ctx)
    except ParameterError as exc:
        return Prepared(None, code, f"cannot render the task's code: {exc}")
    sql: SqlJob | None = None
    # Resource files: resolved here (the content registered now), staged after the commit.
    staged, problem = resolve(conn, str(inst["project_id"]), resource_refs(tdef.task_type_id, tdef.ext)) \
        if tdef.task_type_id not in SQL_TASK_TYPES else ([], None)
    if problem is not None:
        return Prepared(None, code, problem)
    try:
        if tdef.task_type_id in SQL_TASK_TYPES:
            # No command: the SQL executor runs the statements (executors/sql_tasks.py),
            # with the data-source rights of whoever submitted the running version.
            argv: list[str] = []
            files: dict[str, str] = {}
            submitter = conn.execute(
                select(task_versions.c.create_user_uin).where(task_versions.c.version_id == tdef.version_id)
            ).scalar()
            sql = SqlJob(tdef.task_type_id, str(inst["project_id"]), str(submitter or tdef.owner_uin or ""),
                         tdef.source_service_id, tdef.data_cluster, code)
        else:
            # Nothing is written here: the executor writes the files and makes the directories
            # when it starts the attempt, after the commit and off the engine's thread.
            command = command_for(tdef.task_type_id, code, tdef.ext, run_dir)
            argv, files = command.argv, command.files
        cwd = Path(run_dir, "work")  # the task's own writable directory, its HOME
    except OSError as exc:
        if is_disk_full(exc):
            raise  # not this attempt's fault: the engine pauses dispatch (scheduler/diskguard.py)
        return Prepared(None, code, f"cannot prepare the run directory {run_dir}: {exc.strerror or exc}")
    except ExecutorError as exc:
        return Prepared(None, code, str(exc))
    # Only the task's own variables: the executor builds PATH, HOME ... from scratch.
    env = dict(
        PYTHONUNBUFFERED="1",
        WEDATA_INSTANCE_KEY=instance_key(tdef.task_id, inst["data_time"]),
        WEDATA_TASK_ID=tdef.task_id,
        WEDATA_DATA_TIME=inst["data_time"].strftime("%Y-%m-%d %H:%M:%S"),
        WEDATA_PROJECT_ID=str(inst["project_id"]),
        WEDATA_WORKFLOW_ID=str(inst["workflow_id"]),
        WEDATA_LIFE_ROUND_NUM=str(inst["life_round_num"]),
    )
    if staged:
        # docs/files.md: the files are in $WEDATA_RESOURCES; Python imports from there (and
        # from any wheel or zip staged there); Shell form mode unpacks $WEDATA_PACKAGE.
        where = resources_dir(run_dir)
        env["WEDATA_RESOURCES"] = where
        env["WEDATA_PACKAGE"] = staged[0].name
        archives = [f"{where}/{r.name}" for r in staged if r.name.endswith((".whl", ".zip", ".egg"))]
        env["PYTHONPATH"] = ":".join([where, *archives])
    spec = RunSpec(
        execution_id=0,
        argv=argv,
        cwd=str(cwd),
        log_path=str(log_file),
        run_dir=run_dir,
        env=env,
        resource_group=inst.get("resource_group_id"),
        trusted=users_are_admins(conn, tdef) if check_users and sql is None else None,
        sql=sql,
        resources=tuple(staged),
        files=files,
    )
    return Prepared(spec, code)
