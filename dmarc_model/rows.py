"""Models -> flat rows of the `reports` and `records` tables, read column by column as
`dmarc_model.columns` declares them.

Records are gathered column by column (`RecordColumns`), without a Python dict per record, and handed
on as Arrow record batches of `BATCH_ROWS` rows (`dmarc_model.record_rows`), so memory holds one batch
whatever the report's size; the columns a report repeats on each record are filled once per batch.
The DynamoDB items are derived from these rows in turn
(`dmarc_store.backends.dynamo_items`), so every store holds the same values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from dmarc_model.columns import RECORD_COLUMNS, REPORT_COLUMNS, RecordContext, ReportFacts
from dmarc_model.models import Record, ReportHeader
from dmarc_model.record_rows import MemorySink, RecordRows, RecordSink
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
    """The records of one report, gathered as columns of the `records` table and handed to `sink` as
    a record batch every `sink.batch_rows` records (`dmarc_model.record_rows`)."""

    def __init__(self, report_key: str, header: ReportHeader, sink: RecordSink | None = None) -> None:
        self._context = RecordContext(report_key, header)
        self._sink = sink or MemorySink()
        self._batch_rows = self._sink.batch_rows
        self._readers: list[tuple[Callable[[Record], Any], list[Any]]] = [
            (read, []) for _, read in _PER_RECORD
        ]
        self._positions: list[int] = []
        self._flushed = 0

    def __len__(self) -> int:
        return self._flushed + len(self._positions)

    def add(self, index: int, record: Record) -> None:
        self._positions.append(index)
        for reader, values in self._readers:
            values.append(reader(record))
        if len(self._positions) >= self._batch_rows:
            self._flush()

    def finish(self) -> RecordRows:
        """Every row, the last batch included, as the sink keeps them."""
        if self._positions:
            self._flush()
        return self._sink.finish()

    def discard(self) -> None:
        self._sink.discard()

    def _flush(self) -> None:
        self._sink.write(pa.RecordBatch.from_pydict(self._columns(), schema=RECORDS_SCHEMA))
        self._flushed += len(self._positions)
        self._positions = []
        for _, values in self._readers:
            values.clear()

    def _columns(self) -> dict[str, list[Any]]:
        """Column name -> values of the rows gathered since the last batch, in RECORDS_SCHEMA order."""
        rows = len(self._positions)
        gathered: dict[str, list[Any]] = dict.fromkeys(_POSITION, self._positions)
        gathered.update((name, [read(self._context)] * rows) for name, read in _PER_REPORT)
        gathered.update(
            (name, values) for (name, _), (_, values) in zip(_PER_RECORD, self._readers, strict=True)
        )
        return {name: gathered[name] for name in RECORDS_SCHEMA.names}


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
