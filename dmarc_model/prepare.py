"""One parsed XML document -> the rows every store writes: the last pure step before storage.

prepared = prepare_report(payload, source_key="uploads/a.xml.gz", ingested_at=now)
prepared.report      the `reports` row (a dict in REPORTS_SCHEMA order)
prepared.records     the `records` rows (a pyarrow.Table in RECORDS_SCHEMA)
prepared.rejected    records that failed validation, kept aside with their reasons
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from dmarc_model.identity import report_key
from dmarc_model.models import RejectedRecord
from dmarc_model.parse import read_report
from dmarc_model.rows import RecordColumns, partition_date, report_row
from dmarc_model.summary import ReportTotals
from dmarc_model.unpack import Payload

__all__ = ["PreparedReport", "prepare_report"]


@dataclass
class PreparedReport:
    """One parsed report, ready to store: its identity, its rows, and what was kept aside."""

    report_key: str
    content_sha256: str
    source_key: str
    day: date
    report: dict[str, Any]
    """The `reports` row."""
    records: pa.Table
    """The `records` rows, in RECORDS_SCHEMA."""
    rejected: list[RejectedRecord] = field(default_factory=list)

    @property
    def dt(self) -> str:
        return self.day.isoformat()


def prepare_report(payload: Payload, source_key: str, ingested_at: datetime) -> PreparedReport:
    """Parse one XML document into the rows every store writes (raises InputRefused)."""
    stream = read_report(payload)
    header = stream.header
    key = report_key(header)
    columns = RecordColumns(key, header)
    totals = ReportTotals()
    for index, record in enumerate(stream.records()):
        columns.add(index, record)
        totals.add(record)
    row = report_row(
        report_key=key,
        header=header,
        totals=totals,
        rejected_record_count=len(stream.rejected),
        warnings=stream.warnings,
        source_key=source_key,
        content_sha256=stream.content_sha256,
        ingested_at=ingested_at,
    )
    return PreparedReport(
        report_key=key,
        content_sha256=stream.content_sha256,
        source_key=source_key,
        day=partition_date(header),
        report=row,
        records=columns.table(),
        rejected=list(stream.rejected),
    )
