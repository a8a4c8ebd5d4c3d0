"""CSV export of the store, through a query runner, safe to open in a spreadsheet.

    rows = write_csv(runner, "records", stream)

``records``: one row per record (de-duplicated, from the view record_details) with its report's
fields (from report_details): who reported, the period and the published policy. The report's totals
are left out on purpose: repeated on every record, a spreadsheet sum over them would count a report
many times. ``reports``: one row per report, as the view report_details has it.

Cells go through the output layer (dmarc_cli.output): quoted by the csv module, text cells that a
spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return,
also after leading spaces) get a single quote in front, and controls, escape sequences and bidi
characters are shown escaped as in the terminal (tabs and line breaks kept), unless ``raw``. Lists and
structs (reasons, DKIM and SPF results) are JSON; timestamps ISO 8601 (UTC).
"""

from __future__ import annotations

from typing import Literal, TextIO

from dmarc_cli.output import FORMULA_TRIGGERS, CsvRows, neutralise
from dmarc_cli.output import csv_cell as cell
from dmarc_model.columns import RECORD_COLUMNS, REPORT_COLUMNS
from dmarc_store.query import QueryRunner

__all__ = ["EXPORT_SQL", "FORMULA_TRIGGERS", "Table", "cell", "neutralise", "write_csv"]

Table = Literal["records", "reports"]

RECORD_EXPORT_ORDER = (
    "rec.dt",
    "rec.report_key",
    "rep.report_id",
    "rep.org_name",
    "rep.email",
    "rep.extra_contact_info",
    "rec.policy_domain",
    "rec.date_range_begin",
    "rec.date_range_end",
    "rep.published_*",
    "rec.record_index",
    "rec.source_ip",
    "rec.ip_version",
    "rec.message_count",
    "rec.disposition",
    "rec.policy_dkim",
    "rec.policy_spf",
    "rec.dkim_aligned",
    "rec.spf_aligned",
    "rec.dmarc_pass",
    "rec.failure_category",
    "rec.effective_policy",
    "rec.header_from",
    "rec.envelope_from",
    "rec.envelope_to",
    "rec.reasons",
    "rec.dkim_results",
    "rec.spf_results",
    "rec.extensions",
    "rec.*",
    "rep.extensions AS report_extensions",
    "rep.xml_schema",
    "rep.generator",
    "rep.source_key",
    "rep.ingested_at",
)
"""The order of the `records` export (a public contract: columns are only added). `rep.published_*`
stands for every published-policy column of `reports`, `rec.*` for every other `records` column
declared in dmarc_model.columns, in declared order, so a new column is exported without an edit here."""


def record_export_columns() -> tuple[str, ...]:
    """The select list of the `records` export, with the placeholders of RECORD_EXPORT_ORDER filled."""
    published = [f"rep.{column.name}" for column in REPORT_COLUMNS if column.name.startswith("published_")]
    named = set(RECORD_EXPORT_ORDER) | {"rec.org_name"}  # the record's org_name is its report's
    others = [f"rec.{column.name}" for column in RECORD_COLUMNS if f"rec.{column.name}" not in named]
    fill = {"rep.published_*": published, "rec.*": others}
    return tuple(name for entry in RECORD_EXPORT_ORDER for name in fill.get(entry, [entry]))


RECORD_COLUMNS_SELECTED = record_export_columns()

EXPORT_SQL: dict[str, str] = {
    "records": (
        "SELECT\n  " + ",\n  ".join(RECORD_COLUMNS_SELECTED) + "\nFROM record_details AS rec\n"
        "LEFT JOIN report_details AS rep ON rep.dt = rec.dt AND rep.report_key = rec.report_key\n"
        "ORDER BY rec.dt, rec.report_key, rec.record_index"
    ),
    "reports": "SELECT * FROM report_details ORDER BY dt, report_key",
}
"""Athena SQL over the views, the same on DuckDB (local store) and Athena (--aws)."""


def write_csv(runner: QueryRunner, table: Table, stream: TextIO, *, raw: bool = False) -> int:
    """Write a header and one CRLF line per row of ``table``; return the number of rows."""
    result = runner.run_sql(EXPORT_SQL[table])
    rows = CsvRows(stream, raw=raw)
    rows.row(result.column_names)
    return sum(rows.rows(row.values() for row in batch.to_pylist()) for batch in result.to_batches())
