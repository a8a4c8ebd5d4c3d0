"""Models -> flat rows of the `reports` and `records` tables, read column by column as
`dmarc_model.columns` declares them.

Records are gathered column by column (`RecordColumns`), so a 100k-record report becomes one Arrow
table without a Python dict per record; the columns a report repeats on each record are filled once,
when the table is made. The DynamoDB items are derived from these rows in turn
(`dmarc_store.backends.dynamo_items`), so every store holds the same values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from dmarc_model.columns import RECORD_COLUMNS, REPORT_COLUMNS, RecordContext, ReportFacts
from dmarc_model.models import Record, ReportHeader
from dmarc_model.schema import RECORDS_SCHEMA, REPORTS_SCHEMA
from dmarc_model.summary import ReportTotals
from dmarc_model.timestamps import utc_naive

__all__ = ["RecordColumns", "partition_date", "report_row", "reports_table", "utc_naive"]

_PER_RECORD = tuple((column.name, column.record) for column in RECORD_COLUMNS if column.record is not None)
_PER_REPORT = tuple((column.name, column.report) for column in RECORD_COLUMNS if column.report is not None)
_POSITION = tuple(column.name for column in RECORD_COLUMNS if column.record is None and column.report is None)


def partition_date(header: ReportHeader) -> date:
    """`dt`: the UTC date of the report's begin."""
    return header.begin.astimezone(UTC).date()


class RecordColumns:
    """The records of one report, gathered as columns of the `records` table."""

    def __init__(self, report_key: str, header: ReportHeader) -> None:
        self._context = RecordContext(report_key, header)
        self._readers: list[tuple[Callable[[Record], Any], list[Any]]] = [
            (read, []) for _, read in _PER_RECORD
        ]
        self._positions: list[int] = []

    def __len__(self) -> int:
        return len(self._positions)

    def add(self, index: int, record: Record) -> None:
        self._positions.append(index)
        for reader, values in self._readers:
            values.append(reader(record))

    @property
    def columns(self) -> dict[str, list[Any]]:
        """Column name -> values, in RECORDS_SCHEMA order."""
        rows = len(self._positions)
        gathered: dict[str, list[Any]] = dict.fromkeys(_POSITION, self._positions)
        gathered.update((name, [read(self._context)] * rows) for name, read in _PER_REPORT)
        gathered.update(
            (name, values) for (name, _), (_, values) in zip(_PER_RECORD, self._readers, strict=True)
        )
        return {name: gathered[name] for name in RECORDS_SCHEMA.names}

    def table(self) -> pa.Table:
        return pa.Table.from_pydict(self.columns, schema=RECORDS_SCHEMA)


def report_row(
    *,
    report_key: str,
    header: ReportHeader,
    totals: ReportTotals,
    rejected_record_count: int,
    warnings: list[str],
    source_key: str,
    content_sha256: str,
    ingested_at: datetime,
) -> dict[str, Any]:
    """One row of the `reports` table."""
    facts = ReportFacts(
        report_key=report_key,
        header=header,
        totals=totals,
        rejected_record_count=rejected_record_count,
        warnings=warnings,
        source_key=source_key,
        content_sha256=content_sha256,
        ingested_at=ingested_at,
    )
    return {column.name: column.read(facts) for column in REPORT_COLUMNS}


def reports_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=REPORTS_SCHEMA)
