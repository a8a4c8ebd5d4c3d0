"""A report too big to write before the Lambda's deadline is stored across invocations, exactly once.

The store stops between DynamoDB batches when the deadline is near, records on the claim how many
record items it wrote, and releases the claim (`WriteDeferred`); the handler fails the message and
makes it visible again at once; the next invocation resumes the claim and writes only the rest. A copy
with other content that takes the claim over starts again from the first item.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from dmarc_store.backends.aws import AwsStore
from dmarc_store.backends.base import Deadline
from dmarc_store.errors import IngestIncomplete, WriteDeferred
from dmarc_store.ingest import continuation
from dmarc_store.ingest.continuation import queue_url
from dmarc_store.ingest.service import IngestService
from tests import aws_support as kit
from tests.helpers import make_report

pytestmark = pytest.mark.usefixtures("aws")

RECORDS = 200
BATCHES_IN_TIME = 3
"""The deadline comes after three batches of 25: 75 record items written by the first attempt."""


class Countdown:
    """A deadline that is near once `batches` checks have passed (the store checks before each batch)."""

    def __init__(self, batches: int) -> None:
        self.left = batches

    def __call__(self) -> float:
        self.left -= 1
        return 300.0 if self.left >= 0 else 1.0


class CountingDynamoDB:
    """The real (moto) client, counting the record items each BatchWriteItem puts."""

    def __init__(self) -> None:
        self._client = boto3.client("dynamodb", region_name=kit.REGION)
        self.puts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, RequestItems: dict[str, Any]) -> Any:
        ((requests),) = RequestItems.values()
        self.puts += sum(1 for request in requests if "PutRequest" in request)
        return self._client.batch_write_item(RequestItems=RequestItems)


def store(dynamodb: Any = None) -> AwsStore:
    return AwsStore(
        s3=boto3.client("s3", region_name=kit.REGION),
        dynamodb=dynamodb or boto3.client("dynamodb", region_name=kit.REGION),
        bucket=kit.BUCKET,
        table=kit.TABLE,
    )


def meta() -> dict[str, Any]:
    (item,) = (item for item in kit.scan_all() if item["SK"] == "META")
    return item


@pytest.fixture
def big(tmp_path: Path) -> tuple[bytes, dict[str, Any]]:
    path = tmp_path / "big.xml"
    summary = make_report(path, RECORDS, 21)
    return path.read_bytes(), summary


def test_a_deferred_report_records_its_progress_and_releases_its_claim(big: tuple[bytes, Any]) -> None:
    xml, _ = big
    deadline = Deadline(Countdown(BATCHES_IN_TIME))
    with pytest.raises(IngestIncomplete) as incomplete:
        IngestService(store()).ingest("uploads/big.xml", xml, deadline=deadline)
    (failure,) = incomplete.value.result.failed
    assert isinstance(failure.error, WriteDeferred)
    assert failure.kind == "deferred"
    assert incomplete.value.continues
    assert incomplete.value.result.deferred == 1
    entry = meta()
    assert (entry["status"], entry["items_written"], entry["claimed_at"]) == ("PENDING", 75, 0)
    assert len(kit.record_items()) == 75


def test_the_next_attempt_writes_only_the_rest_and_completes(big: tuple[bytes, Any]) -> None:
    xml, summary = big
    with pytest.raises(IngestIncomplete):
        IngestService(store()).ingest("uploads/big.xml", xml, deadline=Deadline(Countdown(BATCHES_IN_TIME)))
    counting = CountingDynamoDB()
    result = IngestService(store(counting)).ingest("uploads/big.xml", xml, deadline=Deadline(lambda: 300.0))
    assert [report.outcome for report in result.reports] == ["new"]
    assert counting.puts == RECORDS - 75
    assert meta()["status"] == "COMPLETE"
    assert len(kit.record_items()) == RECORDS
    assert kit.message_total_in_dynamodb() == summary["message_total"]


def test_every_attempt_makes_progress_until_the_report_is_complete(big: tuple[bytes, Any]) -> None:
    xml, summary = big
    outcomes: list[bool | str] = []
    for _ in range(10):
        try:
            result = IngestService(store()).ingest("uploads/big.xml", xml, deadline=Deadline(Countdown(2)))
        except IngestIncomplete as incomplete:
            outcomes.append(incomplete.continues)
            continue
        outcomes.append("stored")
        break
    assert outcomes == [True, True, True, "stored"]  # 50 items each: 50, 100, 150, then the last 50
    assert result.new == 1
    assert kit.message_total_in_dynamodb() == summary["message_total"]


def test_other_content_taking_the_claim_over_starts_from_the_first_item(
    big: tuple[bytes, Any], tmp_path: Path
) -> None:
    xml, _ = big
    with pytest.raises(IngestIncomplete):
        IngestService(store()).ingest("uploads/big.xml", xml, deadline=Deadline(Countdown(BATCHES_IN_TIME)))
    starts = [index for index in range(len(xml)) if xml.startswith(b"<record>", index)]
    fewer = xml[: starts[50]] + b"</feedback>\n"  # the same report id with 50 records: other content
    assert fewer.count(b"<record>") == 50
    counting = CountingDynamoDB()
    result = IngestService(store(counting)).ingest("uploads/other.xml", fewer)
    assert result.new == 1
    assert counting.puts == 50
    assert len(kit.record_items()) == 50  # the first attempt's items beyond 50 are gone
    assert meta()["items_written"] == 0


def test_the_handler_makes_a_deferred_message_visible_again_at_once(
    big: tuple[bytes, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from handlers import ingest

    xml, summary = big
    kit.put_object("uploads/big.xml", xml)
    sqs = boto3.client("sqs", region_name=kit.REGION)
    url = sqs.create_queue(QueueName="dmarc-ingest", Attributes={"VisibilityTimeout": "1800"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert queue_url(arn) == url
    event = kit.sqs_event("uploads/big.xml")
    sqs.send_message(QueueUrl=url, MessageBody=event["Records"][0]["body"])
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    event["Records"][0] |= {"receiptHandle": message["ReceiptHandle"], "eventSourceARN": arn}
    ingest.service.cache_clear()
    continuation._sqs.cache_clear()  # a client of this test's moto
    monkeypatch.setattr(ingest, "lambda_deadline", lambda context: Deadline(Countdown(BATCHES_IN_TIME)))

    with pytest.raises(BatchProcessingError):  # the batch's only message failed: the invocation fails
        ingest.handler(event, Context())
    assert sqs.receive_message(QueueUrl=url)["Messages"], "visible again, not after 1,800 s"
    metrics = emitted_metrics(capsys.readouterr().out)
    assert (metrics["Deferred"], metrics["Failed"], metrics["ReportsStored"]) == (1, 0, 0)

    monkeypatch.setattr(ingest, "lambda_deadline", lambda context: Deadline(lambda: 300.0))
    assert ingest.handler(event, Context())["batchItemFailures"] == []
    assert emitted_metrics(capsys.readouterr().out)["ReportsStored"] == 1
    assert kit.message_total_in_dynamodb() == summary["message_total"]


class Context:
    function_name = "dmarc-ingest"
    memory_limit_in_mb = 1769
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:dmarc-ingest"
    aws_request_id = "52fdfc07-2182-154f-163f-5f0f9a621d72"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


def emitted_metrics(output: str) -> dict[str, float]:
    """The metrics of the one EMF document an invocation prints."""
    for line in output.splitlines():
        if line.startswith("{") and "_aws" in (document := json.loads(line)):
            names = [m["Name"] for d in document["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
            return {name: sum(as_numbers(document[name])) for name in names}
    raise AssertionError("no metrics printed")


def as_numbers(value: Any) -> list[float]:
    return [float(v) for v in value] if isinstance(value, list) else [float(value)]
