"""Expired reports leave together, by their date: Parquet partitions of both tables (S3 and local), the
local index rows, old local quarantine files; through `dmarc prune` and the daily compact Lambda.
DynamoDB's side (TTL = the same date + N) and the accepted window: tests/test_retention.py."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from dmarc_store.backends.local import INDEX_NAME, LocalStore
from dmarc_store.backends.objects import S3Objects
from dmarc_store.connect import aws_store
from dmarc_store.ingest.service import IngestService
from dmarc_store.layout import TABLES, parquet_key
from dmarc_store.prune import prune_local, prune_parquet
from dmarc_store.query import DuckDBQueryRunner
from dmarc_store.retention import expires_at
from dmarc_store.settings import Settings
from tests import aws_support as kit
from tests.helpers import REPO
from tests.test_retention import arrived_the_day_after, report_xml

TODAY = date(2026, 6, 30)
EXPIRED = TODAY - timedelta(days=30)
LAST_KEPT = TODAY - timedelta(days=29)


def ingest_local(root: Path, day: date, report_id: str) -> None:
    service = IngestService(LocalStore(root), clock=lambda: arrived_the_day_after(day))
    assert service.ingest(f"{report_id}.xml", report_xml(day, report_id)).new == 1


def stored_days(root: Path) -> dict[str, set[str]]:
    return {table: {folder.name for folder in (root / "parquet" / table).glob("dt=*")} for table in TABLES}


def index_days(root: Path) -> list[str]:
    with sqlite3.connect(root / INDEX_NAME) as index:
        return sorted(row[0] for row in index.execute("SELECT dt FROM reports"))


@pytest.fixture
def local(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    ingest_local(root, EXPIRED - timedelta(days=100), "ancient")
    ingest_local(root, EXPIRED, "expired")
    ingest_local(root, LAST_KEPT, "last-kept")
    return root


def test_local_prune_deletes_expired_days_of_both_tables_and_their_index_rows(local: Path) -> None:
    result = prune_local(local, 30, TODAY)
    kept = {f"dt={LAST_KEPT}"}
    assert stored_days(local) == dict.fromkeys(TABLES, kept)
    assert index_days(local) == [LAST_KEPT.isoformat()]
    assert result.first_kept == LAST_KEPT.isoformat()
    assert {(p.table, p.dt) for p in result.partitions} == {
        (table, day.isoformat()) for table in TABLES for day in (EXPIRED, EXPIRED - timedelta(100))
    }
    assert (result.files, result.index_rows) == (2 * len(TABLES), 2)
    runner = DuckDBQueryRunner(local)
    try:
        totals = runner.run_sql("SELECT report_id, message_total FROM report_details").to_pylist()
    finally:
        runner.close()
    assert totals == [{"report_id": "last-kept", "message_total": 3}]


def test_local_prune_again_finds_nothing_and_a_dry_run_deletes_nothing(local: Path) -> None:
    before = stored_days(local)
    dry = prune_local(local, 30, TODAY, dry_run=True)
    assert (len(dry.partitions), dry.index_rows, dry.dry_run) == (2 * len(TABLES), 2, True)
    assert stored_days(local) == before
    assert len(index_days(local)) == 3
    prune_local(local, 30, TODAY)
    again = prune_local(local, 30, TODAY)
    assert (again.partitions, again.index_rows, again.quarantine_files) == ([], 0, 0)


def test_retention_zero_keeps_everything(local: Path) -> None:
    result = prune_local(local, 0, TODAY)
    assert result.first_kept is None
    assert result.partitions == []
    assert len(index_days(local)) == 3


def test_local_quarantine_files_go_after_n_days_by_age(local: Path) -> None:
    old = local / "quarantine" / "not-a-report" / "old.txt"
    new = local / "quarantine" / "not-a-report" / "new.txt"
    for path in (old, new):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("not a report")
    month_ago = time.time() - 31 * 86400
    os.utime(old, (month_ago, month_ago))
    result = prune_local(local, 30, TODAY)
    assert result.quarantine_files == 1
    assert not old.exists()
    assert new.exists()


def test_a_missing_store_is_a_configuration_error(tmp_path: Path) -> None:
    from dmarc_model.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="no store"):
        prune_local(tmp_path / "nowhere", 30, TODAY)


# ---------------------------------------------------------------------------------------------- S3


def put_partitions(s3: Any, days: list[date]) -> None:
    for day in days:
        for table in ("reports", "records"):
            for name in ("a", "compacted-0123"):
                s3.put_object(Bucket=kit.BUCKET, Key=parquet_key(table, day.isoformat(), name), Body=b"x")
    s3.put_object(Bucket=kit.BUCKET, Key="parquet/records/not-a-partition.txt", Body=b"x")


def parquet_keys(s3: Any) -> set[str]:
    listed = s3.list_objects_v2(Bucket=kit.BUCKET, Prefix="parquet/")
    return {item["Key"] for item in listed.get("Contents", [])}


@pytest.mark.usefixtures("aws")
def test_s3_prune_deletes_whole_expired_partitions_and_nothing_else() -> None:
    s3 = boto3.client("s3", region_name=kit.REGION)
    put_partitions(s3, [EXPIRED - timedelta(days=400), EXPIRED, LAST_KEPT, TODAY])
    result = prune_parquet(S3Objects(s3, kit.BUCKET), 30, TODAY)
    assert result.files == 8
    remaining = parquet_keys(s3)
    assert {key.split("/")[2] for key in remaining if "/dt=" in key} == {f"dt={LAST_KEPT}", f"dt={TODAY}"}
    assert "parquet/records/not-a-partition.txt" in remaining


@pytest.mark.usefixtures("aws")
def test_the_compact_lambda_prunes_expired_days_first(
    monkeypatch: pytest.MonkeyPatch, lambda_context: object
) -> None:
    from dmarc_store.settings import get_settings
    from handlers import compact

    today = datetime.now(UTC).date()
    s3 = boto3.client("s3", region_name=kit.REGION)
    put_partitions(s3, [today - timedelta(days=40), today - timedelta(days=10)])
    monkeypatch.setenv("DMARC_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    response = compact.handler({}, lambda_context)  # type: ignore[arg-type]
    assert response["pruned"]["partitions"] == 2
    assert not any(f"dt={today - timedelta(days=40)}" in key for key in parquet_keys(s3))
    assert any(f"dt={today - timedelta(days=10)}" in key for key in parquet_keys(s3))


# ------------------------------------------------------------- items expire with their data; no re-store


@pytest.mark.usefixtures("aws")
def test_dynamodb_items_expire_on_the_day_their_partition_is_pruned() -> None:
    settings = Settings(bucket=kit.BUCKET, table=kit.TABLE, retention_days=30)
    service = IngestService(aws_store(settings), clock=lambda: arrived_the_day_after(EXPIRED))
    service.ingest("r.xml", report_xml(EXPIRED, "r"))
    ttls = {item["SK"][:4]: int(item["expires_at"]) for item in kit.scan_all()}
    expected = expires_at(30, EXPIRED)
    assert ttls == {"META": expected, "REC#": expected}
    assert expected == int(datetime(2026, 6, 30, tzinfo=UTC).timestamp())  # the day prune deletes dt


def test_a_resend_of_a_pruned_report_is_refused_not_stored_again(local: Path) -> None:
    prune_local(local, 30, TODAY)
    from dmarc_store.connect import ingest_service

    settings = Settings(store=local, retention_days=30)
    service = ingest_service(LocalStore(local), settings)
    service.clock = lambda: datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC)
    result = service.ingest("again.xml", report_xml(EXPIRED, "expired"))
    assert result.new == 0
    assert [piece.reason for piece in result.quarantined] == ["out-of-window"]


# ------------------------------------------------------------------------------------- dmarc prune


def dmarc(*args: str, retention: str = "30") -> subprocess.CompletedProcess[str]:
    environment = {"PATH": "/usr/bin:/bin", "DMARC_RETENTION_DAYS": retention, "COLUMNS": "200"}
    return subprocess.run(
        [str(REPO / ".venv/bin/dmarc"), *args], capture_output=True, text=True, check=False, env=environment
    )


def test_dmarc_prune_json_lists_each_partition_then_a_summary(tmp_path: Path) -> None:
    root = tmp_path / "store"
    today = datetime.now(UTC).date()
    ingest_local(root, today - timedelta(days=45), "expired")
    ingest_local(root, today - timedelta(days=2), "recent")
    dry = dmarc("prune", "--store", str(root), "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    *partitions, summary = [json.loads(line) for line in dry.stdout.splitlines()]
    assert {(p["table"], p["dt"], p["dry_run"]) for p in partitions} == {
        (table, (today - timedelta(days=45)).isoformat(), True) for table in TABLES
    }
    assert summary == {
        "first_kept": (today - timedelta(days=29)).isoformat(),
        "dry_run": True,
        "partitions": len(TABLES),
        "files": len(TABLES),
        "index_rows": 1,
        "quarantine_files": 0,
        "ruf_raw_files": 0,
    }
    done = dmarc("prune", "--store", str(root))
    assert done.returncode == 0, done.stderr
    assert "deleted parquet/records/dt=" in done.stdout
    assert "1 index entries" in done.stdout
    assert index_days(root) == [(today - timedelta(days=2)).isoformat()]


def test_dmarc_prune_exit_codes(tmp_path: Path) -> None:
    assert dmarc("prune", "--store", str(tmp_path / "nowhere")).returncode == 3
    assert dmarc("prune", "--store", str(tmp_path), "--aws").returncode == 2
    bad = dmarc("prune", "--store", str(tmp_path), retention="-1")
    assert bad.returncode == 3
    assert "DMARC_RETENTION_DAYS" in bad.stderr
    off = dmarc("prune", "--store", str(tmp_path), retention="0")
    assert off.returncode == 0
    assert "nothing is ever deleted" in off.stdout
    assert "DMARC_RETENTION_DAYS" in dmarc("prune", "--help").stdout


def test_compaction_leaves_days_past_retention_to_the_prune(tmp_path: Path) -> None:
    """A compaction racing a prune must not rewrite a day the prune is deleting."""
    from dmarc_store.backends.objects import LocalObjects
    from dmarc_store.compact import compact_closed_days

    root = tmp_path / "store"
    service = IngestService(LocalStore(root), clock=lambda: arrived_the_day_after(EXPIRED))
    service.ingest("a.xml", report_xml(EXPIRED, "a"))
    service.ingest("b.xml", report_xml(EXPIRED, "b"))
    first_kept = EXPIRED + timedelta(days=1)
    run = compact_closed_days(LocalObjects(root), EXPIRED + timedelta(days=5), 2, first_kept=first_kept)
    assert run.compacted == []
    assert len(list((root / "parquet" / "records" / f"dt={EXPIRED.isoformat()}").glob("*.parquet"))) == 2
