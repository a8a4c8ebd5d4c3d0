"""Every column of the three TLS report tables (RFC 8460), declared once: name, Arrow type and how it
is read. The Arrow schemas (`TLS_SCHEMAS`) and the rows (`dmarc_model.tlsrpt.rows`) are derived from
here, and `athena_queries/tables/tls_*.sql` is held to it (tests/test_tlsrpt.py).

    tls_reports     one row per report: who sent it, for which period, its totals
    tls_policies    one row per entry of `policies`: the domain, the policy applied, its session counts
    tls_failures    one row per failure detail: the result type, the hosts, the failed sessions

`tls_policies` and `tls_failures` repeat the report's organization name and period, so that the usual
questions need no join; (report_key, policy_index[, detail_index]) identifies a row. Partition: `dt`, the
UTC date of the report's start. Names are a public contract: add, never rename.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pyarrow as pa

from dmarc_model.columns import TIMESTAMP
from dmarc_model.timestamps import utc_naive

if TYPE_CHECKING:
    from dmarc_model.tlsrpt.models import FailureDetail, TlsPolicyReport, TlsReport

__all__ = [
    "TLS_FAILURES_SCHEMA",
    "TLS_FAILURE_COLUMNS",
    "TLS_POLICIES_SCHEMA",
    "TLS_POLICY_COLUMNS",
    "TLS_REPORTS_SCHEMA",
    "TLS_REPORT_COLUMNS",
    "TLS_SCHEMAS",
    "TlsColumn",
    "TlsFailureFacts",
    "TlsPolicyFacts",
    "TlsReportFacts",
]

Facts = TypeVar("Facts")


@dataclass(frozen=True)
class TlsColumn(Generic[Facts]):
    name: str
    type: pa.DataType
    read: Callable[[Facts], Any]


@dataclass(frozen=True)
class TlsReportFacts:
    """What one `tls_reports` row is read from: the parsed report and the ingest's own facts."""

    report_key: str
    report: TlsReport
    source_key: str
    content_sha256: str
    ingested_at: datetime


@dataclass(frozen=True)
class TlsPolicyFacts:
    report_key: str
    report: TlsReport
    policy_index: int
    entry: TlsPolicyReport


@dataclass(frozen=True)
class TlsFailureFacts:
    policy: TlsPolicyFacts
    detail_index: int
    detail: FailureDetail


def _utc(read: Callable[[Any], datetime]) -> Callable[[Any], datetime]:
    return lambda source: utc_naive(read(source))


def _sum_policies(read: Callable[[TlsPolicyReport], int]) -> Callable[[TlsReportFacts], int]:
    return lambda facts: sum(read(entry) for entry in facts.report.policies)


TLS_REPORT_COLUMNS: tuple[TlsColumn[TlsReportFacts], ...] = (
    TlsColumn("report_key", pa.string(), attrgetter("report_key")),
    TlsColumn("org_name", pa.string(), attrgetter("report.organization_name")),
    TlsColumn("report_id", pa.string(), attrgetter("report.report_id")),
    TlsColumn("contact_info", pa.string(), attrgetter("report.contact_info")),
    TlsColumn("date_range_begin", TIMESTAMP, _utc(attrgetter("report.begin"))),
    TlsColumn("date_range_end", TIMESTAMP, _utc(attrgetter("report.end"))),
    TlsColumn("policy_domains", pa.list_(pa.string()), lambda facts: list(facts.report.policy_domains)),
    TlsColumn("policy_count", pa.int32(), lambda facts: len(facts.report.policies)),
    TlsColumn("failure_detail_count", pa.int32(), _sum_policies(lambda entry: len(entry.failure_details))),
    TlsColumn("successful_session_count", pa.int64(), _sum_policies(attrgetter("successful_session_count"))),
    TlsColumn("failed_session_count", pa.int64(), _sum_policies(attrgetter("failed_session_count"))),
    TlsColumn("warnings", pa.list_(pa.string()), lambda facts: list(facts.report.warnings)),
    TlsColumn("source_key", pa.string(), attrgetter("source_key")),
    TlsColumn("content_sha256", pa.string(), attrgetter("content_sha256")),
    TlsColumn("ingested_at", TIMESTAMP, _utc(attrgetter("ingested_at"))),
)
"""The `tls_reports` table, in column order."""

TLS_POLICY_COLUMNS: tuple[TlsColumn[TlsPolicyFacts], ...] = (
    TlsColumn("report_key", pa.string(), attrgetter("report_key")),
    TlsColumn("policy_index", pa.int32(), attrgetter("policy_index")),
    TlsColumn("org_name", pa.string(), attrgetter("report.organization_name")),
    TlsColumn("date_range_begin", TIMESTAMP, _utc(attrgetter("report.begin"))),
    TlsColumn("date_range_end", TIMESTAMP, _utc(attrgetter("report.end"))),
    TlsColumn("policy_domain", pa.string(), attrgetter("entry.policy.policy_domain")),
    TlsColumn("policy_type", pa.string(), attrgetter("entry.policy.policy_type")),
    TlsColumn("sts_mode", pa.string(), attrgetter("entry.policy.sts_mode")),
    TlsColumn("policy_strings", pa.list_(pa.string()), lambda facts: list(facts.entry.policy.policy_strings)),
    TlsColumn("mx_hosts", pa.list_(pa.string()), lambda facts: list(facts.entry.policy.mx_hosts)),
    TlsColumn("successful_session_count", pa.int64(), attrgetter("entry.successful_session_count")),
    TlsColumn("failed_session_count", pa.int64(), attrgetter("entry.failed_session_count")),
    TlsColumn("failure_detail_count", pa.int32(), lambda facts: len(facts.entry.failure_details)),
)
"""The `tls_policies` table, in column order."""


def _policy(name: str) -> Callable[[TlsFailureFacts], Any]:
    return attrgetter(f"policy.{name}")


def _detail(name: str) -> Callable[[TlsFailureFacts], Any]:
    return attrgetter(f"detail.{name}")


TLS_FAILURE_COLUMNS: tuple[TlsColumn[TlsFailureFacts], ...] = (
    TlsColumn("report_key", pa.string(), _policy("report_key")),
    TlsColumn("policy_index", pa.int32(), _policy("policy_index")),
    TlsColumn("detail_index", pa.int32(), attrgetter("detail_index")),
    TlsColumn("org_name", pa.string(), _policy("report.organization_name")),
    TlsColumn("date_range_begin", TIMESTAMP, _utc(_policy("report.begin"))),
    TlsColumn("date_range_end", TIMESTAMP, _utc(_policy("report.end"))),
    TlsColumn("policy_domain", pa.string(), _policy("entry.policy.policy_domain")),
    TlsColumn("policy_type", pa.string(), _policy("entry.policy.policy_type")),
    TlsColumn("result_type", pa.string(), _detail("result_type")),
    TlsColumn("sending_mta_ip", pa.string(), _detail("sending_mta_ip")),
    TlsColumn("receiving_mx_hostname", pa.string(), _detail("receiving_mx_hostname")),
    TlsColumn("receiving_mx_helo", pa.string(), _detail("receiving_mx_helo")),
    TlsColumn("receiving_ip", pa.string(), _detail("receiving_ip")),
    TlsColumn("failed_session_count", pa.int64(), _detail("failed_session_count")),
    TlsColumn("additional_information", pa.string(), _detail("additional_information")),
    TlsColumn("failure_reason_code", pa.string(), _detail("failure_reason_code")),
)
"""The `tls_failures` table, in column order."""

TLS_REPORTS_SCHEMA = pa.schema([(column.name, column.type) for column in TLS_REPORT_COLUMNS])
TLS_POLICIES_SCHEMA = pa.schema([(column.name, column.type) for column in TLS_POLICY_COLUMNS])
TLS_FAILURES_SCHEMA = pa.schema([(column.name, column.type) for column in TLS_FAILURE_COLUMNS])
TLS_SCHEMAS: dict[str, pa.Schema] = {
    "tls_reports": TLS_REPORTS_SCHEMA,
    "tls_policies": TLS_POLICIES_SCHEMA,
    "tls_failures": TLS_FAILURES_SCHEMA,
}
"""Table name -> Arrow schema; to be merged into `dmarc_model.schema.SCHEMAS`."""
