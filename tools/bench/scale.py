"""Scale benchmark (PostgreSQL, or SQLite with ``--backend sqlite``): lists, GetTask/s, next-day planning and the engine's cost per
state change with 100,000 submitted tasks and 1,000,000 instances (issue 14).

Seeding is setup, not what is measured. A few template tasks are made the real way (CreateTask
then SubmitTask through the official SDK against `wedata server`); their rows (``tasks`` and the
SAVE and SUBMIT ``task_versions``, nothing else is written by those two actions) are then cloned
with COPY (SQLite: batched INSERTs), changing only identity, name, workflow, owner, folder, type, status and times. The
instances are the rows the planner would make (planner.instance_row of the template's definition)
carried to the end the engine gives them (COMPLETED, or EXPIRED after its retries; one execution each); the planner's
``task_plans`` rows say "planned through today". Not seeded: ``instance_transitions`` (no list
reads it). A seeded task and instance are then read back through the SDK (GetTask,
GetTaskInstance) and must equal what the server says of the template.

Measured, through the official SDK against one `wedata server --no-scheduler` process:
  lists   ListTasks / ListTaskInstances with every filter of the spec, first / middle / last
          page, every sort column both ways: client-side p50 / p99 (each response carries
          TotalCount, so its COUNT is in the figure);
  get     GetTask/s from one API process, wrk with a pre-signed request (tools/bench/api.py);
  engine  in process: 200 one-off ``true`` tasks run through a started engine with the seeded
          tasks present; SQL statements, engine CPU and wall per state change. Run it at two
          sizes (``--tasks 1000`` and ``--tasks 100000``) to compare;
  plan    in process: the engine's planning loop (Engine._plan, as it runs when the day rolls
          over) planning the next day of every daily task, timed. Run last: the instances it
          makes are due from today on, and a later ``engine`` phase on a ``--reuse``d database
          would run them first.

On SQLite the ``explain`` phase times each captured statement run again in process (SQLite runs
in the server's process: its execution is that time) and shows ``EXPLAIN QUERY PLAN``; a
``SCAN`` of a large table is flagged.

Usage: ``python tools/bench/scale.py [--backend postgres|sqlite] [--tasks 100000]
[--instances 1000000] [--only explain,lists,get,engine,plan] [--keep] [--reuse DBNAME]``
(SQLite: the database is ``$TMPDIR/wedata-DBNAME/wedata.db``).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

import psycopg  # noqa: E402
from sqlalchemy import JSON, event, func, insert, select  # noqa: E402

from tests.support import PG_URL, ServerProcess  # noqa: E402
from wedata.clock import SystemClock, utcnow  # noqa: E402
from wedata.config import Settings  # noqa: E402
from wedata.scheduler.definitions import parse_definition  # noqa: E402
from wedata.scheduler.planner import instance_row, to_utc, to_wall  # noqa: E402
from wedata.scheduling.datatimes import instance_key, planned_instances  # noqa: E402
from wedata.storage import tables as T  # noqa: E402
from wedata.storage.db import Database  # noqa: E402
from wedata.storage.engine_tables import instance_transitions, task_instances, task_plans  # noqa: E402
from wedata.storage.migrate import upgrade  # noqa: E402

TI = task_instances
PLAIN_PG = PG_URL.replace("postgresql+psycopg", "postgresql")
WORKFLOWS = 100  # tasks spread over this many workflows ...
WF_FOLDERS = 10  # ... in this many workflow folders
OWNERS = [f"20000000{i:04d}" for i in range(10)]
CODE = {35: "echo scale\n", 30: "print('scale')\n"}
DAILY = "0 0 1 * * ? *"


def wall_text(utc: datetime) -> str:
    return (utc + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")


def stamp(utc: datetime) -> str:
    """yyyyMMddHHmmssSSS of the UTC+8 wall time: how task and version ids are made."""
    w = utc + timedelta(hours=8)
    return w.strftime("%Y%m%d%H%M%S") + f"{w.microsecond // 1000:03d}"


# -- databases ----------------------------------------------------------------------------------


def create_db(name: str) -> str:
    with psycopg.connect(PLAIN_PG + "/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_URL}/{name}"


def drop_db(name: str) -> None:
    with psycopg.connect(PLAIN_PG + "/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def server(home: Path, url: str) -> Iterator[ServerProcess]:
    srv = ServerProcess(home, url, env={"WEDATA_SCHEDULER": "0", "WEDATA_ACCESS_LOG": "0"}).start()
    try:
        yield srv
    finally:
        srv.stop()


# -- seeding ------------------------------------------------------------------------------------


class Seed:
    """What the measurements need to know about the seeded world (also stored in the database,
    table ``bench_scale_seed``, so ``--reuse`` finds it)."""

    def __init__(self, **kw: Any) -> None:
        self.project_id: str = kw["project_id"]
        self.workflows: list[str] = kw["workflows"]
        self.wf_folders: list[dict[str, str]] = kw["wf_folders"]  # {path, id}
        self.task_ids: list[str] = kw["task_ids"]
        self.templates: dict[str, str] = kw["templates"]  # type id -> template task id
        self.tasks: int = kw["tasks"]
        self.instances: int = kw["instances"]
        self.days: list[str] = kw["days"]  # data times (wall) of the seeded instances

    def dump(self) -> str:
        return json.dumps(self.__dict__)


class PgLoader:
    """Bulk writes of the seed: COPY on PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))

    def copy(self, table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> int:
        n = 0
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)
                n += 1
        return n

    def execute(self, sql: str) -> None:
        self.conn.execute(sql)  # type: ignore[arg-type]

    def commit(self) -> None:
        self.conn.commit()

    def store_seed(self, doc: str) -> None:
        self.conn.execute("CREATE TABLE bench_scale_seed (doc text)")
        self.conn.execute("INSERT INTO bench_scale_seed VALUES (%s)", (doc,))
        self.conn.commit()

    def analyze(self) -> None:
        self.conn.autocommit = True
        self.conn.execute("VACUUM ANALYZE")

    def close(self) -> None:
        self.conn.close()


class SqliteLoader:
    """Bulk writes of the seed on SQLite: SQLAlchemy's executemany in batches, so every value is
    stored as the server stores it (its DATETIME text, its JSON); the rows the COPY path is
    given (JSON as text) are the same."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)
        self.conn = self.db.engine.connect()
        self.conn.begin()

    def copy(self, table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> int:
        tbl = T.metadata.tables[table]
        as_json = {c for c in columns if isinstance(tbl.c[c].type, JSON)}
        n, batch = 0, []
        for row in rows:
            item = dict(zip(columns, row, strict=True))
            for c in as_json:
                if isinstance(item[c], str):
                    item[c] = json.loads(item[c])
            batch.append(item)
            if len(batch) == 5000:
                self.conn.execute(insert(tbl), batch)
                n, batch = n + len(batch), []
        if batch:
            self.conn.execute(insert(tbl), batch)
            n += len(batch)
        return n

    def execute(self, sql: str) -> None:
        self.conn.exec_driver_sql(sql)

    def commit(self) -> None:
        self.conn.commit()
        self.conn.begin()

    def store_seed(self, doc: str) -> None:
        self.conn.exec_driver_sql("CREATE TABLE bench_scale_seed (doc text)")
        self.conn.exec_driver_sql("INSERT INTO bench_scale_seed VALUES (?)", (doc,))
        self.commit()

    def analyze(self) -> None:
        self.conn.commit()
        self.conn.exec_driver_sql("ANALYZE")
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()
        self.db.dispose()


def loader_for(url: str) -> PgLoader | SqliteLoader:
    return SqliteLoader(url) if url.startswith("sqlite") else PgLoader(url)


def seed(url: str, home: Path, n_tasks: int, n_instances: int, log: Callable[[str], None]) -> Seed:
    db = Database(url)
    upgrade(db)
    with server(home, url) as srv:
        api = srv.admin()
        project = api.data("CreateProject", {"Project": {"ProjectName": "scale", "DisplayName": "scale"}})["ProjectId"]
        folders = []
        for f in range(WF_FOLDERS):
            fid = api.data("CreateWorkflowFolder", {"ProjectId": project, "ParentFolderPath": "/",
                                                    "FolderName": f"f{f}"})["FolderId"]
            folders.append({"path": f"/f{f}", "id": fid})
        workflows = []
        for w in range(WORKFLOWS):
            wf = api.data("CreateWorkflow", {"ProjectId": project, "WorkflowName": f"wf{w:03d}",
                                             "ParentFolderPath": folders[w % WF_FOLDERS]["path"]})["WorkflowId"]
            api.data("CreateTaskFolder", {"ProjectId": project, "WorkflowId": wf, "ParentTaskFolderPath": "/",
                                          "TaskFolderName": "sub", "TaskFolderType": "GENERAL"})
            workflows.append(wf)
        templates = {}
        for type_id in (35, 30):
            tid = api.data("CreateTask", {
                "ProjectId": project,
                "TaskBaseAttribute": {"TaskName": f"template_{type_id}", "TaskTypeId": str(type_id),
                                      "WorkflowId": workflows[0], "TaskFolderPath": "/sub"},
                "TaskConfiguration": {"CodeContent": _b64(CODE[type_id])},
                "TaskSchedulerConfiguration": {"CycleType": "DAY_CYCLE", "CrontabExpression": DAILY},
            })["TaskId"]  # fmt: skip
            api.data("SubmitTask", {"ProjectId": project, "TaskId": tid, "VersionRemark": "v1"})
            templates[str(type_id)] = tid
    with db.read() as conn:
        rows = {tid: dict(conn.execute(select(T.tasks).where(T.tasks.c.id == tid)).mappings().one())
                for tid in templates.values()}
        versions = {tid: {r["kind"]: dict(r) for r in conn.execute(
            select(T.task_versions).where(T.task_versions.c.task_id == tid)).mappings()} for tid in templates.values()}
    # Generated columns (tasks.name_folded) are the database's to fill: COPY may not name them.
    task_cols = [c.name for c in T.tasks.c if c.computed is None]
    version_cols = [c.name for c in T.task_versions.c]
    now = utcnow().replace(microsecond=0)
    span = timedelta(days=365) / max(n_tasks, 1)
    rnd = random.Random(14)
    task_ids: list[str] = []
    # Every clone's schedule starts before its oldest seeded instance (the templates start today).
    start = (now - timedelta(days=400) + timedelta(hours=8)).strftime("%Y-%m-%d 00:00:00")
    meta: list[tuple[str, str, int, str, str]] = []  # (task id, workflow id, type, status, prod version)

    def task_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(n_tasks):
            created = now - timedelta(days=366) + span * i + timedelta(milliseconds=i % 997)
            type_id = 30 if i % 5 == 0 else 35
            tmpl = rows[templates[str(type_id)]]
            tid = stamp(created)
            wf = workflows[i % WORKFLOWS]
            r = rnd.random()
            status = "F" if r < 0.005 else "O" if r < 0.01 else "Y"
            owner = OWNERS[i % len(OWNERS)]
            folder = "/sub" if i % 4 == 0 else None
            name = f"scale_t{i:06d}"
            submit_id = f"{tid}_{stamp(created + timedelta(seconds=1))}"
            task_ids.append(tid)
            meta.append((tid, wf, type_id, status, submit_id))
            row = dict(tmpl, id=tid, project_id=project, workflow_id=wf, name=name, owner_uin=owner,
                       folder_path=folder, status=status, prod_version_id=submit_id, create_user_uin=owner,
                       update_user_uin=owner, update_user_name=owner, created_at=created, updated_at=created)
            row["definition"] = json.dumps(_starting(tmpl["definition"], start))
            yield tuple(row[c] for c in task_cols)

    def version_rows() -> Iterator[tuple[Any, ...]]:
        for i, (tid, wf, type_id, status, submit_id) in enumerate(meta):
            created = now - timedelta(days=366) + span * i + timedelta(milliseconds=i % 997)
            tmpl_id = templates[str(type_id)]
            for kind, vid, at in (("SAVE", f"{tid}_{stamp(created)}", created),
                                  ("SUBMIT", submit_id, created + timedelta(seconds=1))):
                v = dict(versions[tmpl_id][kind])
                snap = _starting(v["snapshot"], start)
                base = snap["TaskBaseAttribute"]
                owner = OWNERS[i % len(OWNERS)]
                base.update(TaskId=tid, TaskName=f"scale_t{i:06d}", WorkflowId=wf, WorkflowName=f"wf{i % WORKFLOWS:03d}",
                            OwnerUin=owner, CreateUserUin=owner, UpdateUserUin=owner, LastUpdateUserName=owner,
                            CreateTime=wall_text(created), LastUpdateTime=wall_text(created),
                            TaskFolderPath="/sub" if i % 4 == 0 else None)
                if kind == "SUBMIT":
                    base["Status"] = status
                v.update(version_id=vid, task_id=tid, created_at=at, create_user_uin=owner,
                         snapshot=json.dumps(snap), status=status if kind == "SUBMIT" else v["status"])
                yield tuple(v[c] for c in version_cols)

    t0 = time.perf_counter()
    db.dispose()
    out = loader_for(url)
    try:
        n = out.copy("tasks", task_cols, task_rows())
        out.copy("task_versions", version_cols, version_rows())
        out.commit()
        log(f"seeded {n} tasks (+{2 * n} versions) in {time.perf_counter() - t0:.1f} s")
        days = _seed_instances(out, project, meta, n_instances, now, versions[templates["35"]]["SUBMIT"], start, log)
        _seed_plans(out, meta, now)
        s = Seed(project_id=project, workflows=workflows, wf_folders=folders, task_ids=task_ids, templates=templates,
                 tasks=n_tasks, instances=n_instances, days=days)
        out.store_seed(s.dump())
        t1 = time.perf_counter()
        out.analyze()
        log(f"ANALYZE {time.perf_counter() - t1:.1f} s")
    finally:
        out.close()
    return s


def _b64(code: str) -> str:
    import base64

    return base64.b64encode(code.encode()).decode()


def _starting(doc: dict[str, Any], start: str) -> dict[str, Any]:
    out = json.loads(json.dumps(doc))
    out["TaskSchedulerConfiguration"]["StartTime"] = start
    return out


def _seed_instances(out: PgLoader | SqliteLoader, project: str, meta: list[tuple[str, str, int, str, str]],
                    n_instances: int, now: datetime, submit: dict[str, Any], start: str,
                    log: Callable[[str], None]) -> list[str]:
    """``n_instances / tasks`` days of each task up to today: the planner's rows, ended as the
    engine ends them (COMPLETED; 3% EXPIRED after their retries; 1% backfill instances)."""
    per_task = max(1, n_instances // max(len(meta), 1))
    tdef = parse_definition(submit["version_id"], _starting(submit["snapshot"], start))
    today = to_wall(now, tdef.zone).replace(hour=0, minute=0, second=0, microsecond=0)
    fires = list(planned_instances(tdef.schedule, today - timedelta(days=per_task) + timedelta(hours=1) - timedelta(seconds=1),
                                   today + timedelta(days=1) - timedelta(microseconds=1)))[-per_task:]
    cols = [c.name for c in TI.c if c.name != "id"]
    rnd = random.Random(7)
    t0 = time.perf_counter()

    def inst_rows() -> Iterator[tuple[Any, ...]]:
        for i, (tid, wf, type_id, _status, submit_id) in enumerate(meta):
            for fire, dt in fires:
                base = instance_row(now, tdef, project, wf, fire, dt, [], owner_uin=OWNERS[i % len(OWNERS)])
                sched = base["scheduled_at"]
                if sched > now:
                    row = dict(base)
                else:
                    r = rnd.random()
                    start = sched + timedelta(seconds=rnd.randint(1, 120))
                    cost = rnd.randint(200, 600_000)
                    failed = r < 0.03
                    tries = base["try_limit"] if failed else 1
                    end = start + timedelta(milliseconds=cost)
                    row = dict(base, state="EXPIRED" if failed else "COMPLETED", tries=tries, total_run_num=tries,
                               started_at=start, ended_at=end, cost_ms=cost, wait_since=None, deadline_at=None,
                               error_msg="exit code 1" if failed else None, row_version=2 + 2 * tries, updated_at=end)
                    if r > 0.99:
                        row.update(instance_type=0, run_type="ADDITION")
                row.update(task_id=tid, version_id=submit_id, task_type_id=type_id, created_at=sched - timedelta(days=1))
                row["outputs"] = None if row.get("outputs") is None else json.dumps(row["outputs"])
                yield tuple(row.get(c) for c in cols)

    n = out.copy("task_instances", cols, inst_rows())
    out.execute("""
        INSERT INTO instance_executions (instance_id, life_round_num, try_no, run_type, state, started_at, ended_at,
                                         exit_code, log_offset, code_content, executor, host, pid, node_id)
        SELECT id, 0, tries, run_type, CASE state WHEN 'COMPLETED' THEN 'COMPLETE' ELSE 'FAILED' END, started_at,
               ended_at, CASE state WHEN 'COMPLETED' THEN 0 ELSE 1 END, 0, 'echo scale', 'local', 'bench', 4242, 'seed'
        FROM task_instances WHERE started_at IS NOT NULL""")
    out.commit()
    log(f"seeded {n} instances (+ one execution each) in {time.perf_counter() - t0:.1f} s")
    return [dt.strftime("%Y-%m-%d %H:%M:%S") for _, dt in fires]


def _seed_plans(out: PgLoader | SqliteLoader, meta: list[tuple[str, str, int, str, str]], now: datetime) -> None:
    """task_plans as the planner leaves them: planned through the end of today (UTC+8), the
    horizon to move at the next midnight; offline tasks hold their version and no horizon."""
    wall_today = to_wall(now, "UTC+8").replace(hour=0, minute=0, second=0, microsecond=0)
    through = to_utc(wall_today + timedelta(days=1) - timedelta(microseconds=1), "UTC+8")
    next_at = to_utc(wall_today + timedelta(days=1), "UTC+8")

    def rows() -> Iterator[tuple[Any, ...]]:
        for tid, _wf, _type, status, version in meta:
            if status == "Y":
                yield (tid, version, status, through, next_at, None, now)
            else:
                yield (tid, version if status == "F" else version, status, None if status == "F" else through,
                       None, None, now)

    out.copy("task_plans", ["task_id", "version_id", "task_status", "planned_through", "next_plan_at", "error",
                             "updated_at"], rows())
    out.commit()


def load_seed(url: str) -> Seed:
    db = Database(url)
    try:
        with db.read() as conn:
            doc = conn.exec_driver_sql("SELECT doc FROM bench_scale_seed").scalar_one()
    finally:
        db.dispose()
    return Seed(**json.loads(doc))


# -- checks -------------------------------------------------------------------------------------


def verify(api: Any, s: Seed) -> None:
    """A seeded task and instance read back through the SDK like the template does."""
    tmpl = api.data("GetTask", {"ProjectId": s.project_id, "TaskId": s.templates["35"]})
    tid = s.task_ids[1]  # i=1: a Shell task
    got = api.data("GetTask", {"ProjectId": s.project_id, "TaskId": tid})
    assert got["TaskBaseAttribute"]["TaskId"] == tid, got
    assert got["TaskBaseAttribute"]["TaskName"] == "scale_t000001", got
    assert got["TaskConfiguration"]["CodeContent"] == tmpl["TaskConfiguration"]["CodeContent"]
    same = {k: v for k, v in tmpl["TaskSchedulerConfiguration"].items() if k != "StartTime"}
    assert {k: got["TaskSchedulerConfiguration"][k] for k in same} == same, got  # StartTime: moved back
    key = instance_key(tid, datetime.strptime(s.days[0], "%Y-%m-%d %H:%M:%S"))
    inst = api.data("GetTaskInstance", {"ProjectId": s.project_id, "InstanceKey": key})
    assert inst["InstanceKey"] == key and inst["TaskName"] == "scale_t000001", inst
    assert inst["InstanceState"] in ("COMPLETED", "EXPIRED"), inst
    execs = api.data("ListTaskInstanceExecutions", {"ProjectId": s.project_id, "InstanceKey": key})
    assert execs["TotalCount"] == 1, execs
    versions = api.data("ListTaskVersions", {"ProjectId": s.project_id, "TaskId": tid, "TaskVersionType": "SUBMIT"})
    assert versions["TotalCount"] == 1, versions


# -- lists --------------------------------------------------------------------------------------


def _timed(api: Any, action: str, params: dict[str, Any], repeat: int) -> tuple[list[float], dict[str, Any]]:
    times, data = [], {}
    api.data(action, params)  # warm: the first call pays connection set-up
    for _ in range(repeat):
        t0 = time.perf_counter()
        data = api.data(action, params)
        times.append((time.perf_counter() - t0) * 1000)
    return times, data


def _pct(times: list[float], p: float) -> float:
    s = sorted(times)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def list_cases(s: Seed) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(action, label, params without paging) for every filter of the spec."""
    p = s.project_id
    now = utcnow()
    mid = s.task_ids[len(s.task_ids) // 2]
    yield "ListTasks", "none", {}
    yield "ListTasks", "TaskName rare", {"TaskName": "t0005"}
    yield "ListTasks", "TaskName common", {"TaskName": "scale_"}
    yield "ListTasks", "WorkflowId", {"WorkflowId": s.workflows[3]}
    yield "ListTasks", "OwnerUin", {"OwnerUin": OWNERS[2]}
    yield "ListTasks", "TaskTypeId", {"TaskTypeId": 30}
    yield "ListTasks", "Status O", {"Status": "O"}
    yield "ListTasks", "Status Y", {"Status": "Y"}
    yield "ListTasks", "Submit true", {"Submit": True}
    yield "ListTasks", "Submit false", {"Submit": False}
    yield "ListTasks", "BundleId", {"BundleId": "bundle-x"}
    yield "ListTasks", "CreateUserUin", {"CreateUserUin": OWNERS[4]}
    yield "ListTasks", "ModifyTime 30d", {"ModifyTime": [wall_text(now - timedelta(days=30)), wall_text(now)]}
    yield "ListTasks", "CreateTime 180d", {"CreateTime": [wall_text(now - timedelta(days=180)), wall_text(now)]}
    yield "ListTasks", "TaskFolderPathList", {"TaskFolderPathList": ["/sub"]}
    yield "ListTasks", "WorkflowFolderPathList", {"WorkflowFolderPathList": [s.wf_folders[1]["path"]]}
    yield "ListTasks", "TaskNodeTypeList", {"TaskNodeTypeList": ["GENERAL"]}
    yield "ListTasks", "all filters", {"TaskName": "scale_", "WorkflowId": s.workflows[3], "OwnerUin": OWNERS[3],
                                       "Status": "Y", "Submit": True, "TaskTypeId": 35}
    day = s.days[len(s.days) // 2][:10]
    yield "ListTaskInstances", "none", {}
    yield "ListTaskInstances", "Keyword name", {"Keyword": "scale_t00012"}
    yield "ListTaskInstances", "Keyword id", {"Keyword": mid}
    yield "ListTaskInstances", "InstanceType 0", {"InstanceType": 0}
    yield "ListTaskInstances", "InstanceType 1", {"InstanceType": 1}
    yield "ListTaskInstances", "InstanceState EXPIRED", {"InstanceState": "EXPIRED"}
    yield "ListTaskInstances", "InstanceState COMPLETED", {"InstanceState": "COMPLETED"}
    yield "ListTaskInstances", "TaskTypeId", {"TaskTypeId": 30}
    yield "ListTaskInstances", "CycleType", {"CycleType": "DAY_CYCLE"}
    yield "ListTaskInstances", "OwnerUin", {"OwnerUin": OWNERS[1]}
    yield "ListTaskInstances", "FolderId", {"FolderId": s.wf_folders[2]["id"]}
    yield "ListTaskInstances", "WorkflowId", {"WorkflowId": s.workflows[5]}
    yield "ListTaskInstances", "ExecutorGroupId", {"ExecutorGroupId": "rg-none"}
    yield "ListTaskInstances", "ScheduleTime 1 day", {"ScheduleTimeFrom": f"{day} 00:00:00", "ScheduleTimeTo": f"{day} 23:59:59"}
    yield "ListTaskInstances", "StartTime 1 day", {"StartTimeFrom": f"{day} 00:00:00", "StartTimeTo": f"{day} 23:59:59"}
    yield "ListTaskInstances", "LastUpdateTime 1 day", {"LastUpdateTimeFrom": f"{day} 00:00:00",
                                                        "LastUpdateTimeTo": f"{day} 23:59:59"}
    for col in ("SCHEDULE_DATE", "START_TIME", "END_TIME", "COST_TIME"):
        for way in ("ASC", "DESC"):
            yield "ListTaskInstances", f"sort {col} {way}", {"SortColumn": col, "SortType": way}
    yield "ListTaskInstances", "all filters", {"InstanceType": 1, "InstanceState": "COMPLETED", "TaskTypeId": 35,
                                               "CycleType": "DAY_CYCLE", "OwnerUin": OWNERS[5],
                                               "WorkflowId": s.workflows[5], "ScheduleTimeFrom": f"{day} 00:00:00"}
    del p


def pages(api: Any, s: Seed, only: str | None, size: int) -> Iterator[tuple[str, str, str, dict[str, Any], int]]:
    """(action, filter label, page label, request, total) for the first, middle and last page."""
    for action, label, params in list_cases(s):
        if only and not any(part in f"{action} {label}" for part in only.split("|")):
            continue
        base = {"ProjectId": s.project_id, **params}
        total = int(api.data(action, {**base, "PageNumber": 1, "PageSize": size})["TotalCount"])
        last = max(1, (total + size - 1) // size)
        for number in sorted({1, max(1, last // 2), last}):
            tag = "first" if number == 1 else "last" if number == last else "middle"
            yield action, label, f"{tag} ({number})", {**base, "PageNumber": number, "PageSize": size}, total


def measure_lists(api: Any, s: Seed, repeat: int, only: str | None, size: int) -> list[dict[str, Any]]:
    out = []
    for action, label, page_label, req, total in pages(api, s, only, size):
        times, data = _timed(api, action, req, repeat)
        assert int(data["TotalCount"]) == total
        out.append({"action": action, "filter": label, "page": page_label, "total": total,
                    "p50_ms": _pct(times, 50), "p99_ms": _pct(times, 99), "max_ms": max(times)})
    return out


def explain_lists(api: Any, url: str, s: Seed, only: str | None, size: int, show_plans: bool) -> list[dict[str, Any]]:
    """The same pages in process: the service's own statements (captured as it runs them), each
    re-run under EXPLAIN ANALYZE. ``sql_ms`` is PostgreSQL's execution time summed over the
    request's statements (the least noisy figure on a shared machine); ``service_ms`` the
    service call (SQL, round trips and row decoding, no HTTP, no rendering)."""
    import msgspec

    from wedata.services.container import Services
    from wedata.spec import models as M

    db = Database(url)
    services = Services(db, Settings(home=Path(tempfile.mkdtemp(prefix="bench-scale-x-"))), SystemClock())
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        captured.append((statement, parameters))

    out = []
    for action, label, page_label, req, total in pages(api, s, only, size):
        model = M.ListTasksRequest if action == "ListTasks" else M.ListTaskInstancesRequest
        request = msgspec.convert(req, model, strict=False)

        def call(r: Any = request, a: str = action) -> Any:
            return services.tasks.list_tasks(r) if a == "ListTasks" else services.instances.list_instances(r)

        call()
        service = []
        for _ in range(3):
            t0 = time.perf_counter()
            call()
            service.append((time.perf_counter() - t0) * 1000)
        captured.clear()
        event.listen(db.engine, "before_cursor_execute", capture)
        call()
        event.remove(db.engine, "before_cursor_execute", capture)
        statements = [(st, pa) for st, pa in captured if st.lstrip().upper().startswith("SELECT")]
        sql, plans = 0.0, []
        with db.read() as conn:
            for st, pa in statements:
                ms, words = _explain(conn, st, pa)
                sql += ms
                plans.append(words)
        out.append({"action": action, "filter": label, "page": page_label, "total": total,
                    "service_ms": statistics.median(service), "sql_ms": sql, "statements": len(statements),
                    "plans": plans})
        _print_explain(out[-1:], show_plans)
    db.dispose()
    return out


def _explain(conn: Any, statement: str, parameters: Any) -> tuple[float, str]:
    if conn.dialect.name == "sqlite":
        return _explain_sqlite(conn, statement, parameters)
    doc = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar_one()
    plan = doc[0] if isinstance(doc, list) else json.loads(doc)[0]
    return float(plan["Execution Time"]), _plan_words(plan["Plan"])


_LARGE = frozenset({"task_instances", "instance_executions", "tasks", "task_versions", "instance_transitions"})


def _scans_large(detail: str) -> bool:
    words = detail.split()
    return len(words) > 1 and words[0] == "SCAN" and words[1] in _LARGE


def _explain_sqlite(conn: Any, statement: str, parameters: Any) -> tuple[float, str]:
    """The statement run again and timed (SQLite executes in this process), and its plan:
    EXPLAIN QUERY PLAN's details, a SCAN of a table other than a small one flagged."""
    t0 = time.perf_counter()
    conn.exec_driver_sql(statement, parameters).fetchall()
    ms = (time.perf_counter() - t0) * 1000
    details = [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
    flagged = [("!! " if _scans_large(d) else "") + d for d in details]
    return ms, "; ".join(flagged)


def _plan_words(node: dict[str, Any]) -> str:
    """A one-line plan: node types with their index or relation, nested in brackets."""
    name = node["Node Type"] + (f" {node['Index Name']}" if "Index Name" in node else
                                f" {node['Relation Name']}" if "Relation Name" in node else "")
    kids = [_plan_words(k) for k in node.get("Plans", [])]
    return name + (f" [{'; '.join(kids)}]" if kids else "")


# -- GetTask/s ----------------------------------------------------------------------------------


def measure_get(srv: ServerProcess, s: Seed, seconds: int, connections: int) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).parent))
    from api import run_wrk  # tools/bench/api.py: the pre-signed request and wrk's Lua hook

    return run_wrk(srv.endpoint, "GetTask", {"ProjectId": s.project_id, "TaskId": s.task_ids[len(s.task_ids) // 2]},
                   seconds, connections)


# -- planning -----------------------------------------------------------------------------------


class StatementCounter:
    def __init__(self, db: Database) -> None:
        self.count = 0
        event.listen(db.engine, "before_cursor_execute", self._on)

    def _on(self, *args: Any, **kw: Any) -> None:
        self.count += 1


def measure_plan(url: str, log: Callable[[str], None], profile: bool = False) -> dict[str, Any]:
    """Move every daily task's horizon (next_plan_at due now) and time the engine's planning."""
    from wedata.scheduler.engine import Engine

    db = Database(url)
    with db.write() as conn:
        conn.execute(task_plans.update().where(task_plans.c.next_plan_at.is_not(None)).values(
            next_plan_at=utcnow() - timedelta(seconds=1)))
        before = conn.execute(select(func.count()).select_from(TI)).scalar_one()
        due = conn.execute(select(func.count()).select_from(task_plans).where(
            task_plans.c.next_plan_at.is_not(None))).scalar_one()
    home = Path(tempfile.mkdtemp(prefix="bench-scale-plan-"))
    settings = Settings(home=home, allow_unisolated=True)
    engine = Engine(db, settings, SystemClock())
    counter = StatementCounter(db)
    cpu0, t0 = time.process_time(), time.perf_counter()
    import cProfile

    prof = cProfile.Profile() if profile else None
    while True:
        if prof:
            prof.enable()
        engine._plan()  # the loop the engine runs each iteration (bounded to 100 batches)
        if prof:
            prof.disable()
        with db.read() as conn:
            left = conn.execute(select(func.count()).select_from(task_plans).where(
                task_plans.c.next_plan_at <= utcnow())).scalar_one()
        if not left:
            break
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if prof:
        import pstats

        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    with db.read() as conn:
        after = conn.execute(select(func.count()).select_from(TI)).scalar_one()
    db.dispose()
    shutil.rmtree(home, ignore_errors=True)
    log(f"planned {after - before} instances for {due} tasks in {wall:.1f} s")
    return {"tasks": due, "created": after - before, "wall_s": wall, "cpu_s": cpu, "statements": counter.count,
            "statements_per_task": counter.count / max(due, 1)}


# -- the engine's cost per state change ---------------------------------------------------------


def measure_engine(url: str, n: int, log: Callable[[str], None], lead: float = 20.0) -> dict[str, Any]:
    """``n`` one-off ``true`` tasks (own project) due together, run by a started engine with the
    seeded tasks and their instances present. Counted from the moment they are planned."""
    from tests.scheduler.helpers import World
    from wedata.scheduler.engine import OLTP_PLANS, Engine
    from wedata.services.container import Services

    db = Database(url)
    poll = Database(url)  # the bench's own polling is not counted with the engine's statements
    home = Path(tempfile.mkdtemp(prefix="bench-scale-engine-"))
    now = utcnow()
    eligible = (now + timedelta(seconds=lead)).replace(microsecond=0)
    w = World(db, now)
    ids = [w.task("true", cycle="ONEOFF_CYCLE", cron="* * * * * ? *", start=wall_text(eligible), SelfDepend="parallel")
           for _ in range(n)]
    settings = Settings(home=home, default_slots=4, plan_interval=0.2, sweep_interval=30.0, sandbox="none",
                        allow_unisolated=True)
    services = Services(db, settings, SystemClock())
    # The engine's process serves no API: its connections carry the plan settings, as in
    # `wedata scheduler` and the server's engine process (Database.engine_sessions).
    db.engine_sessions(OLTP_PLANS)
    engine = Engine(db, settings, SystemClock(), defs=services.scheduler.defs)
    services.scheduler.attach(engine)
    counter = StatementCounter(db)
    mine = TI.c.project_id == w.project_id
    engine.start()
    try:
        deadline = time.monotonic() + 120
        while True:
            with poll.read() as conn:
                planned = conn.execute(select(func.count()).select_from(TI).where(mine)).scalar_one()
            if planned >= n:
                break
            if time.monotonic() > deadline:
                raise SystemExit("engine bench: planning took over 120 s")
            time.sleep(0.1)
        if utcnow() >= eligible:
            log("engine bench: planning ended after the eligible time (figures include some planning)")
        while utcnow() < eligible - timedelta(milliseconds=300):
            time.sleep(0.05)
        s0, cpu0 = counter.count, time.process_time()
        while True:
            with poll.read() as conn:
                done = conn.execute(select(func.count()).select_from(TI).where(mine, TI.c.state == "COMPLETED")).scalar_one()
            if done >= n:
                break
            if time.monotonic() > deadline + 120:
                raise SystemExit("engine bench: runs not finished")
            time.sleep(0.2)
        statements, cpu = counter.count - s0, time.process_time() - cpu0
    finally:
        engine.stop()
        services.scheduler.attach(None)  # and its backfill watchdog ends with it
    with db.read() as conn:
        changes = conn.execute(select(func.count()).select_from(instance_transitions.join(
            TI, TI.c.id == instance_transitions.c.instance_id)).where(mine, instance_transitions.c.from_state.is_not(None))
        ).scalar_one()
        first, last = conn.execute(select(func.min(TI.c.scheduled_at), func.max(TI.c.ended_at)).where(mine)).one()
        tasks_present = conn.execute(select(func.count()).select_from(T.tasks)).scalar_one()
        instances_present = conn.execute(select(func.count()).select_from(TI)).scalar_one()
    db.dispose()
    poll.dispose()
    shutil.rmtree(home, ignore_errors=True)
    del ids
    return {"tasks_present": tasks_present, "instances_present": instances_present, "runs": n,
            "state_changes": changes, "statements_per_change": statements / max(changes, 1),
            "cpu_ms_per_change": cpu * 1000 / max(changes, 1), "wall_s": (last - first).total_seconds(),
            "wall_ms_per_change": (last - first).total_seconds() * 1000 / max(changes, 1)}


# -- main ---------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    ap.add_argument("--tasks", type=int, default=100_000)
    ap.add_argument("--instances", type=int, default=1_000_000)
    ap.add_argument("--only", default="explain,lists,get,engine,plan")
    ap.add_argument("--filter", default=None, help="only the list cases whose label contains one of these (|-separated)")
    ap.add_argument("--repeat", type=int, default=30, help="timed calls per list case and page")
    ap.add_argument("--page-size", type=int, default=10, help="PageSize of the list calls (spec default 10)")
    ap.add_argument("--profile", action="store_true", help="profile the planning (cProfile, to stderr)")
    ap.add_argument("--plans", action="store_true", help="print each explained statement's plan")
    ap.add_argument("--seconds", type=int, default=10, help="wrk duration for GetTask/s")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--runs", type=int, default=200, help="one-off tasks for the engine's cost per state change")
    ap.add_argument("--reuse", default=None, help="an already seeded database (kept; plan/engine change it)")
    ap.add_argument("--keep", action="store_true", help="keep the seeded database (its name is printed)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    phases = {p.strip() for p in args.only.split(",") if p.strip()}

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    name = args.reuse or f"hscale_bench_{uuid.uuid4().hex[:8]}"
    # The server's home (its key file) lives as long as the database (SQLite's file is in it).
    home = Path(tempfile.gettempdir()) / f"wedata-{name}"
    home.mkdir(mode=0o700, exist_ok=True)
    lite = args.backend == "sqlite"
    url = f"sqlite:///{home / 'wedata.db'}" if lite else f"{PG_URL}/{name}"
    report: dict[str, Any] = {"database": name, "load_before": _load()}
    try:
        if args.reuse:
            s = load_seed(url)
        else:
            if not lite:
                create_db(name)
            t0 = time.perf_counter()
            s = seed(url, home, args.tasks, args.instances, log)
            report["seed_s"] = round(time.perf_counter() - t0, 1)
        report.update(tasks=s.tasks, instances=s.instances)
        if phases & {"lists", "get", "explain"}:
            with server(home, url) as srv:
                api = srv.admin()
                verify(api, s)
                log("seeded rows verified through the SDK (GetTask, GetTaskInstance, executions, versions)")
                if "explain" in phases:
                    report["explain"] = explain_lists(api, url, s, args.filter, args.page_size, args.plans)
                    _print_worst(report["explain"])
                if "lists" in phases:
                    report["lists"] = measure_lists(api, s, args.repeat, args.filter, args.page_size)
                    _print_lists(report["lists"])
                if "get" in phases:
                    report["get"] = measure_get(srv, s, args.seconds, args.connections)
                    log(f"GetTask: {report['get']['rps']:.0f}/s, p99 {report['get']['p99_ms']:.1f} ms, "
                        f"errors {report['get']['errors']}")
        # The engine before the planning: the next day's instances the planning makes are due
        # from today on (WAIT_RUN, older data times first), and the engine would run them
        # ahead of its own 200 one-off tasks.
        if "engine" in phases:
            report["engine"] = measure_engine(url, args.runs, log)
            log(f"engine: {json.dumps(report['engine'])}")
        if "plan" in phases:
            report["plan"] = measure_plan(url, log, args.profile)
            log(f"plan: {json.dumps(report['plan'])}")
        report["backend"] = args.backend
        report["load_after"] = _load()
        if args.json:
            print(json.dumps(report, indent=2, default=str))
    finally:
        if not (args.keep or args.reuse):
            shutil.rmtree(home, ignore_errors=True)
            if not lite:
                drop_db(name)
        else:
            log(f"database kept: {name} (--reuse {name})")
    return 0


def _load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def _print_explain(rows: list[dict[str, Any]], plans: bool) -> None:
    for r in rows:
        print(f"{r['action']:<18} {r['filter']:<26} {r['page']:<16} total {r['total']:>8}  "
              f"sql {r['sql_ms']:7.1f} ms in {r['statements']} statements, service {r['service_ms']:7.1f} ms", flush=True)
        if plans:
            for p in r["plans"]:
                print(f"      {p}")


def _print_worst(rows: list[dict[str, Any]]) -> None:
    print(f"worst sql {max((r['sql_ms'] for r in rows), default=0):.1f} ms, "
          f"worst service {max((r['service_ms'] for r in rows), default=0):.1f} ms", flush=True)


def _print_lists(rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    worst = max((r["p99_ms"] for r in rows), default=0.0)
    for r in rows:
        flag = "" if r["p99_ms"] <= 50 else "  OVER 50 ms"
        buf.write(f"{r['action']:<18} {r['filter']:<26} {r['page']:<16} total {r['total']:>8}  "
                  f"p50 {r['p50_ms']:6.1f}  p99 {r['p99_ms']:6.1f} ms{flag}\n")
    buf.write(f"worst p99 {worst:.1f} ms; median of p50s {statistics.median(r['p50_ms'] for r in rows):.1f} ms\n")
    print(buf.getvalue(), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
