"""Report rows -> DynamoDB items: the one explicit mapping (pure, no boto3).

    item    PK                   SK           GSI1PK / GSI1SK                          GSI2PK / GSI2SK
    report  REPORT#<key>         META         -                                        DOMAIN#<domain> /
                                                                                       <begin>#<key>
    TLS     REPORT#<key>         META         -                                        -
    record  REPORT#<key>#<s:02>  REC#<n:010>  IP#<ip> / <begin>#<domain>#<key>#<n:06>  -

A record's partition key carries its shard, s = n mod RECORD_SHARDS: consecutive records go to
different partitions, so a report's writes are spread over RECORD_SHARDS partition keys instead of
queueing on one (DynamoDB takes at most 1,000 write units a second per partition key). Records were
once all under REPORT#<key> with SK REC#<n:06>; a resumed write removes any left there.

A TLS report (RFC 8460) has only its META, `kind` "tlsrpt", outside the by-domain index (it may name
many domains; its rows are in Parquet).

GSI "by-source-ip" answers "everything IP X did between A and B" with one Query on GSI1PK and a
BETWEEN on GSI1SK; GSI "by-domain" lists a domain's reports by date. Dates are ISO 8601 UTC
(`2025-01-01T00:00:00Z`), which sort as text. Values are plain Python (str, int, list, dict); absent
values are left out rather than stored as NULL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from dmarc_model.columns import REPORT_COLUMNS, item_columns
from dmarc_model.prepare import PreparedReport, StorableReport
from dmarc_model.timestamps import iso_z as iso
from dmarc_model.tlsrpt import TlsRows

ITEM_LIMIT = 400 * 1000
"""DynamoDB's item size limit, 400 KB (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html),
counted conservatively in decimal kilobytes."""
META_RESERVE = 2_000
"""Room kept in META for what is added after the claim (status, keys): it is written by update."""
MAX_DOMAIN_BYTES = 253
"""A domain name's length limit (RFC 1035): it keeps the by-domain key (2,048 bytes) and the by-source-ip
sort key (1,024 bytes: begin, domain, report key, index) within DynamoDB's key limits."""
PARQUET_ONLY = "parquet_only"
"""On an item too large for DynamoDB: the attributes left out, which the Parquet rows keep."""
RECORD_BULK = (
    "dkim_results",
    "spf_results",
    "reasons",
    "envelope_to",
    "envelope_from",
    "header_from",
    "org_name",
)
META_BULK = (
    "warnings",
    "report_errors",
    "extra_contact_info",
    "generator",
    "email",
    "org_name",
    "source_key",
)
BY_SOURCE_IP = "by-source-ip"
BY_DOMAIN = "by-domain"
TTL_ATTRIBUTE = "expires_at"
RECORD_ATTRIBUTES = item_columns()
"""The `records` columns each record item carries (declared `item` in dmarc_model.columns)."""
META_ATTRIBUTES = tuple(column.name for column in REPORT_COLUMNS if column.meta)
"""The `reports` columns META gains on COMPLETE (declared `meta` in dmarc_model.columns)."""
REPORT_CONTEXT_ATTRIBUTES = ("report_key", "org_name", "report_id", "policy_domain", "begin", "end")
"""What each record item (and so each lookup row) says of its report; begin and end as ISO 8601 UTC."""


RECORD_SHARDS = 64
"""Partition keys per report's record items: 64 x 1,000 write units a second is above what one table
takes at once (40,000 on demand), so no report's writes wait on one partition key."""


def report_pk(report_key: str) -> str:
    return f"REPORT#{report_key}"


def record_pk(report_key: str, index: int) -> str:
    """The partition key of record `index`: the report's, and its shard."""
    return f"{report_pk(report_key)}#{index % RECORD_SHARDS:02d}"


def record_pks(report_key: str) -> list[str]:
    """Every partition key a report's record items may be under."""
    return [f"{report_pk(report_key)}#{shard:02d}" for shard in range(RECORD_SHARDS)]


def ip_pk(source_ip: str) -> str:
    return f"IP#{source_ip}"


def record_items(
    report: PreparedReport, expires_at: int | None, senders: Iterator[Mapping[str, Any]] | None = None
) -> Iterator[dict[str, Any]]:
    """One item per record, from the `records` rows, with its sender's verdict when `senders` gives
    them, one per record in order (`dmarc_model.senders.rows.sender_items`)."""
    row = report.report
    begin = iso(row["date_range_begin"])
    end = iso(row["date_range_end"])
    records = (record for batch in report.record_rows.batches() for record in batch.to_pylist())
    for record in records:
        index = record["record_index"]
        item: dict[str, Any] = {
            "PK": record_pk(report.report_key, index),
            "SK": record_sk(index),
            "GSI1PK": ip_pk(record["source_ip"]),
            "GSI1SK": f"{begin}#{row['policy_domain']}#{report.report_key}#{index:06d}",
            "report_key": report.report_key,
            "record_index": index,
            "policy_domain": row["policy_domain"],
            "org_name": row["org_name"],
            "report_id": row["report_id"],
            "begin": begin,
            "end": end,
        }
        item.update({name: record[name] for name in RECORD_ATTRIBUTES})
        if senders is not None:
            item.update(next(senders))
        if expires_at is not None:
            item[TTL_ATTRIBUTE] = expires_at
        cleaned: dict[str, Any] = _without_nulls(item)
        yield fit_item(cleaned, RECORD_BULK)


def record_sk(index: int) -> str:
    return f"REC#{index:010d}"


def meta_item(report: StorableReport, *, status: str, claimed_at: int, claim_token: str) -> dict[str, Any]:
    """The META item as first claimed (PENDING)."""
    return {
        "claim_token": claim_token,
        "hash_version": report.hash_version,
        "PK": report_pk(report.report_key),
        "SK": "META",
        "status": status,
        "content_sha256": report.content_sha256,
        "source_key": report.source_key,
        "claimed_at": claimed_at,
        "dt": report.dt,
    }


def completion_attributes(report: PreparedReport, expires_at: int | None) -> dict[str, Any]:
    """What META gains on COMPLETE: the report's row (but bulky fields) and the by-domain keys."""
    row = report.report
    attributes = {
        name: (iso(row[name]) if isinstance(row[name], datetime) else row[name]) for name in META_ATTRIBUTES
    }
    attributes["GSI2PK"] = f"DOMAIN#{row['policy_domain']}"
    attributes["GSI2SK"] = f"{iso(row['date_range_begin'])}#{report.report_key}"
    if expires_at is not None:
        attributes[TTL_ATTRIBUTE] = expires_at
    cleaned: dict[str, Any] = _without_nulls(attributes)
    return fit_item(cleaned, META_BULK, reserve=META_RESERVE)


TLS_META_ATTRIBUTES = (
    "org_name",
    "report_id",
    "policy_domain",
    "record_count",
    "message_total",
    "successful_session_count",
    "failed_session_count",
    "source_key",
    "ingested_at",
)
"""What a TLS report's META gains on COMPLETE, from `TlsRows.report`; begin and end come as ISO 8601."""
TLS_META_BULK = ("policy_domain", "org_name", "source_key")


def tls_completion_attributes(report: TlsRows, expires_at: int | None) -> dict[str, Any]:
    """What a TLS report's META gains on COMPLETE: its kind, sums and period; no by-domain keys."""
    row = report.report
    attributes = {
        name: (iso(row[name]) if isinstance(row[name], datetime) else row[name])
        for name in TLS_META_ATTRIBUTES
    }
    attributes.update(kind="tlsrpt", begin=iso(row["date_range_begin"]), end=iso(row["date_range_end"]))
    if expires_at is not None:
        attributes[TTL_ATTRIBUTE] = expires_at
    cleaned: dict[str, Any] = _without_nulls(attributes)
    return fit_item(cleaned, TLS_META_BULK, reserve=META_RESERVE)


def item_size(item: dict[str, Any]) -> int:
    """An upper bound of an item's DynamoDB size: its JSON in UTF-8 (names, quotes and commas included)."""
    return len(json.dumps(item, ensure_ascii=False, default=str).encode())


def fit_item(item: dict[str, Any], bulk: tuple[str, ...], *, reserve: int = 0) -> dict[str, Any]:
    """The item within DynamoDB's 400 KB: its bulky attributes left out (the Parquet rows keep them all),
    named in `parquet_only`, one at a time from the first, until it fits."""
    limit = ITEM_LIMIT - reserve
    if item_size(item) <= limit:
        return item
    left_out: list[str] = []
    for name in bulk:
        if name in item:
            del item[name]
            left_out.append(name)
            item[PARQUET_ONLY] = left_out
            if item_size(item) <= limit:
                break
    return item


def domain_refusal(policy_domain: str) -> str | None:
    """Why a policy domain cannot be stored (None: it can): longer than DNS allows, and than a key holds."""
    size = len(policy_domain.encode())
    if size <= MAX_DOMAIN_BYTES:
        return None
    return f"the policy domain is {size} bytes long; a domain name has at most {MAX_DOMAIN_BYTES} (RFC 1035)"


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None and v != [] and v != ""}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value
