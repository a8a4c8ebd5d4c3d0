"""One parsed XML document -> the rows every store writes: the last pure step before storage.

prepared = prepare_report(payload, source_key="uploads/a.xml.gz", ingested_at=now)
prepared.report      the `reports` row (a dict in REPORTS_SCHEMA order)
prepared.record_rows the `records` rows, batch by batch (`dmarc_model.record_rows`): in memory, or
                     wherever the `sink` passed in kept them (the ingest service spools big reports)
prepared.records     the same rows as one pyarrow.Table in RECORDS_SCHEMA (small reports and tests)
prepared.rejected    records that failed validation, kept aside with their reasons

A PreparedReport holds its rows until `close()` (a context manager: `with prepare_report(...) as r`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from dmarc_model.content import CONTENT_HASH_VERSION
from dmarc_model.identity import report_key
from dmarc_model.models import RejectedRecord
from dmarc_model.parse import read_report
from dmarc_model.record_rows import RecordRows, RecordSink
from dmarc_model.rows import RecordColumns, partition_date, report_row
from dmarc_model.summary import ReportTotals
from dmarc_model.tlsrpt.rows import TlsRows
from dmarc_model.unpack import Payload

__all__ = ["PreparedReport", "StorableReport", "prepare_report"]


@dataclass
class PreparedReport:
    """One parsed report, ready to store: its identity, its rows, and what was kept aside."""

    report_key: str
    content_sha256: str
    source_key: str
    day: date
    report: dict[str, Any]
    """The `reports` row."""
    record_rows: RecordRows
    """The `records` rows, in RECORDS_SCHEMA, a batch at a time."""
    rejected: list[RejectedRecord] = field(default_factory=list)

    @property
    def dt(self) -> str:
        return self.day.isoformat()

    @property
    def hash_version(self) -> int:
        """The canonical form `content_sha256` was computed in (`dmarc_model.content`)."""
        return CONTENT_HASH_VERSION

    @property
    def records(self) -> pa.Table:
        """Every `records` row at once, in memory: for small reports and tests."""
        return self.record_rows.table()

    def close(self) -> None:
        self.record_rows.close()

    def __enter__(self) -> PreparedReport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


StorableReport = PreparedReport | TlsRows
"""What a store claims, writes and completes: a DMARC aggregate report, or an SMTP TLS report's rows
(`dmarc_model.tlsrpt`). Both name themselves (`report_key`, `content_sha256`, `hash_version`,
`source_key`, `dt`) and sum themselves up in `report` (`policy_domain`, `record_count`, ...)."""


def prepare_report(
    payload: Payload, source_key: str, ingested_at: datetime, *, sink: RecordSink | None = None
) -> PreparedReport:
    """Parse one XML document into the rows every store writes (raises InputRefused).

    The records go to `sink` a batch at a time (default: kept in memory); on a refusal half way what
    it holds is discarded."""
    stream = read_report(payload)
    header = stream.header
    key = report_key(header)
    columns = RecordColumns(key, header, sink)
    totals = ReportTotals()
    try:
        for index, record in enumerate(stream.records()):
            columns.add(index, record)
            totals.add(record)
        rows = columns.finish()
        row = report_row(
            report_key=key,
            header=header,
            totals=totals,
            rejected_record_count=stream.rejected_count,
            warnings=stream.warnings,
            source_key=source_key,
            content_sha256=stream.content_sha256,
            ingested_at=ingested_at,
        )
    except BaseException:
        columns.discard()  # the sink's rows, finished or not
        raise
    return PreparedReport(
        report_key=key,
        content_sha256=stream.content_sha256,
        source_key=source_key,
        day=partition_date(header),
        report=row,
        record_rows=rows,
        rejected=list(stream.rejected),
    )
