"""Every column of the two Parquet tables, declared once: name, Arrow type, how it is read from the
model, and where else it goes. Everything else is derived from this file:

    dmarc_model.schema          the Arrow schemas (REPORTS_SCHEMA, RECORDS_SCHEMA)
    dmarc_model.rows            the `reports` row and the `records` columns of one report
    dmarc_store.backends        the DynamoDB record items (the columns marked `item`) and META
    dmarc_store.lookup          the fields of `dmarc lookup` (both stores)
    dmarc_cli.export            the columns of `dmarc export --csv`
    athena_queries/views        the column list of `record_details`, and README.md's lists: generated
                                by `make columns` (scripts/sync_columns.py), checked by the tests

Adding a record field takes three hand edits: the model (`dmarc_model.models`), a line here, and a
line in the table's DDL (`athena_queries/tables/<table>.sql`); then `make columns`. Until each is made,
a test fails and names the place (tests/test_columns.py). Names are a public contract: add, never rename.

A `records` column is read either from the report (`report=`: one value, repeated on each of its
records) or from the record (`record=`), or is the record's position (`record_index`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from dmarc_model.timestamps import utc_naive

if TYPE_CHECKING:
    from dmarc_model.models import Record, ReportHeader
    from dmarc_model.summary import ReportTotals

__all__ = [
    "CONFLICT_COLUMNS",
    "FAILURE_COLUMNS",
    "RECORD_COLUMNS",
    "REPORT_COLUMNS",
    "SENDER_COLUMNS",
    "RecordColumn",
    "ReportColumn",
    "ReportFacts",
    "item_columns",
]

TIMESTAMP = pa.timestamp("ms")
"""UTC wall time, no zone: Athena's `timestamp`."""

REASON = pa.struct([("type", pa.string()), ("comment", pa.string())])
DKIM_AUTH = pa.struct(
    [
        ("domain", pa.string()),
        ("selector", pa.string()),
        ("result", pa.string()),
        ("human_result", pa.string()),
    ]
)
SPF_AUTH = pa.struct(
    [("domain", pa.string()), ("scope", pa.string()), ("result", pa.string()), ("human_result", pa.string())]
)


@dataclass(frozen=True)
class ReportFacts:
    """What one `reports` row is read from: the parsed header, the totals and the ingest's own facts."""

    report_key: str
    header: ReportHeader
    totals: ReportTotals
    rejected_record_count: int
    warnings: list[str]
    source_key: str
    content_sha256: str
    ingested_at: datetime


@dataclass(frozen=True)
class ReportColumn:
    name: str
    type: pa.DataType
    read: Callable[[ReportFacts], Any]
    meta: bool = True
    """Also an attribute of the report's DynamoDB META item once COMPLETE (bulky fields are not)."""


@dataclass(frozen=True)
class RecordColumn:
    name: str
    type: pa.DataType
    record: Callable[[Record], Any] | None = None
    """Read from each record; or else:"""
    report: Callable[[RecordContext], Any] | None = None
    """Read from the report, the same on each of its records; neither: the record's position."""
    item: bool = False
    """Also an attribute of the DynamoDB record item, and so a field of `dmarc lookup`."""


@dataclass(frozen=True)
class RecordContext:
    """The report-level values a record row repeats."""

    report_key: str
    header: ReportHeader


def _metadata(name: str) -> Callable[[ReportFacts], Any]:
    return attrgetter(f"header.report_metadata.{name}")


def _policy(name: str) -> Callable[[ReportFacts], Any]:
    return attrgetter(f"header.policy_published.{name}")


def _totals(name: str) -> Callable[[ReportFacts], Any]:
    return attrgetter(f"totals.{name}")


def _disposition(name: str) -> Callable[[ReportFacts], int]:
    return lambda facts: facts.totals.disposition_totals.get(name, 0)


def _utc(read: Callable[[Any], datetime]) -> Callable[[Any], datetime]:
    return lambda source: utc_naive(read(source))


REPORT_COLUMNS: tuple[ReportColumn, ...] = (
    ReportColumn("report_key", pa.string(), attrgetter("report_key"), meta=False),
    ReportColumn("org_name", pa.string(), _metadata("org_name")),
    ReportColumn("email", pa.string(), _metadata("email")),
    ReportColumn("extra_contact_info", pa.string(), _metadata("extra_contact_info")),
    ReportColumn("report_id", pa.string(), _metadata("report_id")),
    ReportColumn("policy_domain", pa.string(), _policy("domain")),
    ReportColumn("date_range_begin", TIMESTAMP, _utc(attrgetter("header.begin"))),
    ReportColumn("date_range_end", TIMESTAMP, _utc(attrgetter("header.end"))),
    ReportColumn("xml_schema", pa.string(), attrgetter("header.xml_schema")),
    ReportColumn("generator", pa.string(), _metadata("generator")),
    ReportColumn(
        "report_errors", pa.list_(pa.string()), lambda facts: list(facts.header.report_metadata.errors)
    ),
    ReportColumn("published_adkim", pa.string(), _policy("adkim")),
    ReportColumn("published_aspf", pa.string(), _policy("aspf")),
    ReportColumn("published_p", pa.string(), _policy("p")),
    ReportColumn("published_sp", pa.string(), _policy("sp")),
    ReportColumn("published_pct", pa.int32(), _policy("pct")),
    ReportColumn("published_fo", pa.string(), _policy("fo")),
    ReportColumn("published_np", pa.string(), _policy("np")),
    ReportColumn("published_testing", pa.string(), _policy("testing")),
    ReportColumn("published_discovery_method", pa.string(), _policy("discovery_method")),
    ReportColumn("record_count", pa.int64(), _totals("record_count")),
    ReportColumn("rejected_record_count", pa.int64(), attrgetter("rejected_record_count")),
    ReportColumn("message_total", pa.int64(), _totals("message_total")),
    ReportColumn("dkim_aligned_pass", pa.int64(), _totals("dkim_aligned_pass")),
    ReportColumn("spf_aligned_pass", pa.int64(), _totals("spf_aligned_pass")),
    ReportColumn("dmarc_pass", pa.int64(), _totals("dmarc_pass")),
    ReportColumn("disposition_none", pa.int64(), _disposition("none")),
    ReportColumn("disposition_quarantine", pa.int64(), _disposition("quarantine")),
    ReportColumn("disposition_reject", pa.int64(), _disposition("reject")),
    ReportColumn("warnings", pa.list_(pa.string()), lambda facts: list(facts.warnings)),
    ReportColumn("extensions", pa.string(), attrgetter("header.extensions"), meta=False),
    ReportColumn("source_key", pa.string(), attrgetter("source_key")),
    ReportColumn("content_sha256", pa.string(), attrgetter("content_sha256")),
    ReportColumn("ingested_at", TIMESTAMP, _utc(attrgetter("ingested_at"))),
)
"""The `reports` table, in column order."""


def _reasons(record: Record) -> list[dict[str, Any]]:
    return [{"type": r.type, "comment": r.comment} for r in record.row.policy_evaluated.reasons]


def _dkim_results(record: Record) -> list[dict[str, Any]]:
    return [
        {"domain": d.domain, "selector": d.selector, "result": d.result, "human_result": d.human_result}
        for d in record.auth_results.dkim
    ]


def _spf_results(record: Record) -> list[dict[str, Any]]:
    return [
        {"domain": s.domain, "scope": s.scope, "result": s.result, "human_result": s.human_result}
        for s in record.auth_results.spf
    ]


def _ip_version(record: Record) -> int:
    return 6 if ":" in record.row.source_ip else 4


RECORD_COLUMNS: tuple[RecordColumn, ...] = (
    RecordColumn("report_key", pa.string(), report=attrgetter("report_key")),
    RecordColumn("record_index", pa.int32()),
    RecordColumn("policy_domain", pa.string(), report=attrgetter("header.policy_published.domain")),
    RecordColumn("date_range_begin", TIMESTAMP, report=_utc(attrgetter("header.begin"))),
    RecordColumn("date_range_end", TIMESTAMP, report=_utc(attrgetter("header.end"))),
    RecordColumn("org_name", pa.string(), report=attrgetter("header.report_metadata.org_name")),
    RecordColumn("source_ip", pa.string(), attrgetter("row.source_ip"), item=True),
    RecordColumn("ip_version", pa.int8(), _ip_version, item=True),
    RecordColumn("message_count", pa.int64(), attrgetter("row.count"), item=True),
    RecordColumn("disposition", pa.string(), attrgetter("row.policy_evaluated.disposition"), item=True),
    RecordColumn("policy_dkim", pa.string(), attrgetter("row.policy_evaluated.dkim"), item=True),
    RecordColumn("policy_spf", pa.string(), attrgetter("row.policy_evaluated.spf"), item=True),
    RecordColumn("reasons", pa.list_(REASON), _reasons, item=True),
    RecordColumn("header_from", pa.string(), attrgetter("identifiers.header_from"), item=True),
    RecordColumn("envelope_from", pa.string(), attrgetter("identifiers.envelope_from"), item=True),
    RecordColumn("envelope_to", pa.string(), attrgetter("identifiers.envelope_to"), item=True),
    RecordColumn("dkim_results", pa.list_(DKIM_AUTH), _dkim_results, item=True),
    RecordColumn("spf_results", pa.list_(SPF_AUTH), _spf_results, item=True),
    RecordColumn("extensions", pa.string(), attrgetter("extensions")),
)
"""The `records` table, in column order."""


def item_columns() -> tuple[str, ...]:
    """The `records` columns every DynamoDB record item carries, in order."""
    return tuple(column.name for column in RECORD_COLUMNS if column.item)


CONFLICT_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("report_key", pa.string()),
    ("org_name", pa.string()),
    ("report_id", pa.string()),
    ("policy_domain", pa.string()),
    ("date_range_begin", TIMESTAMP),
    ("date_range_end", TIMESTAMP),
    ("stored_source_key", pa.string()),
    ("stored_content_sha256", pa.string()),
    ("source_key", pa.string()),
    ("content_sha256", pa.string()),
    ("record_count", pa.int64()),
    ("message_total", pa.int64()),
    ("detected_at", TIMESTAMP),
)
"""The `conflicts` table: one row per copy of a report whose identity is stored with other content
(the first stands). Written by the ingest service from the two reports' rows; kept as long as the data."""

SENDER_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("report_key", pa.string()),
    ("record_index", pa.int32()),
    ("source_ip", pa.string()),
    ("sender", pa.string()),
    ("sender_name", pa.string()),
    ("sender_category", pa.string()),
    ("sender_confidence", pa.string()),
    ("sender_evidence", pa.list_(pa.string())),
    ("sender_fix", pa.string()),
    ("sender_setup_url", pa.string()),
    ("network_asn", pa.int64()),
    ("network_org", pa.string()),
    ("classifier_version", pa.string()),
    ("classified_at", TIMESTAMP),
)
"""The `record_senders` table: one verdict per record (`dmarc_model.senders`), keyed to it by
(report_key, record_index), with the versions of the rules and data it came from. Written at ingest and
rewritten by `dmarc classify` when the rules or data change: the records are never touched."""

FAILURE_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("failure_key", pa.string()),
    ("feedback_type", pa.string()),
    ("auth_failure", pa.string()),
    ("identity_alignment", pa.string()),
    ("reported_domain", pa.string()),
    ("source_ip", pa.string()),
    ("arrival_date", TIMESTAMP),
    ("delivery_result", pa.string()),
    ("dkim_domain", pa.string()),
    ("dkim_selector", pa.string()),
    ("spf_domain", pa.string()),
    ("authentication_results", pa.string()),
    ("reporting_mta", pa.string()),
    ("user_agent", pa.string()),
    ("report_format", pa.string()),
    ("other_fields", pa.list_(pa.string())),
    ("recipient_hmac", pa.string()),
    ("from_hmac", pa.string()),
    ("subject_hmac", pa.string()),
    ("ingested_at", TIMESTAMP),
)
"""The `failure_reports` table: one row per DMARC failure report (RUF), partitioned by its arrival day,
with the structured fields only and HMAC-SHA256 hashes of the original recipient, From and Subject
(`dmarc_model.ruf`). Never the original message. Kept as long as the data (`DMARC_RETENTION_DAYS`)."""
