"""Everything one source IP did between two dates: from the DynamoDB index, or the local Parquet.

Neither returns a record whose retention has passed (dmarc_store.retention): DynamoDB deletes expired
items up to two days late and the local store keeps them until `dmarc prune`, so each lookup starts at
the first day still kept, and the DynamoDB one also skips items whose `expires_at` has passed.
`retention_days` left out is DMARC_RETENTION_DAYS.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmarc_model.models import canonical_ip
from dmarc_model.senders.rows import ITEM_SENDER_COLUMNS
from dmarc_model.timestamps import iso_z
from dmarc_store.backends.dynamo_items import (
    BY_SOURCE_IP,
    RECORD_ATTRIBUTES,
    REPORT_CONTEXT_ATTRIBUTES,
    TTL_ATTRIBUTE,
    ip_pk,
)
from dmarc_store.jsonable import jsonable
from dmarc_store.layout import PARQUET_PREFIX
from dmarc_store.retention import first_kept_day

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LOOKUP_FIELDS = (*REPORT_CONTEXT_ATTRIBUTES, *RECORD_ATTRIBUTES, *ITEM_SENDER_COLUMNS)
"""The keys of every lookup row, from either store (a public contract of `dmarc lookup`): the record's,
then who sent it (null for a record not classified yet)."""


def normalise_ip(ip: str) -> str:
    """The canonical form used as the lookup key; ValueError with a clear message for a bad IP."""
    try:
        return canonical_ip(ip)
    except ValueError:
        raise ValueError(f"not an IP address: {ip!r}") from None


def kept_since(since: date | None, retention_days: int | None, today: date) -> date | None:
    """`since`, moved up to the first day whose reports are still kept."""
    if retention_days is None:
        from dmarc_store.settings import get_settings

        retention_days = get_settings().retention_days
    first = first_kept_day(retention_days, today)
    if first is None or (since is not None and since >= first):
        return since
    return first


def lookup_dynamodb(
    dynamodb: DynamoDBClient,
    table: str,
    ip: str,
    since: date | None = None,
    until: date | None = None,
    *,
    retention_days: int | None = None,
    now: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """Query the by-source-ip index: one key condition, no scan; expired items are filtered out."""
    from boto3.dynamodb.types import TypeDeserializer

    from dmarc_store.aws_clients import translating

    dynamodb = translating(dynamodb, "dynamodb")
    deserializer = TypeDeserializer()
    now = now or datetime.now(UTC)
    since = kept_since(since, retention_days, now.astimezone(UTC).date())
    low = f"{since.isoformat()}T00:00:00Z" if since else "0"
    high = f"{until.isoformat()}T23:59:59Z~" if until else "9"
    if low > high:
        return
    paginator = dynamodb.get_paginator("query")
    pages = paginator.paginate(
        TableName=table,
        IndexName=BY_SOURCE_IP,
        KeyConditionExpression="GSI1PK = :ip AND GSI1SK BETWEEN :low AND :high",
        FilterExpression="attribute_not_exists(#expires) OR #expires > :now",
        ExpressionAttributeNames={"#expires": TTL_ATTRIBUTE},
        ExpressionAttributeValues={
            ":ip": {"S": ip_pk(normalise_ip(ip))},
            ":low": {"S": low},
            ":high": {"S": high},
            ":now": {"N": str(int(now.timestamp()))},
        },
    )
    for page in pages:
        for raw in page["Items"]:
            item = {name: jsonable(deserializer.deserialize(value)) for name, value in raw.items()}
            yield {name: item.get(name) for name in LOOKUP_FIELDS}


LOOKUP_SQL = (
    "SELECT rec.report_key, rep.report_id, rec.org_name, rec.policy_domain, rec.date_range_begin,"
    " rec.date_range_end, "
    + ", ".join(f"rec.{name}" for name in (*RECORD_ATTRIBUTES, *ITEM_SENDER_COLUMNS))
    + """
FROM record_details AS rec
LEFT JOIN report_details AS rep ON rep.dt = rec.dt AND rep.report_key = rec.report_key
WHERE rec.source_ip = ? AND rec.dt BETWEEN ? AND ?
ORDER BY rec.date_range_begin, rec.policy_domain, rec.report_key, rec.record_index"""
)
"""The local lookup, in Athena SQL over the views, its columns those of the DynamoDB record items."""


def lookup_local(
    root: Path,
    ip: str,
    since: date | None = None,
    until: date | None = None,
    *,
    retention_days: int | None = None,
    today: date | None = None,
) -> Iterator[dict[str, Any]]:
    """The same rows from a local store, through the query runner; the dt filter prunes partitions."""
    from dmarc_store.query import DuckDBQueryRunner

    canonical = normalise_ip(ip)
    since = kept_since(since, retention_days, today or datetime.now(UTC).date())
    if not any((root / PARQUET_PREFIX / "records").glob("*/*.parquet")):
        return
    low = since.isoformat() if since else "0000-00-00"
    high = until.isoformat() if until else "9999-99-99"
    runner = DuckDBQueryRunner(root)
    try:
        rows = runner.run_sql(LOOKUP_SQL, (canonical, low, high)).to_pylist()
    finally:
        runner.close()
    for row in rows:
        row["begin"] = iso_z(row.pop("date_range_begin"))
        row["end"] = iso_z(row.pop("date_range_end"))
        yield {name: row.get(name) for name in LOOKUP_FIELDS}
