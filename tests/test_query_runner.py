"""dmarc_store.query: the runners' contracts, errors, and the Athena path with awswrangler stubbed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pytest

import athena_queries
from dmarc_store import query as query_module
from dmarc_store.query import (
    AthenaQueryRunner,
    DuckDBQueryRunner,
    QueryConfigError,
    QueryFailedError,
    QueryUsageError,
    run_saved_query,
)

if TYPE_CHECKING:
    from tests.sql_fixtures import StoreCase

pytest_plugins = ["tests.sql_fixtures"]


def test_public_names_are_what_we_meant() -> None:
    assert set(query_module.__all__) == {
        "AthenaQueryRunner", "DuckDBQueryRunner", "QueryConfigError", "QueryError", "QueryFailedError",
        "QueryProfile", "QueryRunner", "QueryUsageError", "run_saved_query",
    }  # fmt: skip


def test_a_missing_store_folder_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(QueryConfigError, match="no local store"):
        DuckDBQueryRunner(tmp_path / "nowhere")


def test_unknown_queries_and_parameters_are_usage_errors(corpus_runner: DuckDBQueryRunner) -> None:
    with pytest.raises(QueryUsageError, match="no saved query named 'nope'"):
        run_saved_query(corpus_runner, "nope")
    with pytest.raises(QueryUsageError, match="no parameter 'weeks'"):
        run_saved_query(corpus_runner, "reporters", {"weeks": "2"})
    with pytest.raises(QueryUsageError, match="integer"):
        run_saved_query(corpus_runner, "reporters", {"days": "many"})


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT nope FROM record_details", "could not be resolved"),
        ("SELECT slice(reason_types, 1, 1) FROM record_details", "slice does not run on DuckDB"),
        ("SELECT CAST('x' AS integer) AS n", "Could not convert|Conversion Error"),
    ],
)
def test_sql_that_cannot_run_is_a_failure_with_one_line(
    sql: str, message: str, corpus_runner: DuckDBQueryRunner
) -> None:
    with pytest.raises(QueryFailedError, match=message) as caught:
        corpus_runner.run_sql(sql)
    assert "\n" not in str(caught.value)


def test_duckdb_runs_in_utc_and_timestamps_come_back_naive(
    corpus_case: StoreCase, corpus_runner: DuckDBQueryRunner
) -> None:
    assert corpus_runner.run_sql("SELECT hour(from_unixtime(3600)) AS h").to_pylist() == [{"h": 1}]
    first = min(corpus_case.reports, key=lambda report: report.report["date_range_begin"])
    [row] = corpus_runner.run_sql("SELECT min(date_range_begin) AS begin FROM report_details").to_pylist()
    assert row["begin"] == first.report["date_range_begin"]
    assert isinstance(row["begin"], dt.datetime)
    assert row["begin"].tzinfo is None


def test_dt_is_a_string_as_in_glue(corpus_runner: DuckDBQueryRunner) -> None:
    table = corpus_runner.run_sql("SELECT dt FROM records ORDER BY dt LIMIT 1")
    assert table.schema.field("dt").type == pa.string()
    assert len(table.column("dt")[0].as_py()) == len("2025-01-01")


def test_a_query_reads_only_the_tables_and_views_it_names(store_copy: Path) -> None:
    """Nothing is installed up front: a broken table that a query does not read does not stop it."""
    for path in (store_copy / "parquet" / "records").rglob("*.parquet"):
        path.write_bytes(b"not parquet")
    runner = DuckDBQueryRunner(store_copy)
    reports = runner.run_sql("SELECT count(*) AS n FROM report_details").to_pylist()
    assert reports[0]["n"] > 0
    with pytest.raises(QueryFailedError, match="records"):
        runner.run_sql("SELECT count(*) AS n FROM record_details")


def test_a_cte_named_like_a_view_is_the_cte(corpus_runner: DuckDBQueryRunner) -> None:
    sql = "WITH record_details AS (SELECT 7 AS seven) SELECT seven FROM record_details"
    assert corpus_runner.run_sql(sql).to_pylist() == [{"seven": 7}]


def test_the_schema_lists_every_table_and_view_with_its_columns(corpus_runner: DuckDBQueryRunner) -> None:
    schema = corpus_runner.schema
    names = {table.name for table in athena_queries.tables()} | {view.name for view in athena_queries.views()}
    assert set(schema) == names
    for view in athena_queries.views():
        columns = corpus_runner.run_sql(f"SELECT * FROM {view.name} LIMIT 0").column_names
        assert list(schema[view.name]) == columns, view.name


class FakeWrangler:
    """Stands in for awswrangler.athena.read_sql_query: records the call, answers with a frame."""

    def __init__(self, answer: pd.DataFrame | Exception) -> None:
        self.answer = answer
        self.calls: list[dict[str, Any]] = []

    def __call__(self, sql: str, **kwargs: Any) -> pd.DataFrame:
        self.calls.append({"sql": sql, **kwargs})
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.fixture
def fake_athena(monkeypatch: pytest.MonkeyPatch) -> FakeWrangler:
    import awswrangler

    fake = FakeWrangler(pd.DataFrame({"reporter": ["google.com"], "reports": [3]}))
    monkeypatch.setattr(awswrangler.athena, "read_sql_query", fake)
    return fake


def test_athena_runs_the_saved_sql_as_written_with_execution_parameters(fake_athena: FakeWrangler) -> None:
    session = object()
    runner = AthenaQueryRunner(boto3_session=session, database="dmarc", workgroup="dmarc-wg")  # type: ignore[arg-type]
    table = run_saved_query(runner, "reporters", {"days": "7", "domain": "o'brien.example"})
    assert table.to_pylist() == [{"reporter": "google.com", "reports": 3}]
    [call] = fake_athena.calls
    assert call["sql"] == athena_queries.saved_query("reporters").sql
    assert call["params"] == ["7", "'o''brien.example'"]
    assert call["paramstyle"] == "qmark"
    assert (call["database"], call["workgroup"]) == ("dmarc", "dmarc-wg")
    assert call["boto3_session"] is session
    assert call["ctas_approach"] is False


def test_athena_ad_hoc_sql_without_parameters(fake_athena: FakeWrangler) -> None:
    runner = AthenaQueryRunner(boto3_session=object(), database="dmarc", workgroup="primary")  # type: ignore[arg-type]
    runner.run_sql("SELECT 1")
    assert fake_athena.calls[0]["params"] is None


def test_athena_errors_map_to_config_and_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    import awswrangler
    import botocore.exceptions

    runner = AthenaQueryRunner(boto3_session=object(), database="dmarc", workgroup="primary")  # type: ignore[arg-type]
    monkeypatch.setattr(
        awswrangler.athena, "read_sql_query", FakeWrangler(botocore.exceptions.NoRegionError())
    )
    with pytest.raises(QueryConfigError, match="AWS is not configured"):
        runner.run_sql("SELECT 1")
    failed = awswrangler.exceptions.QueryFailed("SYNTAX_ERROR: line 1:8: Column 'x' cannot be resolved")
    monkeypatch.setattr(awswrangler.athena, "read_sql_query", FakeWrangler(failed))
    with pytest.raises(QueryFailedError, match="Athena: SYNTAX_ERROR"):
        runner.run_sql("SELECT x")
