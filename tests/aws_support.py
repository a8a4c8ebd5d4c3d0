"""moto-backed AWS for tests: the bucket, the table and SQS events shaped like the real ones."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus

import boto3

from tests.helpers import EVENTS

BUCKET = "dmarc-reports-test"
TABLE = "dmarc-reports-test"
REGION = "us-east-1"


def create_table(dynamodb: Any, name: str = TABLE) -> None:
    """The table as serverless.yml defines it: PK/SK, GSIs by-source-ip and by-domain."""
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": attribute, "AttributeType": "S"}
            for attribute in ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK")
        ],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": f"{prefix}PK", "KeyType": "HASH"},
                    {"AttributeName": f"{prefix}SK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, prefix in (("by-source-ip", "GSI1"), ("by-domain", "GSI2"))
        ],
    )


def create_resources() -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    create_table(boto3.client("dynamodb", region_name=REGION))


def sqs_event(*keys: str, message_ids: list[str] | None = None) -> dict[str, Any]:
    """An SQS batch event, one message per key, each an S3 ObjectCreated notification (key URL-encoded)."""
    template = json.loads((EVENTS / "sqsS3Event.json").read_text())
    record_template = template["Records"][0]
    records = []
    for index, key in enumerate(keys):
        record = copy.deepcopy(record_template)
        body = json.loads(record["body"])
        body["Records"][0]["s3"]["object"]["key"] = quote_plus(key, safe="/")
        record["body"] = json.dumps(body)
        record["messageId"] = (message_ids or [])[index] if message_ids else f"message-{index}"
        records.append(record)
    return {"Records": records}


def s3_test_event_message() -> dict[str, Any]:
    template = json.loads((EVENTS / "sqsS3Event.json").read_text())
    record = template["Records"][0]
    record["body"] = (EVENTS / "s3TestEvent.json").read_text()
    return {"Records": [record]}


def scan_all(table: str = TABLE) -> Iterator[dict[str, Any]]:
    resource = boto3.resource("dynamodb", region_name=REGION).Table(table)
    response = resource.scan()
    yield from response["Items"]
    while "LastEvaluatedKey" in response:
        response = resource.scan(ExclusiveStartKey=response["LastEvaluatedKey"])
        yield from response["Items"]


def record_items(table: str = TABLE) -> list[dict[str, Any]]:
    return [item for item in scan_all(table) if str(item["SK"]).startswith("REC#")]


def message_total_in_dynamodb(table: str = TABLE) -> int:
    return int(sum(Decimal(item["message_count"]) for item in record_items(table)))


def put_object(key: str, data: bytes) -> None:
    boto3.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key=key, Body=data)


def list_keys(prefix: str) -> list[str]:
    client = boto3.client("s3", region_name=REGION)
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return keys


def get_object(key: str) -> bytes:
    body: bytes = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return body
