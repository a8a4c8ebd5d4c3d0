"""Compaction: one file per table and day, idempotent, and never a moment when a reader counts a row
twice (through the views' de-duplication) or misses one."""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from dmarc_store.backends.local import LocalStore
from dmarc_store.backends.objects import LocalObjects, Objects, S3Objects
from dmarc_store.compact import closed_days, compact_closed_days, compact_day
from dmarc_store.ingest.service import IngestService
from dmarc_store.layout import TABLES
from tests.helpers import make_report

DAY = date(2025, 1, 1)
BEGIN = "1735689600"  # 2025-01-01T00:00:00Z


def _fill(store: object, tmp_path: Path, reports: int) -> int:
    service = IngestService(store)  # type: ignore[arg-type]
    total = 0
    for seed in range(reports):
        out = tmp_path / f"r{seed}.xml"
        total += make_report(out, 25, seed, "--begin", BEGIN)["message_total"]
        assert service.ingest(str(out), out.read_bytes()).new == 1
    return total


def _deduplicated_total(root: Path) -> int:
    """What the views see: one row per (report_key, record_index)."""
    pattern = root / "parquet" / "records" / "*" / "*.parquet"
    sql = f"""SELECT coalesce(sum(message_count), 0) FROM (
        SELECT DISTINCT ON (report_key, record_index) message_count
        FROM read_parquet('{pattern}', hive_partitioning = true))"""
    with duckdb.connect() as connection:
        return int(connection.execute(sql).fetchone()[0])  # type: ignore[index]


def test_a_day_becomes_one_file_per_table_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "store"
    total = _fill(LocalStore(root), tmp_path, 6)
    objects = LocalObjects(root)
    assert len(objects.list("parquet/records/dt=2025-01-01/")) == 6
    first = [compact_day(objects, table, DAY) for table in ("records", "reports")]
    assert [c.merged for c in first] == [6, 6]
    assert len(objects.list("parquet/records/dt=2025-01-01/")) == 1
    assert len(objects.list("parquet/reports/dt=2025-01-01/")) == 1
    assert compact_day(objects, "records", DAY).merged == 0
    assert _deduplicated_total(root) == total


def test_a_late_report_for_a_compacted_day_is_merged_on_the_next_run(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = LocalStore(root)
    total = _fill(store, tmp_path, 3)
    objects = LocalObjects(root)
    compact_day(objects, "records", DAY)
    late = tmp_path / "late.xml"
    total += make_report(late, 10, 99, "--begin", BEGIN)["message_total"]
    IngestService(store).ingest(str(late), late.read_bytes())
    assert compact_day(objects, "records", DAY).merged == 2
    (only,) = objects.list("parquet/records/dt=2025-01-01/")
    assert sum(pq.read_table(io.BytesIO(objects.get(only))).column("message_count").to_pylist()) == total


def test_a_concurrent_reader_sees_the_same_totals_throughout(tmp_path: Path) -> None:
    root = tmp_path / "store"
    total = _fill(LocalStore(root), tmp_path, 12)
    seen: list[int] = []
    stop = threading.Event()

    def read_until_stopped() -> None:
        while not stop.is_set():
            seen.append(_deduplicated_total(root))

    reader = threading.Thread(target=read_until_stopped)
    reader.start()
    try:
        compact_closed_days(LocalObjects(root), date(2025, 1, 10), after_days=2)
    finally:
        stop.set()
        reader.join()
    assert seen, "the reader must have read at least once"
    assert set(seen) == {total}


def _raw_total(root: Path) -> int:
    pattern = root / "parquet" / "records" / "*" / "*.parquet"
    with duckdb.connect() as connection:
        row = connection.execute(f"SELECT sum(message_count) FROM read_parquet('{pattern}')").fetchone()
    return int(row[0])  # type: ignore[index]


def test_in_the_window_between_write_and_delete_rows_are_doubled_on_disk_but_not_in_the_views(
    tmp_path: Path,
) -> None:
    """The one moment a raw read could double count, held open on purpose and looked at."""
    root = tmp_path / "store"
    total = _fill(LocalStore(root), tmp_path, 5)
    observed: dict[str, int] = {}

    class PausingObjects(LocalObjects):
        def delete_unchanged(self, versions: Mapping[str, str]) -> list[str]:
            observed["raw"] = _raw_total(root)
            observed["views"] = _deduplicated_total(root)
            return super().delete_unchanged(versions)

    compact_day(PausingObjects(root), "records", DAY)
    assert observed == {"raw": 2 * total, "views": total}
    assert _raw_total(root) == _deduplicated_total(root) == total


def test_only_closed_days_within_the_lookback_are_compacted() -> None:
    days = closed_days(date(2025, 1, 10), after_days=2, lookback_days=3)
    assert days == [date(2025, 1, 8), date(2025, 1, 7), date(2025, 1, 6)]


@pytest.mark.usefixtures("aws")
def test_compaction_on_s3_keeps_totals_and_leaves_one_file(tmp_path: Path) -> None:
    import boto3

    from dmarc_store.backends.aws import AwsStore
    from tests import aws_support as kit

    s3 = boto3.client("s3", region_name=kit.REGION)
    store = AwsStore(
        s3=s3, dynamodb=boto3.client("dynamodb", region_name=kit.REGION), bucket=kit.BUCKET, table=kit.TABLE
    )
    total = _fill(store, tmp_path, 4)
    objects: Objects = S3Objects(s3, kit.BUCKET)
    done = compact_closed_days(objects, date(2025, 1, 5), after_days=2)
    assert {(c.table, c.merged) for c in done.compacted} == {(table, 4) for table in TABLES}
    assert done.skipped == []
    (only,) = objects.list("parquet/records/dt=2025-01-01/")
    assert sum(pq.read_table(io.BytesIO(objects.get(only))).column("message_count").to_pylist()) == total
