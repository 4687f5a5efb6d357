"""Statement -> table and column lineage (services/lineage/extract.py), per dialect and shape."""

from __future__ import annotations

import pytest

from wedata.services.lineage.extract import Lineage, NotParsed, extract, parse

PG = {"shop": {"public": {
    "orders": {"id": "int", "customer_id": "int", "amount": "numeric", "note": "text"},
    "customers": {"id": "int", "name": "text", "region": "text"},
    "stage": {"id": "int", "region": "text", "amount": "numeric"},
    "report": {"region": "text", "total": "numeric"},
}}}
LAKE = {"main": {"src": {"id": "int", "v": "text"}, "dst": {"id": "int", "v": "text"}},
        "sales": {"facts": {"id": "int", "v": "text"}}}


def pg(sql: str) -> Lineage | None:
    p = parse(sql, "postgres")
    cols = list(PG["shop"]["public"].get(p.target[2], {})) if p.target else None
    return extract(p, PG, "postgres", catalog="shop", db="public", target_columns=cols)


def edges(lin: Lineage | None) -> set[tuple[str, str]]:
    assert lin is not None
    return {(f"{s[0][2]}.{s[1]}", f"{t[0][2]}.{t[1]}") for s, t in lin.columns}


def sources(lin: Lineage | None) -> set[str]:
    assert lin is not None
    return {s[2] for s in lin.sources}


def test_insert_select_through_a_cte_and_a_star() -> None:
    lin = pg("WITH o AS (SELECT * FROM orders) INSERT INTO stage SELECT o.id, c.region, o.amount * 2 "
             "FROM o JOIN customers c ON c.id = o.customer_id WHERE o.note <> ''")
    assert sources(lin) == {"orders", "customers"}
    assert edges(lin) == {("orders.id", "stage.id"), ("customers.region", "stage.region"),
                          ("orders.amount", "stage.amount")}


def test_insert_with_a_column_list_and_a_subquery() -> None:
    lin = pg("INSERT INTO report (total, region) SELECT sum(q.a), q.r FROM "
             "(SELECT amount AS a, c.region AS r FROM orders o JOIN customers c ON c.id = o.customer_id) q GROUP BY q.r")
    assert edges(lin) == {("orders.amount", "report.total"), ("customers.region", "report.region")}


def test_create_table_and_view_as_select() -> None:
    assert edges(pg("CREATE TABLE t2 AS SELECT id, note AS label FROM orders")) == {
        ("orders.id", "t2.id"), ("orders.note", "t2.label")}
    assert edges(pg("CREATE VIEW v AS SELECT c.name FROM customers c")) == {("customers.name", "v.name")}


def test_set_operations_merge_and_update() -> None:
    assert edges(pg("INSERT INTO report SELECT region, 0 FROM customers UNION ALL SELECT note, amount FROM orders")) == {
        ("customers.region", "report.region"), ("orders.note", "report.region"), ("orders.amount", "report.total")}
    merge = pg("MERGE INTO stage s USING orders o ON s.id = o.id WHEN MATCHED THEN UPDATE SET amount = o.amount "
               "WHEN NOT MATCHED THEN INSERT (id, amount) VALUES (o.id, o.amount)")
    assert sources(merge) == {"orders"}
    assert edges(merge) == {("orders.amount", "stage.amount"), ("orders.id", "stage.id")}
    update = pg("UPDATE stage SET region = c.region FROM customers c WHERE c.id = stage.id")
    assert edges(update) == {("customers.region", "stage.region")}


def test_spark_insert_overwrite_on_the_lake() -> None:
    p = parse("INSERT OVERWRITE TABLE sales.facts SELECT * FROM src", "spark")
    lin = extract(p, LAKE, "spark", catalog=None, db="main", target_columns=["id", "v"])
    assert lin is not None and lin.target == ("", "sales", "facts")
    assert {(s[0][1], s[1], t[1]) for s, t in lin.columns} == {("main", "id", "id"), ("main", "v", "v")}


def test_statements_that_write_nothing_or_only_themselves() -> None:
    assert parse("SELECT * FROM orders", "postgres").target is None
    assert parse("DELETE FROM orders", "postgres").target is None
    lin = pg("INSERT INTO orders SELECT * FROM orders")
    assert lin is not None and lin.sources == set() and lin.columns == set()


def test_unparseable_sql_says_why() -> None:
    with pytest.raises(NotParsed) as err:
        parse("INSERT INTO (((", "postgres")
    assert str(err.value)
