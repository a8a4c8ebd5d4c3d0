"""`dmarc query`: the saved queries, or ad-hoc SQL, over the local store (DuckDB) or Athena (--aws)."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

import athena_queries
from dmarc_cli.common import EXIT_USAGE, fail, open_runner, query_failure, store_options
from dmarc_store.jsonable import jsonable

if TYPE_CHECKING:
    import pyarrow as pa

    from dmarc_store.query import QueryRunner

FORMATS = ("table", "csv", "json")


@click.command("query")
@click.argument("name", required=False)
@click.option(
    "--list", "list_only", is_flag=True, help="List the saved queries: name, then the question it answers."
)
@click.option(
    "--sql", "sql_text", metavar="SQL", help="Run ad-hoc SQL (Athena dialect) over the tables and views."
)
@click.option(
    "--param",
    "param_items",
    multiple=True,
    metavar="NAME=VALUE",
    help="A parameter of the saved query, e.g. days=30 or domain=example.com (repeatable).",
)
@store_options
@click.option(
    "--format", "output_format", type=click.Choice(FORMATS), default="table", show_default=True,
    help="table: readable; csv; json: one object per row, one per line.",
)  # fmt: skip
def command(
    name: str | None,
    list_only: bool,
    sql_text: str | None,
    param_items: Sequence[str],
    store_dir: Path | None,
    use_aws: bool,
    output_format: str,
) -> None:
    """Answer questions about your reports with the saved queries, or with your own SQL.

    \b
    Examples:
      dmarc query --list
      dmarc query enforcement_readiness --param days=30 --param domain=example.com
      dmarc query top_failing_sources --format csv > failing.csv
      dmarc query --sql "SELECT policy_domain, sum(message_count) FROM record_details GROUP BY 1"
      dmarc query daily_volume_pass_rate --aws

    Parameters not given take the defaults shown by --list --format json. The SQL is Athena's; locally it
    runs on DuckDB over the Parquet files of the store, translated by sqlglot. With --aws it runs on
    Athena (DMARC_GLUE_DATABASE, DMARC_ATHENA_WORKGROUP, usual AWS credentials).

    \b
    Exit codes: 0 ok, 1 the query failed, 2 usage error (unknown query or parameter),
    3 configuration error (no store, AWS not configured).
    """
    chosen = [flag for flag, on in (("--list", list_only), ("NAME", name), ("--sql", sql_text)) if on]
    if len(chosen) != 1:
        fail("give exactly one of NAME, --list or --sql (see dmarc query --help)", EXIT_USAGE)
    if param_items and not name:
        fail("--param applies to a saved query NAME", EXIT_USAGE)
    if list_only:
        _print_list(output_format)
        return
    values = _parse_params(param_items)
    if name is not None:
        try:
            query = athena_queries.saved_query(name)
            query.bind(values)
        except (athena_queries.UnknownQueryError, athena_queries.ParameterError) as error:
            fail(str(error), EXIT_USAGE)
        title = f"{query.name}: {query.question}"
    else:
        title = "query"
    runner, _where = open_runner(store_dir, use_aws)
    table = _run(runner, name, sql_text, values)
    _print_table(table, output_format, title)


def _parse_params(items: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--param wants NAME=VALUE, got {item!r}", EXIT_USAGE)
        values[key.strip()] = value
    return values


def _run(runner: QueryRunner, name: str | None, sql_text: str | None, values: Mapping[str, str]) -> pa.Table:
    from dmarc_store.query import QueryError, run_saved_query

    try:
        if name is not None:
            return run_saved_query(runner, name, values)
        return runner.run_sql(sql_text or "")
    except QueryError as error:
        query_failure(error)


def _print_list(output_format: str) -> None:
    queries = athena_queries.saved_queries()
    if output_format == "json":
        for query in queries:
            defaults = {p.name: p.default for p in query.parameters}
            click.echo(json.dumps({"name": query.name, "question": query.question, "parameters": defaults}))
    elif output_format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["name", "question"])
        writer.writerows([query.name, query.question] for query in queries)
    else:
        width = max(len(query.name) for query in queries)
        for query in queries:
            click.echo(f"{query.name:<{width}}  {query.question}")


def _print_table(table: pa.Table, output_format: str, title: str) -> None:
    rows: list[dict[str, Any]] = table.to_pylist()
    columns: list[str] = list(table.column_names)
    if output_format == "json":
        for row in rows:
            click.echo(json.dumps({key: jsonable(value) for key, value in row.items()}, ensure_ascii=False))
        return
    if output_format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_cell(row[column]) for column in columns] for row in rows)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(soft_wrap=False)
    cells = [[_cell(row[column]) for column in columns] for row in rows]
    widths = [max([len(column), *(len(line[i]) for line in cells)]) for i, column in enumerate(columns)]
    if sum(widths) + 3 * len(columns) + 1 > console.width and rows:
        # Too wide to read as a grid: one block per row, column names on the left (like psql's \x).
        console.print(title, style="bold")
        for number, line in enumerate(cells, start=1):
            block = Table(title=f"row {number}", title_justify="left", show_header=False, box=None)
            block.add_column(style="dim", no_wrap=True)
            block.add_column(overflow="fold")
            for column, value in zip(columns, line, strict=True):
                block.add_row(column, value)
            console.print(block)
        console.print(f"{len(rows)} rows")
        return
    grid = Table(title=title, title_justify="left", caption=f"{len(rows)} rows", caption_justify="left")
    for column in columns:
        values = [row[column] for row in rows if row[column] is not None]
        numeric = bool(values) and all(isinstance(v, int | float | decimal.Decimal) for v in values)
        grid.add_column(column, justify="right" if numeric else "left", overflow="fold")
    for line in cells:
        grid.add_row(*line)
    console.print(grid)


def _cell(value: Any) -> str:
    """A value as text for a table cell or CSV field (lists and objects as JSON, NULL as empty)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, list | dict):
        return json.dumps(jsonable(value), ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(jsonable(value))
