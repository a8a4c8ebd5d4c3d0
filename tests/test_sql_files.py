"""athena_queries: every file parses as Athena SQL, has its header, and the loader lists what is there."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

import athena_queries
from athena_queries import ParameterError, UnknownQueryError

ROOT = Path(str(resources.files("athena_queries")))
ALL_FILES = sorted(ROOT.glob("*/*.sql"))
DOCS = Path(__file__).resolve().parents[1] / "README.md"


def test_public_names_are_what_we_meant() -> None:
    assert set(athena_queries.__all__) == {
        "PLACEHOLDERS", "Column", "Parameter", "ParameterError", "ParameterValue", "QueryDefinitionError",
        "SavedQuery", "TableDefinition", "UnknownQueryError", "ViewDefinition", "mentioned_words",
        "saved_queries", "saved_query", "tables", "views",
    }  # fmt: skip


def test_mentioned_words_skip_comments_and_strings() -> None:
    sql = "SELECT a FROM record_details -- reports\nWHERE b = 'source_summary' AND \"Views\" > 1"
    assert athena_queries.mentioned_words(sql) == {
        "select",
        "a",
        "from",
        "record_details",
        "where",
        "b",
        "and",
        "views",
    }


def test_the_loader_lists_every_file_once() -> None:
    listed = {f"tables/{t.name}" for t in athena_queries.tables()}
    listed |= {f"views/{v.name}" for v in athena_queries.views()}
    listed |= {f"saved/{q.name}" for q in athena_queries.saved_queries()}
    assert listed == {f"{path.parent.name}/{path.stem}" for path in ALL_FILES}
    assert len(athena_queries.views()) >= 3
    assert len(athena_queries.saved_queries()) >= 10


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_file_parses_as_one_athena_statement(path: Path) -> None:
    statements = [tree for tree in sqlglot.parse(path.read_text(), read="athena") if tree is not None]
    assert len(statements) == 1
    expected = {"tables": exp.Create, "views": exp.Create, "saved": exp.Query}[path.parent.name]
    assert isinstance(statements[0], expected)


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_file_starts_with_its_name_and_what_it_answers(path: Path) -> None:
    lines = path.read_text().splitlines()
    assert lines[0] == f"-- name: {path.stem}"
    key = "question" if path.parent.name == "saved" else "about"
    assert re.fullmatch(rf"-- {key}: \S.+", lines[1])


@pytest.mark.parametrize("query", athena_queries.saved_queries(), ids=lambda query: query.name)
def test_parameters_are_athena_execution_parameters_in_where_clauses(
    query: athena_queries.SavedQuery,
) -> None:
    """Athena accepts `?` in WHERE clauses only; each declared parameter is used exactly once."""
    tree = sqlglot.parse_one(query.sql, read="athena")
    placeholders = list(tree.find_all(exp.Placeholder))
    assert len(placeholders) == len(query.parameters)
    for placeholder in placeholders:
        assert placeholder.find_ancestor(exp.Where) is not None, query.name
    assert {p.name for p in query.parameters} <= {"days", "domain"}
    assert [p.name for p in query.parameters] == sorted(p.name for p in query.parameters)


def test_views_come_after_the_views_they_read() -> None:
    names = [view.name for view in athena_queries.views()]
    for position, view in enumerate(athena_queries.views()):
        tree = sqlglot.parse_one(view.select_sql, read="athena")
        ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
        read = {table.name for table in tree.find_all(exp.Table)} - ctes
        assert read <= {table.name for table in athena_queries.tables()} | set(names[:position]), view.name
        assert set(view.depends_on) == read & set(names)


@pytest.mark.parametrize("name", ["report_details", "record_details"])
def test_base_views_document_and_do_the_deduplication(name: str) -> None:
    view = next(view for view in athena_queries.views() if view.name == name)
    header = (ROOT / "views" / f"{name}.sql").read_text().split("CREATE OR REPLACE VIEW")[0]
    assert "De-duplication" in header
    assert "compaction" in header
    assert "at least once" in header
    assert re.search(r"row_number\(\) OVER \(PARTITION BY \w+\.dt, \w+\.report_key", view.select_sql)


def test_table_ddl_fills_deploy_placeholders_and_keeps_athenas_dt() -> None:
    table = next(t for t in athena_queries.tables() if t.name == "records")
    sql = table.render(database="dmarc", bucket="my-bucket", projection_start="2024-01-01")
    assert "CREATE EXTERNAL TABLE IF NOT EXISTS `dmarc`.`records`" in sql
    assert "LOCATION 's3://my-bucket/parquet/records/'" in sql
    assert "'projection.dt.range'='2024-01-01,NOW'" in sql
    assert "'storage.location.template'='s3://my-bucket/parquet/records/dt=${dt}/'" in sql
    assert set(re.findall(r"\$\{(\w+)\}", sql)) == {"dt"}
    for key in ("projection.enabled", "projection.dt.type", "projection.dt.format", "projection.dt.interval"):
        assert f"'{key}'=" in sql
    with pytest.raises(ValueError, match="yyyy-MM-dd"):
        table.render(database="dmarc", bucket="b", projection_start="2024-1-1")
    with pytest.raises(ValueError, match="plain name"):
        table.render(database="dmarc'; DROP", bucket="b", projection_start="2024-01-01")


def test_saved_query_parameters_bind_by_name_with_defaults() -> None:
    query = athena_queries.saved_query("top_failing_sources")
    assert query.bind() == (30, "%")
    assert query.bind({"days": "7", "domain": "example.com"}) == (7, "example.com")
    assert query.bind({"domain": "'o''brien.example'"}) == (30, "o'brien.example")
    assert query.athena_parameters({"days": 7, "domain": "o'brien.example"}) == ["7", "'o''brien.example'"]
    with pytest.raises(ParameterError, match="integer"):
        query.bind({"days": "a week"})
    with pytest.raises(ParameterError, match="no parameter 'weeks'"):
        query.bind({"weeks": "1"})
    with pytest.raises(UnknownQueryError, match="dmarc query --list"):
        athena_queries.saved_query("no_such_query")


def test_docs_list_every_saved_query_with_its_question() -> None:
    text = DOCS.read_text()
    for query in athena_queries.saved_queries():
        assert f"| `{query.name}` | {query.question} |" in text


@pytest.mark.parametrize("table", athena_queries.tables(), ids=lambda table: table.name)
def test_table_storage_and_properties_are_read_with_their_placeholders(
    table: athena_queries.TableDefinition,
) -> None:
    """What deploy/sql_manifest.py hands the Glue tables: read here, so that no deploy code parses DDL."""
    assert table.stored_as == "PARQUET"
    assert table.location == f"s3://${{bucket}}/parquet/{table.name}/"
    properties = dict(table.properties)
    assert len(properties) == len(table.properties)
    assert properties["projection.enabled"] == "true"
    assert properties["projection.dt.range"] == "${projection_start},NOW"
    assert properties["storage.location.template"] == f"s3://${{bucket}}/parquet/{table.name}/dt=${{dt}}/"
    assert [key for key, _ in table.properties] == re.findall(r"^\s*'([^']+)'=", table.sql, re.M)


def test_a_table_property_the_loader_cannot_read_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "tables" / "records.sql").read_text()
    text = text.replace("'classification'='parquet'", "classification")
    monkeypatch.setattr(athena_queries, "_read", lambda folder: [("records", text)])
    with pytest.raises(athena_queries.QueryDefinitionError, match="not a table property line"):
        athena_queries.tables.__wrapped__()


@pytest.mark.parametrize("query", athena_queries.saved_queries(), ids=lambda query: query.name)
def test_saved_query_text_is_the_whole_file_with_its_header(query: athena_queries.SavedQuery) -> None:
    """The named query's text: the console shows the question and parameters above the SQL."""
    assert query.text == (ROOT / "saved" / f"{query.name}.sql").read_text().strip().removesuffix(";")
    assert query.text.startswith(f"-- name: {query.name}\n-- question: {query.question}\n")
    assert query.text.endswith(query.sql)
