"""Data-quality benchmark (issue 10): a monitoring task of 10 rules on a 1-million-row
PostgreSQL table, against the same 10 aggregate queries run directly.

A scratch PostgreSQL database gets ``facts`` (``--rows`` rows, default 1,000,000: a day, a
customer with 5 % NULLs, an amount, a code; ANALYZEd). A server database (SQLite in a temporary
home) gets a project, a POSTGRE data source on it and a group of 10 rules made through the
quality service (the catalog reads the table): row count, null count, null ratio, distinct
count, duplicate count, min, max, average, sum, regex match ratio, all on the whole table.

- **check**: one execution of the group as the quality worker runs it (``Executor.run_group``:
  planning, the SQL on the source's pool, exact verdicts, the results stored).
- **direct**: the 10 aggregate queries one would write for these rules, run one after the other
  on one psycopg connection (``SELECT COUNT(*) FROM facts``, ``SELECT COUNT(*) FROM facts WHERE
  customer IS NULL``, ...).

Each is run ``--repeat`` times (alternating, after one warm-up of each); the medians are compared.
The rules of one scope share one scan (services/quality/scan.py), so the check should cost about
one pass. The check's values are compared with the direct ones (a wrong answer fails the run).
Target: check <= 1.5 x direct. Exits 1 when it is missed.

Usage: ``python tools/bench/quality.py [--rows 1000000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

REGEX = "^[A-Z][0-9]$"
DIRECT = [  # (template, the query one would write for the rule)
    (1, "SELECT COUNT(*) FROM facts"),
    (2, "SELECT COUNT(*) FROM facts WHERE customer IS NULL"),
    (3, "SELECT COALESCE(100.0 * SUM(CASE WHEN customer IS NULL THEN 1 ELSE 0 END) / NULLIF(COUNT(*), 0), 0) FROM facts"),
    (4, "SELECT COUNT(DISTINCT customer) FROM facts"),
    (5, "SELECT COUNT(customer) - COUNT(DISTINCT customer) FROM facts"),
    (6, "SELECT MIN(amount) FROM facts"),
    (7, "SELECT MAX(amount) FROM facts"),
    (8, "SELECT AVG(amount) FROM facts"),
    (9, "SELECT SUM(amount) FROM facts"),
    (11, f"SELECT 100.0 * SUM(CASE WHEN code ~ '{REGEX}' THEN 1 ELSE 0 END) / COUNT(code) FROM facts"),
]
COLUMN = {1: None, 2: "customer", 3: "customer", 4: "customer", 5: "customer", 6: "amount", 7: "amount",
          8: "amount", 9: "amount", 11: "code"}


def make_table(url: str, rows: int) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as c:
        c.execute("CREATE TABLE facts (id bigint, day date, customer text, amount numeric(12, 2), code text)")
        c.execute(
            "INSERT INTO facts SELECT g, DATE '2025-03-01' - (g % 30), "
            "CASE WHEN g % 20 = 0 THEN NULL ELSE 'c' || (g % 50000) END, (g % 1000) / 10.0, "
            "chr(65 + g % 26) || (g % 10) || CASE WHEN g % 7 = 0 THEN 'x' ELSE '' END "
            f"FROM generate_series(1, {int(rows)}) g")
        c.execute("ANALYZE facts")


def rule_body(source: int, db: str, template: int) -> dict[str, Any]:
    column = COLUMN[template]
    body: dict[str, Any] = {
        "Name": f"bench rule {template}", "Type": 1, "DatasourceId": str(source), "DatabaseName": db,
        "SchemaName": "public", "TableName": "facts", "RuleTemplateId": template, "AlarmLevel": 1,
        "SourceEngineTypes": [64], "ConditionType": 1,
        "CompareRule": {"Items": [{"CompareType": 1, "Operator": "<", "ValueList": [{"ValueType": 3, "Value": "0"}]}]},
        "SourceObjectDataTypeName": "table" if column is None else "numeric" if column == "amount" else "string",
        "SourceObjectValue": column or "facts",
    }
    if template == 11:
        body["FieldConfig"] = {"WhereConfig": [{"FieldKey": "regex", "FieldValue": REGEX}]}
    return body


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the checked table (default 1000000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each side (default 5)")
    args = parser.parse_args()

    import msgspec
    import psycopg

    from tests.support import PG_URL, create_pg_database, drop_pg_database
    from wedata.clock import SystemClock
    from wedata.config import Settings
    from wedata.principal import Caller
    from wedata.services.container import Services
    from wedata.spec import models as M
    from wedata.storage.db import Database
    from wedata.storage.migrate import upgrade

    admin = Caller("bench", "100000000001", is_admin=True)
    source_db = create_pg_database()
    plain = PG_URL.replace("postgresql+psycopg", "postgresql")
    home = Path(tempfile.mkdtemp(prefix="bench-quality-"))
    services = None
    try:
        t0 = time.perf_counter()
        make_table(f"{plain}/{source_db}", args.rows)
        print(f"table of {args.rows} rows written in {time.perf_counter() - t0:.1f} s", flush=True)
        db = Database(f"sqlite:///{home / 'wedata.db'}")
        upgrade(db)
        services = Services(db, Settings(home=home), SystemClock())
        project = services.projects.create_project(admin, M.ProjectRequest(project_name="qbench", display_name="q"))
        host = PG_URL.split("@", 1)[1]
        user = PG_URL.split("//", 1)[1].split("@", 1)[0]
        props = {"url": f"jdbc:postgresql://{host}/{source_db}", "username": user, "password": "bench-pw"}
        source = services.datasources.create(admin, M.CreateDataSourceRequest(
            project_id=project, name="bench_pg", type="POSTGRE", prod_con_properties=json.dumps(props)))
        req = msgspec.convert({"ProjectId": project, "CreateRuleScene": 1,
                               "RuleBOList": [rule_body(source, source_db, t) for t, _ in DIRECT]},
                              M.CreateQualityRuleRequest)
        made = services.quality.create_rules(admin, req)
        group_id = int(made[0]["group_id"])  # rules without a RuleGroupId join the table's group
        executor = services.quality.executor
        data_time = datetime(2025, 3, 1)

        def check() -> Any:
            return executor.run_group(group_id, data_time, trigger_type=1)

        with psycopg.connect(f"{plain}/{source_db}", autocommit=True) as conn:
            def direct() -> dict[int, Any]:
                return {t: conn.execute(sql).fetchone()[0] for t, sql in DIRECT}  # type: ignore[index]

            run, expected = check(), direct()  # warm-up (pool, caches)
            checks, directs = [], []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                run = check()
                checks.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                expected = direct()
                directs.append(time.perf_counter() - t0)
        got = {o.rule.template_id: o.value for o in run.outcomes}
        wrong = {t: (str(got.get(t)), str(v)) for t, v in expected.items()
                 if got.get(t) is None or abs(Decimal(got[t]) - Decimal(v)) > Decimal("0.000001")}
        if wrong or run.status != 3:
            print(f"the check disagrees with the direct queries (template: check, direct): {wrong}; status {run.status}")
            return 1
        scans = sorted({o.sql for o in run.outcomes})
        c, d = median_ms(checks), median_ms(directs)
        ratio = round(c / d, 2)
        print(json.dumps({"rows": args.rows, "rules": len(DIRECT), "scans": len(scans), "check_ms_median": c,
                          "direct_10_queries_ms_median": d, "ratio": ratio, "target_ratio": 1.5,
                          "check_ms": [round(x * 1000, 1) for x in checks],
                          "direct_ms": [round(x * 1000, 1) for x in directs]}, indent=2))
        print("the SQL of the check:", *scans, sep="\n  ")
        if ratio > 1.5:
            print("TARGET MISSED")
            return 1
        return 0
    finally:
        if services is not None:
            services.datasources.pools.close()
        drop_pg_database(source_db)


if __name__ == "__main__":
    raise SystemExit(main())
