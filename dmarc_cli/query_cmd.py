"""`dmarc query`: the saved queries, or ad-hoc SQL, over the local store (DuckDB) or Athena (--aws)."""

from __future__ import annotations

import decimal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

import athena_queries
from dmarc_cli.common import EXIT_USAGE, fail, open_runner, query_failure, store_options
from dmarc_cli.output import (
    CsvRows,
    echo_json_line,
    safe_terminal,
    terminal_console,
    terminal_text,
    text_cell,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from rich.console import Console

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
@click.option(
    "--raw", is_flag=True,
    help="With --format csv: leave text exactly as reported, for data pipelines; by default text that "
    "starts like a formula (=, +, -, @, tab, CR) gets a leading ' so that a spreadsheet shows it as text, "
    "and control characters are shown escaped (\\x1b).",
)  # fmt: skip
def command(
    name: str | None,
    list_only: bool,
    sql_text: str | None,
    param_items: Sequence[str],
    store_dir: Path | None,
    use_aws: bool,
    output_format: str,
    raw: bool,
) -> None:
    """Answer questions about your reports with the saved queries, or with your own SQL.

    \b
    Examples:
      dmarc query --list
      dmarc query enforcement_readiness --param days=30 --param domain=example.com
      dmarc query top_failing_sources --format csv > failing.csv
      dmarc query reporters --format csv --raw > reporters.csv   # text exactly as reported
      dmarc query --sql "SELECT policy_domain, sum(message_count) FROM record_details GROUP BY 1"
      dmarc query daily_volume_pass_rate --aws

    Parameters not given take the defaults shown by --list --format json. The SQL is Athena's; locally it
    runs on DuckDB over the Parquet files of the store, translated by sqlglot. With --aws it runs on
    Athena (DMARC_GLUE_DATABASE, DMARC_ATHENA_WORKGROUP, usual AWS credentials).

    The CSV is the export's: report text that a spreadsheet would run as a formula (starting with =, +,
    -, @, a tab or a carriage return) gets a leading single quote, unless --raw. In the table and the CSV,
    control characters, escape sequences and bidi controls in report text are shown escaped (\\x1b,
    \\u202e), never sent to the terminal (the CSV keeps tabs and line breaks; --raw keeps everything).

    \b
    Exit codes: 0 ok, 1 the query failed, 2 usage error (unknown query or parameter),
    3 configuration error (no store, AWS not configured).
    """
    chosen = [flag for flag, on in (("--list", list_only), ("NAME", name), ("--sql", sql_text)) if on]
    if len(chosen) != 1:
        fail("give exactly one of NAME, --list or --sql (see dmarc query --help)", EXIT_USAGE)
    if param_items and not name:
        fail("--param applies to a saved query NAME", EXIT_USAGE)
    if raw and output_format != "csv":
        fail("--raw applies to --format csv", EXIT_USAGE)
    if list_only:
        _print_list(output_format, raw)
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
    _print_result(table, output_format, title, raw)


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


def _print_list(output_format: str, raw: bool) -> None:
    queries = athena_queries.saved_queries()
    if output_format == "json":
        for query in queries:
            defaults = {p.name: p.default for p in query.parameters}
            echo_json_line({"name": query.name, "question": query.question, "parameters": defaults})
    elif output_format == "csv":
        rows = CsvRows(sys.stdout, raw=raw, line_end="\n")
        rows.row(["name", "question"])
        rows.rows([query.name, query.question] for query in queries)
    else:
        width = max(len(query.name) for query in queries)
        for query in queries:
            click.echo(safe_terminal(f"{query.name:<{width}}  {query.question}"))


def _print_result(table: pa.Table, output_format: str, title: str, raw: bool) -> None:
    columns: list[str] = list(table.column_names)
    if output_format == "csv":
        writer = CsvRows(sys.stdout, raw=raw, line_end="\n")
        writer.row(columns)
        writer.columns([column.to_pylist() for column in table.columns])
        return
    rows: list[dict[str, Any]] = table.to_pylist()
    if output_format == "json":
        for row in rows:
            echo_json_line(row)
    else:
        _print_grid(rows, columns, title)


def _print_grid(rows: list[dict[str, Any]], columns: list[str], title: str) -> None:
    """A table, or one block per row when a table would not fit the terminal (like psql's \\x)."""
    from rich.table import Table

    console = terminal_console()
    cells = [[safe_terminal(text_cell(row[column])) for column in columns] for row in rows]
    headers = [safe_terminal(column) for column in columns]
    widths = [max([len(header), *(len(line[i]) for line in cells)]) for i, header in enumerate(headers)]
    if sum(widths) + 3 * len(columns) + 1 > console.width and rows:
        _print_blocks(console, headers, cells, title)
        return
    grid = Table(
        title=terminal_text(title), title_justify="left",
        caption=terminal_text(f"{len(rows)} rows"), caption_justify="left",
    )  # fmt: skip
    for column, header in zip(columns, headers, strict=True):
        values = [row[column] for row in rows if row[column] is not None]
        numeric = bool(values) and all(isinstance(v, int | float | decimal.Decimal) for v in values)
        grid.add_column(terminal_text(header), justify="right" if numeric else "left", overflow="fold")
    for line in cells:
        grid.add_row(*(terminal_text(cell) for cell in line))
    console.print(grid)


def _print_blocks(console: Console, headers: list[str], cells: list[list[str]], title: str) -> None:
    from rich.table import Table

    console.print(terminal_text(title, "bold"))
    for number, line in enumerate(cells, start=1):
        block = Table(title=terminal_text(f"row {number}"), title_justify="left", show_header=False, box=None)
        block.add_column(style="dim", no_wrap=True)
        block.add_column(overflow="fold")
        for header, value in zip(headers, line, strict=True):
            block.add_row(terminal_text(header), terminal_text(value))
        console.print(block)
    console.print(terminal_text(f"{len(cells)} rows"))
