"""Models -> flat rows of the `reports` and `records` tables: the one mapping onto `dmarc_model.schema`.

Records are gathered column by column (`RecordColumns`), so a 100k-record report becomes one Arrow
table without a Python dict per record. The DynamoDB items are derived from these rows in turn
(`dmarc_store.backends.dynamo_items`), so every store holds the same values.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from dmarc_model.models import Record, ReportHeader
from dmarc_model.schema import RECORDS_SCHEMA, REPORTS_SCHEMA
from dmarc_model.summary import ReportTotals


def utc_naive(moment: datetime) -> datetime:
    """Athena's `timestamp` has no zone: store UTC wall time."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def partition_date(header: ReportHeader) -> date:
    """`dt`: the UTC date of the report's begin."""
    return header.begin.astimezone(UTC).date()


class RecordColumns:
    """The records of one report, gathered as columns of the `records` table."""

    def __init__(self, report_key: str, header: ReportHeader) -> None:
        self._report = (
            report_key,
            header.policy_domain,
            utc_naive(header.begin),
            utc_naive(header.end),
            header.report_metadata.org_name,
        )
        self.columns: dict[str, list[Any]] = {name: [] for name in RECORDS_SCHEMA.names}

    def __len__(self) -> int:
        return len(self.columns["record_index"])

    def add(self, index: int, record: Record) -> None:
        columns = self.columns
        row = record.row
        evaluated = row.policy_evaluated
        identifiers = record.identifiers
        report_key, domain, begin, end, org_name = self._report
        columns["report_key"].append(report_key)
        columns["record_index"].append(index)
        columns["policy_domain"].append(domain)
        columns["date_range_begin"].append(begin)
        columns["date_range_end"].append(end)
        columns["org_name"].append(org_name)
        columns["source_ip"].append(row.source_ip)
        columns["ip_version"].append(6 if ":" in row.source_ip else 4)
        columns["message_count"].append(row.count)
        columns["disposition"].append(evaluated.disposition)
        columns["policy_dkim"].append(evaluated.dkim)
        columns["policy_spf"].append(evaluated.spf)
        columns["reasons"].append([{"type": r.type, "comment": r.comment} for r in evaluated.reasons])
        columns["header_from"].append(identifiers.header_from)
        columns["envelope_from"].append(identifiers.envelope_from)
        columns["envelope_to"].append(identifiers.envelope_to)
        columns["dkim_results"].append(
            [
                {
                    "domain": d.domain,
                    "selector": d.selector,
                    "result": d.result,
                    "human_result": d.human_result,
                }
                for d in record.auth_results.dkim
            ]
        )
        columns["spf_results"].append(
            [
                {"domain": s.domain, "scope": s.scope, "result": s.result, "human_result": s.human_result}
                for s in record.auth_results.spf
            ]
        )
        columns["extensions"].append(record.extensions)

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
    metadata = header.report_metadata
    policy = header.policy_published
    dispositions = totals.disposition_totals
    row: dict[str, Any] = {
        "report_key": report_key,
        "org_name": metadata.org_name,
        "email": metadata.email,
        "extra_contact_info": metadata.extra_contact_info,
        "report_id": metadata.report_id,
        "policy_domain": policy.domain,
        "date_range_begin": utc_naive(header.begin),
        "date_range_end": utc_naive(header.end),
        "xml_schema": header.xml_schema,
        "generator": metadata.generator,
        "report_errors": list(metadata.errors),
        "published_adkim": policy.adkim,
        "published_aspf": policy.aspf,
        "published_p": policy.p,
        "published_sp": policy.sp,
        "published_pct": policy.pct,
        "published_fo": policy.fo,
        "published_np": policy.np,
        "published_testing": policy.testing,
        "published_discovery_method": policy.discovery_method,
        "record_count": totals.record_count,
        "rejected_record_count": rejected_record_count,
        "message_total": totals.message_total,
        "dkim_aligned_pass": totals.dkim_aligned_pass,
        "spf_aligned_pass": totals.spf_aligned_pass,
        "dmarc_pass": totals.dmarc_pass,
        "disposition_none": dispositions.get("none", 0),
        "disposition_quarantine": dispositions.get("quarantine", 0),
        "disposition_reject": dispositions.get("reject", 0),
        "warnings": list(warnings),
        "extensions": header.extensions,
        "source_key": source_key,
        "content_sha256": content_sha256,
        "ingested_at": utc_naive(ingested_at),
    }
    assert list(row) == REPORTS_SCHEMA.names, "report_row must follow REPORTS_SCHEMA"
    return row


def reports_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=REPORTS_SCHEMA)
