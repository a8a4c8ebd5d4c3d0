"""A parsed TLS report -> its rows of `tls_reports`, `tls_policies` and `tls_failures`, as Arrow tables,
read column by column as `dmarc_model.tls_columns` declares them.

A TLS report is small (its JSON is capped: `dmarc_model.tlsrpt.decode`), so its rows are built at once;
each table goes to `<root>/parquet/<table>/dt=<partition>/<report_key>.parquet` like the DMARC tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import pyarrow as pa

from dmarc_model.tls_columns import (
    TLS_FAILURE_COLUMNS,
    TLS_FAILURES_SCHEMA,
    TLS_POLICIES_SCHEMA,
    TLS_POLICY_COLUMNS,
    TLS_REPORT_COLUMNS,
    TLS_REPORTS_SCHEMA,
    TlsColumn,
    TlsFailureFacts,
    TlsPolicyFacts,
    TlsReportFacts,
)
from dmarc_model.tlsrpt.identity import TLS_CONTENT_VERSION
from dmarc_model.tlsrpt.models import TlsReport

__all__ = ["TlsRows", "tls_partition_date", "tls_rows"]

Facts = TypeVar("Facts")


@dataclass(frozen=True)
class TlsRows:
    """The rows of one report, a table per Parquet table, and the partition they all go to."""

    report_key: str
    content_sha256: str
    source_key: str
    partition: date
    reports: pa.Table
    policies: pa.Table
    failures: pa.Table

    @property
    def tables(self) -> dict[str, pa.Table]:
        """Table name -> its rows of this report (a table of no rows when the report has none)."""
        return {"tls_reports": self.reports, "tls_policies": self.policies, "tls_failures": self.failures}

    @property
    def dt(self) -> str:
        """The partition as Glue spells it: `YYYY-MM-DD`."""
        return self.partition.isoformat()

    @property
    def hash_version(self) -> int:
        """The canonical form `content_sha256` was computed in (`tls_content_sha256`)."""
        return TLS_CONTENT_VERSION

    @property
    def report(self) -> dict[str, Any]:
        """The report in the names a store's claim index, its conflicts and the ingest results share with
        DMARC reports: `policy_domain` its policy domains joined by commas, `record_count` its policies,
        `message_total` its sessions (successful and failed); and the session counts themselves."""
        (row,) = self.reports.to_pylist()
        successful, failed = row["successful_session_count"], row["failed_session_count"]
        return {
            "report_key": row["report_key"],
            "org_name": row["org_name"],
            "report_id": row["report_id"],
            "policy_domain": ",".join(row["policy_domains"]),
            "date_range_begin": row["date_range_begin"],
            "date_range_end": row["date_range_end"],
            "record_count": row["policy_count"],
            "message_total": successful + failed,
            "successful_session_count": successful,
            "failed_session_count": failed,
            "source_key": row["source_key"],
            "content_sha256": row["content_sha256"],
            "ingested_at": row["ingested_at"],
        }


def tls_partition_date(report: TlsReport) -> date:
    """`dt`: the UTC date of the report's start."""
    return report.begin.astimezone(UTC).date()


def tls_rows(
    report: TlsReport, *, report_key: str, source_key: str, content_sha256: str, ingested_at: datetime
) -> TlsRows:
    """The report's rows of the three tables."""
    report_facts = TlsReportFacts(report_key, report, source_key, content_sha256, ingested_at)
    policy_facts = [
        TlsPolicyFacts(report_key, report, index, entry) for index, entry in enumerate(report.policies)
    ]
    failure_facts = [
        TlsFailureFacts(policy, index, detail)
        for policy in policy_facts
        for index, detail in enumerate(policy.entry.failure_details)
    ]
    return TlsRows(
        report_key=report_key,
        content_sha256=content_sha256,
        source_key=source_key,
        partition=tls_partition_date(report),
        reports=_table([report_facts], TLS_REPORT_COLUMNS, TLS_REPORTS_SCHEMA),
        policies=_table(policy_facts, TLS_POLICY_COLUMNS, TLS_POLICIES_SCHEMA),
        failures=_table(failure_facts, TLS_FAILURE_COLUMNS, TLS_FAILURES_SCHEMA),
    )


def _table(facts: Sequence[Facts], columns: Sequence[TlsColumn[Facts]], schema: pa.Schema) -> pa.Table:
    values: dict[str, list[Any]] = {column.name: [column.read(item) for item in facts] for column in columns}
    return pa.Table.from_pydict(values, schema=schema)
