"""The ingest Lambda on moto: the corpus end to end, duplicates, conflicts, concurrency, faults, poison.

Totals are checked three ways: DynamoDB record items, the Parquet files on S3, and expected.json.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from dmarc_store.backends.aws import AwsStore
from dmarc_store.errors import IngestIncomplete
from dmarc_store.ingest.service import IngestService
from tests import aws_support as aws_kit
from tests import hostile
from tests.helpers import ACCEPT_VERDICTS, CORPUS, expected_files, make_report

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def handler() -> Iterator[Callable[[dict[str, Any], Any], dict[str, Any]]]:
    from handlers import ingest

    ingest.service.cache_clear()
    yield ingest.handler  # type: ignore[misc]
    ingest.service.cache_clear()


def _parquet_total(table: str, column: str) -> int:
    total = 0
    for key in aws_kit.list_keys(f"parquet/{table}/"):
        total += sum(pq.read_table(io.BytesIO(aws_kit.get_object(key))).column(column).to_pylist())
    return total


def _expected_unique_total() -> tuple[int, set[str], set[str]]:
    """Sum of message totals over distinct report identities, from the independent cross-check, taking
    files in name order (the order they are ingested in): the first of an identity stands. Returns the
    total, the files that must be conflicts (other totals), and those that may be (identity seen before:
    many corpus fixtures share a report id with other content and equal totals)."""
    totals: dict[tuple[Any, ...], int] = {}
    conflicts: set[str] = set()
    repeated: set[str] = set()
    for name, entry in sorted(expected_files().items()):
        if entry["verdict"] not in ACCEPT_VERDICTS:
            continue
        for report in entry["crosscheck_lxml"]:
            identity = (
                (report["org_name_raw"] or "").strip().lower(),
                report["report_id_raw"].strip(),
                report["domain"].strip().lower(),
                report["begin_raw"],
            )
            if identity in totals:
                repeated.add(name)
            if totals.setdefault(identity, report["message_total"]) != report["message_total"]:
                conflicts.add(name)
    return sum(totals.values()), conflicts, repeated


def test_whole_corpus_through_the_handler_dynamodb_equals_parquet_equals_expected(
    handler: Callable[..., dict[str, Any]], lambda_context: object
) -> None:
    keys = []
    for path in sorted(CORPUS.iterdir()):
        if path.name in ("SOURCES.md", "expected.json"):
            continue
        key = f"uploads/corpus/{path.name}"
        aws_kit.put_object(key, path.read_bytes())
        keys.append(key)
    response = handler(aws_kit.sqs_event(*keys), lambda_context)
    assert response["batchItemFailures"] == []
    expected, conflicts, repeated = _expected_unique_total()
    assert "tpc__test_empty.xml" in conflicts  # same identity as tpc__test.xml, its one record emptied
    assert aws_kit.message_total_in_dynamodb() == expected
    assert _parquet_total("records", "message_count") == expected
    assert _parquet_total("reports", "message_total") == expected
    refused = {name for name, e in expected_files().items() if e["verdict"] not in ACCEPT_VERDICTS}
    quarantined = {
        key.split("/")[-1] for key in aws_kit.list_keys("quarantine/") if not key.endswith(".json")
    }
    assert refused <= quarantined
    conflicted = {
        key.split("/")[-1] for key in aws_kit.list_keys("quarantine/conflict/") if not key.endswith(".json")
    }
    assert conflicts <= conflicted <= repeated


def test_s3_test_event_is_skipped(handler: Callable[..., dict[str, Any]], lambda_context: object) -> None:
    assert handler(aws_kit.s3_test_event_message(), lambda_context) == {"batchItemFailures": []}
    assert list(aws_kit.scan_all()) == []


def test_url_encoded_key_with_spaces_is_decoded(
    handler: Callable[..., dict[str, Any]], lambda_context: object
) -> None:
    path = next(CORPUS.glob("pdm__Report domain- borschow.com*"))
    key = f"uploads/{path.name}"
    aws_kit.put_object(key, path.read_bytes())
    assert handler(aws_kit.sqs_event(key), lambda_context)["batchItemFailures"] == []
    assert aws_kit.message_total_in_dynamodb() == 1


def _service() -> IngestService:
    from dmarc_store.connect import aws_store, ingest_service
    from dmarc_store.settings import get_settings

    settings = get_settings()
    return ingest_service(aws_store(settings), settings)


@pytest.fixture
def mail(tmp_path: Path) -> tuple[bytes, dict[str, Any]]:
    out = tmp_path / "mail.eml"
    summary = make_report(out, 60, 3, "--eml")
    return out.read_bytes(), summary


def test_same_email_twice_is_stored_once(mail: tuple[bytes, dict[str, Any]]) -> None:
    data, summary = mail
    first = _service().ingest("incoming/a", data)
    second = _service().ingest("incoming/b", data)
    assert (first.new, second.duplicate) == (1, 1)
    assert aws_kit.message_total_in_dynamodb() == summary["message_total"]
    assert len(aws_kit.list_keys("parquet/records/")) == 1


def test_same_report_in_two_emails_and_a_forwarded_copy_is_stored_once(tmp_path: Path) -> None:
    xml_path = tmp_path / "r.xml"
    summary = make_report(xml_path, 40, 9)
    xml = xml_path.read_bytes()
    as_zip = hostile.mail_with_attachment(hostile.zip_of({"r.xml": xml}), "r.zip", "application/zip")
    as_gzip = hostile.mail_with_attachment(gzip.compress(xml), "r.xml.gz", "application/gzip")
    forwarded = hostile.forwarded(as_gzip, 2)
    results = [
        _service().ingest(f"incoming/{i}", data) for i, data in enumerate((as_zip, as_gzip, forwarded))
    ]
    assert [r.new for r in results] == [1, 0, 0]
    assert [r.duplicate for r in results] == [0, 1, 1]
    assert aws_kit.message_total_in_dynamodb() == summary["message_total"]


def test_redelivered_sqs_message_adds_nothing(
    handler: Callable[..., dict[str, Any]], lambda_context: object, mail: tuple[bytes, dict[str, Any]]
) -> None:
    data, summary = mail
    aws_kit.put_object("incoming/m1", data)
    event = aws_kit.sqs_event("incoming/m1")
    assert handler(event, lambda_context)["batchItemFailures"] == []
    assert handler(event, lambda_context)["batchItemFailures"] == []
    assert aws_kit.message_total_in_dynamodb() == summary["message_total"]


def test_same_identity_other_content_is_a_conflict_and_the_first_stands(tmp_path: Path) -> None:
    xml_path = tmp_path / "r.xml"
    summary = make_report(xml_path, 10, 4)
    first = xml_path.read_bytes()
    second = first.replace(b"<count>", b"<count>1", 1)
    assert _service().ingest("uploads/first.xml", first).new == 1
    result = _service().ingest("uploads/second.xml", second)
    assert result.conflict == 1
    assert aws_kit.message_total_in_dynamodb() == summary["message_total"]
    sidecar = json.loads(aws_kit.get_object("quarantine/conflict/uploads/second.xml%note.json"))
    assert sidecar["reason"] == "conflict"
    assert "uploads/first.xml" in sidecar["detail"]
    assert sidecar["source"] == "uploads/second.xml"


def test_poison_input_is_quarantined_and_the_batch_acknowledged(
    handler: Callable[..., dict[str, Any]], lambda_context: object, mail: tuple[bytes, dict[str, Any]]
) -> None:
    aws_kit.put_object(
        "incoming/poison", hostile.gzip_bomb(64 << 20, filler=b" " * (1 << 20), prefix=hostile.XML_START)
    )
    aws_kit.put_object("incoming/good", mail[0])
    response = handler(aws_kit.sqs_event("incoming/poison", "incoming/good"), lambda_context)
    assert response["batchItemFailures"] == []
    sidecar = json.loads(aws_kit.get_object("quarantine/archive-bomb/incoming/poison%note.json"))
    assert sidecar["reason"] == "archive-bomb"
    assert sidecar["source"] == "incoming/poison"
    assert aws_kit.get_object("quarantine/archive-bomb/incoming/poison") == aws_kit.get_object(
        "incoming/poison"
    )
    assert aws_kit.list_keys("incoming/") == ["incoming/good", "incoming/poison"]  # never deleted


def test_missing_object_fails_only_its_message(
    handler: Callable[..., dict[str, Any]], lambda_context: object, mail: tuple[bytes, dict[str, Any]]
) -> None:
    aws_kit.put_object("incoming/good", mail[0])
    response = handler(
        aws_kit.sqs_event("incoming/gone", "incoming/good", message_ids=["m-gone", "m-good"]), lambda_context
    )
    assert response["batchItemFailures"] == [{"itemIdentifier": "m-gone"}]
    assert aws_kit.message_total_in_dynamodb() == mail[1]["message_total"]


def test_concurrent_workers_on_overlapping_sets_store_each_report_once(tmp_path: Path) -> None:
    inputs = []
    expected = 0
    for seed in range(6):
        out = tmp_path / f"r{seed}.eml"
        expected += make_report(out, 30, seed, "--eml")["message_total"]
        inputs.append(out.read_bytes())
    work = [(f"incoming/w{w}-{i}", data) for w in range(3) for i, data in enumerate(inputs)]

    def ingest(job: tuple[str, bytes]) -> tuple[int, int]:
        for _ in range(50):  # a ReportBusy is a transient error: SQS would redeliver; here we retry
            try:
                result = _service().ingest(*job)
            except IngestIncomplete:  # another worker holds a report: retry
                continue
            return result.new, result.duplicate
        raise AssertionError("never completed")

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(ingest, work))
    assert sum(new for new, _ in outcomes) == len(inputs)
    assert aws_kit.message_total_in_dynamodb() == expected
    assert _parquet_total("records", "message_count") == expected


# --- faults at each step of the protocol ------------------------------------------------------------


class FlakyClient:
    """A boto3 client that fails the `nth` call of one method with a throttling error, once."""

    def __init__(self, client: Any, method: str, nth: int) -> None:
        self._client = client
        self._method = method
        self._nth = nth
        self._calls = 0
        self.failed = False

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name != self._method:
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self._calls += 1
            if self._calls == self._nth and not self.failed:
                self.failed = True
                raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected"}}, name)
            return attribute(*args, **kwargs)

        return call


FAULTS = {
    "before-claim": ("dynamodb", "put_item", 1),
    "after-claim-records-parquet": ("s3", "put_object", 1),
    "after-claim-reports-parquet": ("s3", "put_object", 2),
    "mid-records": ("dynamodb", "batch_write_item", 2),
    "before-complete": ("dynamodb", "update_item", 1),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_at_each_step_fails_the_message_and_the_retry_completes_exactly_once(
    fault: str, mail: tuple[bytes, dict[str, Any]]
) -> None:
    service_name, method, nth = FAULTS[fault]
    clients = {
        "s3": boto3.client("s3", region_name=aws_kit.REGION),
        "dynamodb": boto3.client("dynamodb", region_name=aws_kit.REGION),
    }
    flaky = FlakyClient(clients[service_name], method, nth)
    clients[service_name] = flaky  # type: ignore[assignment]
    store = AwsStore(
        s3=clients["s3"], dynamodb=clients["dynamodb"], bucket=aws_kit.BUCKET, table=aws_kit.TABLE
    )
    data, summary = mail
    with pytest.raises(IngestIncomplete, match="ThrottlingException") as failed:
        IngestService(store).ingest("incoming/flaky", data)
    assert failed.value.retryable
    assert flaky.failed
    retry = IngestService(store).ingest("incoming/flaky", data)
    assert retry.new == 1
    assert aws_kit.message_total_in_dynamodb() == summary["message_total"]
    assert len(aws_kit.record_items()) == summary["record_count"]
    assert _parquet_total("records", "message_count") == summary["message_total"]
    assert store.report_status(retry.reports[0].report_key) == "COMPLETE"


def test_unprocessed_batch_items_are_retried_with_backoff(mail: tuple[bytes, dict[str, Any]]) -> None:
    dynamodb = boto3.client("dynamodb", region_name=aws_kit.REGION)

    class Unprocessing:
        def __init__(self) -> None:
            self.calls = 0

        def __getattr__(self, name: str) -> Any:
            return getattr(dynamodb, name)

        def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            self.calls += 1
            ((table, requests),) = RequestItems.items()
            if self.calls % 2:  # every other call leaves its last item unprocessed
                dynamodb.batch_write_item(RequestItems={table: requests[:-1]})
                return {"UnprocessedItems": {table: requests[-1:]}}
            return dynamodb.batch_write_item(RequestItems=RequestItems)

    sleeps: list[float] = []
    store = AwsStore(
        s3=boto3.client("s3", region_name=aws_kit.REGION),
        dynamodb=Unprocessing(),  # type: ignore[arg-type]
        bucket=aws_kit.BUCKET,
        table=aws_kit.TABLE,
        sleep=sleeps.append,
    )
    IngestService(store).ingest("incoming/x", mail[0])
    assert sleeps, "an unprocessed item must wait before it is sent again"
    assert len(aws_kit.record_items()) == mail[1]["record_count"]
