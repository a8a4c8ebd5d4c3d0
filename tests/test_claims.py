"""The claim protocol under stale workers, abandoned attempts and failed copies, on both backends.

Each test runs on the local store and on the AWS store (moto): the decision is made once, in the
Store base class, and both backends must agree.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest

from dmarc_model.prepare import PreparedReport, prepare_report
from dmarc_model.unpack import unpack
from dmarc_store.backends.base import ClaimOutcome, Store
from dmarc_store.backends.local import LocalStore
from dmarc_store.errors import ClaimLost, IngestIncomplete
from dmarc_store.ingest.service import IngestService
from dmarc_store.layout import conflict_key, kept_aside_key
from tests import aws_support as kit

LEASE = 600


def report_xml(counts: list[int], *, bad_record: bool = False) -> bytes:
    records = "".join(
        f"<record><row><source_ip>192.0.2.{n + 1}</source_ip><count>{count}</count><policy_evaluated>"
        "<disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>"
        "<identifiers><header_from>example.com</header_from></identifiers></record>"
        for n, count in enumerate(counts)
    )
    if bad_record:
        records += "<record><row><source_ip>not an ip</source_ip><count>1</count></row></record>"
    return (
        "<feedback><report_metadata><org_name>Claims</org_name><email>r@example.net</email>"
        "<report_id>claim-1</report_id><date_range><begin>1735689600</begin><end>1735775999</end>"
        "</date_range></report_metadata><policy_published><domain>example.com</domain><p>none</p>"
        f"</policy_published>{records}</feedback>"
    ).encode()


def prepared(xml: bytes) -> PreparedReport:
    payload = next(iter(unpack(xml, name="r.xml")))
    return prepare_report(payload, "r.xml", datetime(2025, 1, 3, tzinfo=UTC))  # type: ignore[arg-type]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["local", "aws"])
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[Clock], Store]]:
    """A factory of stores over one backend, each with the given clock."""
    if request.param == "local":
        yield lambda clock: _clocked(LocalStore(tmp_path / "store", lease_seconds=LEASE), clock)
        return
    request.getfixturevalue("aws")
    from dmarc_store.backends.aws import AwsStore

    def aws(clock: Clock) -> Store:
        store = AwsStore(
            s3=boto3.client("s3", region_name=kit.REGION),
            dynamodb=boto3.client("dynamodb", region_name=kit.REGION),
            bucket=kit.BUCKET,
            table=kit.TABLE,
            lease_seconds=LEASE,
        )
        return _clocked(store, clock)

    yield aws


def _clocked(store: Store, clock: Clock) -> Store:
    store._now = clock  # type: ignore[method-assign]
    return store


def test_a_stale_worker_can_neither_release_nor_complete_a_claim_taken_over(
    make_store: Callable[[Clock], Store],
) -> None:
    clock = Clock()
    report = prepared(report_xml([5, 7]))
    stale, owner, third = make_store(clock), make_store(clock), make_store(clock)
    first = stale.claim(report)
    assert first.outcome is ClaimOutcome.NEW
    clock.now += LEASE + 1  # the first worker hangs past its lease
    second = owner.claim(report)
    assert second.outcome is ClaimOutcome.RESUME
    stale.release(report, first)  # must not end the new owner's lease
    assert third.claim(report).outcome is ClaimOutcome.BUSY
    owner.write(report, second)
    with pytest.raises(ClaimLost):
        stale.complete(report, first)
    owner.complete(report, second)
    assert third.claim(report).outcome is ClaimOutcome.DUPLICATE


def test_two_workers_never_both_report_new(make_store: Callable[[Clock], Store]) -> None:
    clock = Clock()
    report = prepared(report_xml([3]))
    slow, fast = IngestService(make_store(clock)), IngestService(make_store(clock))
    claim = slow.store.claim(report)
    clock.now += LEASE + 1
    assert fast.ingest("r.xml", report_xml([3])).new == 1
    with pytest.raises(ClaimLost):
        slow._write_and_complete(report, claim)
    retry = slow.ingest("r.xml", report_xml([3]))
    assert (retry.new, retry.duplicate) == (0, 1)


def test_an_abandoned_attempt_with_other_content_is_taken_over_not_a_conflict(
    make_store: Callable[[Clock], Store],
) -> None:
    clock = Clock()
    abandoned = prepared(report_xml([1, 1, 1, 1]))
    store = make_store(clock)
    claim = store.claim(abandoned)
    store.write(abandoned, claim)  # ... and then the worker died: never COMPLETE
    clock.now += LEASE + 1
    result = IngestService(make_store(clock)).ingest("later.xml", report_xml([9, 9]))
    assert (result.new, result.conflict) == (1, 0)
    later = prepared(report_xml([9, 9]))
    assert make_store(clock).claim(later).outcome is ClaimOutcome.DUPLICATE
    if not isinstance(store, LocalStore):
        counts = sorted(int(item["message_count"]) for item in kit.record_items())
        assert counts == [9, 9], "the abandoned attempt's extra record items are gone"


def test_a_live_pending_claim_with_other_content_waits_rather_than_conflicts(
    make_store: Callable[[Clock], Store],
) -> None:
    clock = Clock()
    store = make_store(clock)
    store.claim(prepared(report_xml([1])))
    assert make_store(clock).claim(prepared(report_xml([2]))).outcome is ClaimOutcome.BUSY


def _read(store: Store, key: str) -> bytes | None:
    if isinstance(store, LocalStore):
        path = store.root / key
        return path.read_bytes() if path.exists() else None
    try:
        body: bytes = (
            boto3.client("s3", region_name=kit.REGION).get_object(Bucket=kit.BUCKET, Key=key)["Body"].read()
        )
    except boto3.client("s3", region_name=kit.REGION).exceptions.NoSuchKey:
        return None
    return body


def test_records_kept_aside_are_written_before_complete_and_survive_a_failed_quarantine(
    make_store: Callable[[Clock], Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    store = make_store(clock)
    xml = report_xml([4], bad_record=True)

    def broken_quarantine(**_: Any) -> str:
        raise OSError("quarantine is down")

    monkeypatch.setattr(store, "quarantine", broken_quarantine)
    with pytest.raises(IngestIncomplete, match="quarantine is down"):
        IngestService(store).ingest("r.xml", xml)
    report = prepared(xml)
    kept = _read(store, kept_aside_key(report.dt, report.report_key))
    assert kept is not None
    document = json.loads(kept)
    assert document["report_key"] == report.report_key
    assert [record["index"] for record in document["records"]] == [1]
    assert "not an ip" in document["records"][0]["xml"]
    retry = IngestService(make_store(clock)).ingest("r.xml", xml)
    assert retry.duplicate == 1


def test_a_conflict_is_kept_in_the_conflicts_table_as_long_as_the_data(
    make_store: Callable[[Clock], Store],
) -> None:
    clock = Clock()
    IngestService(make_store(clock)).ingest("first.xml", report_xml([5]))
    result = IngestService(make_store(clock)).ingest("second.xml", report_xml([6]))
    assert result.conflict == 1
    first, second = prepared(report_xml([5])), prepared(report_xml([6]))
    key = conflict_key(second.dt, second.report_key, second.content_sha256)
    assert key.startswith(f"parquet/conflicts/dt={second.dt}/")
    data = _read(make_store(clock), key)
    assert data is not None
    (row,) = pq.read_table(io.BytesIO(data)).to_pylist()
    assert (row["source_key"], row["stored_source_key"]) == ("second.xml", "first.xml")
    assert (row["content_sha256"], row["stored_content_sha256"]) == (
        second.content_sha256,
        first.content_sha256,
    )
    assert (row["report_id"], row["message_total"]) == ("claim-1", 6)


def test_dmarc_query_conflicts_lists_them(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dmarc_cli.main import cli

    store = tmp_path / "store"
    IngestService(LocalStore(store)).ingest("first.xml", report_xml([5]))
    IngestService(LocalStore(store)).ingest("second.xml", report_xml([6]))
    args = ["query", "conflicts", "--param", "days=100000", "--format", "json", "--store", str(store)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    (line,) = [json.loads(text) for text in result.output.splitlines()]
    assert (line["report_id"], line["source_key"], line["stored_source_key"]) == (
        "claim-1",
        "second.xml",
        "first.xml",
    )


def test_a_report_stored_under_an_older_hash_form_is_a_duplicate_not_a_conflict(
    make_store: Callable[[Clock], Store],
) -> None:
    """Re-ingesting a mailbox after the canonical form changed must add nothing and refuse nothing."""
    clock = Clock()
    store = make_store(clock)
    IngestService(store).ingest("first.xml", report_xml([5]))
    key = prepared(report_xml([5])).report_key
    if isinstance(store, LocalStore):
        with store._index() as index:
            index.execute("UPDATE reports SET hash_version = 1, content_sha256 = 'old-form'")
    else:
        boto3.client("dynamodb", region_name=kit.REGION).update_item(
            TableName=kit.TABLE,
            Key={"PK": {"S": f"REPORT#{key}"}, "SK": {"S": "META"}},
            UpdateExpression="SET content_sha256 = :old REMOVE hash_version",
            ExpressionAttributeValues={":old": {"S": "old-form"}},
        )
    again = IngestService(make_store(clock)).ingest("again.xml", report_xml([5]))
    assert (again.duplicate, again.conflict) == (1, 0)
