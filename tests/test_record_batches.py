"""A report's records go through ingest a batch at a time, so memory does not grow with the record count.

The batch size is patched small here (7 rows) so a 50-record report crosses every boundary: the first
batch (kept in memory), the spool file (from the second), the last partial batch, DynamoDB's batches of
25 and the 64 record shards. Peak memory itself is measured by `make bench-big`, not here.
"""

from __future__ import annotations

import gzip
import io
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest

from dmarc_model.errors import TooLarge
from dmarc_model.limits import Limits
from dmarc_model.parse import validate
from dmarc_model.prepare import prepare_report
from dmarc_model.record_rows import MemorySink, RecordSink
from dmarc_model.unpack import Payload
from dmarc_store.backends.aws import AwsStore
from dmarc_store.backends.dynamo_items import RECORD_SHARDS, record_pk, report_pk
from dmarc_store.backends.local import LocalStore
from dmarc_store.ingest.service import IngestService
from dmarc_store.ingest.spool import SpoolSink
from tests import aws_support as kit
from tests.helpers import make_report

RECORDS = 50
BATCH = 7
NOW = datetime(2025, 1, 3, tzinfo=UTC)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RecordSink, "batch_rows", BATCH)


@pytest.fixture
def report_xml(tmp_path: Path) -> tuple[bytes, dict[str, Any]]:
    path = tmp_path / "big.xml"
    summary = make_report(path, RECORDS, 11)
    return path.read_bytes(), summary


def payload(xml: bytes) -> Payload:
    return Payload("big.xml", lambda: io.BytesIO(xml))


def test_batches_hold_the_rows_one_table_would(small_batches: None, report_xml: tuple[bytes, Any]) -> None:
    xml, summary = report_xml
    sink = MemorySink()
    batched = prepare_report(payload(xml), "big.xml", NOW, sink=sink)
    sizes = [batch.num_rows for batch in batched.record_rows.batches()]
    assert sizes == [BATCH] * (RECORDS // BATCH) + [RECORDS % BATCH]
    assert batched.record_rows.num_rows == summary["record_count"] == RECORDS
    assert batched.records.column("record_index").to_pylist() == list(range(RECORDS))
    assert batched.report["message_total"] == summary["message_total"]


def test_the_rows_do_not_depend_on_the_batch_size(
    monkeypatch: pytest.MonkeyPatch, report_xml: tuple[bytes, Any]
) -> None:
    xml, _ = report_xml
    whole = prepare_report(payload(xml), "big.xml", NOW).records
    monkeypatch.setattr(RecordSink, "batch_rows", BATCH)
    assert prepare_report(payload(xml), "big.xml", NOW).records.equals(whole)


def test_a_report_of_one_batch_never_touches_the_disk(tmp_path: Path, report_xml: tuple[bytes, Any]) -> None:
    xml, _ = report_xml
    spool = tmp_path / "spool"
    spool.mkdir()
    with prepare_report(payload(xml), "big.xml", NOW, sink=SpoolSink(spool)) as prepared:
        assert prepared.record_rows.parquet_file() is None
        assert prepared.record_rows.num_rows == RECORDS
        assert list(spool.iterdir()) == []


def test_a_bigger_report_is_spooled_to_one_parquet_file_removed_on_close(
    small_batches: None, tmp_path: Path, report_xml: tuple[bytes, Any]
) -> None:
    xml, _ = report_xml
    whole = prepare_report(payload(xml), "big.xml", NOW, sink=MemorySink()).records
    spool = tmp_path / "spool"
    spool.mkdir()
    with prepare_report(payload(xml), "big.xml", NOW, sink=SpoolSink(spool)) as prepared:
        file = prepared.record_rows.parquet_file()
        assert file is not None
        assert file.parent == spool
        assert pq.ParquetFile(file).num_row_groups == math.ceil(RECORDS / BATCH)
        assert pq.read_table(file).equals(whole)
        assert prepared.records.equals(whole)  # read back batch by batch
    assert list(spool.iterdir()) == []


def test_a_report_refused_half_way_leaves_no_spool_file(
    small_batches: None, tmp_path: Path, report_xml: tuple[bytes, Any]
) -> None:
    """The decompression cap is met after several batches were spooled: refused, and nothing left."""
    xml, _ = report_xml
    spool = tmp_path / "spool"
    spool.mkdir()
    limits = Limits(max_decompressed_bytes=len(xml) * 3 // 4)
    result = IngestService(LocalStore(tmp_path / "store"), limits=limits, spool_dir=spool).ingest(
        "big.xml.gz", gzip.compress(xml)
    )
    assert [piece.reason for piece in result.quarantined] == ["too-large"]
    assert list(spool.iterdir()) == []


class CutShort(io.BytesIO):
    """A document whose reading is refused part way, as a decompression cap does."""

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() > len(self.getbuffer()) // 2:
            raise TooLarge("expands beyond the cap", location="big.xml")
        return super().read(size)


def test_prepare_discards_the_sink_on_a_refusal(small_batches: None, report_xml: tuple[bytes, Any]) -> None:
    xml, _ = report_xml

    class Watching(MemorySink):
        written = 0
        discarded = False

        def write(self, batch: Any) -> None:
            self.written += 1

        def discard(self) -> None:
            self.discarded = True

    sink = Watching()
    with pytest.raises(TooLarge):
        prepare_report(Payload("big.xml", lambda: CutShort(xml)), "big.xml", NOW, sink=sink)
    assert sink.written > 1
    assert sink.discarded


def test_a_spooled_report_is_stored_whole_in_the_local_store(
    small_batches: None, tmp_path: Path, report_xml: tuple[bytes, Any]
) -> None:
    xml, summary = report_xml
    spool = tmp_path / "spool"
    spool.mkdir()
    store = tmp_path / "store"
    result = IngestService(LocalStore(store), spool_dir=spool).ingest("big.xml", xml)
    assert [report.outcome for report in result.reports] == ["new"]
    (records,) = (store / "parquet" / "records").rglob("*.parquet")
    table = pq.read_table(records)
    assert table.num_rows == RECORDS
    assert sum(table.column("message_count").to_pylist()) == summary["message_total"]
    assert list(spool.iterdir()) == []


def test_a_spooled_report_is_stored_whole_on_aws_across_every_shard(
    aws: None, small_batches: None, tmp_path: Path
) -> None:
    path = tmp_path / "big.xml"
    summary = make_report(path, 200, 12)
    spool = tmp_path / "spool"
    spool.mkdir()
    store = AwsStore(
        s3=boto3.client("s3"), dynamodb=boto3.client("dynamodb"), bucket=kit.BUCKET, table=kit.TABLE
    )
    result = IngestService(store, spool_dir=spool).ingest("uploads/big.xml", path.read_bytes())
    (stored,) = result.reports
    items = kit.record_items()
    assert len(items) == 200
    assert kit.message_total_in_dynamodb() == summary["message_total"]
    assert {item["PK"] for item in items} == {record_pk(stored.report_key, n) for n in range(RECORD_SHARDS)}
    (key,) = kit.list_keys("parquet/records/")
    assert pq.read_table(io.BytesIO(kit.get_object(key))).num_rows == 200
    assert list(spool.iterdir()) == []


def test_a_resumed_claim_removes_record_items_left_under_the_unsharded_key(
    aws: None, tmp_path: Path, report_xml: tuple[bytes, Any]
) -> None:
    """Before records were sharded they were all under REPORT#<key>: a resume removes what is left there."""
    xml, _ = report_xml
    dynamodb = boto3.client("dynamodb")
    store = AwsStore(s3=boto3.client("s3"), dynamodb=dynamodb, bucket=kit.BUCKET, table=kit.TABLE)
    prepared = prepare_report(payload(xml), "big.xml", NOW)
    claim = store.claim(prepared)
    store.release(prepared, claim)  # an attempt that failed before writing
    legacy = {"PK": {"S": report_pk(prepared.report_key)}, "SK": {"S": "REC#000003"}}
    dynamodb.put_item(TableName=kit.TABLE, Item={**legacy, "GSI1PK": {"S": "IP#192.0.2.1"}})
    result = IngestService(store).ingest("big.xml", xml)
    assert [report.outcome for report in result.reports] == ["new"]
    assert "Item" not in dynamodb.get_item(TableName=kit.TABLE, Key=legacy)
    assert len(kit.record_items()) == RECORDS


def test_a_report_of_many_bad_records_keeps_a_bounded_number_aside(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, report_xml: tuple[bytes, Any]
) -> None:
    """Every bad record is counted; only the first MAX_KEPT_ASIDE are held (with their XML) and kept aside."""
    monkeypatch.setattr(validate, "MAX_KEPT_ASIDE", 3)
    xml, _ = report_xml
    bad = b"<record><row><source_ip>not an ip</source_ip><count>1</count></row></record>" * 10
    damaged = xml.replace(b"</feedback>", bad + b"</feedback>")
    prepared = prepare_report(payload(damaged), "big.xml", NOW)
    assert prepared.report["rejected_record_count"] == 10
    assert len(prepared.rejected) == 3
    assert "10 record(s) failed validation; the first 3 were kept aside" in " ".join(
        prepared.report["warnings"]
    )
    store = tmp_path / "store"
    IngestService(LocalStore(store)).ingest("big.xml", damaged)
    (kept,) = (store / "kept-aside").rglob("*.json")
    assert len(json.loads(kept.read_text())["records"]) == 3
