"""dmarc_store.query.sql_dialect: Athena SQL on DuckDB gives Athena's answers, or is refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pytest
import sqlglot

from dmarc_store.query.sql_dialect import (
    UNTRANSLATABLE,
    SqlSyntaxError,
    UntranslatableSqlError,
    duckdb_type,
    to_duckdb,
    trino_type,
)

SCHEMA = {
    "t": {
        "n": "int",
        "big": "bigint",
        "ratio": "double",
        "day": "date",
        "ip": "string",
        "sigs": "array<struct<domain:string,selector:string,result:string>>",
    }
}
ROWS = """
    SELECT * FROM (VALUES
        (7, 10::BIGINT, 0.5::DOUBLE, DATE '2025-01-31', '192.0.2.1',
         [{'domain': 'a.example', 'selector': 's1', 'result': 'pass'},
          {'domain': 'b.example', 'selector': 's2', 'result': 'fail'}]),
        (-7, 20::BIGINT, 1.5::DOUBLE, DATE '2025-02-15', '2001:db8::1', [])
    ) AS v(n, big, ratio, day, ip, sigs)
"""


@pytest.fixture(scope="module")
def duck() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(f"CREATE TABLE t AS {ROWS}")
    return connection


def run(duck: duckdb.DuckDBPyConnection, athena_sql: str) -> list[tuple[Any, ...]]:
    return duck.execute(to_duckdb(athena_sql, SCHEMA)).fetchall()


# --- what sqlglot and this module translate ---------------------------------------------------------------


def test_integer_division_truncates_toward_zero_as_in_athena(duck: duckdb.DuckDBPyConnection) -> None:
    assert run(duck, "SELECT n / 2 AS half, big / 3 AS third FROM t ORDER BY n") == [(-3, 6), (3, 3)]
    assert duck.execute(sqlglot.transpile("SELECT 7 / 2", read="athena", write="duckdb")[0]).fetchall() == [
        (3.5,)
    ]


def test_sum_and_count_if_stay_bigint(duck: duckdb.DuckDBPyConnection) -> None:
    sql = to_duckdb("SELECT sum(n) AS s, count_if(n > 0) AS c, sum(ratio) AS r FROM t", SCHEMA)
    table = duck.sql(sql).to_arrow_table()
    assert [str(field.type) for field in table.schema] == ["int64", "int64", "double"]
    assert table.to_pylist() == [{"s": 0, "c": 1, "r": 2.0}]
    window = duck.sql(to_duckdb("SELECT sum(big) OVER () AS w FROM t", SCHEMA)).to_arrow_table()
    assert str(window.schema.field("w").type) == "int64"
    assert window.column("w").to_pylist() == [30, 30]


def test_date_arithmetic_on_dates_stays_a_date(duck: duckdb.DuckDBPyConnection) -> None:
    rows = run(
        duck,
        "SELECT CAST(date_add('day', 1, day) AS varchar) AS next_day, date_trunc('month', day) AS month "
        "FROM t ORDER BY day",
    )
    assert rows == [("2025-02-01", dt.date(2025, 1, 1)), ("2025-02-16", dt.date(2025, 2, 1))]


def test_unnest_of_rows_spreads_the_fields_into_columns(duck: duckdb.DuckDBPyConnection) -> None:
    cross = run(
        duck,
        "SELECT t.n, s.domain, s.result FROM t CROSS JOIN UNNEST(t.sigs) AS s(domain, selector, result) "
        "ORDER BY s.domain",
    )
    assert cross == [(7, "a.example", "pass"), (7, "b.example", "fail")]
    left = run(
        duck, "SELECT t.n, s.domain FROM t LEFT JOIN UNNEST(t.sigs) AS s(domain, selector, result) ON true "
        "ORDER BY t.n, s.domain",
    )  # fmt: skip
    assert left == [(-7, None), (7, "a.example"), (7, "b.example")]


@pytest.mark.parametrize(
    ("athena_sql", "parameters", "moved", "expected"),
    [
        # both conditions read the unnested table alone: both move, in their order
        ("SELECT t.n, s.domain FROM t AS t CROSS JOIN UNNEST(t.sigs) AS s(domain, selector, result) "
         "WHERE t.n > ? AND t.ip LIKE ? ORDER BY s.domain", [0, "192.%"], True,
         [(7, "a.example"), (7, "b.example")]),
        # a condition on the unnested rows stays after the join
        ("SELECT t.n, s.domain FROM t AS t CROSS JOIN UNNEST(t.sigs) AS s(domain, selector, result) "
         "WHERE t.n > ? AND s.result = 'pass' ORDER BY s.domain", [0], True, [(7, "a.example")]),
        # a placeholder in the select list: nothing moves (the placeholders would change order)
        ("SELECT t.n + ? AS m, s.domain FROM t AS t CROSS JOIN UNNEST(t.sigs) AS s(domain, selector, result) "
         "WHERE t.n > ? ORDER BY s.domain", [1, 0], False, [(8, "a.example"), (8, "b.example")]),
        # the first condition reads the unnested rows: nothing moves
        ("SELECT t.n, s.domain FROM t AS t LEFT JOIN UNNEST(t.sigs) AS s(domain, selector, result) ON true "
         "WHERE s.domain IS NULL AND t.n < ? ORDER BY t.n", [0], False, [(-7, None)]),
    ],
)  # fmt: skip
def test_conditions_on_the_table_move_before_its_unnest_with_the_same_rows(
    duck: duckdb.DuckDBPyConnection, athena_sql: str, parameters: list[Any], moved: bool, expected: list[Any]
) -> None:
    """DuckDB does not push a WHERE through the lateral join of an UNNEST, so the translation filters the
    table first (a dt window then prunes partitions); the rows are those of the filter after the join."""
    duck_sql = to_duckdb(athena_sql, SCHEMA)
    assert ("(SELECT * FROM" in duck_sql) is moved
    assert duck.execute(duck_sql, parameters).fetchall() == expected


def test_lambdas_over_arrays_of_rows(duck: duckdb.DuckDBPyConnection) -> None:
    rows = run(
        duck,
        "SELECT coalesce(cardinality(filter(sigs, x -> x.result = 'pass')) > 0, false) AS passed, "
        "transform(sigs, x -> upper(x.selector)) AS selectors, element_at(sigs, 5) IS NULL AS beyond "
        "FROM t ORDER BY n",
    )
    assert rows == [(False, [], True), (True, ["S1", "S2"], True)]


def test_types_convert_between_the_ddl_and_duckdb() -> None:
    assert duckdb_type("array<struct<type:string,comment:string>>") == "STRUCT(type TEXT, comment TEXT)[]"
    assert duckdb_type("tinyint") == "TINYINT"
    assert (
        trino_type('STRUCT("type" VARCHAR, "comment" VARCHAR)[]')
        == 'ARRAY(ROW("type" VARCHAR, "comment" VARCHAR))'
    )


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELEC 1", "Invalid expression|Required keyword|unexpected"),
        ("SELECT nope FROM t", "could not be resolved"),
        ("SELECT 1; SELECT 2", "one SQL statement"),
        ("SELECT 'unterminated", "Error tokenizing|unterminated|Missing"),
    ],
)
def test_bad_sql_is_a_syntax_error_with_one_line(sql: str, message: str) -> None:
    with pytest.raises(SqlSyntaxError, match=message) as caught:
        to_duckdb(sql, SCHEMA)
    assert "\n" not in str(caught.value)


# --- what does not translate: refused, and shown to differ when sent through sqlglot as is -----------------

NOT_ON_DUCKDB = None
"""Athena's answer, where DuckDB has no answer at all for sqlglot's output."""

UNTRANSLATABLE_CASES: dict[str, tuple[str, Any]] = {
    "slice": ("SELECT slice(ARRAY[1, 2, 3, 4], 2, 2)", [2, 3]),
    "array_distinct": ("SELECT array_distinct(ARRAY[3, 1, 3, 2])", [3, 1, 2]),
    "format_datetime": (
        "SELECT format_datetime(TIMESTAMP '2025-01-02 03:04:05', 'yyyy-MM-dd')",
        NOT_ON_DUCKDB,
    ),
    "any_match": ("SELECT any_match(ARRAY[1, 2], x -> x > 1)", NOT_ON_DUCKDB),
    "all_match": ("SELECT all_match(ARRAY[1, 2], x -> x > 1)", NOT_ON_DUCKDB),
    "none_match": ("SELECT none_match(ARRAY[1, 2], x -> x > 1)", NOT_ON_DUCKDB),
    "map_agg": ("SELECT map_agg(k, v) FROM (VALUES ('a', 1)) AS m(k, v)", NOT_ON_DUCKDB),
    "zip": ("SELECT zip(ARRAY[1, 2], ARRAY['a', 'b'])", NOT_ON_DUCKDB),
    "reduce": ("SELECT reduce(ARRAY[1, 2, 3], 0, (s, x) -> s + x, s -> s * 10)", 60),
    "ipaddress": ("SELECT CAST('192.0.2.1' AS IPADDRESS)", NOT_ON_DUCKDB),
    "contains(cidr, ip)": ("SELECT contains('192.0.2.0/24', ip) FROM t", NOT_ON_DUCKDB),
    "cast(double as varchar)": ("SELECT CAST(CAST(10000000 AS double) AS varchar)", "1.0E7"),
}


def test_every_untranslatable_entry_has_a_case() -> None:
    assert {entry.name for entry in UNTRANSLATABLE} == set(UNTRANSLATABLE_CASES)


@pytest.mark.parametrize("name", sorted(UNTRANSLATABLE_CASES))
def test_untranslatable_sql_is_refused_with_what_to_write_instead(name: str) -> None:
    sql, _ = UNTRANSLATABLE_CASES[name]
    with pytest.raises(UntranslatableSqlError, match=r"does not run on DuckDB.*use .+ instead") as caught:
        to_duckdb(sql, SCHEMA)
    assert str(caught.value).startswith(name)


@pytest.mark.parametrize("name", sorted(UNTRANSLATABLE_CASES))
def test_untranslatable_sql_really_differs_when_transpiled_naively(
    name: str, duck: duckdb.DuckDBPyConnection
) -> None:
    """If one of these starts to match Athena, sqlglot or DuckDB improved: shorten the list."""
    sql, athena_answer = UNTRANSLATABLE_CASES[name]
    naive = sqlglot.transpile(sql, read="athena", write="duckdb")[0]
    if athena_answer is NOT_ON_DUCKDB:
        with pytest.raises(duckdb.Error):
            duck.execute(naive).fetchall()
    else:
        assert duck.execute(naive).fetchall() != [(athena_answer,)]
