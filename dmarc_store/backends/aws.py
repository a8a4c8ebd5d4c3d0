"""The AWS store: DynamoDB items and Parquet on S3, with clients passed in (never created here).

Parquet is written with plain pyarrow rather than awswrangler: the files are small and named by us
(one per report, deterministic, so a retry overwrites), the tables are defined once by the
deployment with partition projection (so no per-write Glue call is wanted), and skipping pandas
keeps the ingest Lambda's cold start short. pyarrow itself comes from the AWS SDK for pandas layer.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeSerializer

from dmarc_model.senders.rows import sender_items
from dmarc_model.tlsrpt import TlsRows
from dmarc_store.aws_clients import translating
from dmarc_store.backends.base import (
    CLAIM_LEASE_SECONDS,
    Claim,
    ClaimOutcome,
    ClaimState,
    Deadline,
    PreparedReport,
    StorableReport,
    Store,
)
from dmarc_store.backends.dynamo_items import (
    TTL_ATTRIBUTE,
    completion_attributes,
    meta_item,
    record_items,
    record_pks,
    record_sk,
    report_pk,
    tls_completion_attributes,
)
from dmarc_store.backends.objects import _error_code
from dmarc_store.errors import (
    ClaimLost,
    ConditionFailed,
    PermanentStoreError,
    TransientStoreError,
    WriteDeferred,
)
from dmarc_store.layout import INCOMING_PREFIX, UPLOADS_PREFIX, quarantine_key, quarantine_note_key
from dmarc_store.retention import expires_at

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

BATCH_SIZE = 25
"""Items per BatchWriteItem, DynamoDB's most."""
WRITE_THREADS = 8
"""BatchWriteItem calls in flight at once: one call takes ~10-30 ms, so one at a time would cap a
report at ~1,000-2,500 items a second, under the 4,000 write units a new on-demand table takes."""
MAX_BATCH_ATTEMPTS = 8
ITEMS_WRITTEN = "items_written"
"""META's count of record items written by an attempt that ran short of time (`WriteDeferred`)."""
_serializer = TypeSerializer()


def _batches(items: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """The items in lists of BATCH_SIZE (itertools.batched, which Python 3.11 lacks)."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, BATCH_SIZE)):
        yield batch


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

    def _insert_pending(self, report: StorableReport, now: float, token: str) -> ClaimState | None:
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
            items_written=int(existing.get(ITEMS_WRITTEN, {}).get("N", 0)),
        )

    def _take_over(
        self, report: StorableReport, seen_claimed_at: float, now: float, token: str, items_written: int
    ) -> bool:
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=self._meta_key(report.report_key),
                UpdateExpression=(
                    "SET source_key = :source, claimed_at = :now, claim_token = :token,"
                    f" content_sha256 = :sha, hash_version = :version, {ITEMS_WRITTEN} = :written"
                ),
                ConditionExpression="#status = :pending AND claimed_at = :seen",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":source": {"S": report.source_key},
                    ":now": {"N": str(int(now))},
                    ":token": {"S": token},
                    ":sha": {"S": report.content_sha256},
                    ":version": {"N": str(report.hash_version)},
                    ":written": {"N": str(items_written)},
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

    def _put_object(self, key: str, data: bytes | Path) -> None:
        if isinstance(data, Path):
            with data.open("rb") as body:  # streamed from the file: one PUT, up to S3's 5 GB
                self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        else:
            self._put(key, data)

    def _write_items(
        self, report: PreparedReport, claim: Claim, deadline: Deadline | None, senders: bytes
    ) -> None:
        """The record items, from where an earlier attempt of the same content stopped; with a deadline,
        stopping between batches when it is near, the count written recorded on the claim."""
        total = report.record_rows.num_rows
        items = record_items(report, self._expires_at(report), sender_items(senders))
        items = itertools.islice(items, claim.resume_from, None)
        written = claim.resume_from + self._batch_write(items, deadline)
        if written < total:
            self._record_progress(report, claim, written)
            raise WriteDeferred(report.report_key, written, total)
        if claim.outcome is ClaimOutcome.RESUME:  # an abandoned attempt may have had more records
            self._delete_stale_items(report.report_key, total)

    def _record_progress(self, report: PreparedReport, claim: Claim, written: int) -> None:
        with contextlib.suppress(ConditionFailed):  # no longer ours: the new owner starts afresh
            self.dynamodb.update_item(
                TableName=self.table,
                Key=self._meta_key(report.report_key),
                UpdateExpression=f"SET {ITEMS_WRITTEN} = :written",
                ConditionExpression="claim_token = :token",
                ExpressionAttributeValues={":written": {"N": str(written)}, ":token": {"S": claim.token}},
            )

    def _delete_stale_items(self, report_key: str, count: int) -> None:
        """Record items an abandoned attempt with other content wrote beyond this report's records, and
        any under the report's own key (where records were kept before they were sharded)."""
        stale = self._item_keys(report_pk(report_key), "begins_with(SK, :first)", {":first": {"S": "REC#"}})
        for pk in record_pks(report_key):
            beyond = {":first": {"S": record_sk(count)}, ":last": {"S": "REC#~"}}
            stale.extend(self._item_keys(pk, "SK BETWEEN :first AND :last", beyond))
        for batch in _batches(stale):
            self._write_batch([{"DeleteRequest": {"Key": key}} for key in batch])

    def _item_keys(self, pk: str, sk_condition: str, values: dict[str, Any]) -> list[dict[str, Any]]:
        pages = self.dynamodb.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression=f"PK = :pk AND {sk_condition}",
            ExpressionAttributeValues={":pk": {"S": pk}, **values},
            ProjectionExpression="PK, SK",
        )
        return [item for page in pages for item in page["Items"]]

    def complete(self, report: StorableReport, claim: Claim) -> None:
        expiry = self._expires_at(report)
        if isinstance(report, TlsRows):
            attributes = tls_completion_attributes(report, expiry)
        else:
            attributes = completion_attributes(report, expiry)
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

    def release(self, report: StorableReport, claim: Claim) -> None:
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

    def _expires_at(self, report: StorableReport) -> int | None:
        """The TTL of every item of the report: the day its data is pruned (dmarc_store.retention)."""
        return expires_at(self.retention_days, report.dt)

    def _batch_write(self, items: Iterable[dict[str, Any]], deadline: Deadline | None = None) -> int:
        """Put the items, WRITE_THREADS batches at a time; stop early if the deadline is near. Returns how
        many were written: all of them, or every item before the first not yet sent."""
        written = 0
        with ThreadPoolExecutor(WRITE_THREADS, thread_name_prefix="dynamodb-write") as pool:
            in_flight: deque[Future[None]] = deque()
            try:
                for batch in _batches(items):
                    if deadline is not None and deadline.near():
                        break
                    requests = [{"PutRequest": {"Item": to_attribute_values(item)}} for item in batch]
                    in_flight.append(pool.submit(self._write_batch, requests))
                    written += len(requests)
                    if len(in_flight) >= 2 * WRITE_THREADS:  # bounded: memory holds a few batches
                        in_flight.popleft().result()
                while in_flight:
                    in_flight.popleft().result()
            finally:
                for future in in_flight:
                    future.cancel()
        return written

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

    def _put_if_absent(self, key: str, data: bytes) -> bool:
        """A conditional PUT (`If-None-Match: *`): S3 refuses it with 412 when the key exists, and with
        409 while another conditional write of it is under way (retried: transient). No read, so it
        needs only s3:PutObject (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html)."""
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, IfNoneMatch="*")
        except PermanentStoreError as error:
            code = _error_code(error.__cause__)
            if code == "PreconditionFailed":
                return False
            if code == "ConditionalRequestConflict":
                raise TransientStoreError(f"another write of {key} is under way") from error
            raise
        return True

    def keep_failure_raw(self, source_key: str, data: bytes, origin: tuple[str, str | None] | None) -> str:
        """The copy under `ruf-raw/`, then the object it came from deleted from `incoming/` or `uploads/`:
        the version the event named, for good (no noncurrent version is left to the bucket's 30 days);
        without a version (an unversioned bucket), the key."""
        key = super().keep_failure_raw(source_key, data, None)
        if origin is not None and origin[0].startswith((INCOMING_PREFIX, UPLOADS_PREFIX)):
            source, version = origin
            if version:
                self.s3.delete_object(Bucket=self.bucket, Key=source, VersionId=version)
            else:
                self.s3.delete_object(Bucket=self.bucket, Key=source)
        return key

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
