"""The AWS store: DynamoDB items and Parquet on S3, with clients passed in (never created here).

Parquet is written with plain pyarrow rather than awswrangler: the files are small and named by us
(one per report, deterministic, so a retry overwrites), the tables are defined once by the
deployment with partition projection (so no per-write Glue call is wanted), and skipping pandas
keeps the ingest Lambda's cold start short. pyarrow itself comes from the AWS SDK for pandas layer.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeSerializer

from dmarc_model.content import CONTENT_HASH_VERSION
from dmarc_store.aws_clients import translating
from dmarc_store.backends.base import (
    CLAIM_LEASE_SECONDS,
    Claim,
    ClaimOutcome,
    ClaimState,
    PreparedReport,
    Store,
)
from dmarc_store.backends.dynamo_items import (
    TTL_ATTRIBUTE,
    completion_attributes,
    meta_item,
    record_items,
    record_sk,
    report_pk,
)
from dmarc_store.errors import ClaimLost, ConditionFailed, TransientStoreError
from dmarc_store.layout import quarantine_key, quarantine_note_key
from dmarc_store.retention import expires_at

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

BATCH_SIZE = 25
MAX_BATCH_ATTEMPTS = 8
_serializer = TypeSerializer()


def to_attribute_values(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in item.items()}


class AwsStore(Store):
    def __init__(
        self,
        *,
        s3: S3Client,
        dynamodb: DynamoDBClient,
        bucket: str,
        table: str,
        retention_days: int = 0,
        lease_seconds: int = CLAIM_LEASE_SECONDS,
        sleep: Any = time.sleep,
    ) -> None:
        self.s3: S3Client = translating(s3, "s3")
        self.dynamodb: DynamoDBClient = translating(dynamodb, "dynamodb")
        self.bucket = bucket
        self.table = table
        self.retention_days = retention_days
        self.lease_seconds = lease_seconds
        self._sleep = sleep

    # --- claim, write, complete ------------------------------------------------------------------------

    def _now(self) -> float:
        return float(int(time.time()))

    def _insert_pending(self, report: PreparedReport, now: float, token: str) -> ClaimState | None:
        item = meta_item(report, status="PENDING", claimed_at=int(now), claim_token=token)
        if (expiry := self._expires_at(report)) is not None:
            item[TTL_ATTRIBUTE] = expiry  # a claim that never completes goes with the data
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item=to_attribute_values(item),
                ConditionExpression="attribute_not_exists(PK)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return None
        except ConditionFailed as failed:
            existing: dict[str, Any] = failed.item or self._meta(report.report_key)
        return ClaimState(
            status=existing["status"]["S"],
            content_sha256=existing["content_sha256"]["S"],
            source_key=existing["source_key"]["S"],
            claimed_at=float(existing["claimed_at"]["N"]),
            hash_version=int(existing.get("hash_version", {}).get("N", 1)),
        )

    def _take_over(self, report: PreparedReport, seen_claimed_at: float, now: float, token: str) -> bool:
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=self._meta_key(report.report_key),
                UpdateExpression=(
                    "SET source_key = :source, claimed_at = :now, claim_token = :token,"
                    " content_sha256 = :sha, hash_version = :version"
                ),
                ConditionExpression="#status = :pending AND claimed_at = :seen",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":source": {"S": report.source_key},
                    ":now": {"N": str(int(now))},
                    ":token": {"S": token},
                    ":sha": {"S": report.content_sha256},
                    ":version": {"N": str(CONTENT_HASH_VERSION)},
                    ":pending": {"S": "PENDING"},
                    ":seen": {"N": str(int(seen_claimed_at))},
                },
            )
        except ConditionFailed:
            return False
        return True

    @staticmethod
    def _meta_key(report_key: str) -> dict[str, Any]:
        return {"PK": {"S": report_pk(report_key)}, "SK": {"S": "META"}}

    def _meta(self, report_key: str) -> dict[str, Any]:
        response = self.dynamodb.get_item(
            TableName=self.table, Key=self._meta_key(report_key), ConsistentRead=True
        )
        return dict(response["Item"])

    def _put_object(self, key: str, data: bytes) -> None:
        self._put(key, data)

    def _write_items(self, report: PreparedReport, claim: Claim) -> None:
        self._batch_write(record_items(report, self._expires_at(report)))
        if claim.outcome is ClaimOutcome.RESUME:  # an abandoned attempt may have had more records
            self._delete_items_after(report.report_key, len(report.records))

    def _delete_items_after(self, report_key: str, count: int) -> None:
        """Record items an abandoned attempt with other content wrote beyond this report's records."""
        pages = self.dynamodb.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :first AND :last",
            ExpressionAttributeValues={
                ":pk": {"S": report_pk(report_key)},
                ":first": {"S": record_sk(count)},
                ":last": {"S": "REC#~"},
            },
            ProjectionExpression="PK, SK",
        )
        stale = [{"DeleteRequest": {"Key": item}} for page in pages for item in page["Items"]]
        for start in range(0, len(stale), BATCH_SIZE):
            self._write_batch(stale[start : start + BATCH_SIZE])

    def complete(self, report: PreparedReport, claim: Claim) -> None:
        attributes = completion_attributes(report, self._expires_at(report))
        attributes["status"] = "COMPLETE"
        names = {f"#a{i}": name for i, name in enumerate(attributes)}
        values = {f":v{i}": _serializer.serialize(value) for i, value in enumerate(attributes.values())}
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=self._meta_key(report.report_key),
                UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(attributes))),
                ConditionExpression="claim_token = :token",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={**values, ":token": {"S": claim.token}},
            )
        except ConditionFailed:
            raise ClaimLost(f"report {report.report_key} was taken over by another worker") from None

    def release(self, report: PreparedReport, claim: Claim) -> None:
        with contextlib.suppress(ConditionFailed):  # completed, or no longer ours: nothing to release
            self.dynamodb.update_item(
                TableName=self.table,
                Key=self._meta_key(report.report_key),
                UpdateExpression="SET claimed_at = :zero",
                ConditionExpression="#status = :pending AND claim_token = :token",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":zero": {"N": "0"},
                    ":pending": {"S": "PENDING"},
                    ":token": {"S": claim.token},
                },
            )

    def _expires_at(self, report: PreparedReport) -> int | None:
        """The TTL of every item of the report: the day its data is pruned (dmarc_store.retention)."""
        return expires_at(self.retention_days, report.dt)

    def _batch_write(self, items: Iterable[dict[str, Any]]) -> None:
        batch: list[dict[str, Any]] = []
        for item in items:
            batch.append({"PutRequest": {"Item": to_attribute_values(item)}})
            if len(batch) == BATCH_SIZE:
                self._write_batch(batch)
                batch = []
        if batch:
            self._write_batch(batch)

    def _write_batch(self, requests: list[dict[str, Any]]) -> None:
        for attempt in range(MAX_BATCH_ATTEMPTS):
            response = self.dynamodb.batch_write_item(RequestItems={self.table: requests})  # type: ignore[dict-item]
            requests = list(response.get("UnprocessedItems", {}).get(self.table, []))  # type: ignore[arg-type]
            if not requests:
                return
            self._sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random() / 2))  # noqa: S311 - jitter
        raise TransientStoreError(
            f"DynamoDB left {len(requests)} items unprocessed after {MAX_BATCH_ATTEMPTS} tries"
        )

    # --- objects -----------------------------------------------------------------------------------

    def _put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def quarantine(self, *, reason: str, source_key: str, data: bytes, sidecar: dict[str, Any]) -> str:
        key = quarantine_key(reason, source_key)
        self._put(key, data)
        note = json.dumps(sidecar, indent=2, default=str).encode()
        self._put(quarantine_note_key(key), note, "application/json")
        return key

    def read_source(self, key: str, version_id: str | None = None) -> bytes:
        """The version the S3 event named (a later upload to the same key is another event)."""
        if version_id:
            return self.s3.get_object(Bucket=self.bucket, Key=key, VersionId=version_id)["Body"].read()
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def report_status(self, report_key: str) -> str | None:
        response = self.dynamodb.get_item(
            TableName=self.table,
            Key={"PK": {"S": report_pk(report_key)}, "SK": {"S": "META"}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return None if item is None else str(item["status"]["S"])
