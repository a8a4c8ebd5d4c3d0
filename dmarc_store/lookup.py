"""Everything one source IP did between two dates: from the DynamoDB index, or the local Parquet."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmarc_model.models import canonical_ip
from dmarc_store.backends.dynamo_items import BY_SOURCE_IP, RECORD_ATTRIBUTES, ip_pk
from dmarc_store.jsonable import jsonable
from dmarc_store.layout import PARQUET_PREFIX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LOOKUP_FIELDS = ("report_key", "org_name", "report_id", "policy_domain", "begin", "end", *RECORD_ATTRIBUTES)
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


def lookup_local(
    root: Path, ip: str, since: date | None = None, until: date | None = None
) -> Iterator[dict[str, Any]]:
    """Read the local `records` Parquet through DuckDB; the dt filter prunes partitions."""
    import duckdb

    canonical = normalise_ip(ip)
    if not any((root / PARQUET_PREFIX / "reports").glob("*/*.parquet")):
        return
    records = _quoted(root / PARQUET_PREFIX / "records" / "*" / "*.parquet")
    reports = _quoted(root / PARQUET_PREFIX / "reports" / "*" / "*.parquet")
    hive = "hive_partitioning = true, hive_types = {'dt': VARCHAR}"
    sql = f"""
        WITH matched AS (
            SELECT source_ip, ip_version, report_key, org_name, policy_domain, date_range_begin,
                   date_range_end, message_count, disposition, policy_dkim, policy_spf, reasons, header_from,
                   envelope_from, envelope_to, dkim_results, spf_results, record_index
            FROM read_parquet('{records}', {hive})
            WHERE source_ip = $ip AND dt BETWEEN $low AND $high
            QUALIFY row_number() OVER (PARTITION BY report_key, record_index) = 1
        ),
        report_ids AS (
            SELECT DISTINCT report_key, report_id FROM read_parquet('{reports}', {hive})
            WHERE dt BETWEEN $low AND $high
        )
        SELECT matched.*, report_ids.report_id
        FROM matched LEFT JOIN report_ids USING (report_key)
        ORDER BY date_range_begin, policy_domain, report_key, record_index
    """  # noqa: S608 - the only interpolation is our own store paths, quoted
    parameters = {
        "ip": canonical,
        "low": since.isoformat() if since else "0000-00-00",
        "high": until.isoformat() if until else "9999-99-99",
    }
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        rows = connection.execute(sql, parameters).fetchall()
        names = [column[0] for column in connection.description or []]
    for values in rows:
        row = dict(zip(names, values, strict=True))
        yield {
            **{name: row.get(name) for name in LOOKUP_FIELDS},
            "begin": _iso(row["date_range_begin"]),
            "end": _iso(row["date_range_end"]),
        }


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _iso(moment: Any) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")
