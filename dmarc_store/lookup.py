"""Everything one source IP did between two dates: from the DynamoDB index, or the local Parquet."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmarc_model.models import canonical_ip
from dmarc_model.timestamps import iso_z
from dmarc_store.backends.dynamo_items import (
    BY_SOURCE_IP,
    RECORD_ATTRIBUTES,
    REPORT_CONTEXT_ATTRIBUTES,
    ip_pk,
)
from dmarc_store.jsonable import jsonable
from dmarc_store.layout import PARQUET_PREFIX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LOOKUP_FIELDS = (*REPORT_CONTEXT_ATTRIBUTES, *RECORD_ATTRIBUTES)
"""The keys of every lookup row, from either store (a public contract of `dmarc lookup`)."""


def normalise_ip(ip: str) -> str:
    """The canonical form used as the lookup key; ValueError with a clear message for a bad IP."""
    try:
        return canonical_ip(ip)
    except ValueError:
        raise ValueError(f"not an IP address: {ip!r}") from None


def lookup_dynamodb(
    dynamodb: DynamoDBClient, table: str, ip: str, since: date | None = None, until: date | None = None
) -> Iterator[dict[str, Any]]:
    """Query the by-source-ip index: one key condition, no scan."""
    from boto3.dynamodb.types import TypeDeserializer

    from dmarc_store.aws_clients import translating

    dynamodb = translating(dynamodb, "dynamodb")
    deserializer = TypeDeserializer()
    low = f"{since.isoformat()}T00:00:00Z" if since else "0"
    high = f"{until.isoformat()}T23:59:59Z~" if until else "9"
    paginator = dynamodb.get_paginator("query")
    pages = paginator.paginate(
        TableName=table,
        IndexName=BY_SOURCE_IP,
        KeyConditionExpression="GSI1PK = :ip AND GSI1SK BETWEEN :low AND :high",
        ExpressionAttributeValues={
            ":ip": {"S": ip_pk(normalise_ip(ip))},
            ":low": {"S": low},
            ":high": {"S": high},
        },
    )
    for page in pages:
        for raw in page["Items"]:
            item = {name: jsonable(deserializer.deserialize(value)) for name, value in raw.items()}
            yield {name: item.get(name) for name in LOOKUP_FIELDS}


LOOKUP_SQL = (
    "SELECT rec.report_key, rep.report_id, rec.org_name, rec.policy_domain, rec.date_range_begin,"
    " rec.date_range_end, "
    + ", ".join(f"rec.{name}" for name in RECORD_ATTRIBUTES)
    + """
FROM record_details AS rec
LEFT JOIN report_details AS rep ON rep.dt = rec.dt AND rep.report_key = rec.report_key
WHERE rec.source_ip = ? AND rec.dt BETWEEN ? AND ?
ORDER BY rec.date_range_begin, rec.policy_domain, rec.report_key, rec.record_index"""
)
"""The local lookup, in Athena SQL over the views, its columns those of the DynamoDB record items."""


def lookup_local(
    root: Path, ip: str, since: date | None = None, until: date | None = None
) -> Iterator[dict[str, Any]]:
    """The same rows from a local store, through the query runner; the dt filter prunes partitions."""
    from dmarc_store.query import DuckDBQueryRunner

    canonical = normalise_ip(ip)
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
