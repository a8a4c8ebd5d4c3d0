"""CSV export of the store, through a query runner, safe to open in a spreadsheet.

    rows = write_csv(runner, "records", stream)

``records``: one row per record (de-duplicated, from the view record_details) with its report's
fields (from report_details): who reported, the period and the published policy. The report's totals
are left out on purpose: repeated on every record, a spreadsheet sum over them would count a report
many times. ``reports``: one row per report, as the view report_details has it.

Cells are quoted by the csv module; text cells that a spreadsheet would run as a formula (starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, also after leading spaces) get a single
quote in front. Lists and structs (reasons, DKIM and SPF results) are JSON; timestamps ISO 8601 (UTC).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
from typing import Any, Literal, TextIO

from dmarc_store.jsonable import jsonable
from dmarc_store.query import QueryRunner

__all__ = ["EXPORT_SQL", "FORMULA_TRIGGERS", "Table", "cell", "neutralise", "write_csv"]

Table = Literal["records", "reports"]

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

RECORD_COLUMNS = (
    "rec.dt",
    "rec.report_key",
    "rep.report_id",
    "rep.org_name",
    "rep.email",
    "rep.extra_contact_info",
    "rec.policy_domain",
    "rec.date_range_begin",
    "rec.date_range_end",
    "rep.published_adkim",
    "rep.published_aspf",
    "rep.published_p",
    "rep.published_sp",
    "rep.published_pct",
    "rep.published_fo",
    "rep.published_np",
    "rep.published_testing",
    "rep.published_discovery_method",
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
    "rep.extensions AS report_extensions",
    "rep.xml_schema",
    "rep.generator",
    "rep.source_key",
    "rep.ingested_at",
)

EXPORT_SQL: dict[str, str] = {
    "records": (
        "SELECT\n  " + ",\n  ".join(RECORD_COLUMNS) + "\nFROM record_details AS rec\n"
        "LEFT JOIN report_details AS rep ON rep.dt = rec.dt AND rep.report_key = rec.report_key\n"
        "ORDER BY rec.dt, rec.report_key, rec.record_index"
    ),
    "reports": "SELECT * FROM report_details ORDER BY dt, report_key",
}
"""Athena SQL over the views, the same on DuckDB (local store) and Athena (--aws)."""


def neutralise(text: str) -> str:
    """Text a spreadsheet would take for a formula, with a single quote in front; other text as is."""
    if text.lstrip(" ").startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def cell(value: Any) -> str:
    """A value as a CSV field: text neutralised, numbers and booleans plain, NULL empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return neutralise(json.dumps(jsonable(value), ensure_ascii=False, separators=(",", ":")))
    return neutralise(str(value))


def write_csv(runner: QueryRunner, table: Table, stream: TextIO) -> int:
    """Write a header and one line per row of ``table``; return the number of rows."""
    result = runner.run_sql(EXPORT_SQL[table])
    writer = csv.writer(stream, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(result.column_names)
    rows = 0
    for batch in result.to_batches():
        for row in batch.to_pylist():
            writer.writerow([cell(value) for value in row.values()])
            rows += 1
    return rows
