"""The ingest Lambda on moto: the corpus end to end, duplicates, conflicts, concurrency, faults, poison.

Totals are checked three ways: DynamoDB record items, the Parquet files on S3, and expected.json.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from dmarc_model.prepare import prepare_report
from dmarc_model.unpack import unpack
from dmarc_store.backends.aws import AwsStore
from dmarc_store.connect import aws_store as REAL_AWS_STORE  # the one Redelivery wraps
from dmarc_store.errors import IngestIncomplete
from dmarc_store.ingest.service import IngestService
from tests import aws_support as aws_kit
from tests import hostile
from tests.helpers import ACCEPT_VERDICTS, CORPUS, TLS_REPORT_FILES, expected_files, make_report

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
    assert _parquet_total("tls_reports", "successful_session_count") == 48  # the one TLS report
    refused = {name for name, e in expected_files().items() if e["verdict"] not in ACCEPT_VERDICTS}
    refused -= TLS_REPORT_FILES
    quarantined = {
        key.split("/")[-1] for key in aws_kit.list_keys("quarantine/") if not key.endswith(".json")
    }
    assert not quarantined & TLS_REPORT_FILES
    failure_reports = {key.split("/")[-1] for key in aws_kit.list_keys("ruf-raw/")}  # RUF: never quarantined
    assert failure_reports == {"pdm__dmarc_ruf_report_linkedin.eml"}
    assert not failure_reports & quarantined
    assert refused <= quarantined | failure_reports
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
    lock = threading.Lock()

    class Unprocessing:
        def __init__(self) -> None:
            self.calls = 0

        def __getattr__(self, name: str) -> Any:
            return getattr(dynamodb, name)

        def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            with lock:  # the store writes from several threads
                self.calls += 1
                odd = self.calls % 2 == 1
            ((table, requests),) = RequestItems.items()
            if odd and len(requests) > 1:  # every other call leaves its last item unprocessed
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


# --- a fault at every write, on every kind of input -------------------------------------------------
#
# Each input is ingested once cleanly to learn its calls (`test_the_write_fault_table_covers_every_write`
# holds the table to them), then once per entry with the faults injected: the attempts that fail say why
# and are retried until one completes, as SQS would redeliver the message.


@dataclass(frozen=True)
class Fault:
    """Fail the `nth` call of `method` (counted per client, across attempts) with a throttling error;
    `hits` is a pattern of that call's description (`describe`): the write the fault is meant for."""

    service: str
    method: str
    nth: int
    hits: str


WRITES = frozenset({"put_object", "put_item", "batch_write_item", "update_item", "delete_item", "query"})
"""The calls the table must cover: every write, and the query that finds stale items to delete."""


def describe(method: str, kwargs: dict[str, Any]) -> str:
    """One call in a few words: the key an S3 put writes, the expression of a DynamoDB write."""
    if method == "put_object":
        return f"put {kwargs['Key']}"
    if method == "batch_write_item":
        (requests,) = kwargs["RequestItems"].values()
        kinds = {next(iter(request)) for request in requests}
        return f"batch {len(requests)} {','.join(sorted(kinds))}"
    expression = (
        kwargs.get("UpdateExpression")
        or kwargs.get("ConditionExpression")
        or kwargs.get("KeyConditionExpression")
        or ""
    )
    return f"{method} {kwargs.get('Key', {}).get('SK', {}).get('S', '')} {expression}".strip()


class FaultyClient:
    """A boto3 client that logs every call and fails the ones its faults name, once each."""

    def __init__(self, client: Any, service: str, faults: list[Fault], log: list[str]) -> None:
        self._client = client
        self._service = service
        self._faults = [fault for fault in faults if fault.service == service]
        self._counts: dict[str, int] = {}
        self._log = log
        self.hit: dict[Fault, str] = {}

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name == "get_paginator":
            return self._paginator
        if name.startswith("_") or name == "meta" or not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self._before(name, kwargs)
            return attribute(*args, **kwargs)

        return call

    def _paginator(self, operation: str) -> Any:
        """A paginator whose pages count (and may fail) as one call of the operation."""
        paginator = self._client.get_paginator(operation)
        before = self._before

        class Pages:
            def paginate(self, **kwargs: Any) -> Iterator[Any]:
                before(operation, kwargs)  # botocore sends the first request on the first page
                yield from paginator.paginate(**kwargs)

        return Pages()

    def _before(self, name: str, kwargs: dict[str, Any]) -> None:
        self._counts[name] = self._counts.get(name, 0) + 1
        description = describe(name, kwargs)
        self._log.append(f"{self._service}.{name} #{self._counts[name]}: {description}")
        for fault in self._faults:
            if (fault.method, fault.nth) == (name, self._counts[name]) and fault not in self.hit:
                self.hit[fault] = description
                raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected"}}, name)


@dataclass(frozen=True)
class Scenario:
    """An object to ingest (after `before`, ingested cleanly) and what must hold once it is stored."""

    key: str
    data: bytes
    message_total: int
    record_count: int
    new: int
    """Reports the object adds (0 for a conflicting copy: the first stands)."""
    must_exist: tuple[str, ...]
    before: tuple[tuple[str, bytes], ...] = ()
    abandoned: bytes | None = None
    """Other content of the same report, claimed and written by a worker that died before COMPLETE."""


def _bad_record(xml: bytes) -> bytes:
    """The report with one more record that fails validation (an empty source_ip): kept aside."""
    bad = (
        b"<record><row><source_ip/><count>5</count><policy_evaluated><disposition>none</disposition>"
        b"<dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers>"
        b"<header_from>example.com</header_from></identifiers></record></feedback>"
    )
    return xml.replace(b"</feedback>", bad)


def scenario(name: str, tmp_path: Path) -> Scenario:
    xml_path = tmp_path / "r.xml"
    summary = make_report(xml_path, 60, 3)
    xml = xml_path.read_bytes()
    totals = {"message_total": summary["message_total"], "record_count": summary["record_count"]}
    if name == "mail":
        mail = make_report(tmp_path / "m.eml", 60, 3, "--eml")
        data = (tmp_path / "m.eml").read_bytes()
        return Scenario("incoming/m", data, mail["message_total"], mail["record_count"], new=1, must_exist=())
    if name == "record-error":
        copy = "quarantine/record-error/uploads/bad.xml"
        return Scenario(
            "uploads/bad.xml", _bad_record(xml), **totals, new=1, must_exist=("kept-aside/", copy)
        )
    if name == "refused-member":
        data = hostile.zip_of({"r.xml": xml, "readme.txt": b"hello, not a report"})
        copy = "quarantine/not-a-report/uploads/r.zip"
        return Scenario("uploads/r.zip", data, **totals, new=1, must_exist=(copy,))
    if name == "abandoned-other-content":
        first_record = xml[xml.index(b"<record>") : xml.index(b"</record>") + len(b"</record>")]
        longer = xml.replace(first_record, first_record * 11, 1)  # 70 records: 10 items beyond ours
        return Scenario("uploads/r.xml", xml, **totals, new=1, must_exist=(), abandoned=longer)
    assert name == "conflict"
    other = xml.replace(b"<count>", b"<count>1", 1)
    copy = "quarantine/conflict/uploads/second.xml"
    must_exist = ("parquet/conflicts/", copy)
    return Scenario(
        "uploads/second.xml",
        other,
        **totals,
        new=0,
        must_exist=must_exist,
        before=(("uploads/first.xml", xml),),
    )


SCENARIOS = ("mail", "record-error", "refused-member", "conflict", "abandoned-other-content")
THROTTLED = "ThrottlingException"
WRITE_FAULTS: dict[str, tuple[str, tuple[Fault, ...], tuple[str, ...]]] = {
    # name: (scenario, faults, what each failed attempt fails with, in order)
    "claim": ("mail", (Fault("dynamodb", "put_item", 1, "attribute_not_exists"),), (THROTTLED,)),
    "records-parquet": ("mail", (Fault("s3", "put_object", 1, "parquet/records/"),), (THROTTLED,)),
    "senders-parquet": ("mail", (Fault("s3", "put_object", 2, "parquet/record_senders/"),), (THROTTLED,)),
    "reports-parquet": ("mail", (Fault("s3", "put_object", 3, "parquet/reports/"),), (THROTTLED,)),
    "first-record-batch": ("mail", (Fault("dynamodb", "batch_write_item", 1, "batch 25"),), (THROTTLED,)),
    "mid-record-batch": ("mail", (Fault("dynamodb", "batch_write_item", 2, "batch 25"),), (THROTTLED,)),
    "last-record-batch": ("mail", (Fault("dynamodb", "batch_write_item", 3, "batch 10"),), (THROTTLED,)),
    "complete": ("mail", (Fault("dynamodb", "update_item", 1, "SET #a0"),), (THROTTLED,)),
    "release-after-a-failure": (
        "mail",
        (
            Fault("dynamodb", "batch_write_item", 2, "batch 25"),
            Fault("dynamodb", "update_item", 1, "SET claimed_at = :zero"),
        ),
        (THROTTLED, "ReportBusy"),  # no release: the claim holds until its lease runs out
    ),
    "take-over-on-resume": (
        "mail",
        (
            Fault("dynamodb", "batch_write_item", 2, "batch 25"),
            Fault("dynamodb", "update_item", 2, "SET source_key"),  # #1 was the release
        ),
        (THROTTLED, THROTTLED),
    ),
    "unsharded-items-query": (
        "abandoned-other-content",
        (Fault("dynamodb", "query", 1, "begins_with"),),
        (THROTTLED,),
    ),
    "stale-items-query": (
        "abandoned-other-content",
        (Fault("dynamodb", "query", 2, "SK BETWEEN"),),  # the first shard's
        (THROTTLED,),
    ),
    "stale-items-delete": (
        "abandoned-other-content",
        (Fault("dynamodb", "batch_write_item", 4, "batch 10 DeleteRequest"),),
        (THROTTLED,),
    ),
    "kept-aside-json": ("record-error", (Fault("s3", "put_object", 4, "kept-aside/"),), (THROTTLED,)),
    "record-error-copy": (
        "record-error",
        (Fault("s3", "put_object", 5, "quarantine/record-error/uploads/bad.xml$"),),
        (THROTTLED,),
    ),
    "record-error-note": (
        "record-error",
        (Fault("s3", "put_object", 6, "quarantine/record-error/uploads/bad.xml%note.json$"),),
        (THROTTLED,),
    ),
    "refused-member-copy": (
        "refused-member",
        (Fault("s3", "put_object", 4, "quarantine/not-a-report/uploads/r.zip$"),),
        (THROTTLED,),
    ),
    "refused-member-note": (
        "refused-member",
        (Fault("s3", "put_object", 5, "quarantine/not-a-report/uploads/r.zip%note.json$"),),
        (THROTTLED,),
    ),
    "conflict-claim": ("conflict", (Fault("dynamodb", "put_item", 1, "attribute_not_exists"),), (THROTTLED,)),
    "conflicts-parquet": ("conflict", (Fault("s3", "put_object", 1, "parquet/conflicts/"),), (THROTTLED,)),
    "conflict-copy": (
        "conflict",
        (Fault("s3", "put_object", 2, "quarantine/conflict/uploads/second.xml$"),),
        (THROTTLED,),
    ),
    "conflict-note": (
        "conflict",
        (Fault("s3", "put_object", 3, "quarantine/conflict/uploads/second.xml%note.json$"),),
        (THROTTLED,),
    ),
}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _faulty_store(faults: list[Fault], clock: Clock, log: list[str]) -> tuple[AwsStore, list[FaultyClient]]:
    clients = [
        FaultyClient(boto3.client(service, region_name=aws_kit.REGION), service, faults, log)
        for service in ("s3", "dynamodb")
    ]
    s3, dynamodb = clients
    store = AwsStore(
        s3=s3,  # type: ignore[arg-type]
        dynamodb=dynamodb,  # type: ignore[arg-type]
        bucket=aws_kit.BUCKET,
        table=aws_kit.TABLE,
    )
    store._now = clock  # type: ignore[method-assign]
    return store, clients


def _set_up(case: Scenario, clock: Clock) -> None:
    """What the scenario finds stored: its `before` inputs, and an attempt abandoned past its lease."""
    store = _faulty_store([], clock, [])[0]
    for key, data in case.before:
        IngestService(store).ingest(key, data)
    if case.abandoned is not None:
        payload = next(iter(unpack(case.abandoned, name="abandoned.xml")))
        report = prepare_report(payload, "abandoned.xml", datetime(2025, 1, 3, tzinfo=UTC))  # type: ignore[arg-type]
        store.write(report, store.claim(report))  # ... and the worker died: never COMPLETE
        clock.now += store.lease_seconds + 1


def _clean_calls(case: Scenario) -> list[str]:
    """The calls one clean ingest of the scenario makes, after its set-up."""
    clock, log = Clock(), []
    _set_up(case, clock)
    IngestService(_faulty_store([], clock, log)[0]).ingest(case.key, case.data)
    return log


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_write_fault_table_covers_every_write(name: str, tmp_path: Path) -> None:
    """Every write a clean ingest of the scenario makes is the target of some fault in WRITE_FAULTS."""
    calls = _clean_calls(scenario(name, tmp_path))
    print("\n".join(calls))  # the sequence the table's `nth` count in (pytest -s shows it)
    faults = [fault for _, faults, _ in WRITE_FAULTS.values() for fault in faults]
    missing = []
    for call in calls:
        operation, description = call.split(": ", 1)
        service, method = operation.split(" #")[0].split(".")
        if method in WRITES and not any(
            (fault.service, fault.method) == (service, method) and re.search(fault.hits, description)
            for fault in faults
        ):
            missing.append(call)
    assert not missing, f"writes of {name} with no entry in WRITE_FAULTS: {missing}"


def _stored_once(case: Scenario, store: AwsStore) -> None:
    assert aws_kit.message_total_in_dynamodb() == case.message_total
    assert len(aws_kit.record_items()) == case.record_count
    assert _parquet_total("records", "message_count") == case.message_total
    assert _parquet_total("reports", "message_total") == case.message_total
    assert len(aws_kit.list_keys("parquet/records/")) == len(aws_kit.list_keys("parquet/reports/")) == 1
    metas = [item for item in aws_kit.scan_all() if item["SK"] == "META"]
    assert [store.report_status(str(item["PK"]).removeprefix("REPORT#")) for item in metas] == ["COMPLETE"]


@pytest.mark.parametrize("fault", sorted(WRITE_FAULTS))
def test_a_fault_at_any_write_fails_the_attempt_and_a_retry_stores_it_exactly_once(
    fault: str, tmp_path: Path
) -> None:
    name, faults, failures = WRITE_FAULTS[fault]
    case = scenario(name, tmp_path)
    clock, log = Clock(), []
    _set_up(case, clock)
    store, clients = _faulty_store(list(faults), clock, log)
    results = []
    for expected in failures:
        with pytest.raises(IngestIncomplete, match=expected) as failed:
            IngestService(store).ingest(case.key, case.data)
        assert failed.value.retryable, failed.value
        results.append(failed.value.result)
        if expected == "ReportBusy":
            clock.now += store.lease_seconds + 1  # SQS redelivers after the visibility timeout
    results.append(IngestService(store).ingest(case.key, case.data))
    hit = {fault: text for client in clients for fault, text in client.hit.items()}
    for each in faults:
        assert each in hit, f"{each} never fired; calls:\n" + "\n".join(log)
        assert re.search(each.hits, hit[each]), f"{each} hit {hit[each]!r}"
    _stored_once(case, store)
    for prefix in case.must_exist:
        assert aws_kit.list_keys(prefix), f"nothing under {prefix} after the retry"
        if prefix.startswith("quarantine/"):
            assert f"{prefix}%note.json" in aws_kit.list_keys(prefix), f"no note of {prefix}"
    if name == "conflict":
        (conflict,) = aws_kit.list_keys("parquet/conflicts/")
        assert pq.read_table(io.BytesIO(aws_kit.get_object(conflict))).num_rows == 1
    assert sum(result.new for result in results) == case.new, (
        "one attempt, and only one, reports the report new (none twice, none never)",
        [result.as_json() for result in results],
    )


# --- the Lambda killed between the writes and COMPLETE, then the message redelivered ----------------


class Timeout(BaseException):
    """The Lambda runtime ending an invocation at its timeout: nothing after it runs, not even a release."""


class Kill:
    """From the `nth` call of `method` on, every call of either client raises Timeout: the process is gone."""

    def __init__(self, service: str, method: str, nth: int) -> None:
        self.target = (service, method)
        self.nth = nth
        self.calls = 0
        self.dead = False

    def wrap(self, client: Any, service: str) -> Any:
        kill = self

        class Killable:
            def __getattr__(self, name: str) -> Any:
                attribute = getattr(client, name)
                if name.startswith("_") or name == "meta" or not callable(attribute):
                    return attribute

                def call(*args: Any, **kwargs: Any) -> Any:
                    kill.check(service, name)
                    return attribute(*args, **kwargs)

                return call

            def get_paginator(self, operation: str) -> Any:
                paginator = client.get_paginator(operation)

                class Pages:
                    def paginate(self, **kwargs: Any) -> Iterator[Any]:
                        kill.check(service, operation)  # the first page is the first request
                        yield from paginator.paginate(**kwargs)

                return Pages()

        return Killable()

    def check(self, service: str, method: str) -> None:
        if (service, method) == self.target:
            self.calls += 1
            self.dead = self.dead or self.calls == self.nth
        if self.dead:
            raise Timeout(f"killed at {service}.{method}")


KILLS = {
    "after-the-records-parquet": ("s3", "put_object", 2),
    "after-both-parquet-files": ("dynamodb", "batch_write_item", 1),
    "mid-record-items": ("dynamodb", "batch_write_item", 2),
    "after-every-record-item": ("dynamodb", "update_item", 1),
}


def _emf_sums(output: str) -> dict[str, float]:
    """Each metric's sum over the EMF documents the handler printed."""
    sums: dict[str, float] = {}
    for line in output.splitlines():
        if not line.startswith("{"):
            continue
        document = json.loads(line)
        if "_aws" not in document:
            continue
        for definition in document["_aws"]["CloudWatchMetrics"]:
            for metric in definition["Metrics"]:
                name = metric["Name"]
                sums[name] = sums.get(name, 0) + sum(as_list_of_numbers(document[name]))
    return sums


def as_list_of_numbers(value: Any) -> list[float]:
    return [float(v) for v in value] if isinstance(value, list) else [float(value)]


@dataclass
class Redelivery:
    """The ingest handler's world for one test: the clock, the lease, and what the handler reported."""

    handler: Callable[..., dict[str, Any]]
    context: object
    monkeypatch: pytest.MonkeyPatch
    clock: Clock
    lease: int
    reported: list[dict[str, Any]]

    def deliver(self, event: dict[str, Any], kill: Kill | None = None) -> dict[str, Any]:
        """One invocation in a fresh execution environment, its clients killable."""
        from dmarc_store import connect
        from dmarc_store.aws_clients import AwsClients
        from handlers import ingest

        class KilledClients(AwsClients):
            def client(self, service: str) -> Any:
                made = super().client(service)
                return kill.wrap(made, service) if kill else made

        self.monkeypatch.setattr(  # what the handler's service() builds its store with
            connect, "aws_store", lambda settings: REAL_AWS_STORE(settings, KilledClients())
        )
        ingest.service.cache_clear()
        return self.handler(event, self.context)


@pytest.fixture
def redelivery(
    handler: Callable[..., dict[str, Any]], lambda_context: object, monkeypatch: pytest.MonkeyPatch
) -> Redelivery:
    from dmarc_store.settings import get_settings
    from handlers import ingest

    lease = 120
    monkeypatch.setenv("DMARC_CLAIM_LEASE_SECONDS", str(lease))  # the store's lease comes from it
    get_settings.cache_clear()
    clock = Clock()
    monkeypatch.setattr(AwsStore, "_now", lambda self: clock.now)
    reported: list[dict[str, Any]] = []
    report = ingest._report
    monkeypatch.setattr(ingest, "_report", lambda result: (reported.append(result.as_json()), report(result)))
    return Redelivery(handler, lambda_context, monkeypatch, clock, lease, reported)


def _killed_then_redelivered(redelivery: Redelivery, kill: Kill, expected: dict[str, int]) -> None:
    """incoming/target then incoming/other in one batch: killed in the target's writes, redelivered
    inside the lease (the target fails again, transient; the other is stored), then after it (stored)."""
    event = aws_kit.sqs_event("incoming/target", "incoming/other", message_ids=["m-target", "m-other"])
    with pytest.raises(Timeout):
        redelivery.deliver(event, kill)
    assert kill.dead
    assert redelivery.reported == [], "a killed invocation reports nothing"
    statuses = {item["status"] for item in aws_kit.scan_all() if item["SK"] == "META"}
    assert statuses == {"PENDING"}  # the target's, never released

    redelivery.clock.now += redelivery.lease / 2  # redelivered (another S3 event, say) inside the lease
    response = redelivery.deliver(event)
    assert response["batchItemFailures"] == [{"itemIdentifier": "m-target"}]
    (busy,) = [line for line in redelivery.reported if line["source"] == "incoming/target"]
    assert (busy["new"], [failure["kind"] for failure in busy["failed"]]) == (0, ["transient"])
    assert "ReportBusy" in busy["failed"][0]["error"]

    redelivery.clock.now += redelivery.lease  # the killed attempt's lease has run out
    assert redelivery.deliver(event)["batchItemFailures"] == []
    assert aws_kit.message_total_in_dynamodb() == expected["message_total"]
    assert len(aws_kit.record_items()) == expected["record_count"]
    assert _parquet_total("records", "message_count") == expected["message_total"]
    assert _parquet_total("reports", "message_total") == expected["message_total"]
    statuses = {item["status"] for item in aws_kit.scan_all() if item["SK"] == "META"}
    assert statuses == {"COMPLETE"}
    for source in ("incoming/target", "incoming/other"):
        outcomes = [
            (line["new"], line["duplicate"]) for line in redelivery.reported if line["source"] == source
        ]
        assert sum(new for new, _ in outcomes) == 1, (source, outcomes)


def _put_mails(tmp_path: Path, **seeds: int) -> dict[str, int]:
    """A generated mail at incoming/<name> for each name; the totals of them all."""
    expected = {"message_total": 0, "record_count": 0}
    for name, seed in seeds.items():
        summary = make_report(tmp_path / f"{name}.eml", 40 + seed, seed, "--eml")
        aws_kit.put_object(f"incoming/{name}", (tmp_path / f"{name}.eml").read_bytes())
        for total in expected:
            expected[total] += summary[total]
    return expected


@pytest.mark.filterwarnings("ignore:No application metrics to publish")  # the killed invocation
@pytest.mark.parametrize("kill_at", sorted(KILLS))
def test_a_lambda_killed_before_complete_is_redelivered_and_stores_the_report_once(
    kill_at: str, redelivery: Redelivery, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    expected = _put_mails(tmp_path, target=3, other=4)
    _killed_then_redelivered(redelivery, Kill(*KILLS[kill_at]), expected)
    metrics = _emf_sums(capsys.readouterr().out)
    assert metrics["ReportsStored"] == 2
    assert metrics["RecordsStored"] == expected["record_count"]
    assert metrics["Failed"] == 1  # the redelivery inside the lease
    assert metrics["Conflicts"] == 0


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_a_lambda_killed_while_replacing_an_abandoned_attempt_leaves_no_stale_items(
    redelivery: Redelivery, tmp_path: Path
) -> None:
    case = scenario("abandoned-other-content", tmp_path)
    _set_up(case, redelivery.clock)  # 70 record items of other content, never completed, lease over
    aws_kit.put_object("incoming/target", case.data)
    expected = _put_mails(tmp_path, other=4)
    expected = {
        "message_total": expected["message_total"] + case.message_total,
        "record_count": expected["record_count"] + case.record_count,
    }
    # killed after taking the claim over and writing its 60 items, before deleting the 10 beyond them
    _killed_then_redelivered(redelivery, Kill("dynamodb", "query", 1), expected)


def test_a_conflict_through_the_handler_publishes_the_conflicts_metric_the_alarm_watches(
    handler: Callable[..., dict[str, Any]],
    lambda_context: object,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    case = scenario("conflict", tmp_path)
    ((first_key, first),) = case.before
    aws_kit.put_object(first_key, first)
    aws_kit.put_object(case.key, case.data)
    event = aws_kit.sqs_event(first_key, case.key, message_ids=["m-first", "m-second"])
    assert handler(event, lambda_context)["batchItemFailures"] == []
    metrics = _emf_sums(capsys.readouterr().out)
    assert (metrics["ReportsStored"], metrics["Conflicts"], metrics["Failed"]) == (1, 1, 0)
    assert len(aws_kit.list_keys("parquet/conflicts/")) == 1
