"""services/folders.py ``under``: a folder and everything below it, on both backends, with LIKE's
wildcards and its escape character taken literally in folder names; and on PostgreSQL the
ListTasks folder filter is one range of the folder index (migration 0029_folder_prefix)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Column, MetaData, String, Table, func, insert, select

from tests.conftest import require_postgres
from tests.support import PG_URL, create_pg_database, drop_pg_database, insert_raw_tasks
from wedata.services.folders import under
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.migrate import upgrade

PATHS = ["/a_b", "/a_b/c", "/a_b/c/d", "/aXb", "/aXb/c", "/a_b-2", "/a_bc", "/a%b", "/a%b/x", "/azb",
         "/a\\b", "/a\\b/y", "/a\\\\b", "/"]


def test_a_folder_is_itself_and_what_lies_below_it_and_wildcards_are_plain_characters(database: Database) -> None:
    paths = Table("paths", MetaData(), Column("path", String(200), primary_key=True))
    paths.create(database.engine)
    with database.engine.begin() as conn:
        conn.execute(insert(paths), [{"path": p} for p in PATHS])

    def below(folder: str) -> set[str]:
        with database.read() as conn:
            return set(conn.execute(select(paths.c.path).where(under(paths.c.path, folder))).scalars())

    assert below("/a_b") == {"/a_b", "/a_b/c", "/a_b/c/d"}  # not /aXb, /a_b-2 nor /a_bc
    assert below("/a%b") == {"/a%b", "/a%b/x"}  # not /azb
    assert below("/a\\b") == {"/a\\b", "/a\\b/y"}  # the escape character itself, not /a\\b
    assert below("/a_b/c") == {"/a_b/c", "/a_b/c/d"}
    assert below("/nothing") == set()


def test_on_postgresql_a_task_folder_count_reads_one_range_of_the_folder_index(tmp_path: Path) -> None:
    require_postgres()
    name = create_pg_database()
    db = Database(f"{PG_URL}/{name}")
    try:
        upgrade(db)
        t = T.tasks
        with db.engine.begin() as conn:
            insert_raw_tasks(conn, [{"id": f"t{i}", "folder_path": "/sub_1/x" if i % 500 == 0 else f"/other{i % 7}"}
                                    for i in range(5000)], project="p")
            conn.exec_driver_sql("ANALYZE tasks")
        count = select(func.count()).select_from(t).where(t.c.project_id == "p", under(t.c.folder_path, "/sub_1"))
        with db.engine.connect() as conn:
            assert conn.execute(count).scalar_one() == 10
            # The prefix is in the statement's text, not a parameter: a prepared statement's
            # generic plan (made without parameter values) would have no range to read.
            sent = str(count.compile(conn, compile_kwargs={"render_postcompile": True}))
            assert "LIKE '/sub\\_1%" in sent and "LIKE '/sub\\_1/%" in sent, sent
            sql = str(count.compile(conn, compile_kwargs={"literal_binds": True}))
            plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql))
        assert "ix_tasks_project_folder" in plan, plan
        # The prefix is a range of the index (text_pattern_ops), not a filter over the project's rows.
        assert "~>=~" in plan and "~<~" in plan, plan
    finally:
        db.dispose()
        drop_pg_database(name)
